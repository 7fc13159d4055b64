package node

import "time"

// Outbox holds back the messages that answer for writes not yet synced, so
// that nothing a process promised rests on state a crash could take back
// (Raft's Figure 2: "updated on stable storage before responding to RPCs").
// Writes to the Store mark it dirty; a message sent while it is dirty waits;
// one flush syncs the Store for all of them and then lets them go, in the
// order they were sent. Flushes are scheduled with a zero-delay timer, so
// the writes of inputs that arrive together share one Sync.
//
// The process sets Timer and Retry, routes Timer to its flush, and calls
// Fired when it arrives; its flush calls Sync and, if that succeeded,
// Release. Invariant: messages wait only while the Outbox is dirty or a
// flush is scheduled.
type Outbox struct {
	// Timer is the timer value that asks the process to flush.
	Timer any
	// Retry is how long to wait before flushing again after a failed Sync.
	Retry time.Duration

	dirty     bool
	scheduled bool
	held      []heldMessage
}

type heldMessage struct {
	to  ID
	msg Message
}

// Wrote records a write to env's Store that messages sent from now on must
// wait for, and schedules a flush.
func (o *Outbox) Wrote(env Env) {
	o.dirty = true
	o.Schedule(env)
}

// Schedule arranges one flush after the inputs already queued, unless one
// is scheduled already.
func (o *Outbox) Schedule(env Env) {
	if !o.scheduled {
		o.scheduled = true
		env.After(0, o.Timer)
	}
}

// Fired records that the scheduled flush has begun: writes made from now on
// schedule another.
func (o *Outbox) Fired() { o.scheduled = false }

// Send sends msg at once if no write waits for a sync, and holds it for the
// next flush otherwise.
func (o *Outbox) Send(env Env, to ID, msg Message) {
	if !o.dirty {
		env.Send(to, msg)
		return
	}
	o.held = append(o.held, heldMessage{to, msg})
	o.Schedule(env)
}

// Sync syncs env's Store if anything was written since the last Sync, and
// reports whether it did (synced) and whether the held messages may now go
// (ok). When the Sync fails the state on disk is unknown: it logs, keeps the
// messages and tries again after Retry.
func (o *Outbox) Sync(env Env) (synced, ok bool) {
	if !o.dirty {
		return false, true
	}
	if err := env.Store().Sync(); err != nil {
		env.Log().Error("sync failed; holding messages until a sync succeeds", "err", err)
		o.scheduled = true
		env.After(o.Retry, o.Timer)
		return false, false
	}
	o.dirty = false
	return true, true
}

// Release sends the held messages, in the order they were sent.
func (o *Outbox) Release(env Env) {
	held := o.held
	o.held = nil
	for _, h := range held {
		env.Send(h.to, h.msg)
	}
}
