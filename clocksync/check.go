package clocksync

import (
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// The properties Check reports, in the order it reports them.
const (
	// PropBound: every synchronized Reading is within its own Bound of the
	// reference clock. The checker cannot read a virtual reference (the
	// mean of the RBS receivers' clocks) directly, so it judges what that
	// implies: at every instant, any two readings with the same Reference
	// satisfy |Adjusted_i − Adjusted_j| ≤ Bound_i + Bound_j. Where the
	// reference is a process (the time server, the Berkeley master), its
	// own reading is one of the two, so that is the distance to the
	// reference itself.
	PropBound = "within bound"
	// PropMonotonic: a process's adjusted clock never runs backward
	// (between a process's consecutive readings, as long as neither a
	// restart nor the nemesis set its clock in between).
	PropMonotonic = "monotonic"
	// PropSynchronized: every process that reads its clock has synchronized
	// by the end of the run: its last reading is synchronized, unless it
	// was taken within the warm-up after the process's last (re)start.
	PropSynchronized = "synchronized"
)

// DefaultWarmUp is CheckOptions.WarmUp's default.
const DefaultWarmUp = 2 * time.Second

// CheckOptions tunes Check and Measure.
type CheckOptions struct {
	// WarmUp is how long the algorithms get to settle (default
	// DefaultWarmUp). Readings taken within WarmUp after the nemesis set a
	// clock in mid-run (a ClockSet event after time 0) are not judged
	// against their bounds, since the fault moved a clock under the
	// algorithm's feet and it needs a round to notice. Measure ignores the
	// first WarmUp of the run, the convergence from the initial offsets.
	WarmUp time.Duration
	// Epoch is the wall-clock reading of true time zero (sim.Epoch): the
	// true time of an event is Epoch + its Time. Measure needs it for the
	// offset from true time.
	Epoch time.Time
}

func (o CheckOptions) withDefaults() CheckOptions {
	if o.WarmUp <= 0 {
		o.WarmUp = DefaultWarmUp
	}
	return o
}

// reading is one Reading with where and when it was taken.
type reading = trace.EmittedEvent[Reading]

// Check judges a clock synchronization run from the Readings its processes
// emitted: PropBound (each algorithm is as precise as it claims),
// PropMonotonic (slewing never turns a clock back) and PropSynchronized
// (everyone got synchronized). Each failure names the first counterexample
// and counts the others. A trace without readings fails every property:
// there would be nothing to judge.
func Check(t *trace.Trace, o CheckOptions) []trace.Check {
	o = o.withDefaults()
	readings := trace.Emitted[Reading](t)
	if len(readings) == 0 {
		why := "no clocksync.Reading events in the trace (no Sample requests?): nothing to check"
		return []trace.Check{trace.Failed(PropBound, "%s", why), trace.Failed(PropMonotonic, "%s", why), trace.Failed(PropSynchronized, "%s", why)}
	}
	return []trace.Check{checkBound(t, readings, o), checkMonotonic(t), checkSynchronized(t, readings, o)}
}

// clockFaults lists the times at which the nemesis set a clock in mid-run.
func clockFaults(t *trace.Trace) []time.Duration {
	var at []time.Duration
	for _, e := range t.Events {
		if e.Kind == trace.ClockSet && e.Time > 0 {
			at = append(at, e.Time)
		}
	}
	return at
}

// settled reports whether no mid-run clock fault happened within warmUp
// before tm.
func settled(faults []time.Duration, tm, warmUp time.Duration) bool {
	for _, f := range faults {
		if f <= tm && tm < f+warmUp {
			return false
		}
	}
	return true
}

// instants splits readings (in trace order) into runs taken at the same
// instant.
func instants(readings []reading) [][]reading {
	var out [][]reading
	for i := 0; i < len(readings); {
		j := i + 1
		for j < len(readings) && readings[j].Time == readings[i].Time {
			j++
		}
		out = append(out, readings[i:j])
		i = j
	}
	return out
}

func checkBound(t *trace.Trace, readings []reading, o CheckOptions) trace.Check {
	faults := clockFaults(t)
	var groups, judged, violations int
	var first string
	var closest closeCall
	for _, at := range instants(readings) {
		if !settled(faults, at[0].Time, o.WarmUp) {
			continue
		}
		byRef := map[string][]reading{}
		var refs []string
		for _, r := range at {
			if !r.Value.Synced || r.Value.Reference == "" {
				continue
			}
			if byRef[r.Value.Reference] == nil {
				refs = append(refs, r.Value.Reference)
			}
			byRef[r.Value.Reference] = append(byRef[r.Value.Reference], r)
		}
		for _, ref := range refs { // in order of first appearance
			rs := byRef[ref]
			if len(rs) < 2 {
				continue
			}
			groups++
			judged += len(rs)
			// The intervals [A−B, A+B] all contain the reference iff the
			// largest lower end is below the smallest upper end; if not,
			// those two readings are the pair that cannot both be right.
			lo, hi := 0, 0
			for i, r := range rs {
				if r.Value.Adjusted.Add(-r.Value.Bound).After(rs[lo].Value.Adjusted.Add(-rs[lo].Value.Bound)) {
					lo = i
				}
				if r.Value.Adjusted.Add(r.Value.Bound).Before(rs[hi].Value.Adjusted.Add(rs[hi].Value.Bound)) {
					hi = i
				}
			}
			a, b := rs[lo], rs[hi]
			gap := b.Value.Adjusted.Add(b.Value.Bound).Sub(a.Value.Adjusted.Add(-a.Value.Bound))
			if gap >= 0 {
				closest.update(rs)
				continue
			}
			violations++
			if first == "" {
				first = fmt.Sprintf("at %v, %s is %v ahead of %s, more than their bounds %v + %v allow (reference %s)",
					a.Time, describe(a), a.Value.Adjusted.Sub(b.Value.Adjusted), describe(b), a.Value.Bound, b.Value.Bound, ref)
			}
		}
	}
	switch {
	case violations > 0:
		return trace.Failed(PropBound, "%d of %d groups of readings taken at the same instant violate |A_i − A_j| ≤ B_i + B_j; first: %s "+
			"(a bound holds only under the algorithm's assumptions: clocks drifting within its MaxDrift, delays as its model allows)", violations, groups, first)
	case groups == 0:
		return trace.Failed(PropBound, "no two synchronized readings of the same reference at the same instant: nothing to judge")
	}
	return trace.Passed(PropBound, "%d readings in %d groups taken at the same instant: each within its bound of the reference%s", judged, groups, closest)
}

// closeCall is the pair of readings, among those judged, that came closest
// to their bounds: the largest |A_i − A_j| / (B_i + B_j).
type closeCall struct {
	a, b  reading
	ratio float64
}

// update considers the pairs of a group, if it is small enough to afford
// it (the verdict does not depend on it).
func (c *closeCall) update(rs []reading) {
	if len(rs) > 64 {
		return
	}
	for j := range rs {
		for i := range j {
			a, b := rs[i], rs[j]
			if a.Node == b.Node {
				continue
			}
			allowed := a.Value.Bound + b.Value.Bound
			if allowed <= 0 {
				continue
			}
			if r := float64(abs(a.Value.Adjusted.Sub(b.Value.Adjusted))) / float64(allowed); r > c.ratio {
				*c = closeCall{a: a, b: b, ratio: r}
			}
		}
	}
}

func (c closeCall) String() string {
	if c.ratio == 0 {
		return ""
	}
	return fmt.Sprintf("; closest: %v and %v at %v, %v apart, %.0f%% of the %v + %v their bounds allow",
		c.a.Node, c.b.Node, c.a.Time, abs(c.a.Value.Adjusted.Sub(c.b.Value.Adjusted)), 100*c.ratio, c.a.Value.Bound, c.b.Value.Bound)
}

// describe names a reading in a verdict.
func describe(r reading) string {
	return fmt.Sprintf("%v (#%d, ±%v)", r.Node, r.Seq, r.Value.Bound)
}

func checkMonotonic(t *trace.Trace) trace.Check {
	last := map[node.ID]*trace.Event{}
	var pairs, violations int
	var first string
	for i := range t.Events {
		e := &t.Events[i]
		switch e.Kind {
		case trace.Start, trace.Crash, trace.Restart, trace.ClockSet:
			delete(last, e.Node)
		case trace.Emit:
			r, ok := e.Value.(Reading)
			if !ok {
				continue
			}
			if prev := last[e.Node]; prev != nil {
				pairs++
				p := prev.Value.(Reading)
				if r.Adjusted.Before(p.Adjusted) {
					violations++
					if first == "" {
						first = fmt.Sprintf("%v's adjusted clock went back %v between #%d at %v and #%d at %v",
							e.Node, p.Adjusted.Sub(r.Adjusted), prev.Seq, prev.Time, e.Seq, e.Time)
					}
				}
			}
			last[e.Node] = e
		}
	}
	if violations > 0 {
		return trace.Failed(PropMonotonic, "%d of %d consecutive readings ran backward; first: %s", violations, pairs, first)
	}
	return trace.Passed(PropMonotonic, "%d consecutive readings: no adjusted clock ran backward", pairs)
}

func checkSynchronized(t *trace.Trace, readings []reading, o CheckOptions) trace.Check {
	started := map[node.ID]time.Duration{}
	for _, e := range t.Events {
		if e.Kind == trace.Start {
			started[e.Node] = e.Time
		}
	}
	last := map[node.ID]reading{}
	for _, r := range readings {
		last[r.Node] = r
	}
	ids := make([]node.ID, 0, len(last))
	for id := range last {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var judged int
	var late []string
	for _, id := range ids {
		r := last[id]
		if r.Time < started[id]+o.WarmUp {
			continue
		}
		judged++
		if !r.Value.Synced {
			late = append(late, fmt.Sprintf("%v (up since %v, last read at %v)", id, started[id], r.Time))
		}
	}
	if len(late) > 0 {
		return trace.Failed(PropSynchronized, "%d of %d processes never synchronized: %v", len(late), judged, late)
	}
	if judged == 0 {
		return trace.Failed(PropSynchronized, "no process read its clock later than %v after it started: nothing to judge", o.WarmUp)
	}
	return trace.Passed(PropSynchronized, "all %d processes that read their clocks had synchronized by their last reading", judged)
}

// Stats are the measurements of a run, taken at the instants after the
// warm-up (and not within a warm-up after a mid-run clock fault) at which at
// least two synchronized processes read their clocks.
type Stats struct {
	// Instants is the number of instants measured.
	Instants int
	// MaxSkew and MeanSkew are the largest and the mean difference between
	// the adjusted clocks of two synchronized processes at the same instant.
	MaxSkew, MeanSkew time.Duration
	// MaxRawSkew is the largest difference between the same processes' own
	// clocks at those instants: what the skew would be without the
	// algorithm.
	MaxRawSkew time.Duration
	// MaxOffset is the largest distance of a synchronized adjusted clock
	// from true time.
	MaxOffset time.Duration
	// MeanBound and MaxBound summarize the bounds the algorithm claimed in
	// those readings.
	MeanBound, MaxBound time.Duration
}

// Measure computes a run's Stats.
func Measure(t *trace.Trace, o CheckOptions) Stats {
	o = o.withDefaults()
	faults := clockFaults(t)
	var st Stats
	var skewSum, boundSum float64
	var pairs, bounds int
	for _, at := range instants(trace.Emitted[Reading](t)) {
		tm := at[0].Time
		if tm < o.WarmUp || !settled(faults, tm, o.WarmUp) {
			continue
		}
		// One reading per process: its last at this instant (after a
		// correction rather than before it).
		per := map[node.ID]Reading{}
		for _, r := range at {
			if r.Value.Synced {
				per[r.Node] = r.Value
			}
		}
		if len(per) < 2 {
			continue
		}
		st.Instants++
		truth := o.Epoch.Add(tm)
		ids := make([]node.ID, 0, len(per))
		for id := range per {
			ids = append(ids, id)
		}
		slices.Sort(ids) // a fixed order, so the sums are the same every run
		adj := make([]time.Duration, 0, len(per))
		var loRaw, hiRaw time.Duration
		for k, id := range ids {
			r := per[id]
			adj = append(adj, r.Adjusted.Sub(truth))
			raw := r.Local.Sub(truth)
			if k == 0 || raw < loRaw {
				loRaw = raw
			}
			if k == 0 || raw > hiRaw {
				hiRaw = raw
			}
			st.MaxOffset = max(st.MaxOffset, abs(r.Adjusted.Sub(truth)))
			st.MaxBound = max(st.MaxBound, r.Bound)
			boundSum += float64(r.Bound)
			bounds++
		}
		slices.Sort(adj)
		st.MaxSkew = max(st.MaxSkew, adj[len(adj)-1]-adj[0])
		st.MaxRawSkew = max(st.MaxRawSkew, hiRaw-loRaw)
		// Σ over pairs i<j of adj[j]−adj[i] = Σ_j adj[j]·(2j − (n−1)).
		n := len(adj)
		for j, a := range adj {
			skewSum += float64(a-adj[0]) * float64(2*j-(n-1))
		}
		pairs += n * (n - 1) / 2
	}
	if pairs > 0 {
		st.MeanSkew = time.Duration(skewSum / float64(pairs))
	}
	if bounds > 0 {
		st.MeanBound = time.Duration(boundSum / float64(bounds))
	}
	return st
}

// ms expresses d in milliseconds, for costs.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// skewCosts are the costs every algorithm reports: the skew it achieved,
// beside the bounds it claimed and the skew of the clocks left alone, and
// its offset from true time, beside what it promises about that.
func skewCosts(st Stats, truth string) []trace.Cost {
	claimed := fmt.Sprintf("bounds claimed: mean ±%.3g ms, max ±%.3g ms", ms(st.MeanBound), ms(st.MaxBound))
	return []trace.Cost{
		{Name: "max pairwise skew", Value: ms(st.MaxSkew), Unit: "ms", Textbook: claimed},
		{Name: "mean pairwise skew", Value: ms(st.MeanSkew), Unit: "ms"},
		{Name: "max skew of the clocks left alone", Value: ms(st.MaxRawSkew), Unit: "ms"},
		{Name: "max offset from true time", Value: ms(st.MaxOffset), Unit: "ms", Textbook: truth},
	}
}

// sent counts the messages of msg's type sent in t.
func sent(t *trace.Trace, msg any) int {
	name := node.TypeName(msg)
	k := 0
	for _, e := range t.Events {
		if e.Kind == trace.Send && e.Type == name {
			k++
		}
	}
	return k
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
