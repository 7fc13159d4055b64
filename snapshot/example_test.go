package snapshot_test

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/snapshot"
)

// Three bank branches open with 1000 each and keep sending each other
// money; n2 and then n0 initiate a snapshot. Each recorded global state
// counts the 3000 the branches opened with, some of it in flight.
func ExampleNewChandyLamport() {
	s, _ := sim.New(sim.Config{
		Nodes:    3,
		New:      func(node.ID) node.Process { return snapshot.NewChandyLamport(snapshot.Config{}) },
		Registry: node.NewRegistry(snapshot.Messages()...),
		Seed:     1,
	})
	s.Request(20*time.Millisecond, 2, snapshot.Initiate{})
	s.Request(50*time.Millisecond, 0, snapshot.Initiate{})
	_ = s.Run(100 * time.Millisecond)
	for _, g := range snapshot.GlobalStates(s.Trace()) {
		fmt.Println(g)
	}
	for _, c := range snapshot.Check(s.Trace()) {
		fmt.Println(c.Property, c.OK)
	}
	st := snapshot.Measure(s.Trace())
	fmt.Printf("%d markers per snapshot (E = %d)\n", int(st.MarkersPerSnapshot()), snapshot.TextbookMarkers(3))
	// Output:
	// n2#1: n0 883, n1 1033, n2 1040; n0→n1 [38]; n1→n0 [6]; total 3000
	// n0#1: n0 894, n1 819, n2 1193; n1→n2 [94]; total 3000
	// consistent cut true
	// conservation true
	// recorded state true
	// termination true
	// 6 markers per snapshot (E = 6)
}

// Chandy & Lamport's single-token system (§2): p = n0 holds the token, one
// unit of money, and sends it to q = n1 just before q initiates a snapshot.
// The recorded global state finds the token in the channel n0→n1.
func ExampleGlobalStates() {
	cfg := snapshot.Config{Balances: []int64{1, 0}, NoTransfers: true}
	s, _ := sim.New(sim.Config{
		Nodes:    2,
		New:      func(node.ID) node.Process { return snapshot.NewChandyLamport(cfg) },
		Registry: node.NewRegistry(snapshot.Messages()...),
		Network:  sim.Network{Default: sim.Link{Latency: sim.Constant(time.Millisecond)}},
	})
	s.Request(0, 0, snapshot.Pay{To: 1, Amount: 1})
	s.Request(500*time.Microsecond, 1, snapshot.Initiate{})
	_ = s.Run(time.Second)
	for _, g := range snapshot.GlobalStates(s.Trace()) {
		fmt.Println(g, g.Complete())
	}
	// Output:
	// n1#1: n0 0, n1 0; n0→n1 [1]; total 1 true
}
