package consensus_test

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// Three processes run Paxos in the simulator; two of them propose at the
// same instant and duel. Every process learns the same value, and the
// checker agrees.
func ExampleNewPaxos() {
	cfg := consensus.DefaultPaxosConfig()
	s, err := sim.New(sim.Config{
		Nodes:    3,
		Seed:     1,
		Registry: node.NewRegistry(consensus.PaxosMessages()...),
		New:      func(node.ID) node.Process { return consensus.NewPaxos(cfg) },
	})
	if err != nil {
		panic(err)
	}
	s.Request(0, 0, consensus.PaxosPropose{Value: "apples"})
	s.Request(0, 2, consensus.PaxosPropose{Value: "pears"})
	if err := s.Run(time.Second); err != nil {
		panic(err)
	}
	for _, d := range trace.Emitted[consensus.PaxosDecided](s.Trace()) {
		fmt.Printf("%v decided %s\n", d.Node, d.Value.Value)
	}
	fmt.Println(trace.AllOK(consensus.CheckPaxos(s.Trace())))
	// Output:
	// n0 decided pears
	// n1 decided pears
	// n2 decided pears
	// true
}

// Five processes run flooding consensus in synchronous rounds on the
// complete graph, tolerating two crashes: they decide the smallest
// proposal after f+1 = 3 rounds.
func ExampleNewFlooding() {
	g := consensus.Complete(5)
	rounds, err := consensus.FloodingRounds(g, 2)
	if err != nil {
		panic(err)
	}
	cfg := consensus.FloodingConfig{Graph: g, Rounds: rounds}
	s, err := sim.New(sim.Config{
		Nodes:    5,
		Rounds:   10 * time.Millisecond,
		Registry: node.NewRegistry(consensus.FloodingMessages()...),
		New:      func(node.ID) node.Process { return consensus.NewFlooding(cfg) },
	})
	if err != nil {
		panic(err)
	}
	for i, v := range []int{42, 7, 19, 23, 11} {
		s.Request(0, node.ID(i), consensus.FloodPropose{Value: v})
	}
	s.At(15*time.Millisecond, sim.Crash(1)) // n1 crashes in round 1, after sending
	if err := s.Run(time.Second); err != nil {
		panic(err)
	}
	for _, d := range trace.Emitted[consensus.FloodDecided](s.Trace()) {
		fmt.Printf("%v decided %d after %d rounds\n", d.Node, d.Value.Value, d.Value.Round)
	}
	// Output:
	// n0 decided 7 after 3 rounds
	// n2 decided 7 after 3 rounds
	// n3 decided 7 after 3 rounds
	// n4 decided 7 after 3 rounds
}

// On a ring a crash leaves a line: flooding must wait out the diameter of
// what is left, not the ring's.
func ExampleGraph_FaultDiameter() {
	g := consensus.Ring(8)
	fmt.Println("diameter", g.Diameter(), "connectivity", g.Connectivity(), "1-fault diameter", g.FaultDiameter(1))
	rounds, _ := consensus.FloodingRounds(g, 1)
	fmt.Println("rounds for f = 1:", rounds)
	// Output:
	// diameter 4 connectivity 2 1-fault diameter 6
	// rounds for f = 1: 7
}
