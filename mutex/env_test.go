package mutex

import (
	"strings"
	"testing"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

// fakeEnv is the hand-driven Env of the walk-throughs.
type fakeEnv = nodetest.Env

func newFakeEnv(self node.ID, n int) *fakeEnv { return nodetest.New(self, n) }

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
	env.TakeOps()
	for _, s := range steps {
		s.do(p, env)
		if got := strings.Join(env.TakeOps(), "; "); got != s.want {
			t.Errorf("%s:\n got: %s\nwant: %s", s.name, got, s.want)
		}
	}
}
