// Package trace records what happened in a run: every send, delivery, drop,
// timer, request, reply, emitted event, crash, restart and fault, each with
// its time, its node and (for process events) the vector clock the runtime
// computed itself, so checkers can judge happens-before exactly without the
// algorithm's cooperation.
//
// From a trace come the checkers' verdicts (Check), measurements (Metrics),
// exports (JSON Lines, ShiViz) and a space-time diagram (SVG).
package trace

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
)

// Kind says what an Event records.
type Kind uint8

// The kinds of event. Process events (Start through Restart) happen at one
// node, advance its vector clock and are ordered by happens-before; network
// and nemesis events (Drop through ClockSet) have no vector clock.
const (
	Start   Kind = iota + 1 // the process was started (Start called)
	Send                    // the process sent a message
	Deliver                 // a message was delivered (Receive called)
	Timer                   // a timer fired (Timeout called)
	Request                 // a client request arrived (Request called)
	Reply                   // the process answered a request
	Emit                    // the process emitted an observable event
	Crash                   // the node crashed
	Restart                 // the node came back after a crash (Start follows)

	Drop      // a message was lost; Reason says why
	Partition // links were cut; Detail describes the cut
	Heal      // links were restored
	Pause     // the node stopped taking steps
	Resume    // the node resumed
	ClockSet  // the node's clock offset or drift changed
	Note      // free text from the harness (e.g. a workload phase)
)

var kindNames = [...]string{
	Start: "start", Send: "send", Deliver: "deliver", Timer: "timer", Request: "request",
	Reply: "reply", Emit: "emit", Crash: "crash", Restart: "restart", Drop: "drop",
	Partition: "partition", Heal: "heal", Pause: "pause", Resume: "resume",
	ClockSet: "clock", Note: "note",
}

// String returns the lower-case name of the kind ("send").
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if name == s && name != "" {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("trace: unknown event kind %q", s)
}

// IsProcess reports whether events of this kind happen at a process and carry
// a vector clock.
func (k Kind) IsProcess() bool { return k >= Start && k <= Restart }

// Drop reasons.
const (
	DropLoss        = "loss"        // the network lost it at random
	DropPartitioned = "partitioned" // the link was cut
	DropCrashed     = "crashed"     // the receiver was down when it arrived
	DropUnknownPeer = "unknown-peer"
	DropDecode      = "decode" // the receiver could not decode it
	DropQueueFull   = "queue-full"
)

// Event is one thing that happened. Fields that do not apply to a kind are
// zero.
type Event struct {
	// Seq is the event's position in the trace, from 0.
	Seq int
	// Time is virtual time since the start of a simulated run, or wall time
	// since the start of a live run.
	Time time.Duration
	// Round is the synchronous round (0 outside rounds mode).
	Round int
	// Node is where it happened: the sender for Send, the receiver for
	// Deliver, the sender for Drop (Peer is the intended receiver), the node
	// concerned by a nemesis action, node.None for a network-wide action
	// such as Heal.
	Node node.ID
	Kind Kind
	// Clock is the vector clock of a process event, after the event:
	// Clock[i] counts the process events of node i that happen before or
	// are this event. Nil for other kinds.
	Clock VC
	// Peer is the destination of a Send or Drop and the source of a Deliver;
	// it means nothing for other kinds.
	Peer node.ID
	// MsgID links a Send to its Deliver(s) and Drop(s); duplicates share it.
	MsgID uint64
	// Type is the registered type name of the message (on Send, Deliver
	// and Drop alike), emitted event, request op, reply result or timer.
	Type string
	// Size is the encoded size of a message in bytes on Send, Deliver and
	// Drop (0 when not encoded).
	Size int
	// Request is the request ID of a Request or Reply event.
	Request node.RequestID
	// Value is the message, emitted event, request op or reply result, or
	// the timer value of a Timer event.
	Value any
	// Reason says why a message was dropped (one of the Drop* constants).
	Reason string
	// Detail is human-readable text for nemesis events and notes.
	Detail string
}

// Trace is the ordered list of events of one run. Events appear in the order
// they were executed, which is consistent with happens-before.
type Trace struct {
	// Nodes is the number of processes, 0..Nodes-1.
	Nodes  int
	Events []Event
}

// Record appends e, setting its Seq. It implements Recorder.
func (t *Trace) Record(e *Event) {
	e.Seq = len(t.Events)
	t.Events = append(t.Events, *e)
}

// Recorder receives events as a run produces them.
type Recorder interface {
	Record(e *Event)
}

// Filter returns the events of the given kinds, in order.
func (t *Trace) Filter(kinds ...Kind) []Event {
	var out []Event
	for _, e := range t.Events {
		for _, k := range kinds {
			if e.Kind == k {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// Emitted returns the Emit events whose value has type T, in trace order.
func Emitted[T any](t *Trace) []EmittedEvent[T] {
	var out []EmittedEvent[T]
	for i := range t.Events {
		e := &t.Events[i]
		if e.Kind != Emit {
			continue
		}
		if v, ok := e.Value.(T); ok {
			out = append(out, EmittedEvent[T]{Event: e, Value: v})
		}
	}
	return out
}

// EmittedEvent pairs an Emit event with its typed value.
type EmittedEvent[T any] struct {
	*Event
	Value T
}

// HappensBefore reports whether process event a happens before process event
// b (a → b), judged on their vector clocks. An event does not happen before
// itself.
func HappensBefore(a, b *Event) bool {
	return a.Clock.Before(b.Clock)
}

// Check is the verdict on one property of a run.
type Check struct {
	// Property names what was checked ("agreement", "clock condition").
	Property string
	// OK is true when the property held.
	OK bool
	// Detail explains a failure (the first counterexample) or summarizes a pass.
	Detail string
}

// Passed returns a passing verdict.
func Passed(property, detail string, args ...any) Check {
	return Check{Property: property, OK: true, Detail: fmt.Sprintf(detail, args...)}
}

// Failed returns a failing verdict.
func Failed(property, detail string, args ...any) Check {
	return Check{Property: property, OK: false, Detail: fmt.Sprintf(detail, args...)}
}

// AllOK reports whether every check passed.
func AllOK(checks []Check) bool {
	for _, c := range checks {
		if !c.OK {
			return false
		}
	}
	return true
}
