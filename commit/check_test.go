package commit

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// hist builds a trace by hand, one event per call, for the checker's
// own tests.
type hist struct{ tr trace.Trace }

func newTrace(n int) *hist {
	h := &hist{tr: trace.Trace{Nodes: n}}
	for p := range n {
		h.add(0, node.ID(p), trace.Start, nil)
	}
	return h
}

func (h *hist) add(ms int, p node.ID, k trace.Kind, v any) *hist {
	h.tr.Record(&trace.Event{Time: time.Duration(ms) * time.Millisecond, Node: p, Kind: k, Value: v})
	return h
}

func (h *hist) emit(ms int, p node.ID, v any) *hist { return h.add(ms, p, trace.Emit, v) }

// begin has n0 begin T1 with participants n1..n(N-1) and each vote.
func (h *hist) begin(ms int, votes ...bool) *hist {
	var parts []node.ID
	for i := range votes {
		parts = append(parts, node.ID(i+1))
	}
	h.emit(ms, 0, Began{Tx: 1, Participants: parts})
	for i, y := range votes {
		h.emit(ms+1, node.ID(i+1), Voted{Tx: 1, Yes: y})
		if y {
			h.emit(ms+1, node.ID(i+1), Locked{Tx: 1})
		}
	}
	return h
}

// decide has the given processes decide T1.
func (h *hist) decide(ms int, o Outcome, ps ...node.ID) *hist {
	for _, p := range ps {
		h.emit(ms, p, Decided{Tx: 1, Outcome: o})
		if p != 0 {
			h.emit(ms, p, Unlocked{Tx: 1})
		}
	}
	return h
}

func verdict(checks []trace.Check, property string) trace.Check {
	for _, c := range checks {
		if c.Property == property {
			return c
		}
	}
	return trace.Check{Property: property, Detail: "not reported"}
}

func TestCheckerJudgesEachProperty(t *testing.T) {
	cases := []struct {
		name     string
		trace    *hist
		property string
		ok       bool
		detail   string
	}{
		{"a clean commit", newTrace(3).begin(0, true, true).decide(3, Commit, 0, 1, 2),
			PropAgreement, true, "1 transactions decided (1 committed, 0 aborted)"},
		{"two outcomes", newTrace(3).begin(0, true, true).decide(3, Commit, 0, 1).decide(4, Abort, 2),
			PropAgreement, false, "n0 decided commit at 3ms, but n2 decided abort at 4ms; decisions: n0 commit, n1 commit, n2 abort"},
		{"commit despite a NO", newTrace(3).begin(0, true, false).decide(3, Commit, 0),
			PropCommitValidity, false, "n0 decided to commit T1 at 3ms, but participant n2 voted NO at 1ms"},
		{"commit before a vote", newTrace(3).emit(0, 0, Began{Tx: 1, Participants: []node.ID{1, 2}}).emit(1, 1, Voted{Tx: 1, Yes: true}).
			decide(3, Commit, 0).emit(4, 2, Voted{Tx: 1, Yes: true}),
			PropCommitValidity, false, "participant n2 had not voted (it voted YES later, at 4ms)"},
		{"abort with all YES and no failure", newTrace(3).begin(0, true, true).decide(3, Abort, 0, 1, 2),
			PropAbortValidity, false, "T1: every participant voted YES and nothing failed from its start at 0s to 3ms, yet n0 decided abort at 3ms"},
		{"abort after a lost message", newTrace(3).begin(0, true, true).add(2, 1, trace.Drop, nil).decide(3, Abort, 0, 1, 2),
			PropAbortValidity, true, "1 more had a failure meanwhile"},
		{"abort after a NO", newTrace(3).begin(0, true, false).decide(3, Abort, 0, 1, 2),
			PropAbortValidity, true, "nothing to judge"},
		{"decision lost in a crash", newTrace(3).begin(0, true, true).decide(3, Commit, 0, 1, 2).
			add(5, 1, trace.Crash, nil).add(6, 1, trace.Restart, nil).add(6, 1, trace.Start, nil),
			PropDurability, false, "n1 decided T1 commit at 3ms, but restarted at 6ms with no record of it in its log"},
		{"decision recovered", newTrace(3).begin(0, true, true).decide(3, Commit, 0, 1, 2).
			add(5, 1, trace.Crash, nil).add(6, 1, trace.Restart, nil).add(6, 1, trace.Start, nil).
			emit(6, 1, Recovered{Log: []TxState{{1, Committed}}}),
			PropDurability, true, "1 crashes, 1 restarts; at every restart the log held each decision and each undecided YES vote made before it (1 checked)"},
		{"YES vote forgotten", newTrace(3).begin(0, true, true).
			add(2, 2, trace.Crash, nil).add(6, 2, trace.Restart, nil).add(6, 2, trace.Start, nil).
			emit(6, 2, Recovered{Log: []TxState{{1, Aborted}}}),
			PropDurability, false, `n2 voted YES on T1 at 1ms and had not learned the outcome, but restarted at 6ms with "aborted" in its log`},
		{"decision reversed", newTrace(3).begin(0, true, true).decide(3, Commit, 0, 1, 2).decide(9, Abort, 1),
			PropDurability, false, "n1 decided T1 commit at 3ms and abort at 9ms"},
		{"status contradicts the decision", newTrace(3).begin(0, true, true).decide(3, Commit, 0, 1, 2).
			add(9, 2, trace.Reply, StatusReply{Tx: 1, State: Uncertain}),
			PropDurability, false, `n2 decided T1 commit at 3ms, but answered a Status request at 9ms with "uncertain"`},
		{"uncertain with the coordinator up", newTrace(3).begin(0, true, true).decide(3, Commit, 0, 1).add(1000, 0, trace.Timer, nil),
			PropTermination, false, "n2 voted YES on T1 at 1ms and was still uncertain, holding its locks, when the run ended at 1s"},
		{"uncertain with the coordinator down", newTrace(3).begin(0, true, true).add(2, 0, trace.Crash, nil).add(1000, 1, trace.Timer, nil),
			PropTermination, true, "2 blocking windows: prepared participants held their locks for 1.996s in all while the coordinator was down (longest 998ms, n1 on T1); 2 still blocked when the run ended"},
		{"coordinator undecided", newTrace(3).begin(0, true, false).add(1000, 0, trace.Timer, nil),
			PropTermination, false, "coordinator n0 began T1 at 0s and had not decided it when the run ended at 1s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := verdict(Check2PC(&c.trace.tr), c.property)
			if v.OK != c.ok || !strings.Contains(v.Detail, c.detail) {
				t.Errorf("%s: ok=%v %q\nwant ok=%v containing %q", c.property, v.OK, v.Detail, c.ok, c.detail)
			}
		})
	}
}

