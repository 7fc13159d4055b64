package clock

import (
	"fmt"

	"github.com/synod-dev/synod/node"
)

// lamportMsg is the message of the Lamport clock demo: it carries nothing but
// the sender's timestamp Tm (Lamport 1978, IR2(a)).
type lamportMsg struct {
	L uint64
}

// LamportStamp is emitted by the Lamport clock demo after every event: what
// kind of event it was (EventLocal, EventSend or EventReceive) and the
// process's clock right after it, the event's timestamp.
type LamportStamp struct {
	Event string
	L     uint64
}

// LamportConfig configures the Lamport clock demo (NewLamportProcess).
type LamportConfig struct {
	// Workload paces the local events and sends.
	Workload
	// NoMax is a deliberately broken variant: on receipt the process only
	// ticks its clock instead of taking the maximum with the message's
	// timestamp (violating IR2(b)). CheckLamport catches it.
	NoMax bool
	// NoSync is a deliberately broken variant: the clock is written to
	// storage but never synced, so a crash-restart turns it back.
	// CheckLamport catches it in runs with a crash.
	NoSync bool
}

// DefaultLamportConfig returns the correct Lamport clock demo with the
// default workload.
func DefaultLamportConfig() LamportConfig {
	return LamportConfig{Workload: DefaultWorkload()}
}

// NewLamportProcess returns a process that exercises a Lamport clock
// (Lamport 1978, §3): it performs cfg's workload of local events and sends,
// timestamps every message with its clock, advances its clock past the
// timestamp of every message it receives, and after every event emits a
// LamportStamp. The clock is synced to storage before it is emitted or sent
// and read back in Start, so it never runs backward across a crash. The
// process takes no requests.
func NewLamportProcess(cfg LamportConfig) node.Process {
	cfg.Workload = cfg.Workload.withDefaults()
	return &lamportProcess{cfg: cfg, actions: actions{w: cfg.Workload}}
}

// lamportProcess is one node of the Lamport clock demo.
type lamportProcess struct {
	cfg LamportConfig
	actions
	clock Lamport
}

// lamportKey is where the process keeps its clock and action count.
const lamportKey = "clock/lamport"

// Start reloads the clock and the action count, and schedules the next action.
func (p *lamportProcess) Start(env node.Env) {
	if err := p.load(env.Store()); err != nil {
		env.Log().Error("lamport: starting from zero", "err", err)
	}
	p.scheduleNext(env)
}

// Timeout performs one action: a local event (IR1) or a send (IR2(a)).
func (p *lamportProcess) Timeout(env node.Env, timer any) {
	if _, ok := timer.(nextAction); !ok {
		return
	}
	if to, send := p.choose(env); send {
		tm := p.clock.Send()
		p.record(env, EventSend)
		env.Send(to, lamportMsg{L: tm})
	} else {
		p.clock.Tick()
		p.record(env, EventLocal)
	}
	p.scheduleNext(env)
}

// Receive advances the clock past the message's timestamp (IR2(b)).
func (p *lamportProcess) Receive(env node.Env, from node.ID, msg node.Message) {
	m, ok := msg.(lamportMsg)
	if !ok {
		env.Log().Warn("lamport: unexpected message", "from", from, "type", node.TypeName(msg))
		return
	}
	if p.cfg.NoMax {
		p.clock.Tick() // broken: ignores m.L
	} else {
		p.clock.Receive(m.L)
	}
	p.record(env, EventReceive)
}

// Request ignores requests: the demo drives itself.
func (p *lamportProcess) Request(node.Env, node.Request) {}

// record makes the clock durable and then emits it, so that a stamp anyone
// has seen survives a crash.
func (p *lamportProcess) record(env node.Env, event string) {
	st := env.Store()
	st.Set(lamportKey, encodeUvarints(uint64(p.done), p.clock.Time()))
	if !p.cfg.NoSync {
		if err := st.Sync(); err != nil {
			env.Log().Error("lamport: sync", "err", err)
		}
	}
	env.Emit(LamportStamp{Event: event, L: p.clock.Time()})
}

// load reads back what record stored.
func (p *lamportProcess) load(st node.Store) error {
	b, ok := st.Get(lamportKey)
	if !ok {
		return nil
	}
	xs, err := decodeUvarints(b)
	if err == nil && len(xs) != 2 {
		err = errCorrupt
	}
	if err != nil {
		return fmt.Errorf("lamport: load %s: %w", lamportKey, err)
	}
	p.done, p.clock = int(xs[0]), Lamport(xs[1])
	return nil
}
