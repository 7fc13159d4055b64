package main

import (
	"time"

	"github.com/synod-dev/synod/commit"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
)

// commitCatalog lists the atomic commitment protocols. Node 0 coordinates;
// --ops transactions (T1, T2, ...) are submitted to it at random times in
// the first half of the run and run concurrently; each participant votes
// NO with probability 0.05.
//
// Besides the plain runs, two entries run the same protocols with the
// coordinator crashing right after sending a transaction's VOTE-REQs, the
// moment that shows what 3PC is for: commit/2pc-blocking, whose
// participants wait, holding their locks, until the coordinator returns
// (the checker reports the blocking windows, which 2PC allows), and
// commit/3pc-nonblocking, whose participants terminate without it. A
// dedicated entry says what it shows in `synod list` and needs no flags;
// with `synod sim commit/2pc --schedule ...` a crash of n0 shows blocking
// too, if it falls in an uncertainty period. 3PC's failure under partitions
// is a variant, `--variant partition` of commit/3pc: the correct protocol,
// run outside its fault model and caught by the agreement check (a
// catalog entry of its own would have to pass its checks).
func commitCatalog() []*algorithm {
	const length = 2 * time.Second
	twoPC := func(cfg commit.TwoPhaseConfig) node.Factory {
		return func(node.ID) node.Process { return commit.NewTwoPhase(cfg) }
	}
	threePC := func(cfg commit.ThreePhaseConfig) node.Factory {
		return func(node.ID) node.Process { return commit.NewThreePhase(cfg) }
	}
	new2PC := func(v string, _ int) node.Factory {
		cfg := commit.DefaultTwoPhaseConfig()
		cfg.Broken = commit.TwoPhaseBroken{
			UnsyncedPrepare:  v == "unsynced-prepare",
			CommitOnTimeout:  v == "commit-on-timeout",
			UnsyncedDecision: v == "unsynced-decision",
			NoRetry:          v == "no-retry",
		}
		if v == "hasty-abort" {
			cfg.VoteTimeout = time.Millisecond
		}
		return twoPC(cfg)
	}
	new3PC := func(v string, _ int) node.Factory {
		cfg := commit.DefaultThreePhaseConfig()
		cfg.Broken = commit.ThreePhaseBroken{NoPreCommit: v == "no-precommit", NoTermination: v == "no-termination"}
		if v == "impatient" {
			cfg.UncertainTimeout, cfg.CommittableTimeout = cfg.Delta/2, cfg.Delta/2
		}
		return threePC(cfg)
	}
	// The crash runs have every participant vote YES: a NO voter knows the
	// outcome and would end 2PC's blocking through the termination protocol.
	allYes2PC := func(string, int) node.Factory {
		cfg := commit.DefaultTwoPhaseConfig()
		cfg.NoProbability = 0
		return twoPC(cfg)
	}
	allYes3PC := func(string, int) node.Factory {
		cfg := commit.DefaultThreePhaseConfig()
		cfg.NoProbability = 0
		return threePC(cfg)
	}
	twoPCVariants := []variant{
		{Name: "unsynced-prepare", Summary: "vote YES without syncing the prepared record: a participant that crashes before the decision comes forgets its vote and aborts what the coordinator committed", ExposedBy: crashRestarts(length)},
		{Name: "commit-on-timeout", Summary: "a coordinator whose votes do not all come in time commits instead of aborting, as if a missing vote were YES", ExposedBy: crashRestarts(length)},
		{Name: "unsynced-decision", Summary: "the coordinator announces its decision without forcing it: after a crash it finds only the start record and aborts what it committed", ExposedBy: crashRestarts(length)},
		{Name: "no-retry", Summary: "the decision is sent once and never asked for (no resend, no termination protocol): a participant down when it came stays uncertain for ever", ExposedBy: crashRestarts(length)},
		{Name: "hasty-abort", Summary: "the coordinator waits 1 ms for the votes, less than a round trip: transactions abort with nothing wrong"},
	}
	twoPCTextbook := func(n int) textbook {
		return textbook{PerOp: float64(commit.TextbookTwoPhaseMessages(n)), Formula: "4(N−1) with ACKs"}
	}
	threePCTextbook := func(n int) textbook {
		return textbook{PerOp: float64(commit.TextbookThreePhaseMessages(n)), Formula: "5(N−1) per commit (3(N−1) per abort)"}
	}
	return []*algorithm{
		{
			Name:       "commit/2pc",
			Summary:    "Two-phase commit (Gray 1978; BHG §7.4): VOTE-REQ, YES/NO, COMMIT/ABORT, ACK; forced DT log, cooperative termination and recovery; n0 coordinates --ops concurrent transactions",
			FaultModel: "crash-recovery, loss, partitions: always safe, but blocks while the coordinator is down",
			Nodes:      5,
			Length:     length,
			Ops:        100,
			Messages:   commit.TwoPhaseMessages(),
			Variants:   twoPCVariants,
			New:        new2PC,
			Workload:   func(s *sim.Sim, ops int, length time.Duration) { commit.Workload(s, 0, ops, length*3/4) },
			Check:      commit.Check2PC,
			Textbook:   twoPCTextbook,
			Costs:      commit.TwoPhaseCosts,
		},
		{
			Name:       "commit/2pc-blocking",
			Summary:    "Two-phase commit whose coordinator crashes right after sending a VOTE-REQ (at 40% of the run) and returns at 70%; every participant votes YES, so none can help the others: they block, holding their locks, until it returns",
			FaultModel: "crash-recovery, loss, partitions: always safe, but blocks while the coordinator is down",
			Nodes:      5,
			Length:     length,
			Ops:        20,
			Messages:   commit.TwoPhaseMessages(),
			New:        allYes2PC,
			Workload:   func(s *sim.Sim, ops int, length time.Duration) { crashAfterVoteRequest(s, ops, length, true) },
			Check:      commit.Check2PC,
			Textbook:   twoPCTextbook,
			Costs:      commit.TwoPhaseCosts,
		},
		{
			Name:       "commit/3pc",
			Summary:    "Three-phase commit (Skeen 1981; BHG §7.5): VOTE-REQ, YES/NO, PRE-COMMIT, ACK, COMMIT; on a timeout the participants elect a backup coordinator (UR-ELECTED, STATE-REQ) that applies rules TR1–TR4",
			FaultModel: "crash-stop, synchronous network (every message within Δ = 5 ms): non-blocking; a partition or a late message breaks agreement",
			Nodes:      5,
			Length:     length,
			Ops:        100,
			Messages:   commit.ThreePhaseMessages(),
			Variants: []variant{
				{Name: "no-precommit", Summary: "no third phase: the coordinator commits once every vote is YES, while the participants keep 3PC's termination rules; a crash in the middle of its COMMITs leaves the rest uncertain, and they abort (TR3)",
					CaughtBy: "go test ./commit -run TestThreePhaseCrashMidBroadcast"},
				{Name: "no-termination", Summary: "2PC's termination protocol instead of 3PC's: participants whose coordinator crashed ask and wait, blocking like 2PC", ExposedBy: crashStops(length)},
				{Name: "impatient", Summary: "participants time out after Δ/2, before the coordinator can answer: the termination protocol runs beside a live coordinator and the two decide differently"},
				{Name: "partition", Summary: "by the network, not the protocol: the correct 3PC under random partitions, outside its fault model; a cut-off participant takes the coordinator for crashed and aborts what the others commit", ExposedBy: partitions(length)},
			},
			New:      new3PC,
			Workload: func(s *sim.Sim, ops int, length time.Duration) { commit.Workload(s, 0, ops, length*3/4) },
			Check:    commit.Check3PC,
			Textbook: threePCTextbook,
			Costs:    commit.ThreePhaseCosts,
		},
		{
			Name:       "commit/3pc-nonblocking",
			Summary:    "Three-phase commit whose coordinator crash-stops right after sending a VOTE-REQ (at 40% of the run), a participant with it; every participant votes YES: the others elect a backup coordinator and abort (TR3) without waiting",
			FaultModel: "crash-stop, synchronous network (every message within Δ = 5 ms): non-blocking; a partition or a late message breaks agreement",
			Nodes:      5,
			Length:     length,
			Ops:        20,
			Messages:   commit.ThreePhaseMessages(),
			New:        allYes3PC,
			Workload:   func(s *sim.Sim, ops int, length time.Duration) { crashAfterVoteRequest(s, ops, length, false) },
			Check:      commit.Check3PC,
			Textbook:   threePCTextbook,
			Costs:      commit.ThreePhaseCosts,
		},
	}
}

