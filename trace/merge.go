package trace

import (
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// Merge combines the traces that the nodes of a live run wrote separately
// into one trace whose order is consistent with happens-before, so the
// simulator's checkers, metrics and diagrams apply unchanged.
//
// The order is a linear extension of the vector clocks: if a → b then
// V(a) < V(b), so the sum of a's entries is strictly smaller than b's; events
// are sorted by that sum, then by time, node and original position. Events
// without a clock are placed by time after the clocked events of the same
// sum-and-time. Every trace must have the same number of nodes; Seq is
// renumbered, and times are rebased so the earliest event is at 0 (live
// nodes record wall-clock time).
func Merge(traces ...*Trace) (*Trace, error) {
	if len(traces) == 0 {
		return &Trace{}, nil
	}
	out := &Trace{Nodes: traces[0].Nodes}
	type keyed struct {
		sum  uint64
		e    Event
		from int
	}
	var all []keyed
	for i, t := range traces {
		if t.Nodes != out.Nodes {
			return nil, fmt.Errorf("trace: merge: trace %d has %d nodes, trace 0 has %d", i, t.Nodes, out.Nodes)
		}
		var last uint64
		for _, e := range t.Events {
			sum := last
			if e.Clock != nil {
				sum = 0
				for _, x := range e.Clock {
					sum += x
				}
				last = sum
			}
			all = append(all, keyed{sum: sum, e: e, from: i})
		}
	}
	slices.SortStableFunc(all, func(a, b keyed) int {
		switch {
		case a.sum != b.sum:
			return cmpU(a.sum, b.sum)
		case a.e.Time != b.e.Time:
			return cmpU(uint64(a.e.Time), uint64(b.e.Time))
		case a.e.Node != b.e.Node:
			return int(a.e.Node - b.e.Node)
		case a.from != b.from:
			return a.from - b.from
		}
		return a.e.Seq - b.e.Seq
	})
	out.Events = make([]Event, len(all))
	var first time.Duration
	for i, k := range all {
		if i == 0 || k.e.Time < first {
			first = k.e.Time
		}
	}
	for i, k := range all {
		k.e.Seq = i
		k.e.Time -= first
		out.Events[i] = k.e
	}
	return out, nil
}

func cmpU(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

// LastClock returns the vector clock of the last process event of node id
// in t (nil if it has none): where a restarted live node resumes its clock so
// that its new events still come after its old ones.
func LastClock(t *Trace, id node.ID) VC {
	for i := len(t.Events) - 1; i >= 0; i-- {
		if e := &t.Events[i]; e.Node == id && e.Kind.IsProcess() && e.Clock != nil {
			return e.Clock.Clone()
		}
	}
	return nil
}
