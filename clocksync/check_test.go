package clocksync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/clocksync"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

const ms = time.Millisecond

var opts = clocksync.CheckOptions{Epoch: sim.Epoch}

// ev is one event of a hand-written trace.
type ev struct {
	at   time.Duration
	node node.ID
	kind trace.Kind // 0: an emitted Reading
	// The reading: the adjusted clock's offset from true time, its bound
	// and reference ("" for an unsynchronized reading). The node's own
	// clock is read as raw past true time.
	adj, bound, raw time.Duration
	ref             string
}

// build records the events, preceded by the start of n processes.
func build(n int, evs ...ev) *trace.Trace {
	t := &trace.Trace{Nodes: n}
	for i := range n {
		t.Record(&trace.Event{Kind: trace.Start, Node: node.ID(i)})
	}
	for _, e := range evs {
		if e.kind != 0 {
			t.Record(&trace.Event{Time: e.at, Kind: e.kind, Node: e.node})
			continue
		}
		truth := sim.Epoch.Add(e.at)
		r := clocksync.Reading{Local: truth.Add(e.raw), Adjusted: truth.Add(e.adj), Bound: e.bound, Synced: e.ref != "", Reference: e.ref}
		t.Record(&trace.Event{Time: e.at, Kind: trace.Emit, Node: e.node, Type: "clocksync.Reading", Value: r})
	}
	return t
}

func TestCheck(t *testing.T) {
	s := time.Second
	tests := []struct {
		name string
		tr   *trace.Trace
		// fail lists the properties that must fail; the others must pass.
		fail []string
		// detail must appear in a failure's detail.
		detail string
	}{
		{"each client within its bound of the server", build(3,
			ev{at: 3 * s, node: 0, ref: "n0"},
			ev{at: 3 * s, node: 1, adj: 2 * ms, bound: 2 * ms, ref: "n0"},
			ev{at: 3 * s, node: 2, adj: -1 * ms, bound: 3 * ms, ref: "n0"},
		), nil, ""},
		{"a client beyond its bound of the server", build(3,
			ev{at: 3 * s, node: 0, ref: "n0"},
			ev{at: 3 * s, node: 1, adj: 2 * ms, bound: 2 * ms, ref: "n0"},
			ev{at: 3 * s, node: 2, adj: -3 * ms, bound: 2 * ms, ref: "n0"},
		), []string{clocksync.PropBound}, "n0 (#3, ±0s) is 3ms ahead of n2 (#5, ±2ms)"},
		{"two receivers farther apart than their bounds of a virtual reference", build(3,
			ev{at: 3 * s, node: 1, adj: 2 * ms, bound: 1500 * time.Microsecond, ref: "mean(n1,n2)"},
			ev{at: 3 * s, node: 2, adj: -2 * ms, bound: 1500 * time.Microsecond, ref: "mean(n1,n2)"},
		), []string{clocksync.PropBound}, "4ms ahead"},
		{"two receivers within their bounds of a virtual reference", build(3,
			ev{at: 3 * s, node: 1, adj: 2 * ms, bound: 2 * ms, ref: "mean(n1,n2)"},
			ev{at: 3 * s, node: 2, adj: -2 * ms, bound: 2 * ms, ref: "mean(n1,n2)"},
		), nil, ""},
		{"readings of different references or instants are not compared", build(3,
			ev{at: 3 * s, node: 0, ref: "n0@1.2"},
			ev{at: 3 * s, node: 1, adj: 20 * ms, bound: 1 * ms, ref: "n0@1.1"}, // not yet adjusted in round 2
			ev{at: 3 * s, node: 2, adj: 0, bound: 1 * ms, ref: "n0@1.2"},
			ev{at: 3*s + 1, node: 0, ref: "n0@1.2"},
			ev{at: 3*s + 2, node: 1, adj: 20 * ms, bound: 1 * ms, ref: "n0@1.2"},
		), nil, ""},
		{"unsynchronized readings are not judged against bounds", build(2,
			ev{at: 1 * s, node: 0, ref: "n0"},
			ev{at: 1 * s, node: 1, adj: 40 * ms},
			ev{at: 1 * s, node: 1, adj: 40 * ms},
			ev{at: 3 * s, node: 0, ref: "n0"},
			ev{at: 3 * s, node: 1, adj: 1 * ms, bound: 1 * ms, ref: "n0"},
		), nil, ""},
		{"nothing to judge without two readings of one instant", build(2,
			ev{at: 3 * s, node: 0, ref: "n0"},
			ev{at: 4 * s, node: 1, adj: 1 * ms, bound: 1 * ms, ref: "n0"},
		), []string{clocksync.PropBound}, "nothing to judge"},
		{"readings within the warm-up after a mid-run clock fault are not judged", build(2,
			ev{at: 3 * s, node: 1, kind: trace.ClockSet},
			ev{at: 4 * s, node: 0, ref: "n0"},
			ev{at: 4 * s, node: 1, adj: 30 * ms, raw: 30 * ms, bound: 1 * ms, ref: "n0"},
			ev{at: 5*s + 1, node: 0, ref: "n0"},
			ev{at: 5*s + 1, node: 1, adj: 1 * ms, raw: 30 * ms, bound: 1 * ms, ref: "n0"},
		), nil, ""},
		{"but after the warm-up they are", build(2,
			ev{at: 3 * s, node: 1, kind: trace.ClockSet},
			ev{at: 5 * s, node: 0, ref: "n0"},
			ev{at: 5 * s, node: 1, adj: 30 * ms, raw: 30 * ms, bound: 1 * ms, ref: "n0"},
		), []string{clocksync.PropBound}, "at 5s"},
		{"a clock that runs backward", build(2,
			ev{at: 3 * s, node: 0, ref: "n0"},
			ev{at: 3 * s, node: 1, adj: 1 * ms, bound: 2 * ms, ref: "n0"},
			ev{at: 3 * s, node: 1, adj: -1 * ms, bound: 2 * ms, ref: "n0"}, // stepped back 2 ms
		), []string{clocksync.PropMonotonic}, "n1's adjusted clock went back 2ms"},
		{"a clock may be reset by a restart or by the nemesis", build(2,
			ev{at: 3 * s, node: 0, ref: "n0"},
			ev{at: 3 * s, node: 1, adj: 1 * ms, bound: 2 * ms, ref: "n0"},
			ev{at: 3 * s, node: 1, kind: trace.ClockSet},
			ev{at: 3 * s, node: 1, adj: -40 * ms, raw: -40 * ms},
			ev{at: 3 * s, node: 1, kind: trace.Crash},
			ev{at: 3 * s, node: 1, kind: trace.Restart},
			ev{at: 3 * s, node: 1, kind: trace.Start},
			ev{at: 3 * s, node: 1, adj: -45 * ms, raw: -40 * ms},
			ev{at: 7 * s, node: 0, ref: "n0"},
			ev{at: 7 * s, node: 1, adj: 1 * ms, bound: 2 * ms, raw: -40 * ms, ref: "n0"},
		), nil, ""},
		{"a process never synchronized", build(2,
			ev{at: 3 * s, node: 0, ref: "n0"},
			ev{at: 3 * s, node: 1, adj: 30 * ms},
		), []string{clocksync.PropBound, clocksync.PropSynchronized}, "n1 (up since 0s, last read at 3s)"},
		{"a process that restarted lately may be unsynchronized", build(2,
			ev{at: 3 * s, node: 0, ref: "n0"},
			ev{at: 3 * s, node: 1, adj: 1 * ms, bound: 1 * ms, ref: "n0"},
			ev{at: 3 * s, node: 1, kind: trace.Start},
			ev{at: 4 * s, node: 0, ref: "n0"},
			ev{at: 4 * s, node: 1, adj: 30 * ms},
		), nil, ""},
		{"no readings at all", build(2), []string{clocksync.PropBound, clocksync.PropMonotonic, clocksync.PropSynchronized}, "nothing to check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := clocksync.Check(tt.tr, opts)
			if len(checks) != 3 {
				t.Fatalf("%d verdicts: %+v", len(checks), checks)
			}
			details := ""
			for _, c := range checks {
				wantFail := false
				for _, p := range tt.fail {
					wantFail = wantFail || p == c.Property
				}
				if c.OK == wantFail {
					t.Errorf("%s: OK = %v, want %v: %s", c.Property, c.OK, !wantFail, c.Detail)
				}
				if !c.OK {
					details += c.Detail + "\n"
				}
			}
			if !strings.Contains(details, tt.detail) {
				t.Errorf("no failure mentions %q:\n%s", tt.detail, details)
			}
		})
	}
}

