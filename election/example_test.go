package election_test

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/election"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
)

// Five bully processes; the coordinator, n4, crashes at 1 s and comes back
// at 2 s. The survivors elect n3; n4 bullies its way back.
func ExampleNewBully() {
	s, _ := sim.New(sim.Config{
		Nodes:    5,
		New:      func(node.ID) node.Process { return election.NewBully(election.DefaultBullyConfig()) },
		Registry: node.NewRegistry(election.BullyMessages()...),
		Seed:     1,
	})
	s.At(time.Second, sim.Crash(4))
	s.At(2*time.Second, sim.Restart(4))
	_ = s.Run(4 * time.Second)
	for _, e := range election.MeasureBully(s.Trace()).Episodes {
		fmt.Printf("%s: %v elected with %d messages\n", e.Cause, e.Leader, e.Messages)
	}
	for _, c := range election.Check(s.Trace()) {
		fmt.Println(c.Property, c.OK)
	}
	// Output:
	// boot: n4 elected with 51 messages
	// crash: n3 elected with 19 messages
	// restart: n4 elected with 4 messages
	// elected the highest true
	// elections finish true
	// agreement after faults true
}

// The fault plan of the catalog's runs with --ops 2, in schedule syntax.
func ExampleCoordinatorCrashes() {
	group := []node.ID{0, 1, 2, 3, 4}
	for _, f := range election.CoordinatorCrashes(group, 2, 10*time.Second) {
		fmt.Println(f)
	}
	// Output:
	// 2s crash n4
	// 3.666s crash n3
	// 5.332s restart n3
	// 6.998s restart n4
}
