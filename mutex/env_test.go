package mutex

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

// fakeEnv is a node.Env that records what a process does, for step-by-step
// walk-throughs of the algorithms' handlers.
type fakeEnv struct {
	self  node.ID
	group []node.ID
	rng   *rand.Rand
	store *node.MemStore
	// out collects the process's outputs since the last step, one line each.
	out    []string
	timers map[node.TimerID]any
	nextID node.TimerID
}

func newFakeEnv(self node.ID, n int) *fakeEnv {
	g := make([]node.ID, n)
	for i := range g {
		g[i] = node.ID(i)
	}
	return &fakeEnv{self: self, group: g, rng: rand.New(rand.NewPCG(1, 2)), store: node.NewMemStore(), timers: map[node.TimerID]any{}}
}

func (e *fakeEnv) Self() node.ID     { return e.self }
func (e *fakeEnv) Group() []node.ID  { return e.group }
func (e *fakeEnv) Now() time.Time    { return time.Time{} }
func (e *fakeEnv) Rand() *rand.Rand  { return e.rng }
func (e *fakeEnv) Store() node.Store { return e.store }
func (e *fakeEnv) Log() *slog.Logger { return slog.New(slog.DiscardHandler) }
func (e *fakeEnv) Send(to node.ID, m node.Message) {
	e.out = append(e.out, fmt.Sprintf("send %v %s", to, show(m)))
}
func (e *fakeEnv) Emit(v any) { e.out = append(e.out, "emit "+show(v)) }
func (e *fakeEnv) Reply(r node.RequestID, v any) {
	e.out = append(e.out, fmt.Sprintf("reply %d %s", r, show(v)))
}
func (e *fakeEnv) After(d time.Duration, timer any) node.TimerID {
	e.nextID++
	e.timers[e.nextID] = timer
	e.out = append(e.out, "timer "+show(timer))
	return e.nextID
}
func (e *fakeEnv) Cancel(id node.TimerID) { delete(e.timers, id) }

// show prints a value as "type{fields}" without the package name.
func show(v any) string {
	s := fmt.Sprintf("%T%+v", v, v)
	return strings.TrimPrefix(s, "mutex.")
}

// step is one input to a process in a walk-through, with the outputs it must
// produce (lines joined by "; ", "" for none).
type step struct {
	name string
	do   func(p node.Process, env node.Env)
	want string
}

// recv delivers msg from a peer.
func recv(from node.ID, msg any) func(node.Process, node.Env) {
	return func(p node.Process, env node.Env) { p.Receive(env, from, msg) }
}

// acquire submits an Acquire request with the given ID.
func acquire(id node.RequestID) func(node.Process, node.Env) {
	return func(p node.Process, env node.Env) { p.Request(env, node.Request{ID: id, Op: Acquire{}}) }
}

// fire fires a timer.
func fire(timer any) func(node.Process, node.Env) {
	return func(p node.Process, env node.Env) { p.Timeout(env, timer) }
}

// walk runs the steps against p and compares each step's outputs.
func walk(t *testing.T, p node.Process, env *fakeEnv, steps []step) {
	t.Helper()
	p.Start(env)
	env.out = nil
	for _, s := range steps {
		s.do(p, env)
		if got := strings.Join(env.out, "; "); got != s.want {
			t.Errorf("%s:\n got: %s\nwant: %s", s.name, got, s.want)
		}
		env.out = nil
	}
}
