package main

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/election"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// electionCatalog lists the leader-election algorithms. Their workload is a
// fault plan, not requests: --ops is the number of coordinator crashes (the
// highest process crashes, the survivors elect the next, which crashes in
// turn...), and the crashed processes come back afterwards, so that the
// highest bullies its way back. The checker judges agreement once faults
// stop; --crashes and --partitions add random faults on top.
func electionCatalog() []*algorithm {
	return []*algorithm{
		{
			Name:       "election/bully",
			FaultModel: "synchronous (bounded delay), crash-recovery; partitions split it until they heal",
			Summary:    "Garcia-Molina's bully algorithm (1982): ELECTION to higher IDs, OK, COORDINATOR; --ops coordinators crash mid-run and come back",
			Nodes:      5,
			Length:     10 * time.Second,
			Ops:        1,
			Messages:   election.BullyMessages(),
			Variants: []variant{
				{Name: "ignore-ok", Summary: "pay no attention to OK answers: every election ends with its holder declaring itself coordinator"},
			},
			New: func(v string, _ int) node.Factory {
				cfg := election.DefaultBullyConfig()
				cfg.IgnoreAnswers = v == "ignore-ok"
				return func(node.ID) node.Process { return election.NewBully(cfg) }
			},
			Workload: coordinatorCrashes,
			Check:    election.Check,
			Textbook: electionTextbook,
			Costs:    func(t *trace.Trace, n int) []trace.Cost { return election.BullyCosts(t, n) },
		},
		{
			Name:       "election/ring",
			FaultModel: "synchronous (bounded delay), crash-recovery; partitions split it until they heal",
			Summary:    "Ring election (LeLann, Chang–Roberts; van Steen–Tanenbaum form): ELECTION collects live IDs, skipping dead successors, then COORDINATOR; --ops coordinators crash and come back",
			Nodes:      5,
			Length:     10 * time.Second,
			Ops:        1,
			Messages:   election.RingMessages(),
			Variants: []variant{
				{Name: "no-skip", Summary: "never skip a successor that does not acknowledge: no election gets past a crashed process"},
				{Name: "pick-initiator", Summary: "name the initiator coordinator instead of the highest ID on the list"},
			},
			New: func(v string, _ int) node.Factory {
				cfg := election.DefaultRingConfig()
				cfg.NoSkip, cfg.PickInitiator = v == "no-skip", v == "pick-initiator"
				return func(node.ID) node.Process { return election.NewRing(cfg) }
			},
			Workload: coordinatorCrashes,
			Check:    election.Check,
			Textbook: electionTextbook,
			Costs:    func(t *trace.Trace, n int) []trace.Cost { return election.RingCosts(t, n) },
		},
	}
}

// coordinatorCrashes applies election.CoordinatorCrashes: ops crashes of the
// coordinator, then the restarts.
func coordinatorCrashes(s *sim.Sim, ops int, length time.Duration) {
	for _, f := range election.CoordinatorCrashes(s.Group(), ops, length) {
		a := sim.Crash(f.Node)
		if f.Restart {
			a = sim.Restart(f.Node)
		}
		s.At(f.At, a)
	}
}

// electionTextbook is the steady cost of both algorithms: the coordinator's
// heartbeats. The cost of an election is among the Costs, beside the
// textbook's best and worst cases.
func electionTextbook(n int) textbook {
	return textbook{Note: fmt.Sprintf("coordinator's heartbeats: N−1 = %d per %v", n-1, election.DefaultHeartbeats().Interval)}
}
