package detector

import (
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

// fakeEnv is the hand-driven Env of the step-by-step tests.
type fakeEnv = nodetest.Env

var epoch = nodetest.Epoch

func newFakeEnv(self node.ID, n int) *fakeEnv { return nodetest.New(self, n) }

// dueAt returns when the pending timer with the given value is due.
func dueAt(t *testing.T, env *fakeEnv, value any) time.Time {
	t.Helper()
	tm, ok := env.Timer(value)
	if !ok {
		t.Fatalf("no pending timer %#v; pending: %v", value, env.Pending())
	}
	return tm.At
}
