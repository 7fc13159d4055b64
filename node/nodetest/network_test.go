package nodetest_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
	"github.com/synod-dev/synod/trace"
)

// hop is a message that asks to be sent back N more times.
type hop struct{ N int }

// kick is a timer that sends hop{N} to every other process.
type kick struct{ N int }

// flush is the zero-delay timer that syncs what a process heard.
type flush struct{}

// hopper counts the hops it hears, durably once its flush timer syncs the
// count, and sends each hop back with one less to go.
type hopper struct{ heard byte }

func (p *hopper) Start(env node.Env) {
	if b, ok := env.Store().Get("heard"); ok {
		p.heard = b[0]
	}
	env.Emit(fmt.Sprintf("start %d", p.heard))
}

func (p *hopper) Receive(env node.Env, from node.ID, m node.Message) {
	h := m.(hop)
	p.heard++
	env.Store().Set("heard", []byte{p.heard})
	env.Emit(fmt.Sprintf("got %d from %v", h.N, from))
	if h.N > 0 {
		env.Send(from, hop{h.N - 1})
	}
	env.After(0, flush{})
	env.After(0, "slow") // not a flush timer: it never fires by itself
}

func (p *hopper) Timeout(env node.Env, t any) {
	switch t := t.(type) {
	case flush:
		_ = env.Store().Sync()
		env.Emit("synced")
	case kick:
		for _, id := range env.Group() {
			if id != env.Self() {
				env.Send(id, hop{t.N})
			}
		}
	}
}

func (p *hopper) Request(env node.Env, r node.Request) {}

func newHoppers(n int) *nodetest.Network[*hopper] {
	return nodetest.NewNetwork(n, func(node.ID) *hopper { return &hopper{} },
		func(t any) bool { _, ok := t.(flush); return ok })
}

// events renders the trace from event from on: "n1 got 1 from n0".
func events(tr *trace.Trace, from int) []string {
	var out []string
	for _, e := range tr.Events[from:] {
		out = append(out, fmt.Sprintf("%v %v", e.Node, e.Value))
	}
	return out
}

func TestNetworkDeliversInRoundsDropsAndFlushes(t *testing.T) {
	w := newHoppers(3)
	w.Timeout(0, kick{1})
	w.Drop = func(e nodetest.Envelope) bool { return e.To == 2 }
	if err := w.Settle(); err != nil {
		t.Fatal(err)
	}
	want := []string{"n0 start 0", "n1 start 0", "n2 start 0",
		"n1 got 1 from n0", "n1 synced", "n0 got 0 from n1", "n0 synced"}
	if got := events(&w.Trace, 0); !slices.Equal(got, want) {
		t.Fatalf("trace %q\nwant  %q", got, want)
	}
	for i, e := range w.Trace.Events {
		if e.Kind != trace.Emit || e.Time != time.Duration(i+1) {
			t.Errorf("event %d: %v at %v; want an emit at %v", i, e.Kind, e.Time, time.Duration(i+1))
		}
	}
	if _, ok := w.Envs[1].Timer("slow"); !ok {
		t.Error("Settle fired a timer that is not a flush timer")
	}
	if _, ok := w.Envs[1].Timer(flush{}); ok {
		t.Error("a due flush timer is still pending after Settle")
	}
	if w.Procs[0].heard != 1 || w.Procs[1].heard != 1 || w.Procs[2].heard != 0 {
		t.Errorf("heard %d %d %d; want 1 1 0 (n2's message dropped)", w.Procs[0].heard, w.Procs[1].heard, w.Procs[2].heard)
	}
}

func TestNetworkCrashLosesMessagesAndRestartKeepsSyncedState(t *testing.T) {
	w := newHoppers(3)
	w.Timeout(0, kick{0})
	w.Crash(1) // n0's message to n1 is lost
	if err := w.Settle(); err != nil {
		t.Fatal(err)
	}
	w.Timeout(2, kick{0})
	w.Crash(2) // n2's messages, sent before its crash, are lost too
	if err := w.Settle(); err != nil {
		t.Fatal(err)
	}
	w.Restart(1)
	w.Restart(2)
	want := []string{"n0 start 0", "n1 start 0", "n2 start 0",
		"n2 got 0 from n0", "n2 synced", "n1 start 0", "n2 start 1"}
	if got := events(&w.Trace, 0); !slices.Equal(got, want) {
		t.Fatalf("trace %q\nwant  %q", got, want)
	}
	if w.Procs[0].heard != 0 {
		t.Errorf("n0 heard %d hops from a crashed n2", w.Procs[0].heard)
	}
}

func TestNetworkAddsAProcess(t *testing.T) {
	w := newHoppers(2)
	if id := w.Add(&hopper{heard: 7}); id != 2 {
		t.Fatalf("Add returned %v; want n2", id)
	}
	if len(w.Envs[2].Group()) != 3 || len(w.Envs[0].Group()) != 2 {
		t.Fatalf("groups %v and %v; want the new process in a group of 3, the others unchanged", w.Envs[2].Group(), w.Envs[0].Group())
	}
	w.Timeout(2, kick{0})
	if err := w.Settle(); err != nil {
		t.Fatal(err)
	}
	want := []string{"n2 start 7", "n0 got 0 from n2", "n1 got 0 from n2", "n0 synced", "n1 synced"}
	if got := events(&w.Trace, 2); !slices.Equal(got, want) {
		t.Fatalf("trace %q\nwant  %q", got, want)
	}
	w.Crash(2)
	w.Restart(2) // a restart makes the process with newProc
	if got := events(&w.Trace, 7); !slices.Equal(got, []string{"n2 start 0"}) {
		t.Fatalf("after the restart: %q", got)
	}
}

func TestNetworkSettleGivesUpOnALivelock(t *testing.T) {
	w := newHoppers(2)
	w.Timeout(0, kick{10 * nodetest.MaxRounds})
	err := w.Settle()
	if err == nil || !strings.Contains(err.Error(), "does not settle: 1 messages queued") {
		t.Fatalf("Settle on a livelock: %v", err)
	}
	if len(w.Queue) != 0 {
		t.Fatalf("%d messages still queued after giving up", len(w.Queue))
	}
	if err := w.Settle(); err != nil {
		t.Fatalf("Settle after giving up: %v", err)
	}
}
