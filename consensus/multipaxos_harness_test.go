package consensus

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// mpPropose is the test server's request: propose Cmd.
type mpPropose struct{ Cmd string }

// mpRead is the test server's read request.
type mpReadOp struct{}

// history is a tiny state machine: the commands executed, in order.
type history struct{ executed []string }

func (h *history) Apply(slot, ballot uint64, cmd []byte) {
	h.executed = append(h.executed, string(cmd))
}
func (h *history) Snapshot() []byte { return []byte(strings.Join(h.executed, ",")) }
func (h *history) Restore(b []byte) error {
	h.executed = nil
	if len(b) > 0 {
		h.executed = strings.Split(string(b), ",")
	}
	return nil
}

// mpServer embeds MultiPaxos the way an application does.
type mpServer struct {
	*MultiPaxos
	sm *history
}

func newMPServer(cfg MultiPaxosConfig) *mpServer {
	sm := &history{}
	cfg.StateMachine = sm
	return &mpServer{MultiPaxos: NewMultiPaxos(cfg), sm: sm}
}

func (s *mpServer) Request(env node.Env, req node.Request) {
	switch op := req.Op.(type) {
	case mpPropose:
		if _, _, err := s.Propose(env, []byte(op.Cmd)); err != nil {
			env.Reply(req.ID, err.Error())
			return
		}
		env.Reply(req.ID, "ok")
	case mpReadOp:
		s.Read(env, func(err error) {
			if err != nil {
				env.Reply(req.ID, err.Error())
				return
			}
			env.Reply(req.ID, fmt.Sprintf("read %d", len(s.sm.executed)))
		})
	default:
		env.Reply(req.ID, "bad op")
	}
}

// runMP runs n servers for length with proposals spread over it (each to
// the node i mod n), and returns the simulator and its trace.
func runMP(t *testing.T, n int, seed uint64, length time.Duration, cfg MultiPaxosConfig, mod func(*sim.Config), ops int) (*sim.Sim, *trace.Trace) {
	t.Helper()
	for i := range n {
		cfg.Members = append(cfg.Members, node.ID(i))
	}
	sc := sim.Config{
		Nodes:    n,
		Seed:     seed,
		Registry: node.NewRegistry(append(MultiPaxosMessages(), mpPropose{}, mpReadOp{})...),
		New:      func(id node.ID) node.Process { return newMPServer(cfg) },
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
		s.Request(at, node.ID(i%n), mpPropose{Cmd: fmt.Sprintf("c%d", i)})
	}
	if err := s.Run(length); err != nil {
		t.Fatal(err)
	}
	return s, s.Trace()
}

// failedChecks returns the properties CheckMultiPaxos finds violated.
func failedChecks(tr *trace.Trace) []string {
	var out []string
	for _, c := range CheckMultiPaxos(tr) {
		if !c.OK {
			out = append(out, c.Property+": "+c.Detail)
		}
	}
	return out
}
