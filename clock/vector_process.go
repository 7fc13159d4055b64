package clock

import (
	"fmt"

	"github.com/synod-dev/synod/node"
)

// vectorMsg is the message of the vector clock demo: it carries a copy of the
// sender's vector clock (Mattern 1989, §4).
type vectorMsg struct {
	V Vector
}

// VectorStamp is emitted by the vector clock demo after every event: what
// kind of event it was (EventLocal, EventSend or EventReceive) and a copy of
// the process's vector clock right after it.
type VectorStamp struct {
	Event string
	V     Vector
}

// VectorConfig configures the vector clock demo (NewVectorProcess).
type VectorConfig struct {
	// Workload paces the local events and sends.
	Workload
	// NoMerge is a deliberately broken variant: on receipt the process only
	// ticks its own entry instead of first merging the message's vector, so
	// it never learns of other processes' events. CheckVector catches it.
	NoMerge bool
	// NoSync is a deliberately broken variant: the clock is written to
	// storage but never synced, so a crash-restart turns it back.
	// CheckVector catches it in runs with a crash.
	NoSync bool
}

// DefaultVectorConfig returns the correct vector clock demo with the default
// workload.
func DefaultVectorConfig() VectorConfig {
	return VectorConfig{Workload: DefaultWorkload()}
}

// NewVectorProcess returns a process that exercises a vector clock (Fidge
// 1988; Mattern 1989, §4) over the ranks of its group: it performs cfg's
// workload of local events and sends, attaches a copy of its vector to every
// message, merges every vector it receives, and after every event emits a
// VectorStamp. The clock is synced to storage before it is emitted or sent and
// read back in Start, so it never runs backward across a crash. The process
// takes no requests.
func NewVectorProcess(cfg VectorConfig) node.Process {
	cfg.Workload = cfg.Workload.withDefaults()
	return &vectorProcess{cfg: cfg, actions: actions{w: cfg.Workload}}
}

// vectorProcess is one node of the vector clock demo.
type vectorProcess struct {
	cfg VectorConfig
	actions
	self  int // this process's entry in the vector: its rank
	clock Vector
}

// vectorKey is where the process keeps its clock and action count.
const vectorKey = "clock/vector"

// Start reloads the clock and the action count, and schedules the next action.
func (p *vectorProcess) Start(env node.Env) {
	p.self = int(env.Self())
	p.clock = NewVector(len(env.Group()))
	if err := p.load(env.Store()); err != nil {
		env.Log().Error("vector: starting from zero", "err", err)
	}
	p.scheduleNext(env)
}

// Timeout performs one action: a local event, or a send stamped with a copy
// of the clock.
func (p *vectorProcess) Timeout(env node.Env, timer any) {
	if _, ok := timer.(nextAction); !ok {
		return
	}
	if to, send := p.choose(env); send {
		v := p.clock.Send(p.self)
		p.record(env, EventSend)
		env.Send(to, vectorMsg{V: v})
	} else {
		p.clock.Tick(p.self)
		p.record(env, EventLocal)
	}
	p.scheduleNext(env)
}

// Receive merges the message's vector into the clock, then ticks.
func (p *vectorProcess) Receive(env node.Env, from node.ID, msg node.Message) {
	m, ok := msg.(vectorMsg)
	if !ok {
		env.Log().Warn("vector: unexpected message", "from", from, "type", node.TypeName(msg))
		return
	}
	if p.cfg.NoMerge {
		p.clock.Tick(p.self) // broken: ignores m.V
	} else {
		p.clock.Receive(p.self, m.V)
	}
	p.record(env, EventReceive)
}

// Request ignores requests: the demo drives itself.
func (p *vectorProcess) Request(node.Env, node.Request) {}

// record makes the clock durable and then emits a copy of it, so that a
// stamp anyone has seen survives a crash.
func (p *vectorProcess) record(env node.Env, event string) {
	st := env.Store()
	st.Set(vectorKey, encodeUvarints(append([]uint64{uint64(p.done)}, p.clock...)...))
	if !p.cfg.NoSync {
		if err := st.Sync(); err != nil {
			env.Log().Error("vector: sync", "err", err)
		}
	}
	env.Emit(VectorStamp{Event: event, V: p.clock.Clone()})
}

// load reads back what record stored.
func (p *vectorProcess) load(st node.Store) error {
	b, ok := st.Get(vectorKey)
	if !ok {
		return nil
	}
	xs, err := decodeUvarints(b)
	if err == nil && len(xs) == 0 {
		err = errCorrupt
	}
	if err != nil {
		return fmt.Errorf("vector: load %s: %w", vectorKey, err)
	}
	p.done = int(xs[0])
	p.clock.Merge(xs[1:]) // into the zero vector Start made

	return nil
}