// 3PC's non-blocking check holds participants that stay up to a bound even
// when the coordinator is down, but not across a partition.
func TestCheckerNonBlocking(t *testing.T) {
	bound := DefaultThreePhaseConfig().TerminationBound(3)
	end := int(2 * bound / time.Millisecond)
	blocked := newTrace(3).begin(0, true, true).add(2, 0, trace.Crash, nil).add(end, 1, trace.Timer, nil)
	v := verdict(Check3PC(&blocked.tr), PropNonBlocking)
	if v.OK || !strings.Contains(v.Detail, "n1 voted YES on T1 at 1ms and was still undecided when the run ended") || !strings.Contains(v.Detail, "with the coordinator n0 down") {
		t.Errorf("blocked 3PC: %+v", v)
	}
	partitioned := newTrace(3).begin(0, true, true).add(2, node.None, trace.Partition, nil).add(end, 1, trace.Timer, nil)
	if v := verdict(Check3PC(&partitioned.tr), PropNonBlocking); !v.OK || !strings.Contains(v.Detail, "2 with a partition") {
		t.Errorf("partitioned 3PC: %+v", v)
	}
	terminated := newTrace(3).begin(0, true, true).add(2, 0, trace.Crash, nil).decide(40, Abort, 1, 2).add(end, 1, trace.Timer, nil)
	if v := verdict(Check3PC(&terminated.tr), PropNonBlocking); !v.OK || !strings.Contains(v.Detail, "2 of them with the coordinator down") {
		t.Errorf("terminated 3PC: %+v", v)
	}
	crashed := newTrace(3).begin(0, true, true).add(2, 0, trace.Crash, nil).add(3, 1, trace.Crash, nil).decide(40, Abort, 2).add(end, 2, trace.Timer, nil)
	if v := verdict(Check3PC(&crashed.tr), PropNonBlocking); !v.OK || !strings.Contains(v.Detail, "1 whose participant crashed were not judged") {
		t.Errorf("crashed participant: %+v", v)
	}
}

func TestBlockingWindows(t *testing.T) {
	// n1 holds T1's locks from 1 ms to 50 ms; the coordinator is down from
	// 10 ms to 30 ms and from 40 ms on; n2 voted NO.
	h := newTrace(3).begin(0, true, false).add(10, 0, trace.Crash, nil).add(30, 0, trace.Restart, nil).add(30, 0, trace.Start, nil).
		add(40, 0, trace.Crash, nil).decide(50, Abort, 1).add(60, 1, trace.Timer, nil)
	b := Blocking(&h.tr)
	want := BlockingReport{Windows: 2, Total: 30 * time.Millisecond, Longest: 20 * time.Millisecond, LongestAt: 1, LongestTx: 1}
	if b != want {
		t.Errorf("blocking %+v, want %+v", b, want)
	}
	if s := b.String(); !strings.HasPrefix(s, "2 blocking windows") {
		t.Errorf("String: %s", s)
	}
	if got := failed(Check2PC(&h.tr)); !slices.Equal(got, []string(nil)) {
		t.Errorf("violations %v", got)
	}
}
