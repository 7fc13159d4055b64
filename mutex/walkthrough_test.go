package mutex

import (
	"fmt"
	"testing"
)

// The coordinator's side of van Steen & Tanenbaum's Fig. 5.14: n1 asks and
// is granted at once; n2 asks and gets no answer while n1 holds the section;
// n1 releases and the coordinator grants to n2.
func TestCentralCoordinatorWalkthrough(t *testing.T) {
	walk(t, NewCentral(CentralConfig{}), newFakeEnv(0, 3), []step{
		{"(a) n1 asks, nobody holds: GRANT", recv(1, centralRequest{Seq: 1}), "send n1 centralGrant{Seq:1}"},
		{"(b) n2 asks while n1 holds: queued, no reply", recv(2, centralRequest{Seq: 1}), ""},
		{"a duplicate of n2's request is ignored", recv(2, centralRequest{Seq: 1}), ""},
		{"a release from a non-holder changes nothing", recv(2, centralRelease{Seq: 1}), ""},
		{"(c) n1 releases: GRANT to the head of the queue", recv(1, centralRelease{Seq: 1}), "send n2 centralGrant{Seq:1}"},
		{"n1 asks again: queued behind n2", recv(1, centralRequest{Seq: 2}), ""},
		{"n2 releases: n1's second request is granted", recv(2, centralRelease{Seq: 1}), "send n1 centralGrant{Seq:2}"},
	})
}

// The broken coordinator grants the second request without waiting.
func TestCentralGrantEarlyWalkthrough(t *testing.T) {
	walk(t, NewCentral(CentralConfig{GrantEarly: true}), newFakeEnv(0, 3), []step{
		{"n1 asks: GRANT", recv(1, centralRequest{Seq: 1}), "send n1 centralGrant{Seq:1}"},
		{"n2 asks while n1 holds: GRANT anyway", recv(2, centralRequest{Seq: 1}), "send n2 centralGrant{Seq:1}"},
	})
}

// The client's side: one request at a time, in order; a grant that answers
// no outstanding request is handed straight back.
func TestCentralClientWalkthrough(t *testing.T) {
	walk(t, NewCentral(CentralConfig{}), newFakeEnv(1, 3), []step{
		{"Acquire: REQUEST to the coordinator", acquire(7), "send n0 centralRequest{Seq:1}"},
		{"a second Acquire waits its turn", acquire(8), ""},
		{"GRANT: enter", recv(0, centralGrant{Seq: 1}), "emit EnterCS{Request:7 TS:1}; timer leaveCS{Request:7}"},
		{"a duplicate GRANT is ignored", recv(0, centralGrant{Seq: 1}), ""},
		{"hold over: exit, reply, RELEASE, ask for the next", fire(leaveCS{Request: 7}),
			"emit ExitCS{Request:7}; reply 7 ExitCS{Request:7}; send n0 centralRelease{Seq:1}; send n0 centralRequest{Seq:2}"},
		{"a stray GRANT is released at once", recv(0, centralGrant{Seq: 9}), "send n0 centralRelease{Seq:9}"},
		{"GRANT for the second request", recv(0, centralGrant{Seq: 2}), "emit EnterCS{Request:8 TS:2}; timer leaveCS{Request:8}"},
		{"a stale hold timer is ignored", fire(leaveCS{Request: 7}), ""},
	})
}

