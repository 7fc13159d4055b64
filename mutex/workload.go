package mutex

import (
	"time"

	"github.com/synod-dev/synod/node"
)

// Driver is what a workload needs from a runtime (see node.Driver).
type Driver = node.Driver

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
	window := time.Duration(float64(until) * WorkloadFraction)
	node.SpreadRequests(d, clients, count, window, func(int) any { return Acquire{} })
}
