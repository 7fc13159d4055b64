package mutex

import (
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/trace"
)

// EntryStats are the measured costs of the critical-section entries of a
// run, the figures the textbooks give per entry.
type EntryStats struct {
	// Entries counts the EnterCS events; Messages counts every message sent
	// in the run.
	Entries, Messages int
	// Delay is the mean time from the arrival of an Acquire request to its
	// entry, waiting for other processes included.
	Delay time.Duration
	// Uncontended counts the entries during whose wait no other request was
	// outstanding anywhere (from its arrival to its ExitCS): the entries the
	// textbooks' "delay before entry" describes. UncontendedDelay is their
	// mean delay.
	Uncontended      int
	UncontendedDelay time.Duration
	// Hops is the mean number of message delays an uncontended entry took:
	// the longest chain of messages from the request's arrival to the entry
	// (for the token ring, the token's passes from one process to the next).
	Hops float64
}

// MessagesPerEntry is Messages / Entries, or 0 without entries.
func (s EntryStats) MessagesPerEntry() float64 {
	if s.Entries == 0 {
		return 0
	}
	return float64(s.Messages) / float64(s.Entries)
}

// Measure measures the entries of a run of a permission-based algorithm
// (central, Ricart–Agrawala, Lamport, voting), counting an uncontended
// entry's message delays as the longest causal chain of messages from the
// request's arrival to the entry: two for a round trip.
func Measure(t *trace.Trace) EntryStats {
	return readRun(t).measure(causalHops)
}

// MeasureTokenRing measures the entries of a run of the token ring, counting
// an uncontended entry's message delays as the number of times the token was
// passed on (a first send of a new pass) while the request waited: 0 to N−1,
// the textbook's count (a pass already in flight when the request arrives
// is not counted). The token does not move because of the request, so no
// causal chain leads from the request to the entry.
func MeasureTokenRing(t *trace.Trace) EntryStats {
	return readRun(t).measure(tokenHops(tokenMoves(t)))
}

// hopCounter counts the message delays between two trace indexes: a request's
// arrival at process index `from` and its entry at index `to`.
type hopCounter func(r *run, from, to int) int

func (r *run) measure(hops hopCounter) EntryStats {
	s := EntryStats{Entries: len(r.entries)}
	for i := range r.t.Events {
		if r.t.Events[i].Kind == trace.Send {
			s.Messages++
		}
	}
	var delay, quiet time.Duration
	var hopSum, entered int
	for _, q := range r.requests {
		if q.enter < 0 {
			continue
		}
		entered++
		d := r.ev(q.enter).Time - r.ev(q.at).Time
		delay += d
		if !r.uncontended(q) {
			continue
		}
		s.Uncontended++
		quiet += d
		hopSum += hops(r, q.at, q.enter)
	}
	if entered > 0 {
		s.Delay = delay / time.Duration(entered)
	}
	if s.Uncontended > 0 {
		s.UncontendedDelay = quiet / time.Duration(s.Uncontended)
		s.Hops = float64(hopSum) / float64(s.Uncontended)
	}
	return s
}

// end is the index at which a request stopped being outstanding: its exit,
// the crash that ended it, or the end of the trace.
func (r *run) end(q *request) int {
	switch {
	case q.exit >= 0:
		return q.exit
	case q.crash >= 0:
		return q.crash
	}
	return len(r.t.Events)
}

// uncontended reports whether no other request was outstanding at any time
// between q's arrival and its entry.
func (r *run) uncontended(q *request) bool {
	for _, o := range r.requests {
		if o != q && o.at < q.enter && r.end(o) > q.at {
			return false
		}
	}
	return true
}

// causalHops is the length of the longest chain of messages that starts at
// the process of event from, after from, and ends at the process of event
// to, no later than to.
func causalHops(r *run, from, to int) int {
	depth := map[int]int{int(r.ev(from).Node): 0} // per process: longest chain so far
	inFlight := map[uint64]int{}                  // per message: the chain it extends
	for i := from + 1; i <= to; i++ {
		e := r.ev(i)
		switch e.Kind {
		case trace.Send:
			if d, ok := depth[int(e.Node)]; ok {
				inFlight[e.MsgID] = d
			}
		case trace.Deliver:
			if d, ok := inFlight[e.MsgID]; ok {
				depth[int(e.Node)] = max(depth[int(e.Node)], d+1)
			}
		}
	}
	return depth[int(r.ev(to).Node)]
}

// tokenMoves lists the trace indexes at which the token was passed on: the
// first sends of a token with a sequence number higher than any before
// (retransmissions repeat the number).
func tokenMoves(t *trace.Trace) []int {
	var moves []int
	var highest uint64
	for i := range t.Events {
		e := &t.Events[i]
		if m, ok := e.Value.(token); ok && e.Kind == trace.Send && m.Seq > highest {
			highest = m.Seq
			moves = append(moves, i)
		}
	}
	return moves
}

// tokenHops counts the token's moves between two trace indexes.
func tokenHops(moves []int) hopCounter {
	return func(r *run, from, to int) int {
		lo, _ := slices.BinarySearch(moves, from+1)
		hi, _ := slices.BinarySearch(moves, to+1)
		return hi - lo
	}
}

// costs turns the statistics into the catalog's cost lines, with the
// textbook's figure for the message delays of an uncontended entry.
func (s EntryStats) costs(textbookDelays string) []trace.Cost {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return []trace.Cost{
		{Name: "entry delay (mean)", Value: ms(s.Delay), Unit: "ms"},
		{Name: "entry delay, uncontended (mean)", Value: ms(s.UncontendedDelay), Unit: "ms"},
		{Name: "message delays to enter, uncontended", Value: s.Hops, Textbook: textbookDelays},
	}
}

// CentralCosts measures a run of the centralized algorithm beside the
// textbook: two message delays to enter (REQUEST, GRANT).
func CentralCosts(t *trace.Trace, n int) []trace.Cost {
	return Measure(t).costs("2 (REQUEST, GRANT)")
}

// RicartAgrawalaCosts measures a run of Ricart–Agrawala beside the
// textbook: one round trip (REQUEST, REPLY) to enter.
func RicartAgrawalaCosts(t *trace.Trace, n int) []trace.Cost {
	return Measure(t).costs("2 (REQUEST, REPLY: one round trip)")
}

// TokenRingCosts measures a run of the token ring beside the textbook: 0 to
// N−1 message delays to enter, (N−1)/2 on average, and what the stubborn
// links cost per pass of the token.
func TokenRingCosts(t *trace.Trace, n int) []trace.Cost {
	s := MeasureTokenRing(t)
	moves := len(tokenMoves(t))
	costs := s.costs(fmt.Sprintf("0 to N−1 = 0..%d, (N−1)/2 = %.3g on average", n-1, float64(n-1)/2))
	perPass, perEntry := 0.0, 0.0
	if moves > 0 {
		perPass = float64(s.Messages) / float64(moves)
	}
	if s.Entries > 0 {
		perEntry = float64(moves) / float64(s.Entries)
	}
	return append(costs,
		trace.Cost{Name: "token passes per entry", Value: perEntry, Textbook: "1 to ∞ (N per rotation)"},
		trace.Cost{Name: "messages per token pass", Value: perPass, Textbook: "1, or 2 with the stubborn link's acknowledgement"},
	)
}

// LamportCosts measures a run of Lamport's algorithm beside the textbook:
// one round trip (REQUEST, ACK) to enter.
func LamportCosts(t *trace.Trace, n int) []trace.Cost {
	return Measure(t).costs("2 (REQUEST, ACK: one round trip)")
}
