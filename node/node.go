// Package node is synod's programming model: an algorithm is a Process, a
// deterministic state machine that reacts to events and never blocks, and an
// Env is everything the process may touch (identity, clock, network, timers,
// randomness, durable storage, outputs).
//
// The same Process runs unchanged inside the deterministic simulator (package
// sim) and as a real node over the network. That only works if algorithm code
// obeys a few rules:
//
//   - no I/O, no goroutines, no time.Now, no global randomness, no locks:
//     everything comes through Env;
//   - no decision may depend on Go's randomized map iteration order (sort keys);
//   - messages are plain Go structs with exported fields, registered with a
//     Registry, and treated as immutable values once sent or received;
//   - durable state goes through Env.Store and counts only after Sync.
package node

import (
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"
)

// ID names a process: a rank 0..N-1 in a static group, like an MPI rank.
// It prints as "n3".
type ID int

// None is the ID of no process (for example "no leader known").
const None ID = -1

// String returns the conventional short name of a process, "n<rank>".
func (id ID) String() string {
	if id == None {
		return "none"
	}
	return "n" + strconv.Itoa(int(id))
}

// Message is a value sent between processes: a plain Go struct with exported
// fields, registered with the wire codec (see Registry).
type Message = any

// RequestID identifies a client request so that its Reply can be matched.
type RequestID uint64

// Request is an input to a process from outside the algorithm: a client, a
// workload generator or an operator. Op is a registered value.
type Request struct {
	ID RequestID
	Op any
}

// TimerID identifies a pending timer so that it can be cancelled.
type TimerID uint64

// Process is one participant of a distributed algorithm.
//
// The runtime calls the methods one at a time, never concurrently, so a
// process needs no locks. Each call must return promptly without blocking.
type Process interface {
	// Start is called once at boot and again after every restart. After a
	// crash the process is a fresh value: whatever it needs from before the
	// crash it must read back from env.Store.
	Start(env Env)
	// Receive is called when a message from another process arrives.
	Receive(env Env, from ID, msg Message)
	// Timeout is called when a timer set with env.After fires, with the value
	// given to After. In the simulator's synchronous-rounds mode it is also
	// called with a RoundTick at the start of every round.
	Timeout(env Env, timer any)
	// Request is called when a client or workload submits an input.
	Request(env Env, req Request)
}

// Env is a process's whole view of the world. All of it is deterministic in
// the simulator: the clock is virtual (and may be skewed and drifting), the
// random source is seeded per node, and storage loses unsynced writes on a
// crash.
type Env interface {
	// Self is this process's ID.
	Self() ID
	// Group is the configured membership, self included, in ascending order.
	// The slice is shared: do not modify it.
	Group() []ID
	// Now is this node's own clock. In the simulator it may be offset from
	// true time and drift; it can even jump backward when the nemesis sets
	// a clock offset.
	Now() time.Time
	// Send sends msg to process to. Delivery is up to the network: it may be
	// delayed, reordered, duplicated or lost. Sending to self is allowed.
	Send(to ID, msg Message)
	// After arranges for Timeout(env, timer) to be called once d has passed
	// on this node's clock. Timers do not survive a crash.
	After(d time.Duration, timer any) TimerID
	// Cancel stops a pending timer; cancelling a fired or unknown timer is a no-op.
	Cancel(id TimerID)
	// Rand is this node's seeded random source, the only randomness an
	// algorithm may use.
	Rand() *rand.Rand
	// Store is this node's durable storage.
	Store() Store
	// Emit records an observable fact (Decided{V}, EnterCS{}, Delivered{M}, ...)
	// for checkers, traces and diagrams.
	Emit(event any)
	// Reply answers a Request.
	Reply(req RequestID, result any)
	// Log is a structured logger tagged with this node (and, in the
	// simulator, virtual time).
	Log() *slog.Logger
}

// RoundTick is passed to Process.Timeout at the start of round R in the
// simulator's synchronous-rounds mode, after every message sent in round R-1
// has been delivered. Rounds start at 1.
type RoundTick struct {
	Round int
}

// Factory builds the process with the given ID. Runtimes call it at boot and
// again after every crash-restart, so the process starts with empty volatile
// state.
type Factory func(id ID) Process
