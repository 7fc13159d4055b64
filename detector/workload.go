package detector

import (
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// Driver is what a workload needs from a runtime (see node.Driver).
type Driver = node.Driver

// FaultKind names what a Fault does to a process.
type FaultKind string

// The faults of a scenario, named as in the simulator's schedule syntax.
const (
	FaultCrash  FaultKind = "crash"  // the process stops for good
	FaultPause  FaultKind = "pause"  // the process stops taking steps for a while
	FaultResume FaultKind = "resume" // the paused process carries on
)

// Fault is one thing a scenario does to a process at a time. A runtime turns
// it into its own nemesis action; String prints it in the simulator's
// schedule syntax ("2.5s crash n3").
type Fault struct {
	At   time.Duration
	Kind FaultKind
	Node node.ID
}

// String formats the fault as a schedule entry, "2.5s crash n3".
func (f Fault) String() string { return fmt.Sprintf("%v %s %v", f.At, f.Kind, f.Node) }

// The slow process of a scenario pauses for SlowPause about every SlowEvery,
// like a process with long garbage-collection pauses.
const (
	// SlowPause is longer than the detectors' default time-outs, so a
	// detector that does not learn keeps suspecting the slow process.
	SlowPause = 600 * time.Millisecond
	// SlowEvery is the mean time between the starts of two pauses; each
	// gap is drawn uniformly from ±30% around it, so that any stretch of
	// 2 s has a pause in it.
	SlowEvery = 1500 * time.Millisecond
)

// Scenario is the run the catalog gives a failure detector of length
// length, drawn with d's random source:
//
//   - crashes distinct processes (at most N−1) crash for good, each at a
//     time drawn uniformly from [length/5, length/2], leaving half the run
//     to detect them;
//   - if at least two other processes stay up, one of them is slow: it
//     pauses for SlowPause about every SlowEvery from about SlowEvery/2 to
//     the end of the run. Its pauses are bounded, as partial synchrony
//     demands, so an eventually perfect detector learns to tolerate them
//     and stops suspecting it, while a detector with a fixed time-out
//     shorter than the pauses suspects it at every pause.
//
// The faults are returned in time order.
func Scenario(d Driver, crashes int, length time.Duration) []Fault {
	r, group := d.Rand(), d.Group()
	n := len(group)
	crashes = max(0, min(crashes, n-1))
	perm := r.Perm(n)
	var faults []Fault
	lo, hi := int64(length/5), int64(length/2)
	for _, i := range perm[:crashes] {
		at := time.Duration(lo + r.Int64N(hi-lo+1))
		faults = append(faults, Fault{At: at, Kind: FaultCrash, Node: group[i]})
	}
	if n-crashes >= 2 {
		slow := group[perm[crashes]]
		spread := int64(SlowEvery) * 3 / 5 // ±30%
		for at := SlowEvery/2 + time.Duration(r.Int64N(int64(SlowEvery/2))); at+SlowPause < length; {
			faults = append(faults, Fault{At: at, Kind: FaultPause, Node: slow}, Fault{At: at + SlowPause, Kind: FaultResume, Node: slow})
			at += SlowEvery - time.Duration(spread/2) + time.Duration(r.Int64N(spread+1))
		}
	}
	slices.SortStableFunc(faults, func(a, b Fault) int { return int(a.At - b.At) })
	return faults
}
