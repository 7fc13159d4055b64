package kv

import (
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

// soloMultiPaxos returns a server of a one-server cluster on Multi-Paxos
// that has elected itself, on a hand-driven Env.
func soloMultiPaxos(t *testing.T) (*Server, *nodetest.Env) {
	t.Helper()
	env := nodetest.New(0, 1)
	s := NewServer(ServerConfig{Members: []node.ID{0}, Log: MultiPaxosLog(consensus.MultiPaxosConfig{})})
	s.Start(env)
	env.Advance(s, env.Clock.Add(time.Second))
	st := s.status().MultiPaxos
	if st == nil || st.Role != consensus.MultiPaxosLeader {
		t.Fatalf("a one-server Multi-Paxos cluster did not elect itself in 1s: %+v", st)
	}
	env.Replies, env.Sent = nil, nil
	return s, env
}

// On Multi-Paxos the service reads and writes as on Raft, reports the Log's
// status, and answers the membership operations, which Multi-Paxos does not
// offer, CodeInvalid with a clear reason.
func TestServerOnMultiPaxos(t *testing.T) {
	s, env := soloMultiPaxos(t)
	s.Request(env, node.Request{ID: 1, Op: Put{Key: "k", Value: "v"}})
	s.Request(env, node.Request{ID: 2, Op: Get{Key: "k"}})
	settle(s, env, 10*time.Millisecond)
	if res := replyOf(t, env, 1); res.Code != CodeOK {
		t.Errorf("put: %v", res)
	}
	if res := replyOf(t, env, 2); res.Code != CodeOK || !res.Found || res.Value != "v" {
		t.Errorf("get after put: %v", res)
	}
	s.Request(env, node.Request{ID: 3, Op: StatusOp{}})
	res := replyOf(t, env, 3)
	// The read rode on the put's slot: one slot chose both.
	if res.Status != nil || res.MultiPaxos == nil || res.MultiPaxos.Role != consensus.MultiPaxosLeader || res.MultiPaxos.Commit != 1 {
		t.Errorf("status: %+v (multipaxos %+v)", res, res.MultiPaxos)
	}
	if got := res.String(); !strings.Contains(got, "n0 leader ballot 1.n0 leader n0") {
		t.Errorf("status prints as %q", got)
	}
	for id, op := range map[node.RequestID]any{4: AddServer{ID: 1}, 5: RemoveServer{ID: 0}, 6: TransferLeader{To: 1}} {
		s.Request(env, node.Request{ID: id, Op: op})
		res := replyOf(t, env, id)
		if res.Code != CodeInvalid || !strings.Contains(res.Err, "not supported on Multi-Paxos") {
			t.Errorf("%T: %v; want invalid, not supported on Multi-Paxos", op, res)
		}
	}
}

// A follower of Multi-Paxos answers with the leader it knows.
func TestMultiPaxosFollowerHintsLeader(t *testing.T) {
	env := nodetest.New(1, 3)
	s := NewServer(ServerConfig{Members: []node.ID{0, 1, 2}, Log: MultiPaxosLog(consensus.MultiPaxosConfig{})})
	s.Start(env)
	// n0 wins ballot 1.n0 elsewhere; its heartbeat reaches n1.
	s.Receive(env, 0, acceptFrom(t, s, env))
	s.Request(env, node.Request{ID: 1, Op: Put{Key: "k", Value: "v"}})
	if res := replyOf(t, env, 1); res.Code != CodeNotLeader || res.Leader != 0 {
		t.Errorf("put on a follower: %v; want not-leader, leader n0", res)
	}
}

// acceptFrom builds n0's heartbeat for ballot 1.n0 by running a real
// Multi-Paxos n0 alone until it campaigns, then winning its ballot with a
// promise from s.
func acceptFrom(t *testing.T, s *Server, env *nodetest.Env) any {
	t.Helper()
	env0 := nodetest.New(0, 3)
	s0 := NewServer(ServerConfig{Members: []node.ID{0, 1, 2}, Log: MultiPaxosLog(consensus.MultiPaxosConfig{})})
	s0.Start(env0)
	env0.Advance(s0, env0.Clock.Add(time.Second)) // n0 campaigns; its prepares wait in env0.Sent
	for _, m := range env0.Sent {
		if m.To == 1 {
			env.Sent = nil
			s.Receive(env, 0, m.Msg) // n1 promises, once synced
			env.Advance(s, env.Clock.Add(time.Millisecond))
			for _, r := range env.Sent {
				env0.Sent = nil
				s0.Receive(env0, 1, r.Msg)
				env0.Advance(s0, env0.Clock.Add(time.Millisecond))
				for _, a := range env0.Sent {
					if a.To == 1 {
						env.Sent = nil
						return a.Msg
					}
				}
			}
		}
	}
	t.Fatal("n0 did not win its ballot with n1's promise")
	return nil
}
