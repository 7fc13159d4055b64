package election

import (
	"time"

	"github.com/synod-dev/synod/node"
)

// Heartbeats configures the small failure detector both algorithms use to
// notice that the coordinator has crashed: the coordinator sends a heartbeat
// to every other process every Interval, and a process that has heard
// nothing from its coordinator for Timeout, plus a random extra of up to
// Jitter drawn afresh each time, suspects it and holds an election.
//
// It is the time-out detector of Chandra and Toueg (1996, §9.1) reduced to
// the one process an election cares about. Like every time-out detector it
// can be wrong: a paused coordinator, or a run of lost heartbeats, looks
// exactly like a crash, and the algorithms recover by electing again. The
// jitter spreads the suspicions of the processes out in time, so that when
// the coordinator crashes one process usually starts the election and the
// others hear its result before their own time-outs expire.
//
// The detector package (a heartbeat detector with increasing time-outs and
// a φ accrual detector, each a node.Process of its own) could take this
// part's place: an election process would embed one and hold an election on
// its Suspect of the coordinator.
type Heartbeats struct {
	// Interval is how often the coordinator sends a heartbeat.
	Interval time.Duration
	// Timeout is how long a process waits for a heartbeat before it
	// suspects the coordinator; it should span several intervals, so that a
	// lost heartbeat or two is not taken for a crash.
	Timeout time.Duration
	// Jitter is the upper bound of the random extra added to Timeout.
	Jitter time.Duration
}

// DefaultHeartbeats returns the detector settings of both algorithms: a
// heartbeat every 50 ms, a suspicion after 150 ms to 300 ms of silence.
func DefaultHeartbeats() Heartbeats {
	return Heartbeats{Interval: 50 * time.Millisecond, Timeout: 150 * time.Millisecond, Jitter: 150 * time.Millisecond}
}

// heartbeat is the coordinator's "I am alive": it tells every other process
// that its sender is the coordinator elected in Epoch.
type heartbeat struct {
	Epoch Epoch
}

// beat is the coordinator's timer for its next round of heartbeats.
type beat struct{}

// suspect is the follower's timer: it fires when the coordinator has been
// silent too long.
type suspect struct{}

// pulse is the coordinator's side of the detector: while it runs, the
// coordinator sends a heartbeat to every other process each interval.
type pulse struct {
	cfg Heartbeats
	t   timer
}

// start arms the timer of the next round of heartbeats.
func (p *pulse) start(env node.Env) { p.t.set(env, p.cfg.Interval, beat{}) }

// stop ends the heartbeats.
func (p *pulse) stop(env node.Env) { p.t.stop(env) }

// running reports whether heartbeats are being sent.
func (p *pulse) running() bool { return p.t.armed }

// fired records that the timer of the next round went off.
func (p *pulse) fired() { p.t.fired() }

// beat sends one round of heartbeats for epoch and arms the next round.
func (p *pulse) beat(env node.Env, epoch Epoch) {
	for _, q := range env.Group() {
		if q != env.Self() {
			env.Send(q, heartbeat{Epoch: epoch})
		}
	}
	p.start(env)
}

// watch is the follower's side of the detector: it expects to hear from the
// coordinator and fires suspect when it does not.
type watch struct {
	cfg Heartbeats
	t   timer
}

// heard restarts the wait: the coordinator (or news of a coordinator) was
// just heard from.
func (w *watch) heard(env node.Env) {
	d := w.cfg.Timeout
	if w.cfg.Jitter > 0 {
		d += time.Duration(env.Rand().Int64N(int64(w.cfg.Jitter)))
	}
	w.t.set(env, d, suspect{})
}

// stop ends the wait: this process is the coordinator, or is electing one.
func (w *watch) stop(env node.Env) { w.t.stop(env) }

// fired records that the suspicion timer went off.
func (w *watch) fired() { w.t.fired() }
