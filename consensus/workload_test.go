package consensus_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/node"
)

// driver is a node.Driver that records the requests.
type driver struct {
	group []node.ID
	rng   *rand.Rand
	reqs  []request
}

type request struct {
	at time.Duration
	to node.ID
	op any
}

func newDriver(n int, seed uint64) *driver {
	d := &driver{rng: rand.New(rand.NewPCG(seed, 1))}
	for i := range n {
		d.group = append(d.group, node.ID(i))
	}
	return d
}

func (d *driver) Request(at time.Duration, to node.ID, op any) node.RequestID {
	d.reqs = append(d.reqs, request{at, to, op})
	return node.RequestID(len(d.reqs))
}
func (d *driver) Group() []node.ID { return d.group }
func (d *driver) Rand() *rand.Rand { return d.rng }

// Every process gets a distinct proposal at time 0; the plan crashes f
// distinct processes, each in a round up to the bound and reaching only
// neighbours; about half the plans are the lower bound's chain, which
// starts with the holder of the smallest value and crashes one process per
// round, each reaching a single neighbour, the next victim.
func TestFloodingWorkloadPlans(t *testing.T) {
	for _, g := range []*consensus.Graph{consensus.Complete(5), consensus.Complete(9), consensus.Ring(8), consensus.Grid(9)} {
		f := min((g.N()-1)/2, g.Connectivity()-1)
		rounds, _ := consensus.FloodingRounds(g, f)
		chains := 0
		for seed := uint64(1); seed <= 100; seed++ {
			d := newDriver(g.N(), seed)
			plan := consensus.FloodingWorkload(d, g, f, rounds)
			var values []int
			holder := map[int]node.ID{}
			for _, r := range d.reqs {
				v := r.op.(consensus.FloodPropose).Value
				if r.at != 0 {
					t.Fatalf("%v: a proposal at %v", g, r.at)
				}
				values = append(values, v)
				holder[v] = r.to
			}
			slices.Sort(values)
			if len(values) != g.N() || values[0] != 0 || values[len(values)-1] != g.N()-1 {
				t.Fatalf("%v seed %d: proposals %v, want a permutation of 0..N−1", g, seed, values)
			}
			if len(plan) != f {
				t.Fatalf("%v seed %d: %d crashes, want f = %d", g, seed, len(plan), f)
			}
			victims := map[node.ID]bool{}
			chain := plan[0].Node == holder[0]
			for i, c := range plan {
				if victims[c.Node] || c.Round < 1 || c.Round > rounds {
					t.Fatalf("%v seed %d: bad crash %v", g, seed, c)
				}
				victims[c.Node] = true
				for _, q := range c.Reached {
					if !slices.Contains(g.Neighbors(c.Node), q) {
						t.Fatalf("%v seed %d: %v reaches %v, not a neighbour", g, seed, c.Node, q)
					}
				}
				chain = chain && c.Round == i+1 && len(c.Reached) == 1 && (i+1 == len(plan) || plan[i+1].Node == c.Reached[0])
			}
			if chain {
				chains++
			}
		}
		if chains < 30 || chains > 80 {
			t.Errorf("%v: %d of 100 plans are the lower bound's chain, want about half", g, chains)
		}
	}
}

// The Paxos workload asks the first proposers processes to propose their
// own values within the window.
func TestPaxosWorkload(t *testing.T) {
	d := newDriver(5, 1)
	consensus.PaxosWorkload(d, 3, 10*time.Millisecond)
	if len(d.reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(d.reqs))
	}
	for i, r := range d.reqs {
		want := consensus.PaxosPropose{Value: "v" + string(rune('0'+i))}
		if r.to != node.ID(i) || r.op != want || r.at < 0 || r.at >= 10*time.Millisecond {
			t.Errorf("request %d: %+v, want %v to n%d within 10ms", i, r, want, i)
		}
	}
	d = newDriver(2, 1)
	consensus.PaxosWorkload(d, 3, 0)
	if len(d.reqs) != 2 || d.reqs[1].at != 0 {
		t.Errorf("3 proposers in a group of 2: %+v, want both at time 0", d.reqs)
	}
}