// crashAfterVoteRequest submits ops transactions in the first 30% of the
// run, then one more at 40%, and applies commit.CrashAfterVoteRequest to
// it: the coordinator n0 crashes right after its VOTE-REQs. With restart
// it comes back at 70% (2PC); otherwise it and, in groups of four or
// more, the highest participant stay down (3PC's crash-stop).
func crashAfterVoteRequest(s *sim.Sim, ops int, length time.Duration, restart bool) {
	commit.Workload(s, 0, ops, length*3/10)
	at, restartAt := length*4/10, time.Duration(0)
	var also []node.ID
	if restart {
		restartAt = length * 7 / 10
	} else if n := len(s.Group()); n >= 4 {
		also = append(also, node.ID(n-1))
	}
	tx, plan := commit.CrashAfterVoteRequest(0, commit.TxID(ops+1), at, restartAt, also...)
	s.Request(at, 0, tx)
	for _, f := range plan {
		a := sim.Crash(f.Node)
		if f.Restart {
			a = sim.Restart(f.Node)
		}
		s.At(f.At, a)
	}
}

// crashStops are frequent crash-stop failures (a minority of the group at
// most), which 3PC tolerates without blocking.
func crashStops(length time.Duration) sim.Nemesis {
	return sim.Nemesis{Crash: 4, MaxDown: 4, Stop: length / 2}
}

// partitions are frequent random partitions, which break 3PC.
func partitions(length time.Duration) sim.Nemesis {
	return sim.Nemesis{Partition: 10, PartitionFor: 100 * time.Millisecond, Stop: length / 2}
}
