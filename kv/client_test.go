package kv

import (
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

// newTestClient is client n3 of servers n0..n2 on a hand-driven Env.
func newTestClient(t *testing.T, cfg ClientConfig) (*Client, *nodetest.Env) {
	t.Helper()
	cfg.Servers = []node.ID{0, 1, 2}
	env := nodetest.New(3, 4)
	c := NewClient(cfg)
	c.Start(env)
	return c, env
}

// lastRequest returns the last ClientRequest the client sent and where.
func lastRequest(t *testing.T, env *nodetest.Env) (node.ID, ClientRequest) {
	t.Helper()
	for i := len(env.Sent) - 1; i >= 0; i-- {
		if m, ok := env.Sent[i].Msg.(ClientRequest); ok {
			return env.Sent[i].To, m
		}
	}
	t.Fatal("the client sent no request")
	return 0, ClientRequest{}
}

func countRequests(env *nodetest.Env) int {
	n := 0
	for _, s := range env.Sent {
		if _, ok := s.Msg.(ClientRequest); ok {
			n++
		}
	}
	return n
}

func TestClientFollowsLeaderHint(t *testing.T) {
	c, env := newTestClient(t, ClientConfig{})
	c.Request(env, node.Request{ID: 1, Op: Put{"k", "v"}})
	to, first := lastRequest(t, env)
	if first.Seq != 1 || first.Client == 0 || first.Op.V != (Put{"k", "v"}) {
		t.Fatalf("first attempt %+v", first)
	}
	if inv, ok := env.Emitted[0].(Invoked); !ok || inv.Request != 1 || inv.Seq != 1 || inv.Client != first.Client {
		t.Errorf("emitted %v, want Invoked for request 1", env.Emitted)
	}
	hint := (to + 1) % 3
	c.Receive(env, to, ClientReply{ReqID: first.ReqID, Result: Result{Code: CodeNotLeader, Leader: hint}})
	to2, second := lastRequest(t, env)
	if to2 != hint || second.Seq != first.Seq || second.ReqID == first.ReqID {
		t.Fatalf("after a hint to %v: sent %+v to %v; want the same seq, a new attempt, to the hint", hint, second, to2)
	}
	// A late reply to the first attempt changes nothing.
	c.Receive(env, to, ClientReply{ReqID: first.ReqID, Result: Result{Found: true, Value: "late"}})
	if len(env.Replies) != 0 {
		t.Fatalf("a reply to a superseded attempt was taken: %+v", env.Replies)
	}
	c.Receive(env, hint, ClientReply{ReqID: second.ReqID, Result: Result{Found: true, Value: "old"}})
	if len(env.Replies) != 1 || env.Replies[0].Req != 1 || env.Replies[0].Result.(Result).Value != "old" {
		t.Fatalf("replies %+v, want request 1 answered with the leader's result", env.Replies)
	}
	// The next operation goes straight to the leader it learned.
	c.Request(env, node.Request{ID: 2, Op: Get{"k"}})
	if to3, third := lastRequest(t, env); to3 != hint || third.Seq != 2 {
		t.Errorf("next operation sent %+v to %v, want seq 2 to %v", third, to3, hint)
	}
}

func TestClientRetriesNextServerWithBackoff(t *testing.T) {
	cfg := ClientConfig{AttemptTimeout: 50 * time.Millisecond, BackoffMin: 10 * time.Millisecond, BackoffMax: 80 * time.Millisecond, OpTimeout: time.Hour}
	c, env := newTestClient(t, cfg)
	c.Request(env, node.Request{ID: 1, Op: Put{"k", "v"}})
	var targets []node.ID
	var sentAt []time.Time
	for len(targets) < 8 {
		to, m := lastRequest(t, env)
		if m.Seq != 1 {
			t.Fatalf("attempt %d has seq %d, want 1", len(targets)+1, m.Seq)
		}
		targets = append(targets, to)
		sentAt = append(sentAt, env.Clock)
		n := countRequests(env)
		for countRequests(env) == n {
			if !env.FireNext(c) {
				t.Fatal("no timer pending while an operation is unanswered")
			}
		}
	}
	for i := 1; i < len(targets); i++ {
		if targets[i] != (targets[i-1]+1)%3 {
			t.Errorf("attempt %d went to %v after %v, want the next server", i+1, targets[i], targets[i-1])
		}
		gap := sentAt[i].Sub(sentAt[i-1])
		// The attempt timeout, then a pause of BackoffMin·2^k capped at
		// BackoffMax, plus up to half of it.
		pause := min(cfg.BackoffMin<<(i-1), cfg.BackoffMax)
		if lo, hi := cfg.AttemptTimeout+pause, cfg.AttemptTimeout+pause*3/2; gap < lo || gap > hi {
			t.Errorf("attempt %d came %v after the previous, want %v..%v", i+1, gap, lo, hi)
		}
	}
	// A success reply to the latest attempt arriving during the backoff
	// pause is still the answer.
	_, m := lastRequest(t, env)
	env.FireNext(c) // the attempt times out; the backoff starts
	c.Receive(env, targets[len(targets)-1], ClientReply{ReqID: m.ReqID, Result: Result{}})
	if len(env.Replies) != 1 || env.Replies[0].Result.(Result).Code != CodeOK {
		t.Errorf("replies %+v, want the late success taken", env.Replies)
	}
}

func TestClientTimesOutWithUnknownOutcome(t *testing.T) {
	c, env := newTestClient(t, ClientConfig{OpTimeout: 2 * time.Second})
	c.Request(env, node.Request{ID: 1, Op: CAS{Key: "k", Old: "a", New: "b"}})
	c.Request(env, node.Request{ID: 2, Op: Get{"k"}})
	if _, m := lastRequest(t, env); m.Seq != 1 || countRequests(env) != 1 {
		t.Fatalf("two operations queued: sent %d requests, last %+v; want only the first", countRequests(env), m)
	}
	env.Advance(c, env.Clock.Add(2*time.Second))
	if len(env.Replies) != 1 {
		t.Fatalf("replies after the op timeout: %+v", env.Replies)
	}
	res := env.Replies[0].Result.(Result)
	if env.Replies[0].Req != 1 || res.Code != CodeTimeout || res.Err != "timed out after 2s: the outcome is unknown" || !res.Unknown() {
		t.Errorf("timed-out operation answered %+v", res)
	}
	if _, m := lastRequest(t, env); m.Seq != 2 || m.Op.V != (Get{"k"}) {
		t.Errorf("after the timeout the client sent %+v, want the queued get with seq 2", m)
	}
}

func TestClientRejectsInvalidOps(t *testing.T) {
	c, env := newTestClient(t, ClientConfig{})
	for i, op := range []any{"put k v", Put{}, Range{Limit: -1}, nil} {
		c.Request(env, node.Request{ID: node.RequestID(i + 1), Op: op})
	}
	if countRequests(env) != 0 {
		t.Errorf("invalid operations were sent to servers")
	}
	if len(env.Replies) != 4 {
		t.Fatalf("replies %+v, want 4", env.Replies)
	}
	for _, r := range env.Replies {
		if res := r.Result.(Result); res.Code != CodeInvalid || !strings.HasPrefix(res.Err, "kv: ") {
			t.Errorf("request %d answered %+v, want CodeInvalid", r.Req, res)
		}
	}
}

func TestClientLearnsNewServerFromHint(t *testing.T) {
	// A server added after the client was configured (n7) is learned from
	// a leader hint.
	c, env := newTestClient(t, ClientConfig{})
	c.Request(env, node.Request{ID: 1, Op: Get{"k"}})
	to, m := lastRequest(t, env)
	c.Receive(env, to, ClientReply{ReqID: m.ReqID, Result: Result{Code: CodeNotLeader, Leader: 7, Err: "not the leader; try n7"}})
	if to2, m2 := lastRequest(t, env); to2 != 7 || m2.Seq != 1 {
		t.Errorf("after a hint naming n7: sent %+v to %v", m2, to2)
	}
}
