package raft_test

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/raft"
	"github.com/synod-dev/synod/sim"
)

// register is an application state machine: the last value written.
type register struct{ value string }

func (r *register) Apply(index, term uint64, cmd []byte) { r.value = string(cmd) }
func (r *register) Snapshot() []byte                     { return []byte(r.value) }
func (r *register) Restore(b []byte) error               { r.value = string(b); return nil }

// write is the application's request.
type write struct{ Value string }

// app embeds Raft in a process of its own: Raft handles Start, Receive and
// Timeout; the application proposes commands from Request.
type app struct {
	*raft.Raft
	sm *register
}

func (a *app) Request(env node.Env, req node.Request) {
	index, term, err := a.Propose(env, []byte(req.Op.(write).Value))
	if err != nil {
		env.Reply(req.ID, err.Error()) // a NotLeaderError names the leader
		return
	}
	env.Reply(req.ID, fmt.Sprintf("proposed at index %d in term %d", index, term))
}

// Embed Raft in a process, run three of them in the simulator, and propose
// a command to each: only the leader accepts.
func Example() {
	apps := map[node.ID]*app{}
	s, _ := sim.New(sim.Config{
		Nodes:    3,
		Seed:     1,
		Registry: node.NewRegistry(append(raft.Messages(), write{})...),
		New: func(id node.ID) node.Process {
			sm := &register{}
			a := &app{Raft: raft.New(raft.Config{Members: []node.ID{0, 1, 2}, StateMachine: sm}), sm: sm}
			apps[id] = a
			return a
		},
	})
	s.OnReply(func(from node.ID, _ node.RequestID, result any) { fmt.Printf("%v: %v\n", from, result) })
	for id := range 3 {
		s.Request(time.Second, node.ID(id), write{Value: "hello"})
	}
	s.Run(2 * time.Second)
	st := apps[0].Status()
	fmt.Printf("n0 is a %v in term %d; leader %v; commit index %d; state %q\n", st.Role, st.Term, st.Leader, st.CommitIndex, apps[0].sm.value)
	// Output:
	// n0: raft: not the leader; the leader is n2 (term 1)
	// n1: raft: not the leader; the leader is n2 (term 1)
	// n2: proposed at index 2 in term 1
	// n0 is a follower in term 1; leader n2; commit index 2; state "hello"
}
