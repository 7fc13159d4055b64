package commit_test

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/commit"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
)

// Four processes run two-phase commit: n0 coordinates, n1–n3 vote, each NO
// with probability 0.05 (one of them does, on T2). Three transactions are
// submitted; the coordinator answers each with its outcome, and every check
// passes.
func ExampleNewTwoPhase() {
	cfg := commit.DefaultTwoPhaseConfig()
	s, _ := sim.New(sim.Config{
		Nodes:    4,
		New:      func(node.ID) node.Process { return commit.NewTwoPhase(cfg) },
		Registry: node.NewRegistry(commit.TwoPhaseMessages()...),
		Seed:     4,
	})
	s.OnReply(func(from node.ID, _ node.RequestID, result any) {
		r := result.(commit.Result)
		fmt.Printf("%v: %s\n", r.Tx, r.Outcome)
	})
	for i := 1; i <= 3; i++ {
		s.Request(time.Duration(i)*time.Millisecond, 0, commit.Transaction{ID: commit.TxID(i)})
	}
	_ = s.Run(time.Second)
	for _, c := range commit.Check2PC(s.Trace()) {
		fmt.Println(c.Property, c.OK)
	}
	// Output:
	// T1: commit
	// T2: abort
	// T3: commit
	// agreement true
	// commit validity true
	// abort validity true
	// durability true
	// termination true
}

// The coordinator of three-phase commit crashes for good right after
// sending the VOTE-REQs of T1. Its participants, all uncertain, elect n1 as
// the backup coordinator, which aborts by rule TR3 without waiting for it.
func ExampleNewThreePhase() {
	cfg := commit.DefaultThreePhaseConfig()
	cfg.NoProbability = 0
	s, _ := sim.New(sim.Config{
		Nodes:    4,
		New:      func(node.ID) node.Process { return commit.NewThreePhase(cfg) },
		Registry: node.NewRegistry(commit.ThreePhaseMessages()...),
		Seed:     1,
	})
	tx, plan := commit.CrashAfterVoteRequest(0, 1, 10*time.Millisecond, 0)
	s.Request(10*time.Millisecond, 0, tx)
	for _, f := range plan {
		fmt.Println(f)
		s.At(f.At, sim.Crash(f.Node))
	}
	_ = s.Run(time.Second)
	for _, e := range s.Trace().Events {
		switch v := e.Value.(type) {
		case commit.Terminated:
			fmt.Printf("%v %v\n", e.Node, v.Rule)
		case commit.Decided:
			fmt.Printf("%v decided %s at %v\n", e.Node, v.Outcome, e.Time.Round(time.Millisecond))
		}
	}
	fmt.Println(commit.Blocking(s.Trace()))
	// Output:
	// 10.1ms crash n0
	// n1 TR3: n1 uncertain, n2 uncertain, n3 uncertain: all uncertain → abort
	// n1 decided abort at 50ms
	// n3 decided abort at 52ms
	// n2 decided abort at 53ms
	// 3 blocking windows: prepared participants held their locks for 115.658ms in all while the coordinator was down (longest 40.491ms, n3 on T1)
}
