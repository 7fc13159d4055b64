package consensus

import (
	"fmt"
	"slices"
	"strings"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// FloodingChecker judges a run of flooding consensus from its trace: the
// FloodPropose requests, the FloodDecided events, and the runtime's record
// of crashes and rounds (never what the processes claim about them).
type FloodingChecker struct {
	// Rounds is the bound on termination: every correct process must
	// decide after at most this many rounds (f + D_f, FloodingRounds).
	Rounds int
}

// floodDecision is one FloodDecided event as the trace saw it.
type floodDecision struct {
	node   node.ID
	value  int
	rounds int // rounds completed when it decided: its round tick's round − 1
}

// Check returns four verdicts, each naming the first counterexample:
//
//   - PropValidity: every decided value was proposed by a FloodPropose.
//   - PropIntegrity: no process decides more than once.
//   - PropAgreement: every decision, including those of processes that
//     crash afterwards, is the same value.
//   - PropTermination: every correct process (one that never crashed)
//     decided, after at most Rounds rounds; the pass says after how many.
//     A run without proposals has nothing to decide and passes.
func (c FloodingChecker) Check(t *trace.Trace) []trace.Check {
	proposed := map[int]bool{}
	crashed := map[node.ID]bool{}
	var decisions []floodDecision
	for i := range t.Events {
		e := &t.Events[i]
		switch e.Kind {
		case trace.Request:
			if op, ok := e.Value.(FloodPropose); ok {
				proposed[op.Value] = true
			}
		case trace.Crash:
			crashed[e.Node] = true
		case trace.Emit:
			if d, ok := e.Value.(FloodDecided); ok {
				decisions = append(decisions, floodDecision{node: e.Node, value: d.Value, rounds: e.Round - 1})
			}
		}
	}
	return []trace.Check{
		floodValidity(decisions, proposed),
		floodIntegrity(decisions),
		floodAgreement(decisions),
		c.termination(t.Nodes, decisions, crashed, len(proposed)),
	}
}

func floodValidity(ds []floodDecision, proposed map[int]bool) trace.Check {
	for _, d := range ds {
		if !proposed[d.value] {
			return trace.Failed(PropValidity, "%v decided %d, which no process proposed", d.node, d.value)
		}
	}
	return trace.Passed(PropValidity, "%d decisions, each of a proposed value (%d proposed)", len(ds), len(proposed))
}

func floodIntegrity(ds []floodDecision) trace.Check {
	seen := map[node.ID]floodDecision{}
	for _, d := range ds {
		if first, ok := seen[d.node]; ok {
			return trace.Failed(PropIntegrity, "%v decided twice: %d after %d rounds, then %d after %d", d.node, first.value, first.rounds, d.value, d.rounds)
		}
		seen[d.node] = d
	}
	return trace.Passed(PropIntegrity, "no process decided twice")
}

func floodAgreement(ds []floodDecision) trace.Check {
	if len(ds) == 0 {
		return trace.Passed(PropAgreement, "no process decided")
	}
	byValue := map[int][]string{}
	for _, d := range ds {
		byValue[d.value] = append(byValue[d.value], d.node.String())
	}
	if len(byValue) > 1 {
		values := make([]int, 0, len(byValue))
		for v := range byValue {
			values = append(values, v)
		}
		slices.Sort(values)
		var parts []string
		for _, v := range values {
			parts = append(parts, fmt.Sprintf("%s decided %d", strings.Join(byValue[v], ", "), v))
		}
		return trace.Failed(PropAgreement, "%s", strings.Join(parts, "; "))
	}
	return trace.Passed(PropAgreement, "all %d decisions are %d", len(ds), ds[0].value)
}

func (c FloodingChecker) termination(n int, ds []floodDecision, crashed map[node.ID]bool, proposals int) trace.Check {
	if proposals == 0 && len(ds) == 0 {
		return trace.Passed(PropTermination, "no process proposed anything, so none can decide")
	}
	decided := map[node.ID]int{}
	for _, d := range ds {
		if _, ok := decided[d.node]; !ok {
			decided[d.node] = d.rounds
		}
	}
	latest, correct := 0, 0
	for p := range node.ID(n) {
		if crashed[p] {
			continue
		}
		correct++
		r, ok := decided[p]
		switch {
		case !ok:
			return trace.Failed(PropTermination, "%v never crashed and never decided", p)
		case r > c.Rounds:
			return trace.Failed(PropTermination, "%v decided after %d rounds; the bound is %d", p, r, c.Rounds)
		}
		latest = max(latest, r)
	}
	return trace.Passed(PropTermination, "all %d correct processes decided, the last after %d rounds (bound %d); %d crashed",
		correct, latest, c.Rounds, len(crashed))
}

// FloodingCosts measures a run of flooding consensus on graph g with f
// crashes tolerated, beside the textbook: the rounds until the last
// decision (f+1 on the complete graph, f+D_f on others), and the messages
// each correct process sent (one per neighbour per round).
func FloodingCosts(t *trace.Trace, g *Graph, f int) []trace.Cost {
	crashed := map[node.ID]bool{}
	for _, e := range t.Filter(trace.Crash) {
		crashed[e.Node] = true
	}
	rounds := 0
	for _, d := range trace.Emitted[FloodDecided](t) {
		rounds = max(rounds, d.Round-1)
	}
	sent := 0
	for _, e := range t.Filter(trace.Send) {
		if _, ok := e.Value.(FloodProposals); ok && !crashed[e.Node] {
			sent++
		}
	}
	correct, degrees := 0, 0
	for p := range node.ID(g.N()) {
		if !crashed[p] {
			correct++
			degrees += len(g.Neighbors(p))
		}
	}
	bound, err := FloodingRounds(g, f)
	if err != nil {
		return nil
	}
	var roundsBook, msgBook string
	switch {
	case g.N() < 2:
		roundsBook, msgBook = "0 (a process alone decides at once)", "0"
	case g.complete():
		roundsBook = fmt.Sprintf("f+1 = %d", bound)
		msgBook = fmt.Sprintf("(f+1)(N−1) = %d", bound*(g.N()-1))
	default:
		roundsBook = fmt.Sprintf("f+D_f = %d+%d = %d (diameter %d)", f, bound-f, bound, g.Diameter())
		msgBook = fmt.Sprintf("(f+D_f)·degree = %s", trace.Cost{Value: float64(bound*degrees) / float64(max(correct, 1))})
	}
	costs := []trace.Cost{{Name: "rounds to decide", Value: float64(rounds), Unit: "rounds", Textbook: roundsBook}}
	if correct > 0 {
		costs = append(costs, trace.Cost{Name: "messages per correct process", Value: float64(sent) / float64(correct), Textbook: msgBook})
	}
	return costs
}
