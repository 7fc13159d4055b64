package mutex

import (
	"fmt"
	"math"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// ResetRisk is the probability that mutual exclusion is at risk during one
// entry of the voting algorithm with n coordinators and quorum m, when each
// coordinator resets during the entry with probability p, independently
// (van Steen & Tanenbaum §5.3.5).
//
// The condition, derived: the process inside holds the votes of a set S of m
// coordinators. Another process can collect votes only from coordinators
// that are free: at most the n − m outside S, plus those in S that reset
// after voting and forgot it. With k of S reset it can reach m votes if and
// only if n − m + k ≥ m, that is k ≥ 2m − n. The number of resets among the
// m voters is binomial, P[k] = C(m,k)·p^k·(1−p)^(m−k), so
//
//	ResetRisk = Σ_{k = max(2m−n, 0)}^{m} C(m,k)·p^k·(1−p)^(m−k).
//
// "At risk" is the worst case: the entry is actually violated only if
// another process asks while the votes are forgotten and the free
// coordinators are not voting for a third. With m ≤ n/2, 2m − n ≤ 0 and
// the risk is 1: two processes can enter together without any reset.
func ResetRisk(n, m int, p float64) float64 {
	risk := 0.0
	for k := max(2*m-n, 0); k <= m; k++ {
		risk += binomial(m, k) * math.Pow(p, float64(k)) * math.Pow(1-p, float64(m-k))
	}
	return risk
}

// binomial is C(n, k).
func binomial(n, k int) float64 {
	c := 1.0
	for i := range k {
		c = c * float64(n-i) / float64(i+1)
	}
	return c
}

// VotingRisk is what MeasureVotingRisk found: how often the entries of a
// voting run were at risk from coordinator resets, beside how often ResetRisk
// predicts they would be, and how often mutual exclusion actually broke.
type VotingRisk struct {
	// Coordinators is N; Quorum is m, read from the run's Votes events.
	Coordinators, Quorum int
	// Rate is the coordinators' reset rate used for the prediction, in
	// resets per coordinator per second.
	Rate float64
	// Entries counts the entries judged (those with a Votes event).
	Entries int
	// AtRisk counts the entries during which at least 2m − N of their
	// voters reset after voting and before the process left.
	AtRisk int
	// Expected is the predicted number of entries at risk: the sum over
	// entries of ResetRisk(N, m, p), where p = 1 − e^(−Rate·w) is the
	// chance that a voter resets within w, the mean time from its vote to
	// the exit.
	Expected float64
	// MeanP is the mean of those per-entry probabilities p.
	MeanP float64
	// Overlaps counts the entries that broke mutual exclusion. Explained
	// counts those in which every coordinator that voted for both the
	// process entering and the one inside (at least 2m − N of them, since
	// two sets of m among N share that many) reset between its two votes:
	// the derivation's claim that only resets break the algorithm. An
	// unexplained overlap is a bug.
	Overlaps, Explained int
}

// String summarizes the comparison.
func (v VotingRisk) String() string {
	return fmt.Sprintf("N=%d m=%d: %d of %d entries at risk (predicted %.1f, p=%.3g per voter), %d broke mutual exclusion",
		v.Coordinators, v.Quorum, v.AtRisk, v.Entries, v.Expected, v.MeanP, v.Overlaps)
}

// MeasureVotingRisk judges a run of the voting algorithm whose coordinators
// are processes n0..n(coordinators−1) and reset by crashing and restarting.
// rate is their reset rate per coordinator per second; with rate ≤ 0 it is
// estimated from the crashes in the trace.
func MeasureVotingRisk(t *trace.Trace, coordinators int, rate float64) VotingRisk {
	v := VotingRisk{Coordinators: coordinators, Rate: rate}
	crashes := map[node.ID][]int{} // crash indexes by node
	var end time.Duration
	for i := range t.Events {
		e := &t.Events[i]
		end = max(end, e.Time)
		if e.Kind == trace.Crash && int(e.Node) < coordinators {
			crashes[e.Node] = append(crashes[e.Node], i)
		}
	}
	if v.Rate <= 0 && end > 0 && coordinators > 0 {
		n := 0
		for _, c := range crashes {
			n += len(c)
		}
		v.Rate = float64(n) / float64(coordinators) / end.Seconds()
	}
	r := readRun(t)
	entries := map[int]map[node.ID]int{} // by EnterCS index: each voter's vote send index
	for i := range t.Events {
		e := &t.Events[i]
		votes, ok := e.Value.(Votes)
		if !ok || e.Kind != trace.Emit {
			continue
		}
		enter := r.entryAfter(i, e.Node)
		if enter < 0 {
			continue
		}
		exit := r.exitOf(enter)
		m := len(votes.Voters)
		v.Quorum = max(v.Quorum, m)
		sent := map[node.ID]int{}
		reset, pSum := 0, 0.0
		for _, c := range votes.Voters {
			sent[c] = lastVoteSent(t, i, c, e.Node, votes.Attempt)
			if resetBetween(crashes[c], sent[c], exit) {
				reset++
			}
			w := t.Events[min(exit, len(t.Events)-1)].Time - t.Events[max(sent[c], 0)].Time
			pSum += 1 - math.Exp(-v.Rate*w.Seconds())
		}
		entries[enter] = sent
		p := pSum / float64(max(m, 1))
		v.Entries++
		v.MeanP += p
		v.Expected += ResetRisk(coordinators, m, p)
		if reset >= 2*m-coordinators {
			v.AtRisk++
		}
	}
	if v.Entries > 0 {
		v.MeanP /= float64(v.Entries)
	}
	// Overlaps, each checked against the processes already inside.
	inside := map[node.ID]int{} // EnterCS index by process
	for i := range t.Events {
		e := &t.Events[i]
		switch {
		case e.Kind == trace.Crash:
			delete(inside, e.Node)
		case e.Kind != trace.Emit:
		case isEnter(e.Value):
			if len(inside) > 0 {
				v.Overlaps++
				explained := true
				for _, k := range sortedKeys(inside) {
					a, b := entries[inside[k]], entries[i]
					for c, sa := range a {
						if sb, both := b[c]; both && !resetBetween(crashes[c], min(sa, sb), max(sa, sb)) {
							explained = false
						}
					}
				}
				if explained {
					v.Explained++
				}
			}
			inside[e.Node] = i
		case isExit(e.Value):
			delete(inside, e.Node)
		}
	}
	return v
}

// resetBetween reports whether one of the crash indexes lies strictly
// between from and to.
func resetBetween(crashes []int, from, to int) bool {
	for _, k := range crashes {
		if k > from && k < to {
			return true
		}
	}
	return false
}

func isEnter(v any) bool { _, ok := v.(EnterCS); return ok }
func isExit(v any) bool  { _, ok := v.(ExitCS); return ok }

// entryAfter returns the index of the first EnterCS of process n after
// index i, or -1.
func (r *run) entryAfter(i int, n node.ID) int {
	for _, e := range r.entries {
		if e.idx > i && r.ev(e.idx).Node == n {
			return e.idx
		}
	}
	return -1
}

// exitOf returns the index at which the stay that began at EnterCS index
// enter ended: its process's next ExitCS or crash, or the end of the trace.
func (r *run) exitOf(enter int) int {
	n := r.ev(enter).Node
	for i := enter + 1; i < len(r.t.Events); i++ {
		e := r.ev(i)
		if e.Node == n && (e.Kind == trace.Crash || e.Kind == trace.Emit && isExit(e.Value)) {
			return i
		}
	}
	return len(r.t.Events)
}

// lastVoteSent returns the index of the last send, before index i, of
// coordinator c's vote granted to process to's attempt, or -1.
func lastVoteSent(t *trace.Trace, i int, c, to node.ID, attempt uint64) int {
	for k := i - 1; k >= 0; k-- {
		e := &t.Events[k]
		if e.Kind == trace.Send && e.Node == c && e.Peer == to {
			if m, ok := e.Value.(vote); ok && m.Granted && m.Attempt == attempt {
				return k
			}
		}
	}
	return -1
}

// attempts counts the attempts of a run: the distinct (process, attempt)
// pairs of the vote requests sent.
func attempts(t *trace.Trace) int {
	type key struct {
		n node.ID
		a uint64
	}
	seen := map[key]bool{}
	for i := range t.Events {
		e := &t.Events[i]
		if m, ok := e.Value.(voteRequest); ok && e.Kind == trace.Send {
			seen[key{e.Node, m.Attempt}] = true
		}
	}
	return len(seen)
}

// VotingCosts measures a run of the voting algorithm in which every one of
// the n processes is a coordinator, beside the textbook: one round trip per
// attempt, k attempts per entry, and the entries at risk from resets beside
// ResetRisk's prediction for the resets (crash-restarts) seen in the run.
func VotingCosts(t *trace.Trace, n int) []trace.Cost {
	s := Measure(t)
	costs := s.costs("2k = 2 (a round trip per attempt)")
	perEntry := 0.0
	if s.Entries > 0 {
		perEntry = float64(attempts(t)) / float64(s.Entries)
	}
	risk := MeasureVotingRisk(t, n, 0)
	atRisk, predicted := 0.0, 0.0
	if risk.Entries > 0 {
		atRisk, predicted = float64(risk.AtRisk)/float64(risk.Entries), risk.Expected/float64(risk.Entries)
	}
	return append(costs,
		trace.Cost{Name: "attempts per entry", Value: perEntry, Textbook: "k ≥ 1"},
		trace.Cost{Name: "entries at risk from resets", Value: atRisk,
			Textbook: fmt.Sprintf("Σ_{k≥2m−N} C(m,k)pᵏ(1−p)^(m−k) = %.3g (m=%d, p=%.3g)", predicted, risk.Quorum, risk.MeanP)},
	)
}
