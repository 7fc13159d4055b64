package broadcast_test

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/broadcast"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// Eager reliable broadcast in the simulator: n0's message reaches n1 but
// not n2 before n0 crashes, and n1's relay brings it to n2. The checker
// judges the run on reliable broadcast's properties.
func ExampleNewReliable() {
	s, _ := sim.New(sim.Config{
		Nodes:    3,
		Seed:     1,
		New:      func(node.ID) node.Process { return broadcast.NewReliable(broadcast.ReliableConfig{}) },
		Registry: node.NewRegistry(broadcast.ReliableMessages()...),
	})
	s.At(10*time.Millisecond, sim.Cut([]node.ID{0}, []node.ID{2}))
	s.Request(10*time.Millisecond, 0, broadcast.Broadcast{Payload: "last words"})
	s.At(10*time.Millisecond, sim.Crash(0))
	_ = s.Run(time.Second)

	for _, d := range trace.Emitted[broadcast.Delivered](s.Trace()) {
		fmt.Printf("%v delivered %q from %v\n", d.Node, d.Value.Payload, d.Value.Sender)
	}
	for _, c := range broadcast.CheckReliable(s.Trace()) {
		fmt.Printf("%s: %v\n", c.Property, c.OK)
	}
	// Output:
	// n0 delivered "last words" from n0
	// n1 delivered "last words" from n0
	// n2 delivered "last words" from n0
	// validity: true
	// no duplication: true
	// no creation: true
	// agreement: true
}

// Push gossip over 1,000 processes in synchronous rounds, measured as it
// runs, beside the textbook's log₂N + ln N rounds.
func ExampleNewGossip() {
	const n = 1000
	meter := broadcast.NewGossipMeter(n)
	s, _ := sim.New(sim.Config{
		Nodes:     n,
		Seed:      1,
		Rounds:    10 * time.Millisecond,
		New:       func(node.ID) node.Process { return broadcast.NewGossip(broadcast.GossipConfig{Form: broadcast.Push}) },
		Registry:  node.NewRegistry(broadcast.GossipMessages()...),
		NoClocks:  true,
		Recorders: []trace.Recorder{meter},
	})
	s.Request(0, 0, broadcast.Rumor{})
	_ = s.Run(time.Minute)

	st := meter.Stats()
	rounds, formula := broadcast.GossipRounds(broadcast.Push, n, 1)
	fmt.Printf("%d of %d processes informed in %d rounds; textbook %s = %.1f\n", st.Infected, st.Nodes, st.Rounds, formula, rounds)
	// Output:
	// 1000 of 1000 processes informed in 20 rounds; textbook log₂N + ln N = 16.9
}
