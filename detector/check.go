package detector

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// Suspect is emitted when a process starts suspecting Process of having
// crashed: Process joins the detector's output (Chandra and Toueg's D_p).
type Suspect struct {
	Process node.ID
	// Timeout is the silence after which the detector suspected Process:
	// the time-out Δp(q) of the heartbeat detector, or the silence at which
	// φ reached Φ for the φ detector.
	Timeout time.Duration
}

// Restore is emitted when a process stops suspecting Process, because a
// heartbeat from it arrived.
type Restore struct {
	Process node.ID
	// Timeout is the silence the detector will now tolerate from Process:
	// the increased time-out of the heartbeat detector, or the φ
	// detector's new deadline.
	Timeout time.Duration
}

// The properties Check reports, in the order it reports them.
const (
	// PropCompleteness is strong completeness: every process that crashed
	// for good is, at the end of the run, suspected by every correct
	// process (one that is up at the end), and has been since its final
	// Suspect. Its detail gives the detection times.
	PropCompleteness = "completeness"
	// PropAccuracy is eventual strong accuracy: the false suspicions (a
	// Suspect about a process that is up) stop, none happens in the last
	// quarter of the run, and at the end no correct process suspects a
	// correct one.
	PropAccuracy = "eventual accuracy"
)

// Settle is the share of a run after which the eventual properties are
// judged. A finite run has to cut "eventually" somewhere: false suspicions
// must have stopped by Settle·end, and a crash must have happened by then to
// be held against a detector that has not noticed it.
const Settle = 0.75

// Report is what a run of a failure detector shows, read from its trace:
// the Suspect and Restore events the processes emitted, judged against the
// ground truth of which processes were really down (the Crash and Restart
// events), and the heartbeats' delays and rate.
type Report struct {
	// End is the time of the trace's last event; Settled is Settle·End.
	End, Settled time.Duration
	// Crashed lists the processes that crashed and never restarted, in
	// order of their last crash, if that was by Settled. Late lists those
	// that crashed for good after it, too late to judge.
	Crashed, Late []Crash
	// Detections has, for every crash in Crashed and every correct process
	// that suspects the crashed one at the end, when its final suspicion
	// began and how long after the crash (or after the observer's own
	// restart, if later). Missed has the pairs where the correct process
	// does not suspect the crashed one at the end. Observers that restarted
	// after Settled are not judged.
	Detections, Missed []Detection
	// Suspicions counts every Suspect event.
	Suspicions int
	// False lists the false suspicions, Suspect events about a process that
	// was up (running or paused), in trace order.
	False []Suspicion
	// Stuck lists the suspicions of an up process that an up process still
	// holds at the end, leaving out those of processes that restarted or
	// resumed after Settled (they may not have been heard from yet) or
	// are paused at the end.
	Stuck []Suspicion
	// Heartbeats counts the heartbeats sent; Running is the processes'
	// total time running (up and not paused), so Heartbeats/Running is the
	// message rate of a running process.
	Heartbeats int
	Running    time.Duration
	// Delays counts the heartbeats delivered to a running process;
	// DelayMean and DelayMax are their one-way delays δ, the network's
	// (first delivery of each; those held while the receiver was paused
	// are left out).
	Delays              int
	DelayMean, DelayMax time.Duration
}

// Crash is a process that crashed for good, and when.
type Crash struct {
	Process node.ID
	At      time.Duration
}

// Detection is how an observer came to suspect a crashed process for good.
type Detection struct {
	Observer, Process node.ID
	// Crash is when Process crashed.
	Crash time.Duration
	// At is when the observer's final suspicion began (zero if Missed).
	At time.Duration
	// Delay is the detection time: At less the crash, or less the
	// observer's last start if that was later; zero if the observer already
	// suspected Process when it crashed.
	Delay time.Duration
	// Timeout is the silence after which the observer suspected it (from
	// the Suspect event).
	Timeout time.Duration
	// Paused is set when the observer was paused at some time between the
	// crash and its detection, which then took longer than the textbook's
	// figure for a running process.
	Paused bool
}

// Suspicion is one Suspect event.
type Suspicion struct {
	At                time.Duration
	Observer, Process node.ID
	Timeout           time.Duration
}

