package clock

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

// fakeEnv is a node.Env that records what a process does, in order, so the
// tests can check the order of sync, emit and send. The simulator tests
// exercise the processes under faults; these pin down their local steps.
type fakeEnv struct {
	self   node.ID
	group  []node.ID
	rng    *rand.Rand
	store  *syncCounting
	timers []any
	delays []time.Duration // of every After, in order
	ops    []string        // "sync", "emit <stamp>", "send n<to> <msg>"
	emits  []any
}

// syncCounting is a MemStore that notes its syncs in the env's log.
type syncCounting struct {
	*node.MemStore
	env *fakeEnv
}

func (s *syncCounting) Sync() error {
	s.env.ops = append(s.env.ops, "sync")
	return s.MemStore.Sync()
}

func newFakeEnv(self, n int, seed uint64) *fakeEnv {
	e := &fakeEnv{self: node.ID(self), rng: rand.New(rand.NewPCG(seed, 0))}
	for i := range n {
		e.group = append(e.group, node.ID(i))
	}
	e.store = &syncCounting{node.NewMemStore(), e}
	return e
}

func (e *fakeEnv) Self() node.ID    { return e.self }
func (e *fakeEnv) Group() []node.ID { return e.group }
func (e *fakeEnv) Now() time.Time   { return time.Unix(0, 0) }
func (e *fakeEnv) Send(to node.ID, m node.Message) {
	e.ops = append(e.ops, fmt.Sprintf("send %v %v", to, m))
}
func (e *fakeEnv) After(d time.Duration, t any) node.TimerID {
	e.timers = append(e.timers, t)
	e.delays = append(e.delays, d)
	return node.TimerID(len(e.timers))
}
func (e *fakeEnv) Cancel(node.TimerID)       {}
func (e *fakeEnv) Rand() *rand.Rand          { return e.rng }
func (e *fakeEnv) Store() node.Store         { return e.store }
func (e *fakeEnv) Reply(node.RequestID, any) {}
func (e *fakeEnv) Log() *slog.Logger         { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func (e *fakeEnv) Emit(v any) {
	e.ops = append(e.ops, fmt.Sprintf("emit %v", v))
	e.emits = append(e.emits, v)
}

// fire runs every pending timer, as many rounds as it takes.
func (e *fakeEnv) fire(p node.Process) {
	for len(e.timers) > 0 {
		t := e.timers[0]
		e.timers = e.timers[1:]
		p.Timeout(e, t)
	}
}

func TestLamportProcessSteps(t *testing.T) {
	env := newFakeEnv(1, 3, 1)
	p := NewLamportProcess(LamportConfig{Workload: Workload{Actions: 3, SendProbability: 1}})
	p.Start(env)
	p.Receive(env, 2, lamportMsg{L: 10})
	env.fire(p)
	want := []string{
		"sync", "emit {receive 11}",
		"sync", "emit {send 12}", "send n0 {12}",
		"sync", "emit {send 13}", "send n0 {13}",
		"sync", "emit {send 14}", "send n2 {14}",
	}
	if !reflect.DeepEqual(env.ops, want) {
		t.Fatalf("ops:\n got %q\nwant %q", env.ops, want)
	}

	// A crash loses nothing that was emitted: a fresh process resumes at
	// L=14 with its 3 actions done, so it schedules no more.
	env.store.Crash()
	env.ops, env.timers = nil, nil
	p = NewLamportProcess(LamportConfig{Workload: Workload{Actions: 3}})
	p.Start(env)
	if len(env.timers) != 0 {
		t.Fatalf("restarted process scheduled %d more actions after all 3 were done", len(env.timers))
	}
	p.Receive(env, 0, lamportMsg{L: 2})
	if got := env.emits[len(env.emits)-1]; got != (LamportStamp{EventReceive, 15}) {
		t.Fatalf("after restart: %v, want {receive 15}", got)
	}
}

func TestLamportProcessBrokenVariants(t *testing.T) {
	env := newFakeEnv(0, 2, 1)
	p := NewLamportProcess(LamportConfig{NoMax: true})
	p.Start(env)
	p.Receive(env, 1, lamportMsg{L: 10})
	if got := env.emits[0]; got != (LamportStamp{EventReceive, 1}) {
		t.Fatalf("NoMax receive: %v, want {receive 1}", got)
	}

	env = newFakeEnv(0, 2, 1)
	p = NewLamportProcess(LamportConfig{NoSync: true})
	p.Start(env)
	p.Receive(env, 1, lamportMsg{L: 10})
	env.store.Crash()
	p = NewLamportProcess(LamportConfig{NoSync: true})
	p.Start(env)
	p.Receive(env, 1, lamportMsg{L: 0})
	if got := env.emits[1]; got != (LamportStamp{EventReceive, 1}) {
		t.Fatalf("NoSync after crash: %v, want the clock back at {receive 1}", got)
	}
}

func TestVectorProcessSteps(t *testing.T) {
	env := newFakeEnv(1, 3, 1)
	p := NewVectorProcess(VectorConfig{Workload: Workload{Actions: 2, SendProbability: 1}})
	p.Start(env)
	p.Receive(env, 2, vectorMsg{V: Vector{0, 0, 4}})
	env.fire(p)
	want := []string{
		"sync", "emit {receive [0 1 4]}",
		"sync", "emit {send [0 2 4]}", "send n0 {[0 2 4]}",
		"sync", "emit {send [0 3 4]}", "send n0 {[0 3 4]}",
	}
	if !reflect.DeepEqual(env.ops, want) {
		t.Fatalf("ops:\n got %q\nwant %q", env.ops, want)
	}
	// Emitted vectors are copies: later events do not change them.
	if got := env.emits[0].(VectorStamp).V; !reflect.DeepEqual(got, Vector{0, 1, 4}) {
		t.Fatalf("first stamp changed to %v", got)
	}

	env.store.Crash()
	env.timers = nil
	p = NewVectorProcess(VectorConfig{Workload: Workload{Actions: 3, SendProbability: 1}})
	p.Start(env)
	if len(env.timers) != 1 {
		t.Fatalf("restarted process scheduled %d actions, want the 1 left of 3", len(env.timers))
	}
	p.Receive(env, 0, vectorMsg{V: Vector{5}})
	if got := env.emits[len(env.emits)-1].(VectorStamp).V; !reflect.DeepEqual(got, Vector{5, 4, 4}) {
		t.Fatalf("after restart: %v, want [5 4 4]", got)
	}
}

func TestVectorProcessNoMerge(t *testing.T) {
	env := newFakeEnv(0, 2, 1)
	p := NewVectorProcess(VectorConfig{NoMerge: true})
	p.Start(env)
	p.Receive(env, 1, vectorMsg{V: Vector{0, 7}})
	if got := env.emits[0].(VectorStamp).V; !reflect.DeepEqual(got, Vector{1, 0}) {
		t.Fatalf("NoMerge receive: %v, want [1 0]", got)
	}
}

// The workload: exactly Actions actions, delays within bounds, sends only to
// others, and both kinds of action.
func TestWorkload(t *testing.T) {
	if got := (Workload{}).withDefaults(); got != DefaultWorkload() {
		t.Fatalf("zero workload = %+v, want the default %+v", got, DefaultWorkload())
	}
	sends := map[node.ID]int{}
	locals := 0
	for seed := range uint64(20) {
		env := newFakeEnv(2, 4, seed)
		a := actions{w: Workload{Actions: 50}.withDefaults()}
		for range 50 {
			a.scheduleNext(env)
			to, send := a.choose(env)
			switch {
			case !send:
				locals++
			case to == env.self || to < 0 || int(to) >= 4:
				t.Fatalf("seed %d: send to %v from %v", seed, to, env.self)
			default:
				sends[to]++
			}
		}
		a.scheduleNext(env)
		if len(env.timers) != 50 {
			t.Fatalf("seed %d: %d timers for 50 actions", seed, len(env.timers))
		}
		for _, d := range env.delays {
			if d < time.Millisecond || d > 20*time.Millisecond {
				t.Fatalf("seed %d: action delay %v outside 1ms–20ms", seed, d)
			}
		}
	}
	if locals == 0 || sends[0] == 0 || sends[1] == 0 || sends[3] == 0 {
		t.Fatalf("actions are not mixed: %d locals, sends %v", locals, sends)
	}
}

// Every message and stamp must survive the wire codec, vectors included.
func TestMessagesEncode(t *testing.T) {
	reg := node.NewRegistry(Messages()...)
	for _, m := range []any{lamportMsg{L: 7}, vectorMsg{V: Vector{1, 0, 3}}, LamportStamp{EventSend, 2}, VectorStamp{EventLocal, Vector{4}}, nextAction{}} {
		data, err := reg.Encode(m)
		if err != nil {
			t.Fatalf("encode %#v: %v", m, err)
		}
		got, err := reg.Decode(data)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("decode %#v: got %#v, %v", m, got, err)
		}
	}
}
