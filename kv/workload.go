package kv

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
)

// WorkloadKeys are the keys Workload uses: few, so that operations often
// meet on one key, in two prefix groups ("a/", "b/") and a lone key, so that
// ranges over a group touch few keys and the checker's partition by key stays
// fine-grained.
var WorkloadKeys = []string{"a/1", "a/2", "b/1", "b/2", "c"}

// workloadPrefixes are the prefixes Workload ranges over.
var workloadPrefixes = []string{"a/", "b/"}

// Workload submits ops operations to the given client processes, each to a
// client and at a time drawn uniformly from [0, window), using only d's
// random source. The mix is about 30% Put, 25% Get, 20% CAS, 10% Delete and
// 15% Range (over "a/" or "b/", sometimes limited to one key), on
// WorkloadKeys. Every value written is unique ("v1", "v2", ... by operation
// number), so a read names the write it saw; a CAS expects a value an
// earlier-numbered operation writes to that key, or absence.
func Workload(d node.Driver, clients []node.ID, ops int, window time.Duration) {
	r := d.Rand()
	written := map[string][]string{} // per key, the values generated so far
	node.SpreadRequests(d, clients, ops, window, func(i int) any {
		key := WorkloadKeys[r.IntN(len(WorkloadKeys))]
		value := fmt.Sprintf("v%d", i+1)
		switch p := r.IntN(100); {
		case p < 30:
			written[key] = append(written[key], value)
			return Put{Key: key, Value: value}
		case p < 55:
			return Get{Key: key}
		case p < 75:
			vs := written[key]
			written[key] = append(vs, value)
			if len(vs) == 0 || r.IntN(4) == 0 {
				return CAS{Key: key, New: value, Absent: true}
			}
			return CAS{Key: key, Old: vs[max(0, len(vs)-1-r.IntN(2))], New: value}
		case p < 85:
			return Delete{Key: key}
		default:
			limit := 0
			if r.IntN(3) == 0 {
				limit = 1
			}
			return Range{Prefix: workloadPrefixes[r.IntN(len(workloadPrefixes))], Limit: limit}
		}
	})
}