// Check judges a run of a failure detector: PropCompleteness, then
// PropAccuracy (see Analyze for what is read from the trace). Each failure
// names the first counterexample.
func Check(t *trace.Trace) []trace.Check {
	r := Analyze(t)
	return []trace.Check{r.Completeness(), r.Accuracy()}
}

// status is the ground truth about one process as the trace unfolds.
type status struct {
	down, paused bool
	// crashed is the time of the last crash, started of the last start,
	// back of the last restart or resume, resumed of the last resume,
	// runSince of the start of the current running period (up and not
	// paused), paused of the current pause.
	crashed, started, back, resumed, runSince, pausedAt time.Duration
	// pauses are the node's pauses so far, [from, to].
	pauses [][2]time.Duration
}

// running reports whether the node is up and not paused.
func (s *status) running() bool { return !s.down && !s.paused }

// stop ends the node's current running period or pause at t.
func (s *status) stop(t time.Duration, r *Report) {
	switch {
	case s.running():
		r.Running += t - s.runSince
	case s.paused:
		s.pauses = append(s.pauses, [2]time.Duration{s.pausedAt, t})
	}
}

// pausedDuring reports whether the node was paused at some time in [from, to].
func (s *status) pausedDuring(from, to time.Duration) bool {
	for _, p := range s.pauses {
		if p[0] <= to && p[1] >= from {
			return true
		}
	}
	return false
}

// held is an observer's current opinion of one process.
type held struct {
	on bool
	s  Suspicion
}

// Analyze reads a detector's run from its trace. It needs no vector clocks:
// every judgement is on the trace's true time, in time order. A live trace
// has no Crash event for a node killed with kill -9, which simply records
// nothing more; Analyze supplies one at the node's last step when it
// restarts with no crash recorded, or when, after at least ten steps, it
// stays silent for more than ten times its mean interval between steps to
// the end of the run.
func Analyze(t *trace.Trace) *Report {
	n := t.Nodes
	for i := range t.Events {
		n = max(n, int(t.Events[i].Node)+1)
	}
	r := &Report{}
	for i := range t.Events {
		r.End = max(r.End, t.Events[i].Time)
	}
	r.Settled = time.Duration(float64(r.End) * Settle)
	st := make([]status, n)
	opinion := make([][]held, n)
	for p := range opinion {
		opinion[p] = make([]held, n)
	}
	sent := map[uint64]time.Duration{} // heartbeat MsgID -> send time, until delivered
	var delaySum time.Duration
	valid := func(id node.ID) bool { return id >= 0 && int(id) < n }
	for _, e := range timeline(t, n, r.End) {
		if !valid(e.Node) {
			continue // network-wide events (partition, heal)
		}
		p := &st[e.Node]
		switch e.Kind {
		case trace.Start:
			p.down, p.started = false, e.Time
			clear(opinion[e.Node]) // a fresh process trusts everyone
		case trace.Crash:
			p.stop(e.Time, r)
			p.down, p.paused, p.crashed = true, false, e.Time
			clear(opinion[e.Node])
		case trace.Restart:
			if p.down {
				p.down, p.back, p.runSince = false, e.Time, e.Time
			}
		case trace.Pause:
			if p.running() {
				p.stop(e.Time, r)
				p.paused, p.pausedAt = true, e.Time
			}
		case trace.Resume:
			if p.paused {
				p.stop(e.Time, r)
				p.paused, p.back, p.resumed, p.runSince = false, e.Time, e.Time, e.Time
			}
		case trace.Send:
			if _, ok := e.Value.(heartbeat); ok {
				r.Heartbeats++
				sent[e.MsgID] = e.Time
			}
		case trace.Deliver:
			if at, ok := sent[e.MsgID]; ok {
				delete(sent, e.MsgID) // a duplicate is not a second delay
				if p.resumed >= at && p.resumed > 0 {
					continue // held while the receiver was paused: not the network's delay
				}
				d := e.Time - at
				r.Delays++
				delaySum += d
				r.DelayMax = max(r.DelayMax, d)
			}
		case trace.Emit:
			switch v := e.Value.(type) {
			case Suspect:
				q := v.Process
				if !valid(q) || q == e.Node {
					continue
				}
				r.Suspicions++
				s := Suspicion{At: e.Time, Observer: e.Node, Process: q, Timeout: v.Timeout}
				if !st[q].down {
					r.False = append(r.False, s)
				}
				if !opinion[e.Node][q].on {
					opinion[e.Node][q] = held{on: true, s: s}
				}
			case Restore:
				if valid(v.Process) {
					opinion[e.Node][v.Process].on = false
				}
			}
		}
	}
	for q := range st {
		st[q].stop(r.End, r)
	}
	if r.Delays > 0 {
		r.DelayMean = delaySum / time.Duration(r.Delays)
	}
	r.judge(st, opinion)
	return r
}

