package broadcast

import (
	"fmt"
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

// WorkloadFraction is the share of a run during which TotalOrderWorkload submits
// multicasts; the rest of the run is left for them to be delivered, so that
// a run on a healthy network ends quiescent and termination can be judged.
const WorkloadFraction = 0.7

// TotalOrderWorkload submits count Multicast requests, with payloads "m1", "m2", ...,
// each to a process and at a time drawn uniformly from the group and from the
// first WorkloadFraction of a run of length until, using only d's random
// source. Several processes therefore multicast concurrently, which is what
// a total order has to resolve (van Steen & Tanenbaum §5.2, the two
// replicated-database updates).
func TotalOrderWorkload(d Driver, count int, until time.Duration) {
	r, group := d.Rand(), d.Group()
	window := max(int64(float64(until)*WorkloadFraction), 1)
	for i := range count {
		at := time.Duration(r.Int64N(window))
		to := group[r.IntN(len(group))]
		d.Request(at, to, Multicast{Payload: fmt.Sprintf("m%d", i+1)})
	}
}