// TestMeasure: skews are measured between synchronized readings of the same
// instant after the warm-up, one per process (its last at that instant).
func TestMeasure(t *testing.T) {
	s := time.Second
	tr := build(4,
		ev{at: 1 * s, node: 1, adj: 50 * ms, bound: 60 * ms, ref: "n0"}, // in the warm-up
		ev{at: 1 * s, node: 2, adj: -50 * ms, bound: 60 * ms, ref: "n0"},
		ev{at: 3 * s, node: 0, ref: "n0"},
		ev{at: 3 * s, node: 1, adj: 4 * ms, bound: 9 * ms, raw: 30 * ms, ref: "n0"}, // before a correction
		ev{at: 3 * s, node: 1, adj: 4 * ms, bound: 5 * ms, raw: 30 * ms, ref: "n0"}, // after it
		ev{at: 3 * s, node: 2, adj: -2 * ms, bound: 3 * ms, raw: -20 * ms, ref: "n0"},
		ev{at: 3 * s, node: 3, adj: 90 * ms, raw: 90 * ms}, // unsynchronized
	)
	st := clocksync.Measure(tr, opts)
	want := clocksync.Stats{
		Instants:   1,
		MaxSkew:    6 * ms,
		MeanSkew:   4 * ms, // (4 + 2 + 6) / 3
		MaxRawSkew: 50 * ms,
		MaxOffset:  4 * ms,
		MeanBound:  8 * ms / 3,
		MaxBound:   5 * ms,
	}
	if st != want {
		t.Fatalf("Measure = %+v\nwant      %+v", st, want)
	}
}