// timeline returns t's events in time order (a merged live trace is in
// happens-before order, which is not quite time order), with a Crash event
// for every process that evidently stopped without one being recorded, at
// the time of its last process event: one that restarts without having
// crashed, and one whose steps stop long before the end of the run (after
// at least minSteps of them, it is silent for more than silentFor times its
// mean interval between steps), unless its last event was a crash or a
// pause. In a simulation every crash is recorded and a running detector
// takes a step every period, so nothing is added.
func timeline(t *trace.Trace, n int, end time.Duration) []*trace.Event {
	const minSteps, silentFor = 10, 10
	events := make([]*trace.Event, len(t.Events))
	for i := range t.Events {
		events[i] = &t.Events[i]
	}
	slices.SortStableFunc(events, func(a, b *trace.Event) int { return int(a.Time - b.Time) })
	down := make([]bool, n)
	last := make([]*trace.Event, n) // the latest process, crash or pause event of each node
	first := make([]time.Duration, n)
	steps := make([]int, n)
	var added []*trace.Event
	for _, e := range events {
		if e.Node < 0 || int(e.Node) >= n {
			continue
		}
		switch {
		case e.Kind == trace.Crash:
			down[e.Node] = true
		case e.Kind == trace.Restart:
			if !down[e.Node] && last[e.Node] != nil {
				added = append(added, &trace.Event{Kind: trace.Crash, Node: e.Node, Time: last[e.Node].Time, Detail: "inferred: restarted without a recorded crash"})
			}
			down[e.Node] = false
		}
		if e.Kind.IsProcess() || e.Kind == trace.Pause {
			if steps[e.Node] == 0 {
				first[e.Node] = e.Time
			}
			steps[e.Node]++
			last[e.Node] = e
		}
	}
	for id, e := range last {
		if e == nil || e.Kind == trace.Crash || e.Kind == trace.Pause || steps[id] < minSteps {
			continue
		}
		rhythm := (e.Time - first[id]) / time.Duration(steps[id]-1)
		if end-e.Time > silentFor*rhythm {
			added = append(added, &trace.Event{Kind: trace.Crash, Node: node.ID(id), Time: e.Time, Detail: "inferred: no step since"})
		}
	}
	if len(added) == 0 {
		return events
	}
	// Each added crash goes after every event of its time, so after the
	// node's last step.
	events = append(events, added...)
	slices.SortStableFunc(events, func(a, b *trace.Event) int { return int(a.Time - b.Time) })
	return events
}

// judge fills in the crashes, detections and stuck suspicions from the state
// at the end of the run.
func (r *Report) judge(st []status, opinion [][]held) {
	for q, s := range st {
		if !s.down {
			continue
		}
		c := Crash{Process: node.ID(q), At: s.crashed}
		if c.At > r.Settled {
			r.Late = append(r.Late, c)
		} else {
			r.Crashed = append(r.Crashed, c)
		}
	}
	byTime := func(a, b Crash) int { return int(a.At - b.At) }
	slices.SortStableFunc(r.Crashed, byTime)
	slices.SortStableFunc(r.Late, byTime)
	for _, c := range r.Crashed {
		for p, s := range st {
			if s.down || node.ID(p) == c.Process || s.started > r.Settled {
				continue
			}
			d := Detection{Observer: node.ID(p), Process: c.Process, Crash: c.At}
			h := opinion[p][c.Process]
			if !h.on {
				r.Missed = append(r.Missed, d)
				continue
			}
			d.At, d.Timeout = h.s.At, h.s.Timeout
			d.Delay = max(0, d.At-max(c.At, s.started))
			d.Paused = s.pausedDuring(c.At, d.At)
			r.Detections = append(r.Detections, d)
		}
	}
	for p, s := range st {
		if s.down {
			continue
		}
		for q, h := range opinion[p] {
			if h.on && !st[q].down && !st[q].paused && st[q].back <= r.Settled {
				r.Stuck = append(r.Stuck, h.s)
			}
		}
	}
}

