package commit

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
)

// Workload submits count transactions, T1 to Tcount, to the coordinator,
// each at a time drawn uniformly from [0, window) with d's random source:
// transactions overlap, and the coordinator runs them concurrently.
func Workload(d node.Driver, coordinator node.ID, count int, window time.Duration) {
	node.SpreadRequests(d, []node.ID{coordinator}, count, window, func(i int) any { return Transaction{ID: TxID(i + 1)} })
}

// Fault is one step of a fault plan: crash a process, or restart it, at a
// time. This package plans faults but applies none: a runtime turns each
// step into its own action (the simulator's sim.Crash and sim.Restart), so
// the package imports no runtime.
type Fault struct {
	At      time.Duration
	Node    node.ID
	Restart bool // false: a crash
}

// String formats the step in the simulator's schedule syntax: "800ms crash n0".
func (f Fault) String() string {
	what := "crash"
	if f.Restart {
		what = "restart"
	}
	return fmt.Sprintf("%v %s %v", f.At, what, f.Node)
}

// CrashAfterVoteRequest is the fault plan that shows blocking: transaction
// tx is submitted to the coordinator at time at, and the coordinator
// crashes 100 µs later, after sending its VOTE-REQs and before any vote
// (which takes at least two message delays, 2 ms on the simulator's default
// network) can come back. The participants vote YES (or NO) into the void
// and enter their uncertainty period. The coordinator restarts at
// restartAt, or never if restartAt is 0 (crash-stop), and the processes in
// alsoCrash crash with it (crash-stop: they never come back).
//
// Under 2PC the participants that voted YES block, holding their locks,
// until the coordinator returns and aborts (it never decided). Under 3PC
// they time out, elect a backup coordinator and abort by rule TR3 (all
// uncertain) without waiting for it.
func CrashAfterVoteRequest(coordinator node.ID, tx TxID, at, restartAt time.Duration, alsoCrash ...node.ID) (Transaction, []Fault) {
	crash := at + 100*time.Microsecond
	plan := []Fault{{At: crash, Node: coordinator}}
	for _, q := range alsoCrash {
		plan = append(plan, Fault{At: crash, Node: q})
	}
	if restartAt > 0 {
		plan = append(plan, Fault{At: restartAt, Node: coordinator, Restart: true})
	}
	return Transaction{ID: tx}, plan
}
