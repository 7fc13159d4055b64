package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// floodingRound is the default length of a synchronous round.
const floodingRound = 10 * time.Millisecond

// floodingTolerance is the number f of crashes the flooding entries
// tolerate on graph g: a minority, ⌊(N−1)/2⌋, and fewer than the graph's
// vertex connectivity, so that the crashes cannot disconnect it.
func floodingTolerance(g *consensus.Graph) int {
	return max(0, min((g.N()-1)/2, g.Connectivity()-1))
}

// floodingSetup is the graph, f and the correct number of rounds for a
// flooding entry in a group of n. The figures take a search over the
// graph (a second for a ring of 300), so they are kept once computed.
func floodingSetup(graph func(int) *consensus.Graph, n int) (g *consensus.Graph, f, rounds int) {
	g = graph(n)
	key := fmt.Sprintf("%v/%d", g, n)
	if s, ok := floodingSetups.Load(key); ok {
		s := s.(floodingFigures)
		return s.g, s.f, s.rounds
	}
	f = floodingTolerance(g)
	rounds, err := consensus.FloodingRounds(g, f)
	if err != nil {
		panic(err) // floodingTolerance keeps f below the connectivity
	}
	floodingSetups.Store(key, floodingFigures{g, f, rounds})
	return g, f, rounds
}

type floodingFigures struct {
	g         *consensus.Graph
	f, rounds int
}

// floodingSetups caches floodingSetup by graph and size; sweeps run seeds
// in parallel, and a Graph is only read once built.
var floodingSetups sync.Map

// floodingEntry is the catalog entry of flooding consensus on one kind of
// graph. Its workload proposes a distinct value to every process and
// crashes f of them (consensus.FloodingWorkload), half the time as the
// lower bound's adversary does; --ops 0 leaves the processes without
// proposals and crashes.
func floodingEntry(name, summary string, graph func(int) *consensus.Graph, nodes int, variants []variant) *algorithm {
	return &algorithm{
		Name: name,
		FaultModel: "synchronous rounds, no loss; crash-stop of f processes, f = ⌊(N−1)/2⌋ kept below the graph's vertex connectivity " +
			"(so 1 on a ring), a crash may cut a round's sends short",
		Summary:  summary,
		Nodes:    nodes,
		Length:   10 * time.Second,
		Ops:      1,
		Rounds:   floodingRound,
		Messages: consensus.FloodingMessages(),
		Variants: variants,
		New: func(v string, n int) node.Factory {
			g, f, rounds := floodingSetup(graph, n)
			switch v {
			case "early-decide":
				rounds--
			case "plain-diameter":
				rounds = f + g.Diameter()
			}
			cfg := consensus.FloodingConfig{Graph: g, Rounds: rounds}
			return func(node.ID) node.Process { return consensus.NewFlooding(cfg) }
		},
		Workload: func(s *sim.Sim, ops int, _ time.Duration) {
			g, f, rounds := floodingSetup(graph, len(s.Group()))
			length := s.RoundLength()
			if length == 0 {
				length = floodingRound // not in rounds mode: the crashes still come at those times
			}
			for _, c := range consensus.FloodingWorkload(s, g, f, rounds) {
				// Between round c.Round's sends and their delivery.
				at := time.Duration(c.Round)*length + length/2
				if cut := c.Unreached(g); len(cut) > 0 {
					s.At(at, sim.Cut([]node.ID{c.Node}, cut))
				}
				s.At(at, sim.Crash(c.Node))
			}
		},
		Check: func(t *trace.Trace) []trace.Check {
			_, _, rounds := floodingSetup(graph, t.Nodes)
			return consensus.FloodingChecker{Rounds: rounds}.Check(t)
		},
		Textbook: func(n int) textbook {
			_, f, rounds := floodingSetup(graph, n)
			return textbook{Note: fmt.Sprintf("f = %d crashes, %d rounds; one message per neighbour per round", f, rounds)}
		},
		Costs: func(t *trace.Trace, n int) []trace.Cost {
			g, f, _ := floodingSetup(graph, n)
			return consensus.FloodingCosts(t, g, f)
		},
	}
}

