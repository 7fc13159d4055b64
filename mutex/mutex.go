// Package mutex holds the distributed mutual-exclusion algorithms — a
// centralized coordinator, Ricart–Agrawala, a token ring, Lamport's
// queue-based algorithm and decentralized voting — each a node.Process, with
// the checkers of the properties they promise and their measured costs.
//
// Every algorithm serves the same requests the same way. A client asks a
// process for the critical section with an Acquire request; the process
// queues the request locally and serves its requests one at a time, in
// arrival order. When the algorithm grants it the critical section it emits
// EnterCS, stays inside for a while (a random hold time drawn from HoldTime),
// emits ExitCS, answers the request with that ExitCS and lets the algorithm
// release the section. The checkers judge those events on the runtime's
// global timeline, never on what the processes believe.
package mutex

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/synod-dev/synod/node"
)

// Acquire is the request op: enter the critical section once, stay inside
// for a hold time, and leave. The reply, sent on leaving, is the ExitCS event.
type Acquire struct{}

// EnterCS is emitted when a process enters the critical section to serve an
// Acquire request.
type EnterCS struct {
	// Request is the Acquire request served.
	Request node.RequestID
	// TS names the request as the algorithm knows it: its Lamport timestamp
	// for Ricart–Agrawala and Lamport (whose grants the checker requires in
	// (TS, process) order), the process's request number for the central
	// coordinator (carried by its REQUEST, so that the checker can match
	// grants with arrivals at the coordinator), the token's sequence number
	// for the token ring, and the attempt number for voting.
	TS uint64
}

// ExitCS is emitted when a process leaves the critical section, and is the
// reply to the Acquire request it served.
type ExitCS struct {
	// Request is the Acquire request served.
	Request node.RequestID
}

// HoldTime bounds how long a process stays in the critical section: each
// stay lasts a duration drawn uniformly from [Min, Max] with the process's
// own random source.
type HoldTime struct {
	Min, Max time.Duration
}

// DefaultHold is the hold time used when a configuration leaves it zero:
// 2 to 10 ms, up to two round trips on the simulator's default network
// (1–5 ms per message), so that requests often arrive while the section is
// held — the case every algorithm must get right.
var DefaultHold = HoldTime{Min: 2 * time.Millisecond, Max: 10 * time.Millisecond}

// orDefault returns h, or DefaultHold if h is zero.
func (h HoldTime) orDefault() HoldTime {
	if h == (HoldTime{}) {
		return DefaultHold
	}
	return h
}

// draw picks one hold time.
func (h HoldTime) draw(r *rand.Rand) time.Duration {
	if h.Max <= h.Min {
		return h.Min
	}
	return h.Min + time.Duration(r.Int64N(int64(h.Max-h.Min)+1))
}

// leaveCS is the timer that ends a stay in the critical section.
type leaveCS struct {
	Request node.RequestID
}

// sharedMessages are the types every algorithm of the family registers: the
// request op, the emitted events (ExitCS is also the reply) and the timer.
func sharedMessages() []any {
	return []any{Acquire{}, EnterCS{}, ExitCS{}, leaveCS{}}
}

// section is the part of a process that every algorithm shares: the Acquire
// requests waiting at this process, served one at a time in arrival order,
// and the stay inside the critical section. The algorithm decides when the
// process may enter; section does the rest.
type section struct {
	hold HoldTime
	// waiting holds the Acquire requests not yet answered, oldest first;
	// waiting[0] is the one being served.
	waiting []node.RequestID
	// inside is true between EnterCS and ExitCS.
	// Invariant: inside implies len(waiting) > 0.
	inside bool
}

// add queues an Acquire request and reports whether it is now the one to
// serve, that is whether the process was idle and should start asking for
// the critical section.
func (s *section) add(req node.RequestID) bool {
	s.waiting = append(s.waiting, req)
	return len(s.waiting) == 1
}

// wants reports whether the process has a request to serve and is not
// inside: it is asking, or should be.
func (s *section) wants() bool { return len(s.waiting) > 0 && !s.inside }

// enter enters the critical section for the request at the head of the
// queue, emits EnterCS with the request's name ts, and sets the timer that
// will end the stay.
func (s *section) enter(env node.Env, ts uint64) {
	s.inside = true
	req := s.waiting[0]
	env.Emit(EnterCS{Request: req, TS: ts})
	env.After(s.hold.orDefault().draw(env.Rand()), leaveCS{Request: req})
}

// leave handles a leaveCS timer: it emits ExitCS, answers the request and
// reports true, so the algorithm releases the section. A timer that does
// not end the current stay is ignored (false).
func (s *section) leave(env node.Env, timer leaveCS) bool {
	if !s.inside || s.waiting[0] != timer.Request {
		return false
	}
	s.inside = false
	s.waiting = s.waiting[1:]
	e := ExitCS{Request: timer.Request}
	env.Emit(e)
	env.Reply(timer.Request, e)
	return true
}

// stamp is a request's name in Lamport's total order ⇒: timestamp, then
// process.
type stamp struct {
	TS   uint64
	Proc node.ID
}

func (a stamp) compare(b stamp) int {
	return cmp.Or(cmp.Compare(a.TS, b.TS), cmp.Compare(a.Proc, b.Proc))
}

// String formats the name as Lamport writes it, "T:P" ("7:n2").
func (a stamp) String() string { return fmt.Sprintf("%d:%v", a.TS, a.Proc) }

// unknownOp logs a request this family does not understand.
func unknownOp(env node.Env, algo string, op any) {
	env.Log().Warn(algo+": unknown request op", "op", node.TypeName(op))
}

// unknownMessage logs a message this algorithm does not understand.
func unknownMessage(env node.Env, algo string, from node.ID, msg any) {
	env.Log().Warn(algo+": unknown message", "from", from, "type", node.TypeName(msg))
}
