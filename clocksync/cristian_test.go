package clocksync_test

import (
	"testing"
	"time"

	"github.com/synod-dev/synod/clocksync"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// asymmetric is the walk-through network of Cristian's error bound: the
// request from n1 to the server n0 takes 1 ms, the reply 5 ms. The client
// sees a round trip of 6 ms and takes the server's T to be 3 ms old when it
// is really 5 ms old: it ends up 2 ms behind the server, within the ±3 ms
// (RTT/2) it claims; with the minimum delay of 1 ms known, within ±2 ms.
func asymmetric() sim.Network {
	return sim.Network{
		Default: sim.Link{Latency: sim.Constant(time.Millisecond)},
		Links: map[sim.Pair]sim.Link{
			{From: 0, To: 1}: {Latency: sim.Constant(5 * time.Millisecond)},
		},
	}
}

// runPair runs the server n0 and the client n1 on the asymmetric network
// and returns n1's readings at the sample instants after the warm-up, with
// n0's clock at the same instants.
func runPair(t *testing.T, cfg clocksync.CristianConfig) (client, server []clocksync.Reading, checks []trace.Check) {
	t.Helper()
	s, err := sim.New(sim.Config{
		Nodes:    2,
		New:      func(node.ID) node.Process { return clocksync.NewCristian(cfg) },
		Registry: node.NewRegistry(clocksync.CristianMessages()...),
		Network:  asymmetric(),
		Schedule: defaultClocks(2),
	})
	if err != nil {
		t.Fatal(err)
	}
	clocksync.SampleWorkload(s, samples, runFor)
	if err := s.Run(runFor); err != nil {
		t.Fatal(err)
	}
	tr := s.Trace()
	at := map[time.Duration]clocksync.Reading{} // n0's readings
	for _, r := range trace.Emitted[clocksync.Reading](tr) {
		if r.Node == 0 {
			at[r.Time] = r.Value
		} else if sr, ok := at[r.Time]; ok && r.Time >= clocksync.DefaultWarmUp {
			client, server = append(client, r.Value), append(server, sr)
		}
	}
	return client, server, clocksync.Check(tr, clocksync.CheckOptions{Epoch: sim.Epoch, WarmUp: cfg.WarmUp()})
}

func TestCristianWalkThrough(t *testing.T) {
	tests := []struct {
		name      string
		cfg       clocksync.CristianConfig
		behind    time.Duration // how far n1 ends up behind n0
		bound     time.Duration // the bound n1 claims, before drift
		violation bool
	}{
		{"T + RTT/2, within RTT/2", clocksync.CristianConfig{}, 2 * ms, 3 * ms, false},
		{"with the minimum delay known, within RTT/2 − min", clocksync.CristianConfig{MinDelay: ms}, 2 * ms, 2 * ms, false},
		{"broken: T alone, 5 ms behind, still claiming RTT/2", clocksync.CristianConfig{NoHalfRTT: true}, 5 * ms, 3 * ms, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server, checks := runPair(t, tt.cfg)
			if len(client) < samples/2 || len(client) != len(server) {
				t.Fatalf("%d client readings, %d server readings", len(client), len(server))
			}
			// n1 drifts 20 ppm: up to 20 µs per second between rounds.
			const slack = 25 * time.Microsecond
			for i, c := range client {
				behind := server[i].Adjusted.Sub(c.Adjusted)
				if behind < tt.behind-slack || behind > tt.behind+slack {
					t.Fatalf("reading %d: n1 is %v behind n0, want %v", i, behind, tt.behind)
				}
				// The bound grows by 2ρ = 200 µs per second since the
				// sample, which is up to a period and a round old.
				if c.Bound < tt.bound || c.Bound > tt.bound+250*time.Microsecond {
					t.Fatalf("reading %d: n1 claims ±%v, want ±%v plus drift", i, c.Bound, tt.bound)
				}
			}
			if ok := trace.AllOK(checks); ok == tt.violation {
				t.Fatalf("checks %+v, want a violation: %v", checks, tt.violation)
			}
		})
	}
}
