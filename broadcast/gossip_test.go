package broadcast

import (
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

func runGossip(t *testing.T, n int, seed uint64, cfg GossipConfig) *trace.Trace {
	t.Helper()
	s, err := sim.New(sim.Config{Nodes: n, New: func(node.ID) node.Process { return NewGossip(cfg) },
		Registry: node.NewRegistry(GossipMessages()...), Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	s.Request(0, 0, Rumor{})
	if err := s.Run(time.Minute); err != nil {
		t.Fatal(err)
	}
	return s.Trace()
}

func TestGossipCoversTheGroupAtTextbookCost(t *testing.T) {
	for _, n := range []int{3, 10, 200} {
		for seed := uint64(1); seed <= 10; seed++ {
			tr := runGossip(t, n, seed, GossipConfig{})
			if c := CheckGossip(tr); !trace.AllOK(c) {
				t.Fatalf("N=%d seed %d: %+v (replay: go run ./cmd/synod sim broadcast/gossip --nodes %d --seed %d)", n, seed, c, n, seed)
			}
			infected, _ := GossipCoverage(tr)
			fanout := min(DefaultFanout(n), n-1)
			if sent := len(tr.Filter(trace.Send)); sent != infected*fanout {
				t.Fatalf("N=%d: %d messages for %d infected processes with fanout %d", n, sent, infected, fanout)
			}
		}
	}
}

func TestBrokenGossipIsCaught(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		tr := runGossip(t, 200, seed, GossipConfig{Broken: true})
		if c := CheckGossip(tr); trace.AllOK(c) {
			t.Fatalf("seed %d: fanout-1 gossip passed the coverage check: %+v", seed, c)
		}
	}
}
