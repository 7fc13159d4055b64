package consensus_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
)

// journal is a replicated state machine: the commands executed, in order.
type journal struct{ lines []string }

func (j *journal) Apply(slot, ballot uint64, command []byte) {
	j.lines = append(j.lines, string(command))
}
func (j *journal) Snapshot() []byte { return []byte(strings.Join(j.lines, "\n")) }
func (j *journal) Restore(b []byte) error {
	j.lines = strings.Split(string(b), "\n")
	return nil
}

// write is the request a journal server takes.
type write struct{ Line string }

// server embeds Multi-Paxos: it forwards Start, Receive and Timeout, and
// proposes the lines it is asked to write when it leads.
type server struct {
	*consensus.MultiPaxos
	j *journal
}

func (s *server) Request(env node.Env, req node.Request) {
	w, ok := req.Op.(write)
	if !ok {
		env.Reply(req.ID, "not a write")
		return
	}
	if _, _, err := s.Propose(env, []byte(w.Line)); err != nil {
		env.Reply(req.ID, err.Error())
		return
	}
	env.Reply(req.ID, "proposed")
}

// Three servers replicate a journal with Multi-Paxos. Every write is sent
// to every server; only the leader proposes it. n2 wins the first ballot;
// at 1 s it crashes, and line 3, written just then, finds no leader (a real
// client would retry it). n0 wins a higher ballot, re-proposes what n2 left
// accepted from slot 3 on, and takes the next writes; n2 comes back at 2 s
// and catches up. Every server ends with the same journal.
func ExampleMultiPaxos() {
	members := []node.ID{0, 1, 2}
	var servers [3]*server
	s, err := sim.New(sim.Config{
		Nodes: 3,
		New: func(id node.ID) node.Process {
			j := &journal{}
			srv := &server{consensus.NewMultiPaxos(consensus.MultiPaxosConfig{Members: members, StateMachine: j}), j}
			servers[id] = srv
			return srv
		},
		Registry: node.NewRegistry(append(consensus.MultiPaxosMessages(), write{})...),
		Seed:     1,
		Schedule: []sim.Scheduled{
			{At: time.Second, Action: sim.Crash(2)},
			{At: 2 * time.Second, Action: sim.Restart(2)},
		},
	})
	if err != nil {
		panic(err)
	}
	for i := range 6 {
		at := time.Duration(i) * 300 * time.Millisecond
		for id := range members { // to every server: only the leader proposes
			s.Request(at+400*time.Millisecond, node.ID(id), write{Line: fmt.Sprintf("line %d", i+1)})
		}
	}
	if err := s.Run(3 * time.Second); err != nil {
		panic(err)
	}
	for _, srv := range servers {
		st := srv.Status()
		fmt.Printf("%v %v: %s\n", st.ID, st.Role, strings.Join(srv.j.lines, ", "))
	}
	for _, e := range s.Trace().Events {
		if el, ok := e.Value.(consensus.MultiPaxosElected); ok {
			fmt.Printf("%v won ballot %s, proposing from slot %d\n", e.Node, el.Ballot, el.From)
		}
	}
	for _, c := range consensus.CheckMultiPaxos(s.Trace()) {
		fmt.Println(c.Property, c.OK)
	}
	// Output:
	// n0 leader: line 1, line 2, line 4, line 5, line 6
	// n1 follower: line 1, line 2, line 4, line 5, line 6
	// n2 follower: line 1, line 2, line 4, line 5, line 6
	// n2 won ballot 1.n2, proposing from slot 1
	// n0 won ballot 2.n0, proposing from slot 3
	// agreement per slot true
	// prefix execution true
	// one leader per ballot true
}
