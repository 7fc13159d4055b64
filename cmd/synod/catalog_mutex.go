package main

import (
	"time"

	"github.com/synod-dev/synod/mutex"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
)

// mutexWorkload submits the Acquire requests of a mutual-exclusion run.
func mutexWorkload(s *sim.Sim, ops int, length time.Duration) { mutex.Workload(s, ops, length) }

// mutexCatalog lists the mutual-exclusion algorithms. Each runs 5 processes
// for 2 s with 40 Acquire requests in the first second, enough for several
// processes to want the critical section at once.
func mutexCatalog() []*algorithm {
	return []*algorithm{
		{
			Name:       "mutex/central",
			Summary:    "Centralized coordinator with a FIFO queue (van Steen & Tanenbaum §5.3.2): REQUEST, GRANT, RELEASE",
			FaultModel: "reliable links, no crashes: the coordinator is a single point of failure",
			Nodes:      5,
			Length:     2 * time.Second,
			Ops:        40,
			Messages:   mutex.CentralMessages(),
			Variants:   []variant{{Name: "grant-early", Summary: "the coordinator grants every request at once, without waiting for the holder's RELEASE"}},
			New: func(v string, _ int) node.Factory {
				cfg := mutex.CentralConfig{GrantEarly: v == "grant-early"}
				return func(node.ID) node.Process { return mutex.NewCentral(cfg) }
			},
			Workload: mutexWorkload,
			Check:    mutex.CheckCentral,
			Textbook: func(n int) textbook {
				return textbook{PerOp: mutex.TextbookCentralMessages, Formula: "REQUEST+GRANT+RELEASE"}
			},
			Costs: mutex.CentralCosts,
		},
		{
			Name:       "mutex/ricart-agrawala",
			Summary:    "Ricart–Agrawala (1981): timestamped REQUEST to all, REPLY unless inside or asking with a smaller (timestamp, id)",
			FaultModel: "reliable links, no crashes: one dead process blocks every entry",
			Nodes:      5,
			Length:     2 * time.Second,
			Ops:        40,
			Messages:   mutex.RicartAgrawalaMessages(),
			Variants:   []variant{{Name: "reply-in-cs", Summary: "answer a REQUEST at once while inside the critical section, instead of deferring the REPLY"}},
			New: func(v string, _ int) node.Factory {
				cfg := mutex.RicartAgrawalaConfig{ReplyInCS: v == "reply-in-cs"}
				return func(node.ID) node.Process { return mutex.NewRicartAgrawala(cfg) }
			},
			Workload: mutexWorkload,
			Check:    mutex.CheckRicartAgrawala,
			Textbook: func(n int) textbook {
				return textbook{PerOp: mutex.TextbookRicartAgrawalaMessages(n), Formula: "2(N−1)"}
			},
			Costs: mutex.RicartAgrawalaCosts,
		},
		{
			Name:       "mutex/lamport",
			Summary:    "Lamport's mutual exclusion (1978): timestamped REQUEST, ACK, RELEASE to all; enter at the head of the ⇒-ordered queue once all have answered",
			FaultModel: "reliable FIFO links, no crashes: one dead process blocks every entry",
			Nodes:      5,
			Length:     2 * time.Second,
			Ops:        40,
			Messages:   mutex.LamportMessages(),
			Variants: []variant{
				{Name: "no-ack-wait", Summary: "enter when the request heads the own queue, without a later message from every other process (rule 5 (ii))"},
				{Name: "no-head-check", Summary: "enter once every other process has answered, without the request heading the queue (rule 5 (i))"},
			},
			New: func(v string, _ int) node.Factory {
				cfg := mutex.LamportConfig{NoAckWait: v == "no-ack-wait", NoHeadCheck: v == "no-head-check"}
				return func(node.ID) node.Process { return mutex.NewLamport(cfg) }
			},
			Workload: mutexWorkload,
			Check:    mutex.CheckLamport,
			Textbook: func(n int) textbook {
				return textbook{PerOp: mutex.TextbookLamportMessages(n), Formula: "3(N−1)"}
			},
			Costs: mutex.LamportCosts,
		},
		{
			Name:       "mutex/voting",
			Summary:    "Decentralized voting (Lin et al. 2004): m > N/2 votes from the N coordinators (every process), back off and retry when denied",
			FaultModel: "reliable links; a coordinator that crashes and restarts forgets its vote: safety at risk with probability P[k ≥ 2m−N]",
			Nodes:      5,
			Length:     2 * time.Second,
			Ops:        40,
			Messages:   mutex.VotingMessages(),
			Variants:   []variant{{Name: "half-quorum", Summary: "enter with m = ⌊N/2⌋ votes: two processes can hold disjoint halves"}},
			New: func(v string, _ int) node.Factory {
				cfg := mutex.VotingConfig{HalfQuorum: v == "half-quorum"}
				return func(node.ID) node.Process { return mutex.NewVoting(cfg) }
			},
			Workload: mutexWorkload,
			Check:    mutex.CheckVoting,
			Textbook: func(n int) textbook {
				return textbook{PerOp: 3 * float64(n), Formula: "(2k+1)N at k = 1 attempt"}
			},
			Costs: mutex.VotingCosts,
		},
		{
			Name:       "mutex/token-ring",
			Summary:    "Token ring (Le Lann 1977): one token circulates n0→n1→…→n0 over stubborn links (retransmitted until acknowledged, deduplicated)",
			FaultModel: "loss, duplication, partitions and crash-recovery (the token is synced); not a process that stays down",
			Nodes:      5,
			Length:     2 * time.Second,
			Ops:        40,
			Messages:   mutex.TokenRingMessages(),
			Variants:   []variant{{Name: "no-dedup", Summary: "no sequence numbers: a retransmitted copy that arrives after the token moved on is taken for a new token"}},
			New: func(v string, _ int) node.Factory {
				cfg := mutex.TokenRingConfig{NoDedup: v == "no-dedup"}
				return func(node.ID) node.Process { return mutex.NewTokenRing(cfg) }
			},
			Workload: mutexWorkload,
			Check:    mutex.CheckTokenRing,
			// The textbook's 1 to ∞ messages per entry is among the costs, as
			// token passes per entry.
			Textbook: func(n int) textbook { return textbook{} },
			Costs:    mutex.TokenRingCosts,
		},
	}
}
