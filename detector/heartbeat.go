package detector

import (
	"encoding/binary"
	"time"

	"github.com/synod-dev/synod/node"
)

// heartbeat is the message every process sends to every other process once a
// period: Chandra and Toueg's "p-is-alive". (Cachin, Guerraoui and Rodrigues
// ask for theirs with a HEARTBEATREQUEST and get a HEARTBEATREPLY; pushing
// heartbeats saves the requests.) Boot counts the sender's starts (it is kept in
// durable storage, so it only grows) and Seq its heartbeats since it last
// started: together they tell a receiver a late or duplicated copy from news,
// and a restart from a long silence.
type heartbeat struct {
	Boot uint64
	Seq  uint64
}

// tick is the timer that makes a process send its next round of heartbeats.
type tick struct{}

// expired is the heartbeat detector's timer for process Q: it fires when Q's
// time-out Δp(Q) has passed without a heartbeat from Q. Q is node.None for
// the single group-wide timer of the broken SharedTimer variant.
type expired struct {
	Q node.ID
}

// HeartbeatMessages returns one zero value of every message, emitted event and
// timer of the heartbeat detector, for node.NewRegistry.
func HeartbeatMessages() []any {
	return []any{heartbeat{}, Suspect{}, Restore{}, tick{}, expired{}}
}

// Defaults of both detectors.
const (
	// DefaultPeriod is the heartbeat period: how often a process sends a
	// heartbeat to every other process.
	DefaultPeriod = 100 * time.Millisecond
)

// HeartbeatConfig configures NewHeartbeat. A zero field takes its default
// (see DefaultHeartbeatConfig).
type HeartbeatConfig struct {
	// Period is how often a process sends HEARTBEAT to every other process.
	// Default DefaultPeriod, 100 ms.
	Period time.Duration
	// Timeout is the initial time-out Δp(q): how long p waits for a
	// heartbeat from q before suspecting it. Default five periods: enough
	// that only four heartbeats lost in a row cause a mistake.
	Timeout time.Duration
	// Increment is Δ, what a time-out grows by each time the process it
	// belongs to turns out to be alive after being suspected. Default the
	// initial time-out, as in Cachin, Guerraoui and Rodrigues, whose delay
	// starts at Δ and grows by Δ.
	Increment time.Duration
	// FixedTimeout selects a deliberately broken variant that never
	// increases a time-out. Whenever silences longer than the time-out keep
	// coming (recurrent pauses, jitter, loss), it keeps suspecting correct
	// processes, and Check's eventual accuracy fails.
	FixedTimeout bool
	// SharedTimer selects a deliberately broken variant that keeps one
	// time-out timer for the whole group instead of one per process: a
	// heartbeat from anyone restarts it, so a crashed process is never
	// suspected while others are alive (with three processes or more), and
	// Check's completeness fails.
	SharedTimer bool
}

// DefaultHeartbeatConfig returns the correct heartbeat detector's defaults:
// a heartbeat every 100 ms, an initial time-out of 500 ms, increased by
// 500 ms after every mistake.
func DefaultHeartbeatConfig() HeartbeatConfig {
	return HeartbeatConfig{Period: DefaultPeriod, Timeout: 5 * DefaultPeriod, Increment: 5 * DefaultPeriod}
}

// withDefaults fills the zero fields of c from DefaultHeartbeatConfig.
func (c HeartbeatConfig) withDefaults() HeartbeatConfig {
	d := DefaultHeartbeatConfig()
	if c.Period <= 0 {
		c.Period = d.Period
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * c.Period
	}
	if c.Increment <= 0 {
		c.Increment = c.Timeout
	}
	return c
}

// Heartbeat is one process of the time-out based eventually perfect failure
// detector ◇P: Chandra and Toueg 1996, "Unreliable Failure Detectors for
// Reliable Distributed Systems" (JACM 43(2)), §9.1 "Partial synchrony";
// Cachin, Guerraoui and Rodrigues, "Introduction to Reliable and
// Secure Distributed Programming" (2nd ed.), §2.6.5, Algorithm 2.7
// "Increasing Timeout".
//
// Every process p sends a heartbeat ("p-is-alive") to every other process
// once a period. If p hears nothing from q for Δp(q), its time-out for q, it
// adds q to its list of suspects (Emit Suspect). If a heartbeat from a
// suspected q arrives, p was wrong: it removes q from the list (Emit
// Restore) and increases Δp(q) by Δ. In a partially synchronous system, where
// message delays and pauses are bounded from some time on by a bound nobody
// knows, every time-out eventually exceeds that bound and the mistakes stop
// (eventual strong accuracy); a crashed process sends nothing, so it is
// suspected by everyone for good (strong completeness).
//
// Each time-out is a timer of its own, restarted by every heartbeat, so a
// crash is suspected Δp(q) after the last heartbeat arrived: between
// Δp(q) + δ − period and Δp(q) + δ after the crash, δ the message delay.
// Timers run on the process's own clock, whose rate (drift) matters but whose
// offset does not. The detector keeps nothing in storage but the boot count
// its heartbeats carry; after a restart it trusts everyone again, with the
// initial time-outs.
type Heartbeat struct {
	cfg   HeartbeatConfig
	pulse pulse
	// peers is p's view of every other process q: whether q is suspected
	// (q ∈ D_p in Chandra and Toueg), its time-out Δp(q) and its timer.
	peers map[node.ID]*watch
	// shared is the group-wide timer of the broken SharedTimer variant.
	shared node.TimerID
}

