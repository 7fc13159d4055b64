package broadcast

import (
	"reflect"
	"testing"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

// These tests drive processes by hand through a fake Env, one step at a
// time, to pin down the steps of van Steen & Tanenbaum §5.2 and of Lamport's
// rules. The simulator tests (sim_test.go) check whole runs.

// link is one queued message on the hand-driven network.
type link struct {
	from, to node.ID
	msg      node.Message
}

// handNet is a group of processes whose messages wait in one FIFO per link
// until the test delivers them.
type handNet struct {
	t     *testing.T
	procs []node.Process
	envs  []*nodetest.Env
	queue []link
}

func newHandNet(t *testing.T, n int, cfg TotalOrderConfig) *handNet {
	h := &handNet{t: t}
	for i := range n {
		env := nodetest.New(node.ID(i), n)
		env.OnSend = func(to node.ID, msg node.Message) { h.queue = append(h.queue, link{node.ID(i), to, msg}) }
		h.envs = append(h.envs, env)
		h.procs = append(h.procs, NewTotalOrder(cfg))
		h.procs[i].Start(h.envs[i])
	}
	return h
}

func (h *handNet) multicast(from node.ID, req node.RequestID, payload string) {
	h.procs[from].Request(h.envs[from], node.Request{ID: req, Op: Multicast{Payload: payload}})
}

// pending counts the messages waiting on the link from → to.
func (h *handNet) pending(from, to node.ID) int {
	n := 0
	for _, l := range h.queue {
		if l.from == from && l.to == to {
			n++
		}
	}
	return n
}

// step delivers the oldest message on the link from → to, and returns it.
func (h *handNet) step(from, to node.ID) node.Message {
	h.t.Helper()
	for i, l := range h.queue {
		if l.from == from && l.to == to {
			h.queue = append(h.queue[:i:i], h.queue[i+1:]...)
			h.procs[to].Receive(h.envs[to], from, l.msg)
			return l.msg
		}
	}
	h.t.Fatalf("no message waiting on %v → %v", from, to)
	return nil
}

// drain delivers every message, oldest first.
func (h *handNet) drain() {
	for len(h.queue) > 0 {
		h.step(h.queue[0].from, h.queue[0].to)
	}
}

// delivered returns the payloads n has delivered, in order.
func (h *handNet) delivered(n node.ID) []string {
	var out []string
	for _, e := range h.envs[n].Emitted {
		if d, ok := e.(Delivered); ok {
			out = append(out, d.Payload)
		}
	}
	return out
}

// emittedTypes lists the registry names of what a process emitted.
func emittedTypes(env *nodetest.Env) []string {
	var types []string
	for _, v := range env.Emitted {
		types = append(types, node.TypeName(v))
	}
	return types
}

// last is what a process emitted last.
func last(env *nodetest.Env) any { return env.Emitted[len(env.Emitted)-1] }

// replyTo returns the reply to request req (nil if there was none).
func replyTo(env *nodetest.Env, req node.RequestID) any {
	for _, r := range env.Replies {
		if r.Req == req {
			return r.Result
		}
	}
	return nil
}

func equal[T any](a, b T) bool { return reflect.DeepEqual(a, b) }

// "The sender timestamps the message, multicasts it to the others and puts
// it in its own queue": Sent is emitted before any copy leaves, every copy
// carries the same timestamp, and nothing is delivered while the others have
// not acknowledged.
func TestMulticastIsTimestampedAndSentToAllOthers(t *testing.T) {
	h := newHandNet(t, 3, TotalOrderConfig{})
	h.multicast(0, 7, "x")
	if got, want := emittedTypes(h.envs[0]), []string{"broadcast.Sent"}; !equal(got, want) {
		t.Fatalf("n0 emitted %v, want %v (and no delivery yet)", got, want)
	}
	want := []link{
		{0, 1, message{TS: 1, Sender: 0, Payload: "x"}},
		{0, 2, message{TS: 1, Sender: 0, Payload: "x"}},
	}
	if !equal(h.queue, want) {
		t.Fatalf("network holds %+v, want %+v", h.queue, want)
	}
	if got, want := last(h.envs[0]), (Sent{Sender: 0, TS: 1, Payload: "x"}); got != want {
		t.Fatalf("n0 emitted %+v, want %+v", got, want)
	}
}

// "The receiver puts the message in its queue and multicasts an
// acknowledgement to the other processes", timestamped later than the
// message (Lamport's IR2).
func TestReceiverAcknowledgesToAllOthers(t *testing.T) {
	h := newHandNet(t, 3, TotalOrderConfig{})
	h.multicast(0, 7, "x")
	h.step(0, 1)
	if h.pending(1, 0) != 1 || h.pending(1, 2) != 1 || h.pending(1, 1) != 0 {
		t.Fatalf("n1 should ack to n0 and n2 only; network holds %+v", h.queue)
	}
	a := h.queue[len(h.queue)-1].msg.(ack)
	if a.MsgTS != 1 || a.MsgSender != 0 || a.TS <= a.MsgTS {
		t.Fatalf("ack %+v: want it to name 1:n0 and carry a later timestamp", a)
	}
}

// "A process can deliver a queued message only when it is at the head of
// the queue and has been acknowledged by each other process." The message's
// sender counts as acknowledging it, and so does the receiver itself.
func TestDeliverOnlyWhenAcknowledgedByAll(t *testing.T) {
	h := newHandNet(t, 3, TotalOrderConfig{})
	h.multicast(0, 7, "x")
	h.step(0, 1) // n1 queues x, acks to n0 and n2
	h.step(1, 2) // n1's ack overtakes the message on its way to n2
	if got := h.delivered(2); len(got) != 0 {
		t.Fatalf("n2 delivered %v before the message itself arrived", got)
	}
	h.step(0, 2) // now n2 has x, acked by n0 (the sender), n1 and itself
	if got := h.delivered(2); !equal(got, []string{"x"}) {
		t.Fatalf("n2 delivered %v, want [x]", got)
	}
	if got := h.delivered(1); len(got) != 0 {
		t.Fatalf("n1 delivered %v before n2 acknowledged", got)
	}
	h.step(1, 0)
	if got := h.delivered(0); len(got) != 0 {
		t.Fatalf("n0 delivered %v before n2 acknowledged", got)
	}
	h.drain()
	for n := range node.ID(3) {
		if got := h.delivered(n); !equal(got, []string{"x"}) {
			t.Errorf("%v delivered %v, want [x]", n, got)
		}
	}
	if got, want := replyTo(h.envs[0], 7), (Delivered{Sender: 0, TS: 1, Payload: "x"}); got != want {
		t.Errorf("request 7 answered with %+v, want %+v", got, want)
	}
	if len(h.envs[1].Replies)+len(h.envs[2].Replies) != 0 {
		t.Errorf("only the originator answers the request")
	}
}

// Two concurrent multicasts with equal timestamps are ordered by sender:
// each process waits with the later one until the earlier is delivered, even
// when the later is fully acknowledged first.
func TestHeadOfQueueBlocksLaterMessages(t *testing.T) {
	h := newHandNet(t, 2, TotalOrderConfig{})
	h.multicast(1, 1, "b") // 1:n1
	h.multicast(0, 2, "a") // 1:n0, first in the total order
	if got := h.delivered(1); len(got) != 0 {
		t.Fatalf("n1 delivered %v on its own", got)
	}
	h.step(1, 0) // n0: b is acknowledged by both (sender and self) but a is ahead
	if got := h.delivered(0); len(got) != 0 {
		t.Fatalf("n0 delivered %v ahead of its own earlier multicast", got)
	}
	h.drain()
	for n := range node.ID(2) {
		if got := h.delivered(n); !equal(got, []string{"a", "b"}) {
			t.Errorf("%v delivered %v, want [a b]", n, got)
		}
	}
}

// A duplicated message or acknowledgement changes nothing.
func TestDuplicatesAreHarmless(t *testing.T) {
	h := newHandNet(t, 3, TotalOrderConfig{})
	h.multicast(0, 7, "x")
	m := h.step(0, 1)
	sends := len(h.queue)
	h.procs[1].Receive(h.envs[1], 0, m) // the network duplicates the message
	if len(h.queue) != sends {
		t.Fatalf("n1 acknowledged a duplicate: network holds %+v", h.queue)
	}
	h.drain()
	for n := range node.ID(3) {
		h.procs[n].Receive(h.envs[n], 1, ack{TS: 99, MsgTS: 1, MsgSender: 0}) // a late duplicate ack
		h.procs[n].Receive(h.envs[n], 0, m)                                   // a late duplicate message
		if got := h.delivered(n); !equal(got, []string{"x"}) {
			t.Errorf("%v delivered %v, want [x]", n, got)
		}
	}
	if len(h.queue) != 0 {
		t.Errorf("late duplicates were answered: %+v", h.queue)
	}
}

// A group of one delivers and answers at once.
func TestSingleProcessDeliversAtOnce(t *testing.T) {
	h := newHandNet(t, 1, TotalOrderConfig{})
	h.multicast(0, 3, "solo")
	if got, want := emittedTypes(h.envs[0]), []string{"broadcast.Sent", "broadcast.Delivered"}; !equal(got, want) {
		t.Fatalf("emitted %v, want %v", got, want)
	}
	if replyTo(h.envs[0], 3) == nil {
		t.Fatalf("request 3 not answered")
	}
}

// The broken variant delivers without waiting, so that two processes
// multicasting at once each deliver their own message first.
func TestEarlyDeliverBreaksTheOrder(t *testing.T) {
	h := newHandNet(t, 2, TotalOrderConfig{EarlyDeliver: true})
	h.multicast(0, 1, "a")
	h.multicast(1, 2, "b")
	h.drain()
	if a, b := h.delivered(0), h.delivered(1); equal(a, b) {
		t.Fatalf("both delivered %v: the broken variant should disagree here", a)
	}
}

// Every type in TotalOrderMessages survives the wire codec.
func TestMessagesRoundTrip(t *testing.T) {
	reg := node.NewRegistry(TotalOrderMessages()...)
	values := []any{
		message{TS: 3, Sender: 2, Payload: "p"},
		ack{TS: 4, MsgTS: 3, MsgSender: 2},
		Multicast{Payload: "p"},
		Sent{Sender: 2, TS: 3, Payload: "p"},
		Delivered{Sender: 2, TS: 3, Payload: "p"},
	}
	if len(values) != len(TotalOrderMessages()) {
		t.Fatalf("test covers %d types, Messages lists %d", len(values), len(TotalOrderMessages()))
	}
	for _, v := range values {
		data, err := reg.Encode(v)
		if err != nil {
			t.Fatalf("encode %T: %v", v, err)
		}
		got, err := reg.Decode(data)
		if err != nil || got != v {
			t.Errorf("round trip of %+v gave %+v, %v", v, got, err)
		}
	}
}

func TestTextbookMessagesPerMulticast(t *testing.T) {
	for n, want := range map[int]float64{1: 0, 2: 2, 3: 6, 5: 20} {
		if got := TextbookMessagesPerMulticast(n); got != want {
			t.Errorf("TextbookMessagesPerMulticast(%d) = %v, want %v", n, got, want)
		}
	}
}
