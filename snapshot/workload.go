package snapshot

import (
	"time"

	"github.com/synod-dev/synod/node"
)

// WorkloadFraction is the share of a run during which Workload initiates
// snapshots; the rest leaves every snapshot time to complete, so that
// termination can be judged at the end of the run.
const WorkloadFraction = 0.5

// Workload submits count Initiate requests, each to a process and at a time
// drawn uniformly from the group and from the first WorkloadFraction of a run
// of length until, using only d's random source. The bank's transfers need
// no requests: the branches make them on their own.
func Workload(d node.Driver, count int, until time.Duration) {
	window := time.Duration(float64(until) * WorkloadFraction)
	node.SpreadRequests(d, d.Group(), count, window, func(int) any { return Initiate{} })
}
