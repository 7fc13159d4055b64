package node_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

type flushTimer struct{}

// flakyEnv is a nodetest.Env whose Store's Sync fails while fail is set.
type flakyEnv struct {
	*nodetest.Env
	fail bool
}

func (e *flakyEnv) Store() node.Store { return flakyStore{e.Env.Store(), e} }

type flakyStore struct {
	node.Store
	env *flakyEnv
}

func (s flakyStore) Sync() error {
	if s.env.fail {
		return errors.New("disk on fire")
	}
	return s.Store.Sync()
}

func checkOps(t *testing.T, env *flakyEnv, what string, want ...string) {
	t.Helper()
	if got := env.TakeOps(); !slices.Equal(got, want) {
		t.Fatalf("%s: did %q, want %q", what, got, want)
	}
}

// A message leaves at once while nothing written waits for a sync; after a
// write it waits, with one flush scheduled however many writes and sends
// follow, until a Sync succeeds; a failed Sync keeps it and retries later.
func TestOutbox(t *testing.T) {
	env := &flakyEnv{Env: nodetest.New(0, 2)}
	env.Show = func(v any) string {
		if s, ok := v.(string); ok {
			return s
		}
		return "flush"
	}
	o := node.Outbox{Timer: flushTimer{}, Retry: time.Second}

	o.Send(env, 1, "early")
	checkOps(t, env, "send while clean", "send n1 early")

	env.Store().Set("k", []byte("v"))
	o.Wrote(env)
	o.Send(env, 1, "first")
	o.Wrote(env)
	o.Send(env, 1, "second")
	o.Schedule(env)
	checkOps(t, env, "writes and sends", "timer flush")
	if tm, _ := env.Timer(flushTimer{}); !tm.At.Equal(env.Clock) {
		t.Fatalf("the flush is due at %v, want at once (%v)", tm.At, env.Clock)
	}

	o.Fired()
	env.fail = true
	if synced, ok := o.Sync(env); synced || ok {
		t.Fatalf("a failed Sync reported synced %v, ok %v", synced, ok)
	}
	checkOps(t, env, "failed sync", "timer flush")
	if ts := env.Pending(); len(ts) != 2 || !ts[1].At.Equal(env.Clock.Add(time.Second)) {
		t.Fatalf("pending timers %v, want the first flush and a retry Retry later", ts)
	}
	o.Send(env, 1, "third")
	checkOps(t, env, "send after a failed sync")

	o.Fired()
	env.fail = false
	if synced, ok := o.Sync(env); !synced || !ok {
		t.Fatalf("Sync reported synced %v, ok %v", synced, ok)
	}
	o.Release(env)
	checkOps(t, env, "flush", "sync", "send n1 first", "send n1 second", "send n1 third")
	if _, ok := env.Disk().Get("k"); !ok {
		t.Fatal("the write is not on disk")
	}

	o.Send(env, 1, "after")
	if synced, ok := o.Sync(env); synced || !ok {
		t.Fatalf("Sync with nothing written reported synced %v, ok %v", synced, ok)
	}
	checkOps(t, env, "clean again", "send n1 after")
}
