package clock

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

// fakeEnv is the hand-driven Env: its Ops show the order of sync, emit and
// send. The simulator tests exercise the processes under faults; these pin
// down their local steps.
type fakeEnv = nodetest.Env

func newFakeEnv(self, n int, seed uint64) *fakeEnv {
	e := nodetest.New(node.ID(self), n)
	e.Seed(seed)
	e.Show = func(v any) string { return fmt.Sprint(v) }
	return e
}

// fire runs every pending timer, as many rounds as it takes.
func fire(env *fakeEnv, p node.Process) {
	for env.FireNext(p) {
	}
}

// steps are the Ops other than timers being set.
func steps(env *fakeEnv) []string {
	var out []string
	for _, op := range env.Ops {
		if !strings.HasPrefix(op, "timer ") {
			out = append(out, op)
		}
	}
	return out
}

func TestLamportProcessSteps(t *testing.T) {
	env := newFakeEnv(1, 3, 1)
	p := NewLamportProcess(LamportConfig{Workload: Workload{Actions: 3, SendProbability: 1}})
	p.Start(env)
	p.Receive(env, 2, lamportMsg{L: 10})
	fire(env, p)
	want := []string{
		"sync", "emit {receive 11}",
		"sync", "emit {send 12}", "send n0 {12}",
		"sync", "emit {send 13}", "send n0 {13}",
		"sync", "emit {send 14}", "send n2 {14}",
	}
	if !reflect.DeepEqual(steps(env), want) {
		t.Fatalf("ops:\n got %q\nwant %q", steps(env), want)
	}

	// A crash loses nothing that was emitted: a fresh process resumes at
	// L=14 with its 3 actions done, so it schedules no more.
	env.Crash()
	env.TakeOps()
	p = NewLamportProcess(LamportConfig{Workload: Workload{Actions: 3}})
	p.Start(env)
	if len(env.Pending()) != 0 {
		t.Fatalf("restarted process scheduled %d more actions after all 3 were done", len(env.Pending()))
	}
	p.Receive(env, 0, lamportMsg{L: 2})
	if got := env.Emitted[len(env.Emitted)-1]; got != (LamportStamp{EventReceive, 15}) {
		t.Fatalf("after restart: %v, want {receive 15}", got)
	}
}

func TestLamportProcessBrokenVariants(t *testing.T) {
	env := newFakeEnv(0, 2, 1)
	p := NewLamportProcess(LamportConfig{NoMax: true})
	p.Start(env)
	p.Receive(env, 1, lamportMsg{L: 10})
	if got := env.Emitted[0]; got != (LamportStamp{EventReceive, 1}) {
		t.Fatalf("NoMax receive: %v, want {receive 1}", got)
	}

	env = newFakeEnv(0, 2, 1)
	p = NewLamportProcess(LamportConfig{NoSync: true})
	p.Start(env)
	p.Receive(env, 1, lamportMsg{L: 10})
	env.Crash()
	p = NewLamportProcess(LamportConfig{NoSync: true})
	p.Start(env)
	p.Receive(env, 1, lamportMsg{L: 0})
	if got := env.Emitted[1]; got != (LamportStamp{EventReceive, 1}) {
		t.Fatalf("NoSync after crash: %v, want the clock back at {receive 1}", got)
	}
}

func TestVectorProcessSteps(t *testing.T) {
	env := newFakeEnv(1, 3, 1)
	p := NewVectorProcess(VectorConfig{Workload: Workload{Actions: 2, SendProbability: 1}})
	p.Start(env)
	p.Receive(env, 2, vectorMsg{V: Vector{0, 0, 4}})
	fire(env, p)
	want := []string{
		"sync", "emit {receive [0 1 4]}",
		"sync", "emit {send [0 2 4]}", "send n0 {[0 2 4]}",
		"sync", "emit {send [0 3 4]}", "send n0 {[0 3 4]}",
	}
	if !reflect.DeepEqual(steps(env), want) {
		t.Fatalf("ops:\n got %q\nwant %q", steps(env), want)
	}
	// Emitted vectors are copies: later events do not change them.
	if got := env.Emitted[0].(VectorStamp).V; !reflect.DeepEqual(got, Vector{0, 1, 4}) {
		t.Fatalf("first stamp changed to %v", got)
	}

	env.Crash()
	p = NewVectorProcess(VectorConfig{Workload: Workload{Actions: 3, SendProbability: 1}})
	p.Start(env)
	if len(env.Pending()) != 1 {
		t.Fatalf("restarted process scheduled %d actions, want the 1 left of 3", len(env.Pending()))
	}
	p.Receive(env, 0, vectorMsg{V: Vector{5}})
	if got := env.Emitted[len(env.Emitted)-1].(VectorStamp).V; !reflect.DeepEqual(got, Vector{5, 4, 4}) {
		t.Fatalf("after restart: %v, want [5 4 4]", got)
	}
}

func TestVectorProcessNoMerge(t *testing.T) {
	env := newFakeEnv(0, 2, 1)
	p := NewVectorProcess(VectorConfig{NoMerge: true})
	p.Start(env)
	p.Receive(env, 1, vectorMsg{V: Vector{0, 7}})
	if got := env.Emitted[0].(VectorStamp).V; !reflect.DeepEqual(got, Vector{1, 0}) {
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
			case to == env.Self() || to < 0 || int(to) >= 4:
				t.Fatalf("seed %d: send to %v from %v", seed, to, env.Self())
			default:
				sends[to]++
			}
		}
		a.scheduleNext(env)
		if len(env.Pending()) != 50 {
			t.Fatalf("seed %d: %d timers for 50 actions", seed, len(env.Pending()))
		}
		for _, tm := range env.Pending() {
			d := tm.At.Sub(env.Clock) // the clock never moved: the delay
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
