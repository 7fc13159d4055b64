package broadcast

import (
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// traceBuilder writes a trace by hand, keeping the ground-truth vector clocks
// the way a runtime does: every process event ticks its node's entry, and a
// delivery merges the sender's clock at the send.
type traceBuilder struct {
	t   trace.Trace
	vc  []trace.VC
	now time.Duration
	ids uint64
}

func newTraceBuilder(n int) *traceBuilder {
	b := &traceBuilder{t: trace.Trace{Nodes: n}, vc: make([]trace.VC, n)}
	for i := range b.vc {
		b.vc[i] = make(trace.VC, n)
	}
	return b
}

func (b *traceBuilder) event(e trace.Event) trace.VC {
	b.now += time.Millisecond
	e.Time = b.now
	if e.Kind.IsProcess() {
		b.vc[e.Node][e.Node]++
		e.Clock = b.vc[e.Node].Clone()
	}
	b.t.Record(&e)
	return e.Clock
}

func (b *traceBuilder) emit(n node.ID, v any) {
	b.event(trace.Event{Node: n, Kind: trace.Emit, Type: node.TypeName(v), Value: v})
}

// sent emits Sent at n, which also names itself as the sender.
func (b *traceBuilder) sent(n node.ID, ts uint64, payload string) {
	b.emit(n, Sent{Sender: n, TS: ts, Payload: payload})
}

// multicast emits Sent at n and sends a message from n to every other
// process, so that a delivery anywhere can happen after the send.
func (b *traceBuilder) multicast(n node.ID, ts uint64, payload string) {
	b.sent(n, ts, payload)
	for q := range node.ID(b.t.Nodes) {
		if q != n {
			b.message(n, q)
		}
	}
}

// delivered emits Delivered at each of the processes at.
func (b *traceBuilder) delivered(sender node.ID, ts uint64, payload string, at ...node.ID) {
	for _, n := range at {
		b.emit(n, Delivered{Sender: sender, TS: ts, Payload: payload})
	}
}

// message sends a message from one process to another and delivers it, which
// makes everything from has done so far happen before what to does next.
func (b *traceBuilder) message(from, to node.ID) {
	b.ids++
	clock := b.event(trace.Event{Node: from, Kind: trace.Send, Peer: to, MsgID: b.ids})
	b.vc[to].Merge(clock)
	b.event(trace.Event{Node: to, Kind: trace.Deliver, Peer: from, MsgID: b.ids})
}

func (b *traceBuilder) crash(n node.ID) {
	b.event(trace.Event{Node: n, Kind: trace.Crash})
}

// verdict is what a test expects of one property: whether it holds, and a
// piece of its Detail.
type verdict struct {
	ok     bool
	detail string
}

func TestCheckTotalOrder(t *testing.T) {
	const n0, n1, n2 = node.ID(0), node.ID(1), node.ID(2)
	pass := verdict{ok: true}
	// twoConcurrent: n0 and n1 multicast "a" and "b" concurrently.
	twoConcurrent := func(b *traceBuilder) {
		b.sent(n0, 1, "a")
		b.multicast(n1, 1, "b")
		b.message(n0, n1)
		b.message(n0, n2)
	}
	tests := []struct {
		name  string
		nodes int
		run   func(b *traceBuilder)
		want  map[string]verdict // by property; unlisted properties must pass
	}{
		{
			name:  "empty run",
			nodes: 3,
			run:   func(b *traceBuilder) {},
		},
		{
			name:  "same order everywhere",
			nodes: 3,
			run: func(b *traceBuilder) {
				twoConcurrent(b)
				b.delivered(n0, 1, "a", n0, n1, n2)
				b.delivered(n1, 1, "b", n2, n1, n0)
			},
			want: map[string]verdict{
				PropTotalOrder:  {true, "3 processes delivered in the same order (2 to 2 multicasts each)"},
				PropTermination: {true, "all 3 processes delivered all 2 multicasts"},
				PropIntegrity:   {true, "6 deliveries of 2 multicasts"},
			},
		},
		{
			name:  "n2 delivers concurrent multicasts in the other order",
			nodes: 3,
			run: func(b *traceBuilder) {
				twoConcurrent(b)
				b.delivered(n0, 1, "a", n0, n1)
				b.delivered(n1, 1, "b", n2, n0, n1)
				b.delivered(n0, 1, "a", n2)
			},
			want: map[string]verdict{
				PropTotalOrder: {false, `n2's delivery #1 (at 13ms) is 1:n1 "b", but n0's is 1:n0 "a"`},
			},
		},
		{
			name:  "a lagging process is in order but has not terminated",
			nodes: 3,
			run: func(b *traceBuilder) {
				twoConcurrent(b)
				b.delivered(n0, 1, "a", n0, n1, n2)
				b.delivered(n1, 1, "b", n0, n1)
			},
			want: map[string]verdict{
				PropTotalOrder:  {true, "(1 to 2 multicasts each)"},
				PropTermination: {false, `n2 delivered 1 of 2 multicasts (missing 1:n1 "b")`},
			},
		},
		{
			name:  "a crashed process is reported as such",
			nodes: 3,
			run: func(b *traceBuilder) {
				twoConcurrent(b)
				b.delivered(n0, 1, "a", n0, n1, n2)
				b.crash(n2)
				b.delivered(n1, 1, "b", n0, n1)
			},
			want: map[string]verdict{
				PropTermination: {false, `n2 delivered 1 of 2 multicasts (missing 1:n1 "b"), crashed at 14ms`},
			},
		},
		{
			name:  "a multicast sent but delivered nowhere",
			nodes: 2,
			run: func(b *traceBuilder) {
				for ts, p := range []string{"a", "b", "c", "d", "e"} {
					b.multicast(n0, uint64(ts+1), p)
				}
				b.delivered(n0, 1, "a", n0, n1)
			},
			want: map[string]verdict{
				PropTermination: {false, `n0 delivered 1 of 5 multicasts (missing 2:n0 "b", 3:n0 "c", 4:n0 "d" and 1 more); n1 delivered 1 of 5`},
			},
		},
		{
			// b's timestamp says it comes first, but n1 sent it after
			// hearing from n0: the checker must go by the ground truth.
			name:  "causal order is judged on ground truth, not on timestamps",
			nodes: 2,
			run: func(b *traceBuilder) {
				b.multicast(n0, 5, "a")
				b.multicast(n1, 1, "b")
				b.delivered(n1, 1, "b", n0, n1)
				b.delivered(n0, 5, "a", n0, n1)
			},
			want: map[string]verdict{
				PropCausalOrder: {false, `n0 delivered 1:n1 "b" (at 7ms) before 5:n0 "a", though the send of 5:n0 happened before the send of 1:n1`},
			},
		},
		{
			name:  "causal order holds when the causally first is delivered first",
			nodes: 2,
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.multicast(n1, 3, "b")
				b.delivered(n0, 1, "a", n0, n1)
				b.delivered(n1, 3, "b", n0, n1)
			},
			want: map[string]verdict{
				PropCausalOrder: {true, "respects the 1 causally ordered pairs"},
			},
		},
		{
			name:  "a process skips a causally earlier multicast",
			nodes: 3,
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.multicast(n0, 2, "b")
				b.delivered(n0, 2, "b", n2)
			},
			want: map[string]verdict{
				PropTermination: {false, "n0 delivered 0 of 2"},
				PropCausalOrder: {false, `n2 delivered 2:n0 "b" (at 11ms) without ever delivering 1:n0 "a", though the send of 1:n0 happened before the send of 2:n0`},
			},
		},
		{
			name:  "delivered twice",
			nodes: 2,
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.delivered(n0, 1, "a", n0, n1, n1)
			},
			want: map[string]verdict{
				PropTotalOrder: {true, "(1 to 2 multicasts each)"}, // [a] is a prefix of [a a]
				PropIntegrity:  {false, `n1 delivered 1:n0 "a" twice, at 5ms and 6ms`},
			},
		},
		{
			name:  "delivered but never sent",
			nodes: 2,
			run: func(b *traceBuilder) {
				b.delivered(n1, 4, "x", n0, n1)
			},
			want: map[string]verdict{
				PropIntegrity: {false, `n0 delivered 4:n1 "x" (at 1ms), which was never sent`},
			},
		},
		{
			name:  "delivered with another payload",
			nodes: 2,
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.delivered(n0, 1, "a", n0)
				b.delivered(n0, 1, "forged", n1)
			},
			want: map[string]verdict{
				PropIntegrity: {false, `n1 delivered 1:n0 with payload "forged" (at 5ms), but it was sent with "a"`},
			},
		},
		{
			name:  "delivered before anything could carry it",
			nodes: 2,
			run: func(b *traceBuilder) {
				b.sent(n0, 1, "a")
				b.delivered(n0, 1, "a", n1, n0)
			},
			want: map[string]verdict{
				PropIntegrity: {false, `n1 delivered 1:n0 "a" (at 2ms), which does not happen after its send (at 1ms)`},
			},
		},
		{
			name:  "two multicasts with one name",
			nodes: 2,
			run: func(b *traceBuilder) {
				b.sent(n0, 1, "a")
				b.sent(n0, 1, "b")
			},
			want: map[string]verdict{
				PropTermination: {false, "n0 delivered 0 of 1 multicasts"},
				PropIntegrity:   {false, `n0 sent two multicasts named 1:n0: "a" at 1ms and "b" at 2ms`},
			},
		},
		{
			name:  "a multicast sent under another's name",
			nodes: 2,
			run: func(b *traceBuilder) {
				b.emit(n0, Sent{Sender: n1, TS: 1, Payload: "a"})
			},
			want: map[string]verdict{
				PropTermination: {false, "n0 delivered 0 of 1"},
				PropIntegrity:   {false, `n0 sent 1:n1 "a" under the name of n1`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTraceBuilder(tt.nodes)
			tt.run(b)
			checks := CheckTotalOrder(&b.t)
			var props []string
			for _, c := range checks {
				props = append(props, c.Property)
				want, ok := tt.want[c.Property]
				if !ok {
					want = pass
				}
				if c.OK != want.ok || !strings.Contains(c.Detail, want.detail) {
					t.Errorf("%s: got OK=%v %q, want OK=%v containing %q", c.Property, c.OK, c.Detail, want.ok, want.detail)
				}
			}
			if got, want := strings.Join(props, ", "), "total order, termination, causal order, integrity"; got != want {
				t.Errorf("properties = %s, want %s", got, want)
			}
		})
	}
}

// TestCheckTotalOrderMalformed: a trace read from outside cannot make the
// checker panic.
func TestCheckTotalOrderMalformed(t *testing.T) {
	tr := &trace.Trace{Events: []trace.Event{
		{Node: node.None, Kind: trace.Emit, Value: Delivered{Sender: 3, TS: 1}},
		{Node: node.None, Kind: trace.Emit, Value: Sent{Sender: 3, TS: 1}},
		{Node: 2, Kind: trace.Emit, Value: Delivered{Sender: 7, TS: 1}}, // no clock, beyond Nodes
	}}
	checks := CheckTotalOrder(tr)
	if trace.AllOK(checks) {
		t.Fatalf("a delivery of an unsent multicast passed: %+v", checks)
	}
}
