package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/broadcast"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// broadcastBurst is how many broadcasts a process submits at once in the
// broadcast workloads: a relay of a burst's second message can then
// overtake its first, which is what FIFO and causal order must mend.
const broadcastBurst = 3

// broadcastWorkload submits ops broadcasts in bursts over the first
// broadcast.WorkloadFraction of the run, and crashes one sender (never one of
// spare) in the middle of its last broadcast, having reached some of the
// others but not all: the run every reliable broadcast must survive and
// best-effort broadcast need not.
func broadcastWorkload(spare ...node.ID) func(s *sim.Sim, ops int, length time.Duration) {
	return func(s *sim.Sim, ops int, length time.Duration) {
		plan := broadcast.PlanWorkload(s.Rand(), s.Group(), broadcast.WorkloadConfig{
			Broadcasts:  ops,
			Window:      time.Duration(float64(length) * broadcast.WorkloadFraction),
			Burst:       broadcastBurst,
			CrashSender: true,
			Spare:       spare,
		})
		stagePlan(s, plan)
	}
}

// stagePlan submits a planned workload. The crash in the middle of a
// broadcast is staged at one instant: the links from the sender to the
// processes its message does not reach are cut, the request arrives, and the
// sender crashes for good (crash-stop), in that order.
func stagePlan(s *sim.Sim, plan []broadcast.Step) {
	for _, st := range plan {
		if st.Crash {
			var cut []node.ID
			for _, q := range s.Group() {
				if q != st.Sender && !slices.Contains(st.Reaches, q) {
					cut = append(cut, q)
				}
			}
			s.At(st.At, sim.Cut([]node.ID{st.Sender}, cut))
		}
		s.Request(st.At, st.Sender, st.Op)
		if st.Crash {
			s.At(st.At, sim.Crash(st.Sender))
		}
	}
}

// gossipWorkload starts the rumor at ops processes (n0, n1, ...) at time 0.
func gossipWorkload(s *sim.Sim, ops int, length time.Duration) {
	for i := range ops {
		s.Request(0, node.ID(i%len(s.Group())), broadcast.Rumor{})
	}
}

// gossipRound is the length of a gossip round in the simulator.
const gossipRound = 10 * time.Millisecond

// gossipEntry is the catalog entry of one form of gossip.
func gossipEntry(form broadcast.GossipForm, name, summary string) *algorithm {
	return &algorithm{
		Name:       name,
		FaultModel: "any links, crashes: loss and dead peers only slow it; coverage with high probability; synchronous rounds",
		Summary:    summary,
		Nodes:      50,
		Length:     10 * time.Second,
		Ops:        1,
		Rounds:     gossipRound,
		Messages:   broadcast.GossipMessages(),
		Variants:   []variant{{Name: "origin-only", Summary: "only the origin spreads the rumor; those who hear it keep it to themselves: it grows by about one process a round"}},
		New: func(v string, _ int) node.Factory {
			cfg := broadcast.GossipConfig{Form: form, OriginOnly: v == "origin-only"}
			return func(node.ID) node.Process { return broadcast.NewGossip(cfg) }
		},
		Workload: gossipWorkload,
		Check:    broadcast.CheckGossip,
		Textbook: func(n int) textbook { return textbook{} },
		Costs:    func(t *trace.Trace, n int) []trace.Cost { return gossipCosts(form, t, n) },
	}
}

// gossipCosts are the rounds until every process had the rumor, beside the
// textbook's, and the messages sent until then and in all.
func gossipCosts(form broadcast.GossipForm, t *trace.Trace, n int) []trace.Cost {
	st := broadcast.GossipStatsOf(t)
	rounds, formula := broadcast.GossipRounds(form, n, 1)
	var costs []trace.Cost
	if st.Infected == n {
		costs = append(costs, trace.Cost{Name: "rounds until every process had the rumor", Value: float64(st.Rounds), Unit: "rounds",
			Textbook: fmt.Sprintf("%s = %.1f", formula, rounds)})
		tb := ""
		if form == broadcast.Push {
			tb = fmt.Sprintf("≈ N(ln N + 1) = %.0f (Θ(N log N), Karp et al. 2000)", broadcast.GossipPushMessages(n))
		}
		costs = append(costs, trace.Cost{Name: "messages until every process had the rumor", Value: float64(st.MessagesToCover), Textbook: tb})
	} else {
		costs = append(costs, trace.Cost{Name: "processes the rumor never reached", Value: float64(n - st.Infected)})
	}
	costs = append(costs, trace.Cost{Name: "messages sent (until the rumor's lifetime ended)", Value: float64(st.Messages),
		Textbook: fmt.Sprintf("lifetime %d rounds", broadcast.DefaultLifetime(form, n, 1))})
	return costs
}

