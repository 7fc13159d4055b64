package mutex

import (
	"math/rand/v2"
	"time"

	"github.com/synod-dev/synod/node"
)

// Driver is the part of a runtime that a workload needs: a way to submit a
// client request at a given time, the membership, and the harness's seeded
// random source. *sim.Sim implements it; defining it here keeps this package
// free of any runtime import (DESIGN.md §4: algorithms import downward only).
type Driver interface {
	// Request submits op to process to at time at and returns its ID.
	Request(at time.Duration, to node.ID, op any) node.RequestID
	// Group is the membership.
	Group() []node.ID
	// Rand is the workload's random source.
	Rand() *rand.Rand
}

// WorkloadFraction is the share of a run during which Workload submits
// requests; the rest of the run is left for every request to be served, so
// that liveness can be judged at the end of a healthy run.
const WorkloadFraction = 0.5

// Workload submits count Acquire requests, each to a process and at a time
// drawn uniformly from the group and from the first WorkloadFraction of a run
// of length until, using only d's random source. With enough requests several
// processes want the critical section at once, which is what the algorithms
// have to arbitrate.
func Workload(d Driver, count int, until time.Duration) {
	WorkloadOn(d, d.Group(), count, until)
}

// WorkloadOn is Workload with the requests sent only to the given processes
// (the clients), for runs in which some processes play another role, such as
// the coordinators of the voting algorithm.
func WorkloadOn(d Driver, clients []node.ID, count int, until time.Duration) {
	if len(clients) == 0 {
		return
	}
	r := d.Rand()
	window := max(int64(float64(until)*WorkloadFraction), 1)
	for range count {
		at := time.Duration(r.Int64N(window))
		to := clients[r.IntN(len(clients))]
		d.Request(at, to, Acquire{})
	}
}