// Completeness is the PropCompleteness verdict.
func (r *Report) Completeness() trace.Check {
	late := ""
	if len(r.Late) > 0 {
		late = fmt.Sprintf("; %s crashed after %v, too late to judge", crashList(r.Late), round(r.Settled))
	}
	if len(r.Crashed) == 0 {
		return trace.Passed(PropCompleteness, "no process crashed for good by %v: nothing to detect%s", round(r.Settled), late)
	}
	if len(r.Missed) > 0 {
		m := r.Missed[0]
		more := ""
		if len(r.Missed) > 1 {
			more = fmt.Sprintf(" (and %d more such pairs)", len(r.Missed)-1)
		}
		return trace.Failed(PropCompleteness, "%v does not suspect %v at the end, though %v crashed at %v%s%s",
			m.Observer, m.Process, m.Process, round(m.Crash), more, late)
	}
	if len(r.Detections) == 0 {
		return trace.Passed(PropCompleteness, "%s crashed, and no correct process was left to detect it%s", crashList(r.Crashed), late)
	}
	slow := r.Detections[0]
	for _, d := range r.Detections {
		if d.Delay > slow.Delay {
			slow = d
		}
	}
	return trace.Passed(PropCompleteness, "%s suspected for good by every correct process; detection time max %v (%v of %v), mean %v%s",
		crashList(r.Crashed), round(slow.Delay), slow.Observer, slow.Process, round(r.MeanDetection()), late)
}

// Accuracy is the PropAccuracy verdict.
func (r *Report) Accuracy() trace.Check {
	after := 0
	for _, s := range r.False {
		if s.At > r.Settled {
			after++
		}
	}
	if after > 0 {
		last := r.False[len(r.False)-1]
		return trace.Failed(PropAccuracy, "false suspicions do not stop: %d in all, %d after %v; the last at %v (%v suspected %v, which was up)",
			len(r.False), after, round(r.Settled), round(last.At), last.Observer, last.Process)
	}
	if len(r.Stuck) > 0 {
		s := r.Stuck[0]
		return trace.Failed(PropAccuracy, "%v still suspects %v at the end (since %v), though %v is up", s.Observer, s.Process, round(s.At), s.Process)
	}
	if len(r.False) == 0 {
		return trace.Passed(PropAccuracy, "no false suspicions")
	}
	last := r.False[len(r.False)-1]
	return trace.Passed(PropAccuracy, "%s, none after %v; the last at %v (%v suspected %v)",
		count(len(r.False), "false suspicion"), round(r.Settled), round(last.At), last.Observer, last.Process)
}

// MeanDetection is the mean detection time (zero with no detections).
func (r *Report) MeanDetection() time.Duration {
	if len(r.Detections) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range r.Detections {
		sum += d.Delay
	}
	return sum / time.Duration(len(r.Detections))
}

// MaxDetection is the longest detection time (zero with no detections).
func (r *Report) MaxDetection() time.Duration {
	var m time.Duration
	for _, d := range r.Detections {
		m = max(m, d.Delay)
	}
	return m
}

// Rate is the heartbeats sent per second a process runs.
func (r *Report) Rate() float64 {
	if r.Running <= 0 {
		return 0
	}
	return float64(r.Heartbeats) / r.Running.Seconds()
}

