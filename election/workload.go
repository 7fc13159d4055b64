package election

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
)

// Fault is one step of a fault plan: crash a process, or restart it, at a
// time. This package plans faults but applies none: a runtime turns each
// step into its own action (the simulator's sim.Crash and sim.Restart, a
// live cluster's kill and restart), so the package imports no runtime.
type Fault struct {
	At      time.Duration
	Node    node.ID
	Restart bool // false: a crash
}

// String formats the step in the simulator's schedule syntax: "2s crash n4".
func (f Fault) String() string {
	what := "crash"
	if f.Restart {
		what = "restart"
	}
	return fmt.Sprintf("%v %s %v", f.At, what, f.Node)
}

// CoordinatorCrashes plans k crashes of the coordinator in a run of the
// given length, then the restarts: the highest process (the coordinator once
// the boot election is over) crashes, the survivors elect the next highest,
// which crashes in turn, and so on k times; then the crashed processes come
// back in ascending order, each bullying its way back to the coordinator's
// job (in the ring, by an election it holds on restart). At most len(group)−1
// processes crash, so that one survives. The 2k steps are spread evenly
// between 20% and 70% of the run, leaving the last 30% for the leader to
// settle so that agreement can be judged.
func CoordinatorCrashes(group []node.ID, k int, length time.Duration) []Fault {
	k = min(k, len(group)-1)
	if k <= 0 {
		return nil
	}
	first, last := length/5, length*7/10
	step := ((last - first) / time.Duration(2*k-1)).Truncate(time.Millisecond)
	var plan []Fault
	at := first
	for i := range k {
		plan = append(plan, Fault{At: at, Node: group[len(group)-1-i]})
		at += step
	}
	for i := k - 1; i >= 0; i-- {
		plan = append(plan, Fault{At: at, Node: group[len(group)-1-i], Restart: true})
		at += step
	}
	return plan
}