// watch is what the heartbeat detector knows of one other process.
type watch struct {
	suspected bool
	// timeout is Δp(q). Invariant: it only grows, by Increment per mistake.
	timeout time.Duration
	// timer fires when timeout has passed since the last heartbeat.
	timer node.TimerID
}

// NewHeartbeat returns a process of the increasing time-out failure detector
// (Chandra and Toueg §9.1; Cachin, Guerraoui and Rodrigues §2.6.5), or with
// cfg.FixedTimeout or cfg.SharedTimer a deliberately broken variant.
func NewHeartbeat(cfg HeartbeatConfig) node.Process {
	cfg = cfg.withDefaults()
	return &Heartbeat{cfg: cfg, pulse: pulse{period: cfg.Period}, peers: map[node.ID]*watch{}}
}

// Start implements node.Process: trust every process, start a time-out for
// each (Chandra and Toueg: D_p := ∅, Δp(q) := default), and start sending
// heartbeats.
func (d *Heartbeat) Start(env node.Env) {
	for _, q := range env.Group() {
		if q != env.Self() {
			d.peers[q] = &watch{timeout: d.cfg.Timeout}
			d.arm(env, q)
		}
	}
	d.pulse.start(env)
}

// Receive implements node.Process: a heartbeat is the only message.
func (d *Heartbeat) Receive(env node.Env, from node.ID, msg node.Message) {
	switch msg.(type) {
	case heartbeat:
		d.onHeartbeat(env, from)
	default:
		env.Log().Warn("heartbeat detector: unknown message", "from", from, "type", node.TypeName(msg))
	}
}

// Timeout implements node.Process: time to send heartbeats, or a time-out
// expired.
func (d *Heartbeat) Timeout(env node.Env, timer any) {
	switch t := timer.(type) {
	case tick:
		d.pulse.beat(env)
	case expired:
		d.onExpired(env, t.Q)
	}
}

// Request implements node.Process; the detector takes no requests.
func (d *Heartbeat) Request(node.Env, node.Request) {}

// onHeartbeat handles "q-is-alive": if q is suspected, the suspicion was a
// mistake, so trust q again (remove q from D_p) and make its time-out longer
// (Chandra and Toueg increase Δp(q); Cachin, Guerraoui and Rodrigues add Δ to
// the delay). Either way q's time-out starts over.
func (d *Heartbeat) onHeartbeat(env node.Env, q node.ID) {
	w := d.peers[q]
	if w == nil {
		return // not in the group
	}
	if w.suspected {
		w.suspected = false
		if !d.cfg.FixedTimeout {
			w.timeout += d.cfg.Increment
		}
		env.Emit(Restore{Process: q, Timeout: w.timeout})
	}
	d.arm(env, q)
}

// onExpired handles a time-out: q has been silent for Δp(q), so p suspects
// it. The timer is not restarted; q's next heartbeat, if any, will do it.
func (d *Heartbeat) onExpired(env node.Env, q node.ID) {
	if q == node.None { // the broken SharedTimer variant: nobody spoke for a while
		for _, r := range env.Group() {
			if w := d.peers[r]; w != nil && !w.suspected {
				w.suspected = true
				env.Emit(Suspect{Process: r, Timeout: w.timeout})
			}
		}
		return
	}
	if w := d.peers[q]; w != nil && !w.suspected {
		w.suspected = true
		env.Emit(Suspect{Process: q, Timeout: w.timeout})
	}
}

// arm (re)starts q's time-out: Δp(q) from now.
func (d *Heartbeat) arm(env node.Env, q node.ID) {
	w := d.peers[q]
	if d.cfg.SharedTimer { // broken: one timer for everyone
		env.Cancel(d.shared)
		d.shared = env.After(w.timeout, expired{Q: node.None})
		return
	}
	env.Cancel(w.timer)
	w.timer = env.After(w.timeout, expired{Q: q})
}

// pulse is the sending half that both detectors share: a heartbeat to every
// other process at start and then once a period, numbered by boot and
// sequence.
type pulse struct {
	period time.Duration
	// boot is this incarnation's number, one more than the last one stored.
	boot uint64
	// seq counts the heartbeat rounds of this incarnation.
	seq uint64
}

// bootKey is where a detector keeps its boot count.
const bootKey = "detector/boot"

// start counts this boot in durable storage, syncing before the first
// heartbeat carries it, and sends the first round of heartbeats.
func (b *pulse) start(env node.Env) {
	st := env.Store()
	if v, ok := st.Get(bootKey); ok {
		if n, k := binary.Uvarint(v); k > 0 {
			b.boot = n
		} else {
			env.Log().Error("detector: corrupt boot count; counting from zero")
		}
	}
	b.boot++
	st.Set(bootKey, binary.AppendUvarint(nil, b.boot))
	if err := st.Sync(); err != nil {
		env.Log().Error("detector: sync boot count", "err", err)
	}
	b.beat(env)
}

// beat sends one heartbeat to every other process and sets the timer for the
// next round.
func (b *pulse) beat(env node.Env) {
	b.seq++
	for _, q := range env.Group() {
		if q != env.Self() {
			env.Send(q, heartbeat{Boot: b.boot, Seq: b.seq})
		}
	}
	env.After(b.period, tick{})
}