// Ricart & Agrawala's rule for concurrent requests: n1 and n2 ask at once
// with the same sequence number; n1, the smaller id, has priority, so n2
// replies to n1 at once and n1 defers its reply to n2 until it leaves.
func TestRicartAgrawalaWalkthrough(t *testing.T) {
	n1 := NewRicartAgrawala(RicartAgrawalaConfig{})
	env1 := newFakeEnv(1, 3)
	walk(t, n1, env1, []step{
		{"Acquire: REQUEST(1) to the others", acquire(7), "send n0 raRequest{SequenceNumber:1}; send n2 raRequest{SequenceNumber:1}"},
		{"n2's REQUEST(1): same number, larger id: defer", recv(2, raRequest{SequenceNumber: 1}), ""},
		{"n0 replies", recv(0, raReply{SequenceNumber: 1}), ""},
		{"a duplicate of n0's reply does not count twice", recv(0, raReply{SequenceNumber: 1}), ""},
		{"n2 replies: all replied, enter", recv(2, raReply{SequenceNumber: 1}), "emit EnterCS{Request:7 TS:1}; timer leaveCS{Request:7}"},
		{"n0's REQUEST(2) while inside: defer", recv(0, raRequest{SequenceNumber: 2}), ""},
		{"leave: the deferred replies go out", fire(leaveCS{Request: 7}),
			"emit ExitCS{Request:7}; reply 7 ExitCS{Request:7}; send n0 raReply{SequenceNumber:2}; send n2 raReply{SequenceNumber:1}"},
		{"idle: a REQUEST is answered at once", recv(2, raRequest{SequenceNumber: 3}), "send n2 raReply{SequenceNumber:3}"},
		{"the next request is numbered above everything seen", acquire(8), "send n0 raRequest{SequenceNumber:4}; send n2 raRequest{SequenceNumber:4}"},
		{"a REQUEST with a smaller number has priority: reply", recv(0, raRequest{SequenceNumber: 3}), "send n0 raReply{SequenceNumber:3}"},
	})

	n2 := NewRicartAgrawala(RicartAgrawalaConfig{})
	walk(t, n2, newFakeEnv(2, 3), []step{
		{"Acquire: REQUEST(1)", acquire(9), "send n0 raRequest{SequenceNumber:1}; send n1 raRequest{SequenceNumber:1}"},
		{"n1's REQUEST(1): same number, smaller id: reply", recv(1, raRequest{SequenceNumber: 1}), "send n1 raReply{SequenceNumber:1}"},
	})
}

// The broken variant answers while inside.
func TestRicartAgrawalaReplyInCSWalkthrough(t *testing.T) {
	walk(t, NewRicartAgrawala(RicartAgrawalaConfig{ReplyInCS: true}), newFakeEnv(1, 2), []step{
		{"Acquire", acquire(7), "send n0 raRequest{SequenceNumber:1}"},
		{"reply: enter", recv(0, raReply{SequenceNumber: 1}), "emit EnterCS{Request:7 TS:1}; timer leaveCS{Request:7}"},
		{"n0's REQUEST while inside: answered at once", recv(0, raRequest{SequenceNumber: 2}), "send n0 raReply{SequenceNumber:2}"},
	})
}

// The token ring's stubborn link, pass by pass: n1 accepts the token,
// acknowledges it, enters for its waiting request, passes the token on when
// it leaves, and retransmits until its successor acknowledges; copies are
// re-acknowledged and discarded.
func TestTokenRingWalkthrough(t *testing.T) {
	env := newFakeEnv(1, 3)
	p := NewTokenRing(TokenRingConfig{})
	walk(t, p, env, []step{
		{"idle: the token is synced before it is acknowledged, and passed on", recv(0, token{Seq: 1}), "sync; send n0 tokenAck{Seq:1}; sync; send n2 token{Seq:2}; timer retransmit{Seq:2}"},
		{"no acknowledgement yet: retransmit", fire(retransmit{Seq: 2}), "send n2 token{Seq:2}; timer retransmit{Seq:2}"},
		{"a retransmitted copy of an old pass is re-acknowledged and discarded", recv(0, token{Seq: 1}), "send n0 tokenAck{Seq:1}"},
		{"the acknowledgement stops the retransmissions", recv(2, tokenAck{Seq: 2}), ""},
		{"a stale timer is ignored", fire(retransmit{Seq: 2}), ""},
		{"a request waits for the token", acquire(7), ""},
		{"the token's next visit: acknowledge and enter", recv(0, token{Seq: 4}), "sync; send n0 tokenAck{Seq:4}; emit EnterCS{Request:7 TS:4}; timer leaveCS{Request:7}"},
		{"leave, then pass", fire(leaveCS{Request: 7}), "emit ExitCS{Request:7}; reply 7 ExitCS{Request:7}; sync; send n2 token{Seq:5}; timer retransmit{Seq:5}"},
	})
	// A restart picks the pass in flight up from storage.
	q := NewTokenRing(TokenRingConfig{})
	env.TakeOps()
	q.Start(env)
	if got, want := env.Ops, []string{"send n2 token{Seq:5}", "timer retransmit{Seq:5}"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after a restart: %q, want %q", got, want)
	}
}

