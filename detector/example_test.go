package detector_test

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/detector"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// Three processes on a steady 2 ms network. n1 pauses for 700 ms: n0 and n2
// suspect it 500 ms after its last heartbeat, and when it comes back they
// restore it and double its time-out, so its next pause of 700 ms goes
// unsuspected. Then n2 crashes for good, and is suspected 500 ms after its
// last heartbeat arrived.
func ExampleNewHeartbeat() {
	schedule, err := sim.ParseSchedule("1s pause n1; 1.7s resume n1; 3s pause n1; 3.7s resume n1; 5s crash n2", 3)
	if err != nil {
		panic(err)
	}
	s, err := sim.New(sim.Config{
		Nodes:    3,
		New:      func(node.ID) node.Process { return detector.NewHeartbeat(detector.DefaultHeartbeatConfig()) },
		Registry: node.NewRegistry(detector.HeartbeatMessages()...),
		Network:  sim.Network{Default: sim.Link{Latency: sim.Constant(2 * time.Millisecond)}},
		Schedule: schedule,
	})
	if err != nil {
		panic(err)
	}
	if err := s.Run(8 * time.Second); err != nil {
		panic(err)
	}
	for _, e := range s.Trace().Filter(trace.Emit) {
		fmt.Printf("%-6v %v %T%+v\n", e.Time, e.Node, e.Value, e.Value)
	}
	for _, c := range detector.Check(s.Trace()) {
		fmt.Printf("%s: %s\n", c.Property, c.Detail)
	}
	// Output:
	// 1.402s n0 detector.Suspect{Process:n1 Timeout:500ms}
	// 1.402s n2 detector.Suspect{Process:n1 Timeout:500ms}
	// 1.702s n0 detector.Restore{Process:n1 Timeout:1s}
	// 1.702s n2 detector.Restore{Process:n1 Timeout:1s}
	// 5.402s n0 detector.Suspect{Process:n2 Timeout:500ms}
	// 5.402s n1 detector.Suspect{Process:n2 Timeout:500ms}
	// completeness: n2 (crashed at 5s) suspected for good by every correct process; detection time max 402ms (n0 of n2), mean 402ms
	// eventual accuracy: 2 false suspicions, none after 6s; the last at 1.402s (n2 suspected n1)
}

// φ is −log10 of the probability that a heartbeat comes later than the
// silence so far: half the time at the mean, 10^−8 at 5.6 standard
// deviations past it.
func ExamplePhiOf() {
	const mean, sd = 100 * time.Millisecond, 10 * time.Millisecond
	for _, silence := range []time.Duration{80 * time.Millisecond, mean, 120 * time.Millisecond, 156 * time.Millisecond, 200 * time.Millisecond} {
		fmt.Printf("φ(%v) = %.2f\n", silence, detector.PhiOf(silence, mean, sd))
	}
	// Output:
	// φ(80ms) = 0.01
	// φ(100ms) = 0.30
	// φ(120ms) = 1.64
	// φ(156ms) = 7.97
	// φ(200ms) = 23.12
}
