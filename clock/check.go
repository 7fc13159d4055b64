package clock

import (
	"fmt"

	"github.com/synod-dev/synod/trace"
)

// The properties CheckLamport and CheckVector report.
const (
	// PropClockCondition: for any two stamped events, a → b implies
	// C(a) < C(b) (Lamport 1978, §2, the Clock Condition); for vector
	// clocks, V(a) < V(b) in the order of Compare.
	PropClockCondition = "clock condition"
	// PropConcurrency: for any two stamped events, a ∥ b implies
	// V(a) ∥ V(b). With the clock condition it gives the characterization
	// of Fidge 1988 and Mattern 1989: a → b if and only if V(a) < V(b), so
	// the vector clocks detect concurrency exactly.
	PropConcurrency = "concurrency detected"
)

// CheckLamport verifies the clock condition on the LamportStamp events of a
// run: for every pair of stamped events a and b, if a happens before b then
// L(a) < L(b). Happens-before is the runtime's ground truth (the vector
// clocks it keeps on every process event), never the algorithm's own
// opinion. It compares all pairs: O(k²) for k stamps.
//
// A failure names the first counterexample, in trace order, and counts the
// others. A pass also counts the concurrent pairs, whose Lamport timestamps
// mean nothing (most of them differ, and so would suggest an order that does
// not exist). A trace with no stamps, or without ground-truth clocks, fails:
// there would be nothing to judge.
func CheckLamport(t *trace.Trace) []trace.Check {
	stamps := trace.Emitted[LamportStamp](t)
	if why := unjudgeable(stamps); why != "" {
		return []trace.Check{trace.Failed(PropClockCondition, "%s", why)}
	}
	describe := func(s *trace.EmittedEvent[LamportStamp]) string {
		return fmt.Sprintf("%v %s (#%d at %v, L=%d, true clock %v)", s.Node, s.Value.Event, s.Seq, s.Time, s.Value.L, s.Clock)
	}
	var ordered, concurrent, apart, violations int
	var first string
	for j := range stamps {
		for i := range j {
			a, b := &stamps[i], &stamps[j]
			switch Compare(Vector(a.Clock), Vector(b.Clock)) {
			case Concurrent:
				concurrent++
				if a.Value.L != b.Value.L {
					apart++
				}
				continue
			case Equal:
				violations++
				if first == "" {
					first = fmt.Sprintf("%s and %s share a true clock: the trace is malformed", describe(a), describe(b))
				}
				continue
			case After:
				a, b = b, a
			}
			ordered++
			if a.Value.L >= b.Value.L {
				violations++
				if first == "" {
					first = fmt.Sprintf("%s → %s, but L=%d ≥ L=%d", describe(a), describe(b), a.Value.L, b.Value.L)
				}
			}
		}
	}
	if violations > 0 {
		return []trace.Check{trace.Failed(PropClockCondition,
			"%d of %d causally ordered pairs violate a → b ⇒ L(a) < L(b); first: %s", violations, ordered, first)}
	}
	return []trace.Check{trace.Passed(PropClockCondition,
		"%d stamps: all %d causally ordered pairs have L(a) < L(b); %d pairs are concurrent, %d of them with different L, which alone would suggest an order",
		len(stamps), ordered, concurrent, apart)}
}

// CheckVector verifies that the VectorStamp events of a run characterize
// happens-before exactly: for every pair of stamped events a and b,
// a → b ⇔ V(a) < V(b) (Fidge 1988; Mattern 1989, §4). It reports two
// verdicts: PropClockCondition (a → b ⇒ V(a) < V(b)) and PropConcurrency
// (a ∥ b ⇒ V(a) ∥ V(b)); together they mean that Compare on the process's
// vectors gives exactly the relation the runtime's ground-truth clocks give.
// It compares all pairs: O(k²·n) for k stamps and n processes.
//
// Each failure names the first counterexample in trace order and counts the
// others; each pass says how many pairs it judged. A trace with no stamps,
// or without ground-truth clocks, fails both.
func CheckVector(t *trace.Trace) []trace.Check {
	stamps := trace.Emitted[VectorStamp](t)
	if why := unjudgeable(stamps); why != "" {
		return []trace.Check{trace.Failed(PropClockCondition, "%s", why), trace.Failed(PropConcurrency, "%s", why)}
	}
	describe := func(s *trace.EmittedEvent[VectorStamp]) string {
		return fmt.Sprintf("%v %s (#%d at %v, V=%v, true clock %v)", s.Node, s.Value.Event, s.Seq, s.Time, s.Value.V, s.Clock)
	}
	var ordered, concurrent, orderViolations, concViolations int
	var firstOrder, firstConc string
	for j := range stamps {
		for i := range j {
			a, b := &stamps[i], &stamps[j]
			truth := Compare(Vector(a.Clock), Vector(b.Clock))
			if truth == After {
				a, b, truth = b, a, Before
			}
			got := Compare(a.Value.V, b.Value.V)
			switch truth {
			case Before:
				ordered++
				if got != Before {
					orderViolations++
					if firstOrder == "" {
						firstOrder = fmt.Sprintf("%s → %s, but Compare(V(a), V(b)) is %v", describe(a), describe(b), got)
					}
				}
			case Concurrent:
				concurrent++
				if got != Concurrent {
					concViolations++
					if firstConc == "" {
						firstConc = fmt.Sprintf("%s ∥ %s, but Compare(V(a), V(b)) is %v", describe(a), describe(b), got)
					}
				}
			case Equal:
				orderViolations++
				if firstOrder == "" {
					firstOrder = fmt.Sprintf("%s and %s share a true clock: the trace is malformed", describe(a), describe(b))
				}
			}
		}
	}
	checks := make([]trace.Check, 0, 2)
	if orderViolations > 0 {
		checks = append(checks, trace.Failed(PropClockCondition,
			"%d of %d causally ordered pairs violate a → b ⇒ V(a) < V(b); first: %s", orderViolations, ordered, firstOrder))
	} else {
		checks = append(checks, trace.Passed(PropClockCondition,
			"%d stamps: all %d causally ordered pairs have V(a) < V(b)", len(stamps), ordered))
	}
	if concViolations > 0 {
		checks = append(checks, trace.Failed(PropConcurrency,
			"%d of %d concurrent pairs have ordered or equal vector clocks; first: %s", concViolations, concurrent, firstConc))
	} else {
		checks = append(checks, trace.Passed(PropConcurrency,
			"%d stamps: all %d concurrent pairs have concurrent vector clocks", len(stamps), concurrent))
	}
	return checks
}

// unjudgeable explains why stamps cannot be checked, or returns "".
func unjudgeable[T any](stamps []trace.EmittedEvent[T]) string {
	if len(stamps) == 0 {
		var zero T
		return fmt.Sprintf("no %T events in the trace: nothing to check", zero)
	}
	for _, s := range stamps {
		if len(s.Clock) == 0 {
			return fmt.Sprintf("event #%d at %v has no ground-truth vector clock (was the run made with NoClocks?)", s.Seq, s.Node)
		}
	}
	return ""
}
