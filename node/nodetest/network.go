package nodetest

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// Network is a hand-driven network of processes, each on an Env of its
// own, for tests that stage an exact run the way a paper's walk-through
// does. No timer fires unless the test fires it (Timeout, or an Env's
// Advance), except the zero-delay flush timers that Settle fires; a sent
// message waits in Queue until Settle delivers it, and Drop can lose any
// message; a process can crash and restart; and everything the processes
// emit is collected, in order, into Trace for a checker to judge.
//
// P is the processes' type, so that a test reaches their state and methods
// through Procs without type assertions.
type Network[P node.Process] struct {
	// Procs are the processes, by ID. Restart replaces one with a fresh
	// value.
	Procs []P
	// Envs are their Envs, by ID; Env i's random source is seeded with
	// i+1. A test may call a process's methods on its Env directly: Settle
	// and Collect pick up what it did.
	Envs []*Env
	// Down marks the crashed processes. A message to or from a crashed
	// process is lost when Settle comes to it.
	Down []bool
	// Queue holds the messages sent and not yet delivered, in the order
	// sent.
	Queue []Envelope
	// Drop, if set, decides which messages the network loses.
	Drop func(e Envelope) bool
	// Trace holds what the processes emitted: an Emit event for each
	// value, at times 1ns, 2ns... in the order collected.
	Trace trace.Trace

	newProc func(id node.ID) P
	isFlush func(timer any) bool
	tick    time.Duration
}

// Envelope is a message on a Network.
type Envelope struct {
	From, To node.ID
	Msg      node.Message
}

// MaxRounds is how many rounds of delivery Settle runs before it gives up.
const MaxRounds = 1000

// NewNetwork starts n processes, n0..n(n-1), each made by newProc (which
// Restart calls again) and started on its own Env. isFlush tells the
// process's zero-delay flush timers, which Settle fires as soon as they are
// due (nil: there are none).
func NewNetwork[P node.Process](n int, newProc func(id node.ID) P, isFlush func(timer any) bool) *Network[P] {
	w := &Network[P]{newProc: newProc, isFlush: isFlush}
	for range n {
		w.add(n)
		w.start(node.ID(len(w.Procs) - 1))
	}
	return w
}

// Add starts p as one more process, with the next ID, on an Env in a group
// one larger than the last; the Envs already there keep their groups.
// Restart replaces it with one made by NewNetwork's newProc.
func (w *Network[P]) Add(p P) node.ID {
	id := w.add(len(w.Procs) + 1)
	w.Procs[id] = p
	p.Start(w.Envs[id])
	w.Collect()
	return id
}

// add appends an Env for the next ID in a group of n, and room for its
// process.
func (w *Network[P]) add(n int) node.ID {
	id := node.ID(len(w.Envs))
	env := New(id, n)
	env.Seed(uint64(id) + 1)
	env.OnSend = func(to node.ID, msg node.Message) { w.Queue = append(w.Queue, Envelope{id, to, msg}) }
	w.Envs = append(w.Envs, env)
	var none P
	w.Procs = append(w.Procs, none)
	w.Down = append(w.Down, false)
	return id
}

// start makes a fresh process for id and starts it.
func (w *Network[P]) start(id node.ID) {
	w.Procs[id] = w.newProc(id)
	w.Procs[id].Start(w.Envs[id])
	w.Collect()
}

// Collect moves what the processes emitted into Trace, in order: the
// processes in ID order, each one's values in the order emitted.
func (w *Network[P]) Collect() {
	for i, env := range w.Envs {
		for _, v := range env.TakeEmitted() {
			w.tick++
			w.Trace.Record(&trace.Event{Kind: trace.Emit, Node: node.ID(i), Time: w.tick, Value: v})
		}
	}
}

// Timeout calls process id's Timeout handler with timer, as if it had
// fired, and collects what the process emitted. It does not settle.
func (w *Network[P]) Timeout(id node.ID, timer any) {
	w.Procs[id].Timeout(w.Envs[id], timer)
	w.Collect()
}

// Flush fires every running process's flush timers that are due on its
// clock, in ID order, and reports whether it fired any.
func (w *Network[P]) Flush() bool {
	if w.isFlush == nil {
		return false
	}
	fired := false
	for i, env := range w.Envs {
		if w.Down[i] {
			continue
		}
		for _, tm := range env.Pending() {
			if w.isFlush(tm.Value) && !tm.At.After(env.Clock) {
				env.Cancel(tm.ID)
				w.Procs[i].Timeout(env, tm.Value)
				w.Collect()
				fired = true
			}
		}
	}
	return fired
}

// Settle flushes and delivers until nothing is left to do. Each round it
// fires the due flush timers, then delivers the messages queued so far, in
// the order sent, except those Drop loses or that go to or come from a
// crashed process; what they send waits for the next round. After
// MaxRounds rounds (a livelock, as a deliberately broken algorithm may
// have) it empties the queue and returns an error that says so.
func (w *Network[P]) Settle() error {
	for rounds := 0; w.Flush() || len(w.Queue) > 0; rounds++ {
		if rounds > MaxRounds {
			err := fmt.Errorf("the network does not settle: %d messages queued, e.g. %+v", len(w.Queue), w.Queue[0])
			w.Queue = nil
			return err
		}
		q := w.Queue
		w.Queue = nil
		for _, e := range q {
			if w.Down[e.To] || w.Down[e.From] || (w.Drop != nil && w.Drop(e)) {
				continue
			}
			w.Procs[e.To].Receive(w.Envs[e.To], e.From, e.Msg)
			w.Collect()
		}
	}
	return nil
}

// Crash crashes process id: its unsynced writes and pending timers are lost
// (Env.Crash), and until Restart it gets no messages and its queued ones
// are not delivered.
func (w *Network[P]) Crash(id node.ID) {
	w.Envs[id].Crash()
	w.Down[id] = true
}

// Restart starts a fresh process for id, made by newProc, on its Env,
// which holds what it synced before the crash.
func (w *Network[P]) Restart(id node.ID) {
	w.Down[id] = false
	w.start(id)
}
