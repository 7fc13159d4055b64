package nodetest_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

type ping struct{ N int }

// echo replies to requests, syncs and emits what it receives, answers pings
// after 10ms.
type echo struct{ got int }

func (p *echo) Start(env node.Env) { env.After(5*time.Millisecond, "tick") }
func (p *echo) Receive(env node.Env, from node.ID, m node.Message) {
	p.got++
	env.Store().Set("got", []byte{byte(p.got)})
	_ = env.Store().Sync()
	env.Emit(m)
	env.After(10*time.Millisecond, m)
}
func (p *echo) Timeout(env node.Env, t any) {
	if m, ok := t.(ping); ok {
		env.Send(0, ping{m.N + 1})
	}
}
func (p *echo) Request(env node.Env, r node.Request) { env.Reply(r.ID, r.Op) }

func TestEnvRecordsInOrderAndRunsTimersOnItsClock(t *testing.T) {
	env := nodetest.New(1, 3)
	p := &echo{}
	p.Start(env)
	p.Receive(env, 0, ping{1})
	p.Request(env, node.Request{ID: 7, Op: "x"})
	want := []string{"timer tick", "sync", "emit ping{N:1}", "timer ping{N:1}", "reply 7 x"}
	if got := env.TakeOps(); !slices.Equal(got, want) {
		t.Fatalf("ops %q, want %q", got, want)
	}
	if env.Self() != 1 || len(env.Group()) != 3 || len(env.Emitted) != 1 || env.Replies[0].Req != 7 {
		t.Fatalf("records: %+v %+v", env.Emitted, env.Replies)
	}
	if tm, ok := env.Timer(ping{1}); !ok || tm.At != nodetest.Epoch.Add(10*time.Millisecond) {
		t.Fatalf("timer %+v %v", tm, ok)
	}
	env.Advance(p, nodetest.Epoch.Add(7*time.Millisecond)) // fires "tick" only
	if len(env.Sent) != 0 || env.Clock != nodetest.Epoch.Add(7*time.Millisecond) {
		t.Fatalf("advanced too far: sent %v, clock %v", env.Sent, env.Clock)
	}
	env.Advance(p, nodetest.Epoch.Add(20*time.Millisecond))
	if len(env.Sent) != 1 || env.Sent[0] != (nodetest.Sent{To: 0, Msg: ping{2}}) {
		t.Fatalf("sent %v", env.Sent)
	}
	if got := env.TakeOps(); !slices.Equal(got, []string{"send n0 ping{N:2}"}) {
		t.Fatalf("ops %q", got)
	}
	p.Receive(env, 0, ping{5}) // sets a timer and syncs got=2
	env.Store().Set("got", []byte{9})
	env.Crash()
	if v, ok := env.Disk().Get("got"); !ok || v[0] != 2 {
		t.Fatalf("after a crash got = %v, want the synced 2", v)
	}
	if env.FireNext(p) {
		t.Fatal("a timer fired with none pending")
	}
}

func TestShowDropsThePackage(t *testing.T) {
	if got := nodetest.Show(ping{3}); got != "ping{N:3}" {
		t.Fatal(got)
	}
	if got := nodetest.Show(fmt.Errorf("boom")); got != "boom" {
		t.Fatal(got)
	}
}
