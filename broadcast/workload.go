package broadcast

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
)

// Driver is what a workload needs from a runtime (see node.Driver).
type Driver = node.Driver

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
	window := time.Duration(float64(until) * WorkloadFraction)
	node.SpreadRequests(d, d.Group(), count, window, func(i int) any {
		return Multicast{Payload: fmt.Sprintf("m%d", i+1)}
	})
}
