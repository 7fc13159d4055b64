package clock

import (
	"strings"
	"testing"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// builder writes a trace by hand, keeping the ground-truth vector clocks as
// a runtime would: every process event ticks its node's entry, and a
// delivery first merges the clock of its send.
type builder struct {
	t  trace.Trace
	vc []trace.VC
}

func newBuilder(n int) *builder {
	b := &builder{t: trace.Trace{Nodes: n}}
	for range n {
		b.vc = append(b.vc, make(trace.VC, n))
	}
	return b
}

func (b *builder) event(n int, e trace.Event) trace.VC {
	b.vc[n][n]++
	e.Node, e.Clock = node.ID(n), b.vc[n].Clone()
	b.t.Record(&e)
	return e.Clock
}

// emit records an Emit of v at node n.
func (b *builder) emit(n int, v any) { b.event(n, trace.Event{Kind: trace.Emit, Value: v}) }

// send records a Send from n to to and returns its clock, for deliver.
func (b *builder) send(n, to int) trace.VC {
	return b.event(n, trace.Event{Kind: trace.Send, Peer: node.ID(to)})
}

// deliver records at node n the delivery of a message sent with clock sent.
func (b *builder) deliver(n, from int, sent trace.VC) {
	b.vc[n].Merge(sent)
	b.event(n, trace.Event{Kind: trace.Deliver, Peer: node.ID(from)})
}

func lamportRun(recvL uint64) *trace.Trace {
	// n0: local(1), send(2) ─────────► n1: local(1), receive(recvL), local(recvL+1)
	// n2: local(1), concurrent with everything.
	b := newBuilder(3)
	b.emit(0, LamportStamp{EventLocal, 1})
	b.emit(1, LamportStamp{EventLocal, 1})
	b.emit(0, LamportStamp{EventSend, 2})
	m := b.send(0, 1)
	b.emit(2, LamportStamp{EventLocal, 1})
	b.deliver(1, 0, m)
	b.emit(1, LamportStamp{EventReceive, recvL})
	b.emit(1, LamportStamp{EventLocal, recvL + 1})
	return &b.t
}

func TestCheckLamport(t *testing.T) {
	tests := []struct {
		name   string
		trace  *trace.Trace
		ok     bool
		detail []string // substrings of the detail
	}{
		{"correct", lamportRun(3), true, []string{"6 stamps", "all 8 causally ordered pairs", "7 pairs are concurrent", "4 of them with different L"}},
		{"receive not past the send", lamportRun(2), false, []string{
			"1 of 8 causally ordered pairs violate",
			"n0 send (#2 at 0s, L=2, true clock [2 0 0]) → n1 receive (#6 at 0s, L=2, true clock [3 3 0])"}},
		{"receive behind", lamportRun(1), false, []string{"4 of 8", "first: n0 local (#0 at 0s, L=1, true clock [1 0 0]) → n1 receive (#6 at 0s, L=1"}},
		{"no stamps", &trace.Trace{Nodes: 2}, false, []string{"no clock.LamportStamp events"}},
		{"no ground truth", &trace.Trace{Nodes: 1, Events: []trace.Event{{Kind: trace.Emit, Value: LamportStamp{EventLocal, 1}}}}, false, []string{"no ground-truth vector clock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := CheckLamport(tt.trace)
			if len(checks) != 1 || checks[0].Property != PropClockCondition {
				t.Fatalf("checks = %+v", checks)
			}
			c := checks[0]
			if c.OK != tt.ok {
				t.Fatalf("OK = %v, want %v: %s", c.OK, tt.ok, c.Detail)
			}
			for _, s := range tt.detail {
				if !strings.Contains(c.Detail, s) {
					t.Errorf("detail %q lacks %q", c.Detail, s)
				}
			}
		})
	}
}

// vectorRun is lamportRun with vector clocks; recv is the vector n1 claims
// after the receive (correctly [2 2 0]).
func vectorRun(recv Vector, n2 Vector) *trace.Trace {
	b := newBuilder(3)
	b.emit(0, VectorStamp{EventLocal, Vector{1, 0, 0}})
	b.emit(1, VectorStamp{EventLocal, Vector{0, 1, 0}})
	b.emit(0, VectorStamp{EventSend, Vector{2, 0, 0}})
	m := b.send(0, 1)
	b.emit(2, VectorStamp{EventLocal, n2})
	b.deliver(1, 0, m)
	b.emit(1, VectorStamp{EventReceive, recv})
	return &b.t
}

func TestCheckVector(t *testing.T) {
	tests := []struct {
		name        string
		trace       *trace.Trace
		order, conc bool
		orderDetail string
		concDetail  string
	}{
		{"correct", vectorRun(Vector{2, 2, 0}, Vector{0, 0, 1}), true, true,
			"5 stamps: all 4 causally ordered pairs", "all 6 concurrent pairs"},
		{"no merge", vectorRun(Vector{0, 2, 0}, Vector{0, 0, 1}), false, true,
			"2 of 4 causally ordered pairs violate a → b ⇒ V(a) < V(b); first: n0 local (#0 at 0s, V=[1 0 0], true clock [1 0 0]) → n1 receive (#6 at 0s, V=[0 2 0], true clock [3 3 0]), but Compare(V(a), V(b)) is concurrent",
			"all 6 concurrent pairs"},
		{"over-ordered", vectorRun(Vector{2, 2, 0}, Vector{0, 0, 0}), true, false,
			"all 4", "4 of 6 concurrent pairs have ordered or equal vector clocks; first: n0 local (#0 at 0s, V=[1 0 0], true clock [1 0 0]) ∥ n2 local (#4 at 0s, V=[0 0 0], true clock [0 0 1]), but Compare(V(a), V(b)) is after"},
		{"no stamps", &trace.Trace{Nodes: 2}, false, false, "no clock.VectorStamp events", "no clock.VectorStamp events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := CheckVector(tt.trace)
			if len(checks) != 2 || checks[0].Property != PropClockCondition || checks[1].Property != PropConcurrency {
				t.Fatalf("checks = %+v", checks)
			}
			for i, want := range []struct {
				ok     bool
				detail string
			}{{tt.order, tt.orderDetail}, {tt.conc, tt.concDetail}} {
				c := checks[i]
				if c.OK != want.ok {
					t.Errorf("%s: OK = %v, want %v: %s", c.Property, c.OK, want.ok, c.Detail)
				}
				if !strings.Contains(c.Detail, want.detail) {
					t.Errorf("%s: detail %q lacks %q", c.Property, c.Detail, want.detail)
				}
			}
		})
	}
}

// The checkers must stay usable on long runs: a few thousand stamps.
func BenchmarkCheckVector(b *testing.B) {
	bl := newBuilder(5)
	clocks := make([]Vector, 5)
	for i := range clocks {
		clocks[i] = NewVector(5)
	}
	for k := range 3000 {
		n := k % 5
		if k%3 == 0 {
			to := (n + 1 + k%4) % 5
			v := clocks[n].Send(n)
			bl.emit(n, VectorStamp{EventSend, v})
			m := bl.send(n, to)
			bl.deliver(to, n, m)
			clocks[to].Receive(to, v)
			bl.emit(to, VectorStamp{EventReceive, clocks[to].Clone()})
		} else {
			clocks[n].Tick(n)
			bl.emit(n, VectorStamp{EventLocal, clocks[n].Clone()})
		}
	}
	if checks := CheckVector(&bl.t); !trace.AllOK(checks) {
		b.Fatal(checks)
	}
	b.ResetTimer()
	for b.Loop() {
		CheckVector(&bl.t)
	}
}
