package kv_test

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
)

// The same service on Multi-Paxos instead of Raft: ServerConfig.Log picks
// the replicated log. The leader n0 is cut off for a second; the history
// stays linearizable, and Multi-Paxos' own invariants hold.
func ExampleMultiPaxosLog() {
	servers, clients := []node.ID{0, 1, 2}, []node.ID{3, 4}
	s, err := sim.New(sim.Config{
		Nodes: 5,
		New: func(id node.ID) node.Process {
			if id < 3 {
				return kv.NewServer(kv.ServerConfig{Members: servers, Log: kv.MultiPaxosLog(consensus.MultiPaxosConfig{})})
			}
			return kv.NewClient(kv.ClientConfig{Servers: servers})
		},
		Registry: node.NewRegistry(kv.Messages()...),
		Seed:     1,
		Schedule: []sim.Scheduled{
			{At: time.Second, Action: sim.PartitionGroups([]node.ID{0}, []node.ID{1, 2})},
			{At: 2 * time.Second, Action: sim.Heal()},
		},
	})
	if err != nil {
		panic(err)
	}
	kv.Workload(s, clients, 60, 3*time.Second)
	if err := s.Run(6 * time.Second); err != nil {
		panic(err)
	}
	c := kv.CheckLinearizable(s.Trace(), clients)
	fmt.Println(c.Property, c.OK)
	for _, c := range consensus.CheckMultiPaxos(s.Trace()) {
		fmt.Println(c.Property, c.OK)
	}
	// Output:
	// linearizability true
	// agreement per slot true
	// prefix execution true
	// one leader per ballot true
}