// HeartbeatCosts measures a run of the heartbeat detector configured by cfg
// (zero fields: defaults) in a group of n, beside the textbook:
//
//   - detection time, max and mean. A process suspects a crash T after the
//     last heartbeat from it arrived, T the time-out in effect (the
//     Suspect's Timeout); that heartbeat left up to a period P before the
//     crash and took δ to arrive, so the textbook has a detection time of
//     at most T + δ and on average T + δ − P/2, with δ measured on the
//     run's own heartbeats. That is for an observer that is running, so
//     detections by one paused meanwhile (Detection.Paused) are left out
//     here; Check's detail counts them;
//   - false suspicions, which the textbook bounds only by "finitely many";
//   - the heartbeats' one-way delay δ;
//   - messages per second per process, beside (N−1)/P.
func HeartbeatCosts(t *trace.Trace, n int, cfg HeartbeatConfig) []trace.Cost {
	cfg = cfg.withDefaults()
	return Analyze(t).costs(n, cfg.Period, "finitely many (◇P)")
}

// PhiCosts measures a run of the φ detector configured by cfg (zero fields:
// defaults) in a group of n, beside the textbook, as HeartbeatCosts does;
// T is then the silence at which φ reached Φ. If the inter-arrival times
// were normal with the window's mean and deviation, a heartbeat would be
// suspected by mistake with probability 10^−Φ, which gives the textbook
// figure for the false suspicions.
func PhiCosts(t *trace.Trace, n int, cfg PhiConfig) []trace.Cost {
	cfg = cfg.withDefaults()
	r := Analyze(t)
	expected := float64(r.Delays) * math.Pow(10, -cfg.Threshold)
	return r.costs(n, cfg.Period, fmt.Sprintf("≈ %.2g (%d heartbeats × 10^−%g)", expected, r.Delays, cfg.Threshold))
}

// costs lists a run's costs beside their textbook figures (see
// HeartbeatCosts); mistakes is the textbook's word on false suspicions.
func (r *Report) costs(n int, period time.Duration, mistakes string) []trace.Cost {
	var out []trace.Cost
	var running []Detection
	for _, d := range r.Detections {
		if !d.Paused {
			running = append(running, d)
		}
	}
	if len(running) > 0 {
		var sumT, maxT, sum, slowest time.Duration
		for _, d := range running {
			sumT += d.Timeout
			maxT = max(maxT, d.Timeout)
			sum += d.Delay
			slowest = max(slowest, d.Delay)
		}
		k := time.Duration(len(running))
		meanT := sumT / k
		out = append(out,
			trace.Cost{Name: "detection time (max)", Value: msValue(slowest), Unit: "ms",
				Textbook: fmt.Sprintf("T + δmax = %v (T = %v)", round(maxT+r.DelayMax), round(maxT))},
			trace.Cost{Name: "detection time (mean)", Value: msValue(sum / k), Unit: "ms",
				Textbook: fmt.Sprintf("≈ T + δ − P/2 = %v (T = %v)", round(meanT+r.DelayMean-period/2), round(meanT))})
	}
	out = append(out, trace.Cost{Name: "false suspicions", Value: float64(len(r.False)), Textbook: mistakes})
	if r.Delays > 0 {
		out = append(out, trace.Cost{Name: "heartbeat delay δ (mean)", Value: msValue(r.DelayMean), Unit: "ms"})
	}
	out = append(out, trace.Cost{Name: "messages per second per process", Value: math.Round(r.Rate()*10) / 10,
		Textbook: fmt.Sprintf("(N−1)/P = %.4g", float64(n-1)/period.Seconds())})
	return out
}

// round rounds a duration for a verdict or a cost: to the millisecond, or to
// the microsecond below ten milliseconds.
func round(d time.Duration) time.Duration {
	if d < 10*time.Millisecond && d > -10*time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// msValue is a duration in milliseconds, to a tenth.
func msValue(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*10) / 10
}

// crashList names crashes: "n3 (crashed at 3.2s)", "n1 and n3 (crashed at 2s and 3.1s)".
func crashList(cs []Crash) string {
	ids, ats := make([]string, len(cs)), make([]string, len(cs))
	for i, c := range cs {
		ids[i], ats[i] = c.Process.String(), round(c.At).String()
	}
	return fmt.Sprintf("%s (crashed at %s)", and(ids), and(ats))
}

// count says "1 thing" or "n things".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// and joins words as prose does: "a", "a and b", "a, b and c".
func and(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
