package kv_test

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
)

// The state machine applies writes as Raft hands them over: encoded
// commands, each with its client session. A retried write is answered from
// the session instead of being applied twice.
func ExampleStateMachine() {
	sm := kv.NewStateMachine()
	apply := func(index, client, seq uint64, op any) {
		cmd, err := kv.Command{Client: client, Seq: seq, Op: kv.AnyOp{V: op}}.Encode()
		if err != nil {
			panic(err)
		}
		sm.Apply(index, 1, cmd)
	}
	apply(1, 7, 1, kv.Put{Key: "fruit/pear", Value: "3"})
	apply(2, 7, 2, kv.Put{Key: "fruit/apple", Value: "5"})
	apply(3, 8, 1, kv.CAS{Key: "fruit/apple", Old: "5", New: "4"})
	apply(4, 9, 1, kv.Put{Key: "veg/leek", Value: "1"})
	apply(5, 8, 1, kv.CAS{Key: "fruit/apple", Old: "5", New: "4"}) // a retry: not applied again

	for _, p := range sm.Range("fruit/", 0) {
		fmt.Printf("%s = %s\n", p.Key, p.Value)
	}
	v, _ := sm.Get("veg/leek")
	fmt.Println("veg/leek =", v)
	// Output:
	// fruit/apple = 4
	// fruit/pear = 3
	// veg/leek = 1
}

// A simulated service: three servers, two clients driven by the workload,
// and a partition that cuts n0 off for a second; the clients' history is
// checked for linearizability.
func Example() {
	servers, clients := []node.ID{0, 1, 2}, []node.ID{3, 4}
	s, err := sim.New(sim.Config{
		Nodes: 5,
		New: func(id node.ID) node.Process {
			if id < 3 {
				return kv.NewServer(kv.ServerConfig{Members: servers})
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
	fmt.Println(c.Detail)
	// Output:
	// linearizability true
	// 60 operations (0 with unknown outcome) in 3 independent key groups are linearizable
}