// The broken receiver knows a copy only while it has the token in hand; a
// late copy becomes a second token.
func TestTokenRingNoDedupWalkthrough(t *testing.T) {
	walk(t, NewTokenRing(TokenRingConfig{NoDedup: true}), newFakeEnv(1, 3), []step{
		{"the token", recv(0, token{Seq: 1}), "sync; send n0 tokenAck{Seq:1}; sync; send n2 token{Seq:2}; timer retransmit{Seq:2}"},
		{"a copy while the pass is unacknowledged: discarded", recv(0, token{Seq: 1}), "send n0 tokenAck{Seq:1}"},
		{"the pass is acknowledged", recv(2, tokenAck{Seq: 2}), ""},
		{"a late copy: a second token", recv(0, token{Seq: 1}), "sync; send n0 tokenAck{Seq:1}; sync; send n2 token{Seq:2}; timer retransmit{Seq:2}"},
	})
}

// The first process creates the token at its first boot, and only then; a
// process that restarts after a crash resends the pass it last synced,
// whose copy its successor will discard if it already has it.
func TestTokenRingStart(t *testing.T) {
	env := newFakeEnv(0, 3)
	p := NewTokenRing(TokenRingConfig{})
	p.Start(env)
	if got := fmt.Sprint(env.Ops); got != "[sync sync send n1 token{Seq:1} timer retransmit{Seq:1}]" {
		t.Errorf("first boot of n0: %s", got)
	}
	p.Receive(env, 1, tokenAck{Seq: 1}) // not synced
	env.Crash()
	env.TakeOps()
	NewTokenRing(TokenRingConfig{}).Start(env)
	if got := fmt.Sprint(env.Ops); got != "[send n1 token{Seq:1} timer retransmit{Seq:1}]" {
		t.Errorf("restart of n0 with the pass unacknowledged on disk: %s", got)
	}
	other := newFakeEnv(1, 3)
	NewTokenRing(TokenRingConfig{}).Start(other)
	if len(other.Ops) != 0 {
		t.Errorf("first boot of n1: %q, want nothing", other.Ops)
	}
}

// Lamport's five rules at n1, in a group of three: its request waits for a
// later message from everyone (rule 5 (ii)) and for the earlier request of
// n2 to be released (rule 5 (i)).
func TestLamportWalkthrough(t *testing.T) {
	walk(t, NewLamport(LamportConfig{}), newFakeEnv(1, 3), []step{
		{"rule 2: n2's request 1:n2 is queued and acknowledged", recv(2, lamportRequest{TS: 1}), "send n2 lamportAck{TS:3}"},
		{"rule 1: our request 4:n1 to everyone, and queued", acquire(7), "send n0 lamportRequest{TS:4}; send n2 lamportRequest{TS:4}"},
		{"n0's ack, later than 4: (ii) holds for n0", recv(0, lamportAck{TS: 5}), ""},
		{"n2's ack: (ii) holds, but 1:n2 heads the queue", recv(2, lamportAck{TS: 6}), ""},
		{"rule 4: n2 releases 1:n2; now 4:n1 heads the queue: enter", recv(2, lamportRelease{TS: 8, RequestTS: 1}),
			"emit EnterCS{Request:7 TS:4}; timer leaveCS{Request:7}"},
		{"rule 2 while inside: queue and acknowledge", recv(0, lamportRequest{TS: 9}), "send n0 lamportAck{TS:11}"},
		{"rule 3: leave and release to everyone", fire(leaveCS{Request: 7}),
			"emit ExitCS{Request:7}; reply 7 ExitCS{Request:7}; send n0 lamportRelease{TS:12 RequestTS:4}; send n2 lamportRelease{TS:12 RequestTS:4}"},
	})
}

// Without condition (ii), a request that heads its own queue enters at once,
// before the others could tell of earlier requests.
func TestLamportNoAckWaitWalkthrough(t *testing.T) {
	walk(t, NewLamport(LamportConfig{NoAckWait: true}), newFakeEnv(1, 3), []step{
		{"request: alone in its queue, enters at once", acquire(7),
			"send n0 lamportRequest{TS:1}; send n2 lamportRequest{TS:1}; emit EnterCS{Request:7 TS:1}; timer leaveCS{Request:7}"},
	})
}