// paxosCrashes are the faults that expose a proposer that ignores what
// the acceptors accepted: frequent crash-restarts (of at most a minority at
// once) in the first half of the run. A proposer that crashes before it
// learns the decision comes back knowing nothing of it, tries a ballot of
// its own, and hears of the chosen value only from its promises.
func paxosCrashes(length time.Duration) sim.Nemesis {
	return sim.Nemesis{Crash: 20, RestartAfter: 20 * time.Millisecond, Stop: length / 2}
}

// consensusCatalog lists the consensus algorithms: flooding consensus on
// the complete graph and on a ring, and single-decree Paxos.
func consensusCatalog() []*algorithm {
	earlyDecide := variant{Name: "early-decide", Summary: "decide one round too early (f rounds on the complete graph): the lower bound's adversary makes two processes decide differently"}
	paxosLength := 2 * time.Second
	return []*algorithm{
		floodingEntry("consensus/flooding",
			"Flooding consensus (Lynch's FloodSet) on the complete graph: every process sends the proposals it knows each round and decides the smallest after f+1 rounds; f processes crash, some mid-send",
			consensus.Complete, 5, []variant{earlyDecide}),
		floodingEntry("consensus/flooding-ring",
			"Flooding consensus on a ring, to neighbours only: decides after f + D_f rounds, D_f the diameter the ring keeps after f crashes (N−2, not ⌊N/2⌋)",
			consensus.Ring, 8, []variant{
				{Name: "early-decide", Summary: "decide one round too early (f + D_f − 1): a value carried around a crash arrives too late"},
				{Name: "plain-diameter", Summary: "decide after f + D rounds with D the ring's diameter without crashes: a crash mid-send makes the value go the long way round"},
			}),
		{
			Name:       "consensus/paxos",
			FaultModel: "crash-recovery of a minority, loss, duplication, reordering, any partition; safe always, live once a single proposer runs long enough",
			Summary:    "Single-decree Paxos (Lamport, Paxos Made Simple 2001): --ops proposers duel for their own values with randomized back-off; acceptors sync before answering and tell every learner",
			Nodes:      5,
			Length:     paxosLength,
			Ops:        3,
			Messages:   consensus.PaxosMessages(),
			Variants: []variant{
				{Name: "forget-accepted", Summary: "an acceptor promises without reporting the proposal it accepted: a later proposer chooses a second value", ExposedBy: paxosCrashes(paxosLength)},
				{Name: "ignore-accepted", Summary: "a proposer proposes its own value whatever the promises report", ExposedBy: paxosCrashes(paxosLength)},
				{Name: "unsynced-acceptor", Summary: "an acceptor answers before syncing its promise and vote: after a crash it promises and votes again",
					CaughtBy: "go test ./consensus -run TestPaxosAcceptorMustSync"},
			},
			New: func(v string, _ int) node.Factory {
				cfg := consensus.DefaultPaxosConfig()
				cfg.Broken = consensus.PaxosBroken{
					ForgetAccepted:   v == "forget-accepted",
					IgnoreAccepted:   v == "ignore-accepted",
					UnsyncedAcceptor: v == "unsynced-acceptor",
				}
				return func(node.ID) node.Process { return consensus.NewPaxos(cfg) }
			},
			Workload: func(s *sim.Sim, ops int, _ time.Duration) {
				consensus.PaxosWorkload(s, ops, 10*time.Millisecond)
			},
			Check: consensus.CheckPaxos,
			Textbook: func(n int) textbook {
				return textbook{Note: fmt.Sprintf("(N+3)(N−1) = %d messages and 4 message delays to commit a value; %d and 2 without phase 1", (n+3)*(n-1), (n+1)*(n-1))}
			},
			Costs: func(t *trace.Trace, n int) []trace.Cost { return consensus.PaxosCosts(t, n) },
		},
	}
}