// broadcastCatalog lists the broadcast algorithms: Cachin et al.'s
// best-effort, reliable, FIFO and causal broadcast, total order by a
// sequencer and by Lamport's timestamps, and gossip in three forms. The
// first five share a workload: 100 broadcasts in bursts of 3, one sender
// crashing in the middle of one.
func broadcastCatalog() []*algorithm {
	return []*algorithm{
		{
			Name:       "broadcast/best-effort",
			FaultModel: "perfect links (no loss), crash-stop; no agreement: a sender that crashes mid-broadcast reaches only some",
			Summary:    broadcast.BestEffortDescription + "; a sender crashes mid-broadcast",
			Nodes:      4,
			Length:     5 * time.Second,
			Ops:        100,
			Messages:   broadcast.BestEffortMessages(),
			Variants:   []variant{{Name: "no-self", Summary: "the broadcaster skips itself in the loop over the group and never delivers its own message"}},
			New: func(v string, _ int) node.Factory {
				cfg := broadcast.BestEffortConfig{NoSelf: v == "no-self"}
				return func(node.ID) node.Process { return broadcast.NewBestEffort(cfg) }
			},
			Workload:    broadcastWorkload(),
			GroundTruth: true,
			Check:       broadcast.CheckBestEffort,
			Textbook: func(n int) textbook {
				return textbook{PerOp: broadcast.TextbookBestEffortMessages(n), Formula: "N−1"}
			},
			Costs: func(t *trace.Trace, n int) []trace.Cost {
				return []trace.Cost{{Name: "messages delivered by some correct processes, not all", Value: float64(broadcast.PartlyDelivered(t)),
					Textbook: "allowed: best-effort promises no agreement"}}
			},
		},
		{
			Name:       "broadcast/reliable",
			FaultModel: "perfect links (no loss), crash-stop (any number); regular, not uniform, agreement",
			Summary:    broadcast.ReliableDescription + "; a sender crashes mid-broadcast",
			Nodes:      4,
			Length:     5 * time.Second,
			Ops:        100,
			Messages:   broadcast.ReliableMessages(),
			Variants:   []variant{{Name: "no-relay", Summary: "deliver without relaying: a sender that crashes mid-broadcast leaves some correct processes without its message"}},
			New: func(v string, _ int) node.Factory {
				cfg := broadcast.ReliableConfig{NoRelay: v == "no-relay"}
				return func(node.ID) node.Process { return broadcast.NewReliable(cfg) }
			},
			Workload:    broadcastWorkload(),
			GroundTruth: true,
			Check:       broadcast.CheckReliable,
			Textbook: func(n int) textbook {
				return textbook{PerOp: broadcast.TextbookReliableMessages(n), Formula: "N(N−1)"}
			},
		},
		{
			Name:       "broadcast/fifo",
			Reorder:    true,
			FaultModel: "perfect links (no loss, any order), crash-stop",
			Summary:    broadcast.FIFODescription + "; a sender crashes mid-broadcast",
			Nodes:      4,
			Length:     5 * time.Second,
			Ops:        100,
			Messages:   broadcast.FIFOMessages(),
			Variants:   []variant{{Name: "no-order", Summary: "deliver each message as reliable broadcast delivers it, without waiting for the sender's earlier ones"}},
			New: func(v string, _ int) node.Factory {
				cfg := broadcast.FIFOConfig{NoOrder: v == "no-order"}
				return func(node.ID) node.Process { return broadcast.NewFIFO(cfg) }
			},
			Workload:    broadcastWorkload(),
			GroundTruth: true,
			Check:       broadcast.CheckFIFO,
			Textbook: func(n int) textbook {
				return textbook{PerOp: broadcast.TextbookReliableMessages(n), Formula: "N(N−1), as reliable broadcast"}
			},
		},
		{
			Name:       "broadcast/causal",
			Reorder:    true,
			FaultModel: "perfect links (no loss, any order), crash-stop",
			Summary:    broadcast.CausalDescription + "; a sender crashes mid-broadcast",
			Nodes:      4,
			Length:     5 * time.Second,
			Ops:        100,
			Messages:   broadcast.CausalMessages(),
			Variants:   []variant{{Name: "no-wait", Summary: "deliver each message as reliable broadcast delivers it, without waiting for W ≤ V"}},
			New: func(v string, _ int) node.Factory {
				cfg := broadcast.CausalConfig{NoWait: v == "no-wait"}
				return func(node.ID) node.Process { return broadcast.NewCausal(cfg) }
			},
			Workload:    broadcastWorkload(),
			GroundTruth: true,
			Check:       broadcast.CheckCausal,
			Textbook: func(n int) textbook {
				return textbook{PerOp: broadcast.TextbookReliableMessages(n), Formula: "N(N−1), as reliable broadcast",
					Note: fmt.Sprintf("N = %d counters per message", n)}
			},
		},
		{
			Name:       "broadcast/sequencer",
			Reorder:    true,
			FaultModel: "reliable links (any order), crash-stop of any process but the sequencer n0",
			Summary:    broadcast.SequencerDescription + "; a sender crashes mid-broadcast",
			Nodes:      4,
			Length:     5 * time.Second,
			Ops:        100,
			Messages:   broadcast.SequencerMessages(),
			Variants:   []variant{{Name: "local-first", Summary: "the sender delivers its own message at once instead of waiting for the sequencer's number"}},
			New: func(v string, _ int) node.Factory {
				cfg := broadcast.SequencerConfig{LocalFirst: v == "local-first"}
				return func(node.ID) node.Process { return broadcast.NewSequencer(cfg) }
			},
			Workload:    broadcastWorkload(0),
			GroundTruth: true,
			Check:       broadcast.CheckSequencer,
			Textbook: func(n int) textbook {
				return textbook{PerOp: broadcast.TextbookSequencerMessages(n), Formula: "N − 1/N (1 to the sequencer + N−1 from it; N−1 for its own)"}
			},
		},
		{
			Name:       "broadcast/total-order",
			FaultModel: "reliable FIFO links, no crashes",
			Summary:    "Lamport's totally ordered multicast: timestamped, queued by (ts, sender), delivered when all have acknowledged",
			Nodes:      4,
			Length:     5 * time.Second,
			Ops:        100,
			Messages:   broadcast.TotalOrderMessages(),
			Variants:   []variant{{Name: "early-deliver", Summary: "deliver the head of the queue without waiting for every acknowledgement"}},
			New: func(v string, _ int) node.Factory {
				cfg := broadcast.TotalOrderConfig{EarlyDeliver: v == "early-deliver"}
				return func(node.ID) node.Process { return broadcast.NewTotalOrder(cfg) }
			},
			Workload: func(s *sim.Sim, ops int, length time.Duration) { broadcast.TotalOrderWorkload(s, ops, length) },
			Check:    broadcast.CheckTotalOrder,
			Textbook: func(n int) textbook {
				return textbook{PerOp: broadcast.TextbookMessagesPerMulticast(n), Formula: "N(N−1)"}
			},
		},
		gossipEntry(broadcast.Push, "broadcast/gossip",
			"Push gossip in rounds (Demers et al. 1987): every informed process pushes the rumor to a random peer each round; log₂N + ln N rounds (Pittel 1987)"),
		gossipEntry(broadcast.Pull, "broadcast/gossip-pull",
			"Pull gossip in rounds (Demers et al. 1987): every uninformed process asks a random peer each round; log₂N + O(log log N) rounds"),
		gossipEntry(broadcast.PushPull, "broadcast/gossip-pushpull",
			"Push-pull gossip in rounds (Karp et al. 2000): every process calls a random peer each round, informed ones push, others pull; log₃N + O(log log N) rounds"),
	}
}
