package consensus

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
)

// FloodingCrash is one crash of a flooding-consensus run: in round Round,
// Node sends its round's messages to the neighbours in Reached only (none,
// some or all of them) and crashes for good, as a process that fails in
// the middle of its sends. This package plans crashes but applies none: a
// runtime turns each into its own actions (in the simulator, a one-way cut
// from Node to its other neighbours and a crash, both between round
// Round's ticks and the next round's deliveries).
type FloodingCrash struct {
	Round   int
	Node    node.ID
	Reached []node.ID
}

// String describes the crash: "round 2: n3 crashes, its last message
// reaching n1 only".
func (c FloodingCrash) String() string {
	reached := "no one"
	if len(c.Reached) > 0 {
		names := make([]string, len(c.Reached))
		for i, p := range c.Reached {
			names[i] = p.String()
		}
		reached = strings.Join(names, ", ") + " only"
	}
	return fmt.Sprintf("round %d: %v crashes, its last message reaching %s", c.Round, c.Node, reached)
}

// Unreached lists the neighbours of c.Node in g that its last message does
// not reach: those a runtime cuts it off from before it crashes.
func (c FloodingCrash) Unreached(g *Graph) []node.ID {
	var out []node.ID
	for _, q := range g.Neighbors(c.Node) {
		if !slices.Contains(c.Reached, q) {
			out = append(out, q)
		}
	}
	return out
}

// FloodingWorkload proposes to every process at time 0 a distinct value, a
// random permutation of 0..N−1, and plans f crashes for a run of flooding
// consensus on g that decides after rounds rounds. Half the runs (at
// random) get the adversary of the f+1 lower bound (Lynch §6.7), which
// crashes one process per round from round 1: first the process holding
// the smallest value, its last message reaching a single neighbour, which
// crashes in the next round the same way, and so on, so that after f rounds
// a single live process knows the value everyone must decide. The other
// half crash f processes drawn at random, each in a random round up to
// rounds, its last message reaching a random subset of its neighbours.
// Every crash is crash-stop; f must stay below g's connectivity, so that
// the live processes stay connected.
func FloodingWorkload(d node.Driver, g *Graph, f, rounds int) []FloodingCrash {
	r := d.Rand()
	group := d.Group()
	values := r.Perm(len(group))
	for i, p := range group {
		d.Request(0, p, FloodPropose{Value: values[i]})
	}
	f = min(f, len(group)-1)
	if f <= 0 || rounds <= 0 {
		return nil
	}
	if r.IntN(2) == 0 {
		return chainCrashes(r, g, node.ID(slices.Index(values, 0)), f)
	}
	return randomCrashes(r, g, f, rounds)
}

// chainCrashes is the lower bound's adversary: the process holding the
// smallest value crashes in round 1 after reaching one neighbour, which
// crashes in round 2 after reaching one neighbour, ... for f rounds.
func chainCrashes(r *rand.Rand, g *Graph, first node.ID, f int) []FloodingCrash {
	crashed := map[node.ID]bool{}
	var plan []FloodingCrash
	cur := first
	for round := 1; round <= f; round++ {
		var live []node.ID
		for _, q := range g.Neighbors(cur) {
			if !crashed[q] {
				live = append(live, q)
			}
		}
		if len(live) == 0 {
			break
		}
		next := live[r.IntN(len(live))]
		plan = append(plan, FloodingCrash{Round: round, Node: cur, Reached: []node.ID{next}})
		crashed[cur] = true
		cur = next
	}
	return plan
}

// randomCrashes crashes f random processes, each in a random round of
// 1..rounds after reaching a random subset of its neighbours.
func randomCrashes(r *rand.Rand, g *Graph, f, rounds int) []FloodingCrash {
	victims := r.Perm(g.N())[:f]
	plan := make([]FloodingCrash, 0, f)
	for _, v := range victims {
		c := FloodingCrash{Round: 1 + r.IntN(rounds), Node: node.ID(v)}
		for _, q := range g.Neighbors(node.ID(v)) {
			if r.IntN(2) == 0 {
				c.Reached = append(c.Reached, q)
			}
		}
		plan = append(plan, c)
	}
	slices.SortStableFunc(plan, func(a, b FloodingCrash) int { return a.Round - b.Round })
	return plan
}

// PaxosWorkload gives the first proposers processes of the group (all of
// them if there are fewer) a request to propose a value of their own,
// "v<rank>", each at a random time in [0, window): with a short window the
// proposers duel.
func PaxosWorkload(d node.Driver, proposers int, window time.Duration) {
	group := d.Group()
	for i := range min(proposers, len(group)) {
		at := time.Duration(0)
		if window > 0 {
			at = time.Duration(d.Rand().Int64N(int64(window)))
		}
		d.Request(at, group[i], PaxosPropose{Value: fmt.Sprintf("v%d", group[i])})
	}
}
