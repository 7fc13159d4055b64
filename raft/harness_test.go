package raft

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// propose is the test server's request: append Cmd.
type propose struct{ Cmd string }

// counter is a tiny state machine: the applied commands, in order.
type counter struct{ applied []string }

func (c *counter) Apply(index, term uint64, cmd []byte) { c.applied = append(c.applied, string(cmd)) }
func (c *counter) Snapshot() []byte                     { return []byte(strings.Join(c.applied, ",")) }
func (c *counter) Restore(b []byte) error {
	c.applied = nil
	if len(b) > 0 {
		c.applied = strings.Split(string(b), ",")
	}
	return nil
}

// testServer embeds Raft the way an application does.
type testServer struct {
	*Raft
	sm *counter
}

func newTestServer(cfg Config) *testServer {
	sm := &counter{}
	cfg.StateMachine = sm
	return &testServer{Raft: New(cfg), sm: sm}
}

func (s *testServer) Request(env node.Env, req node.Request) {
	p, ok := req.Op.(propose)
	if !ok {
		env.Reply(req.ID, "bad op")
		return
	}
	_, _, err := s.Propose(env, []byte(p.Cmd))
	if err != nil {
		env.Reply(req.ID, err.Error())
		return
	}
	env.Reply(req.ID, "ok")
}

// runCluster runs n servers for length with proposals spread over it.
func runCluster(t *testing.T, n int, seed uint64, length time.Duration, cfg Config, mod func(*sim.Config), ops int) (*sim.Sim, *trace.Trace) {
	t.Helper()
	members := make([]node.ID, n)
	for i := range members {
		members[i] = node.ID(i)
	}
	cfg.Members = members
	sc := sim.Config{
		Nodes:    n,
		Seed:     seed,
		Registry: node.NewRegistry(append(Messages(), propose{})...),
		New:      func(id node.ID) node.Process { return newTestServer(cfg) },
	}
	if mod != nil {
		mod(&sc)
	}
	s, err := sim.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ops {
		at := length * time.Duration(i) / time.Duration(ops)
		s.Request(at, node.ID(i%n), propose{Cmd: fmt.Sprintf("c%d", i)})
	}
	if err := s.Run(length); err != nil {
		t.Fatal(err)
	}
	return s, s.Trace()
}
