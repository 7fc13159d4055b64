package clock

import (
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// Workload is how a clock demo process spends its run, as in the classic
// Lamport and vector clock demonstrations: it performs Actions actions, one
// every MinDelay to MaxDelay (uniformly at random, on its own clock), and each
// action is, at random, a send to a random peer (with probability
// SendProbability) or else a local event. Receives happen whenever messages
// arrive, and never count as actions.
//
// A zero field takes its default (see DefaultWorkload), so the zero Workload
// is the default workload.
type Workload struct {
	// Actions is the number of local events and sends each node performs
	// over the whole run, restarts included. Default 30.
	Actions int
	// MinDelay and MaxDelay bound the random interval before each action.
	// Defaults 1ms and 20ms.
	MinDelay, MaxDelay time.Duration
	// SendProbability is the chance that an action is a send rather than a
	// local event. Default 0.5.
	SendProbability float64
}

// DefaultWorkload returns the default workload: 30 actions per node, one
// every 1–20 ms, half of them sends.
func DefaultWorkload() Workload {
	return Workload{Actions: 30, MinDelay: 1 * time.Millisecond, MaxDelay: 20 * time.Millisecond, SendProbability: 0.5}
}

// withDefaults fills the zero fields of w from DefaultWorkload.
func (w Workload) withDefaults() Workload {
	d := DefaultWorkload()
	if w.Actions <= 0 {
		w.Actions = d.Actions
	}
	if w.MinDelay <= 0 {
		w.MinDelay = d.MinDelay
	}
	if w.MaxDelay <= 0 {
		w.MaxDelay = d.MaxDelay
	}
	w.MaxDelay = max(w.MaxDelay, w.MinDelay)
	if w.SendProbability <= 0 {
		w.SendProbability = d.SendProbability
	}
	return w
}

// Messages lists one zero value of every message, emitted event and timer of
// the clock demos, for node.NewRegistry.
func Messages() []any {
	return []any{lamportMsg{}, vectorMsg{}, LamportStamp{}, VectorStamp{}, nextAction{}}
}

// nextAction is the timer that triggers a node's next action.
type nextAction struct{}

// The kinds of event a stamp records.
const (
	EventLocal   = "local"   // an internal event
	EventSend    = "send"    // the send of a message (stamped before it leaves)
	EventReceive = "receive" // the receipt of a message
)

// actions is the part of a demo process that paces its actions: it counts
// them and sets the timer for the next one.
type actions struct {
	w    Workload
	done int // actions performed so far, restarts included (persisted)
}

// scheduleNext sets the timer for the next action, if any remain.
func (a *actions) scheduleNext(env node.Env) {
	if a.done >= a.w.Actions {
		return
	}
	span := int64(a.w.MaxDelay - a.w.MinDelay)
	env.After(a.w.MinDelay+time.Duration(env.Rand().Int64N(span+1)), nextAction{})
}

// choose counts an action and decides what it is: a send to a random peer
// (never self), or a local event (send is false).
func (a *actions) choose(env node.Env) (to node.ID, send bool) {
	a.done++
	r := env.Rand()
	if r.Float64() >= a.w.SendProbability {
		return node.None, false
	}
	group := env.Group()
	self := slices.Index(group, env.Self())
	if len(group) < 2 || self < 0 {
		return node.None, false
	}
	// Draw one of the other len(group)-1 members, skipping self.
	i := r.IntN(len(group) - 1)
	if i >= self {
		i++
	}
	return group[i], true
}

// Persistence: a demo process stores its action count and its clock under
// one key as a sequence of uvarints, and syncs before the clock is emitted or
// sent, so that no clock value anyone has seen is ever lost to a crash.

// errCorrupt reports a stored record that does not decode.
var errCorrupt = errors.New("corrupt stored record")

// encodeUvarints encodes xs as consecutive uvarints.
func encodeUvarints(xs ...uint64) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.AppendUvarint(b, x)
	}
	return b
}

// decodeUvarints decodes a sequence of uvarints written by encodeUvarints.
func decodeUvarints(b []byte) ([]uint64, error) {
	var xs []uint64
	for len(b) > 0 {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errCorrupt
		}
		xs = append(xs, x)
		b = b[n:]
	}
	return xs, nil
}
