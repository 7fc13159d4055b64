package broadcast

import (
	"slices"
	"strings"
	"testing"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

// These tests drive one process of each of Cachin et al.'s algorithms (and
// the sequencer) by hand, handler call by handler call, and compare what it
// does with the steps of the book's pseudo-code, as a transcript of
// nodetest's Ops: "send n1 T{...}", "emit T{...}", "reply 7 T{...}".

// process starts p as process self of a group of n.
func process(self node.ID, n int, p node.Process) (*nodetest.Env, node.Process) {
	env := nodetest.New(self, n)
	p.Start(env)
	return env, p
}

// expectOps checks what the process did since the last call, and forgets it.
func expectOps(t *testing.T, env *nodetest.Env, step string, want ...string) {
	t.Helper()
	got := env.Ops
	env.Ops = nil
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\ngot\n\t%s\nwant\n\t%s", step, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func broadcastReq(env *nodetest.Env, p node.Process, req node.RequestID, payload string) {
	p.Request(env, node.Request{ID: req, Op: Broadcast{Payload: payload}})
}

// Alg. 3.1: to broadcast, send to every process and deliver to oneself;
// deliver what a link delivers, once however often the link delivers it.
func TestBestEffortSteps(t *testing.T) {
	env, p := process(0, 3, NewBestEffort(BestEffortConfig{}))
	broadcastReq(env, p, 7, "x")
	expectOps(t, env, "broadcast",
		"emit Sent{Sender:n0 TS:1 Payload:x}",
		"send n1 bebMessage{Seq:1 Payload:x}",
		"send n2 bebMessage{Seq:1 Payload:x}",
		"emit Delivered{Sender:n0 TS:1 Payload:x}",
		"reply 7 Delivered{Sender:n0 TS:1 Payload:x}")
	p.Receive(env, 2, bebMessage{Seq: 1, Payload: "y"})
	expectOps(t, env, "pl-deliver", "emit Delivered{Sender:n2 TS:1 Payload:y}")
	p.Receive(env, 2, bebMessage{Seq: 1, Payload: "y"})
	expectOps(t, env, "a duplicate")

	env, p = process(0, 3, NewBestEffort(BestEffortConfig{NoSelf: true}))
	broadcastReq(env, p, 7, "x")
	expectOps(t, env, "no-self broadcast",
		"emit Sent{Sender:n0 TS:1 Payload:x}",
		"send n1 bebMessage{Seq:1 Payload:x}",
		"send n2 bebMessage{Seq:1 Payload:x}")
}

// Alg. 3.3: on the first beb-delivery of [DATA, s, m], rb-deliver it and
// beb-broadcast it again; on any later one, nothing. The broadcaster's own
// beb-broadcast is its relay.
func TestEagerReliableSteps(t *testing.T) {
	env, p := process(1, 3, NewReliable(ReliableConfig{}))
	p.Receive(env, 0, rbData{Sender: 0, Seq: 1, Payload: "x"})
	expectOps(t, env, "first delivery",
		"emit Delivered{Sender:n0 TS:1 Payload:x}",
		"send n0 rbData{Sender:n0 Seq:1 Payload:x}",
		"send n2 rbData{Sender:n0 Seq:1 Payload:x}")
	p.Receive(env, 2, rbData{Sender: 0, Seq: 1, Payload: "x"})
	expectOps(t, env, "a relay of the same message")
	broadcastReq(env, p, 3, "y")
	expectOps(t, env, "broadcast",
		"emit Sent{Sender:n1 TS:1 Payload:y}",
		"send n0 rbData{Sender:n1 Seq:1 Payload:y}",
		"send n2 rbData{Sender:n1 Seq:1 Payload:y}",
		"emit Delivered{Sender:n1 TS:1 Payload:y}",
		"reply 3 Delivered{Sender:n1 TS:1 Payload:y}")
	p.Receive(env, 2, rbData{Sender: 1, Seq: 1, Payload: "y"})
	expectOps(t, env, "its own message relayed back")

	env, p = process(1, 3, NewReliable(ReliableConfig{NoRelay: true}))
	p.Receive(env, 0, rbData{Sender: 0, Seq: 1, Payload: "x"})
	expectOps(t, env, "no-relay delivery", "emit Delivered{Sender:n0 TS:1 Payload:x}")
}

// Alg. 3.12: a message that arrives before its predecessors waits in
// pending; the predecessor's arrival delivers both, in sequence.
func TestFIFOSteps(t *testing.T) {
	env, p := process(2, 3, NewFIFO(FIFOConfig{}))
	p.Receive(env, 1, fifoData{Sender: 0, LSN: 2, Payload: "b"})
	expectOps(t, env, "lsn 2 first: relayed, pending",
		"send n0 fifoData{Sender:n0 LSN:2 Payload:b}",
		"send n1 fifoData{Sender:n0 LSN:2 Payload:b}")
	p.Receive(env, 0, fifoData{Sender: 1, LSN: 1, Payload: "other"})
	expectOps(t, env, "another sender is not held up",
		"emit Delivered{Sender:n1 TS:1 Payload:other}",
		"send n0 fifoData{Sender:n1 LSN:1 Payload:other}",
		"send n1 fifoData{Sender:n1 LSN:1 Payload:other}")
	p.Receive(env, 0, fifoData{Sender: 0, LSN: 1, Payload: "a"})
	expectOps(t, env, "lsn 1: both delivered in order",
		"emit Delivered{Sender:n0 TS:1 Payload:a}",
		"emit Delivered{Sender:n0 TS:2 Payload:b}",
		"send n0 fifoData{Sender:n0 LSN:1 Payload:a}",
		"send n1 fifoData{Sender:n0 LSN:1 Payload:a}")

	env, p = process(2, 3, NewFIFO(FIFOConfig{NoOrder: true}))
	p.Receive(env, 1, fifoData{Sender: 0, LSN: 2, Payload: "b"})
	expectOps(t, env, "no-order delivers lsn 2 at once",
		"emit Delivered{Sender:n0 TS:2 Payload:b}",
		"send n0 fifoData{Sender:n0 LSN:2 Payload:b}",
		"send n1 fifoData{Sender:n0 LSN:2 Payload:b}")
}

// Alg. 3.15: n1 delivered n0's question and answered; n2 gets the answer
// first, with W = [1 0 0] > V = [0 0 0], and holds it until the question
// comes; then V = [1 1 0], which n2's next broadcast carries as W.
func TestCausalSteps(t *testing.T) {
	env, p := process(2, 3, NewCausal(CausalConfig{}))
	p.Receive(env, 1, crbData{Sender: 1, W: []uint64{1, 0, 0}, Payload: "answer"})
	expectOps(t, env, "the answer waits",
		"send n0 crbData{Sender:n1 W:[1 0 0] Payload:answer}",
		"send n1 crbData{Sender:n1 W:[1 0 0] Payload:answer}")
	p.Receive(env, 0, crbData{Sender: 0, W: []uint64{0, 0, 0}, Payload: "question"})
	expectOps(t, env, "the question delivers both",
		"emit Delivered{Sender:n0 TS:1 Payload:question}",
		"emit Delivered{Sender:n1 TS:1 Payload:answer}",
		"send n0 crbData{Sender:n0 W:[0 0 0] Payload:question}",
		"send n1 crbData{Sender:n0 W:[0 0 0] Payload:question}")
	broadcastReq(env, p, 4, "thanks")
	expectOps(t, env, "n2's broadcast carries W = V with its own count",
		"emit Sent{Sender:n2 TS:1 Payload:thanks}",
		"send n0 crbData{Sender:n2 W:[1 1 0] Payload:thanks}",
		"send n1 crbData{Sender:n2 W:[1 1 0] Payload:thanks}",
		"emit Delivered{Sender:n2 TS:1 Payload:thanks}",
		"reply 4 Delivered{Sender:n2 TS:1 Payload:thanks}")
	broadcastReq(env, p, 5, "bye")
	expectOps(t, env, "W[self] counts the earlier broadcasts",
		"emit Sent{Sender:n2 TS:2 Payload:bye}",
		"send n0 crbData{Sender:n2 W:[1 1 1] Payload:bye}",
		"send n1 crbData{Sender:n2 W:[1 1 1] Payload:bye}",
		"emit Delivered{Sender:n2 TS:2 Payload:bye}",
		"reply 5 Delivered{Sender:n2 TS:2 Payload:bye}")
	p.Receive(env, 0, crbData{Sender: 0, W: []uint64{0, 0}, Payload: "malformed"})
	p.Receive(env, 0, crbData{Sender: 7, W: []uint64{0, 0, 0}, Payload: "malformed"})
	expectOps(t, env, "malformed messages are dropped")

	env, p = process(2, 3, NewCausal(CausalConfig{NoWait: true}))
	p.Receive(env, 1, crbData{Sender: 1, W: []uint64{1, 0, 0}, Payload: "answer"})
	expectOps(t, env, "no-wait delivers the answer at once",
		"emit Delivered{Sender:n1 TS:1 Payload:answer}",
		"send n0 crbData{Sender:n1 W:[1 0 0] Payload:answer}",
		"send n1 crbData{Sender:n1 W:[1 0 0] Payload:answer}")
}

// The fixed sequencer numbers messages in the order they reach it, once
// each; every process delivers in number order, holding back early ones.
func TestSequencerSteps(t *testing.T) {
	env, p := process(0, 3, NewSequencer(SequencerConfig{}))
	p.Receive(env, 2, toSequencer{Sender: 2, Seq: 1, Payload: "x"})
	expectOps(t, env, "the sequencer numbers x",
		"send n1 sequenced{SN:1 Sender:n2 Seq:1 Payload:x}",
		"send n2 sequenced{SN:1 Sender:n2 Seq:1 Payload:x}",
		"emit Delivered{Sender:n2 TS:1 Payload:x}")
	p.Receive(env, 2, toSequencer{Sender: 2, Seq: 1, Payload: "x"})
	expectOps(t, env, "a duplicate is not numbered again")
	broadcastReq(env, p, 9, "y")
	expectOps(t, env, "the sequencer's own broadcast",
		"emit Sent{Sender:n0 TS:1 Payload:y}",
		"send n1 sequenced{SN:2 Sender:n0 Seq:1 Payload:y}",
		"send n2 sequenced{SN:2 Sender:n0 Seq:1 Payload:y}",
		"emit Delivered{Sender:n0 TS:1 Payload:y}",
		"reply 9 Delivered{Sender:n0 TS:1 Payload:y}")

	env, p = process(1, 3, NewSequencer(SequencerConfig{}))
	broadcastReq(env, p, 3, "z")
	expectOps(t, env, "a broadcast goes to the sequencer only",
		"emit Sent{Sender:n1 TS:1 Payload:z}",
		"send n0 toSequencer{Sender:n1 Seq:1 Payload:z}")
	p.Receive(env, 0, sequenced{SN: 2, Sender: 1, Seq: 1, Payload: "z"})
	expectOps(t, env, "number 2 waits for number 1")
	p.Receive(env, 0, sequenced{SN: 1, Sender: 2, Seq: 1, Payload: "x"})
	expectOps(t, env, "number 1 delivers both",
		"emit Delivered{Sender:n2 TS:1 Payload:x}",
		"emit Delivered{Sender:n1 TS:1 Payload:z}",
		"reply 3 Delivered{Sender:n1 TS:1 Payload:z}")
	p.Receive(env, 0, sequenced{SN: 1, Sender: 2, Seq: 1, Payload: "x"})
	p.Receive(env, 2, toSequencer{Sender: 2, Seq: 2, Payload: "stray"})
	expectOps(t, env, "a duplicate number and a stray unicast do nothing")

	env, p = process(1, 3, NewSequencer(SequencerConfig{LocalFirst: true}))
	broadcastReq(env, p, 3, "z")
	expectOps(t, env, "local-first delivers its own at once",
		"emit Sent{Sender:n1 TS:1 Payload:z}",
		"emit Delivered{Sender:n1 TS:1 Payload:z}",
		"reply 3 Delivered{Sender:n1 TS:1 Payload:z}",
		"send n0 toSequencer{Sender:n1 Seq:1 Payload:z}")
	p.Receive(env, 0, sequenced{SN: 1, Sender: 2, Seq: 1, Payload: "x"})
	p.Receive(env, 0, sequenced{SN: 2, Sender: 1, Seq: 1, Payload: "z"})
	expectOps(t, env, "…and then x, which everyone else delivers before z",
		"emit Delivered{Sender:n2 TS:1 Payload:x}")
}
