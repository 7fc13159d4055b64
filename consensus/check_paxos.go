package consensus

import (
	"fmt"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// PropOneChosen is Paxos's own safety property at the acceptors (Paxos
// Made Simple §2.1): only a single value is chosen (accepted by a majority
// of acceptors in one ballot), and a process learns a value only once it
// has been chosen.
const PropOneChosen = "one value chosen"

// paxosRun is what CheckPaxos and PaxosCosts read from a trace.
type paxosRun struct {
	n        int
	proposed map[string]bool
	// decisions are the PaxosDecided events, in order.
	decisions []trace.EmittedEvent[PaxosDecided]
	// chosen are the proposals accepted by a majority, in the order they
	// got it, with the event that completed the majority.
	chosen []paxosChosen
	// up is each process's state at the end; lastFault the time of the
	// last crash, restart, pause, resume, partition or heal (-1: none).
	up        []bool
	lastFault time.Duration
}

type paxosChosen struct {
	ballot PaxosBallot
	value  string
	seq    int // the vote that made the majority
}

func readPaxos(t *trace.Trace) *paxosRun {
	r := &paxosRun{n: t.Nodes, proposed: map[string]bool{}, up: make([]bool, t.Nodes), lastFault: -1}
	votes := map[PaxosBallot]map[node.ID]bool{}
	for i := range t.Events {
		e := &t.Events[i]
		switch e.Kind {
		case trace.Request:
			if op, ok := e.Value.(PaxosPropose); ok {
				r.proposed[op.Value] = true
			}
		case trace.Start:
			r.up[e.Node] = true
		case trace.Crash, trace.Restart, trace.Pause, trace.Resume, trace.Partition, trace.Heal:
			r.lastFault = e.Time
			if e.Kind == trace.Crash {
				r.up[e.Node] = false
			}
		case trace.Emit:
			switch v := e.Value.(type) {
			case PaxosDecided:
				r.decisions = append(r.decisions, trace.EmittedEvent[PaxosDecided]{Event: e, Value: v})
			case PaxosVoted:
				voters := votes[v.Ballot]
				if voters == nil {
					voters = map[node.ID]bool{}
					votes[v.Ballot] = voters
				}
				if voters[e.Node] {
					break
				}
				voters[e.Node] = true
				if len(voters) == r.n/2+1 {
					r.chosen = append(r.chosen, paxosChosen{ballot: v.Ballot, value: v.Value, seq: e.Seq})
				}
			}
		}
	}
	return r
}

// CheckPaxos judges a run of Paxos in which every process is an acceptor
// from its trace: the PaxosPropose requests, the PaxosDecided and
// PaxosVoted events, and the runtime's record of crashes. It returns five
// verdicts, each naming the first counterexample:
//
//   - PropValidity: every decided value was proposed.
//   - PropAgreement: no two processes decided differently, whether or
//     not they crashed afterwards (uniform agreement).
//   - PropIntegrity: no process decided more than once, counting all its
//     incarnations (the decision is durable).
//   - PropTermination: every process up at the end of the run has
//     decided, in this incarnation or an earlier one. Paxos promises this
//     only once a single proposer runs long enough without faults, so the
//     run must leave it time after its faults stop. A run in which no
//     process was asked to propose passes.
//   - PropOneChosen: at most one value was ever accepted by a majority of
//     acceptors in one ballot, and every decision came after its value was
//     so chosen.
func CheckPaxos(t *trace.Trace) []trace.Check {
	r := readPaxos(t)
	return []trace.Check{r.validity(), r.agreement(), r.integrity(), r.termination(), r.oneChosen()}
}

func (r *paxosRun) validity() trace.Check {
	for _, d := range r.decisions {
		if !r.proposed[d.Value.Value] {
			return trace.Failed(PropValidity, "%v decided %q at %v, which no process was asked to propose", d.Node, d.Value.Value, d.Time)
		}
	}
	return trace.Passed(PropValidity, "%d decisions, each of a proposed value (%d proposed)", len(r.decisions), len(r.proposed))
}

func (r *paxosRun) agreement() trace.Check {
	if len(r.decisions) == 0 {
		return trace.Passed(PropAgreement, "no process decided")
	}
	var values []string
	who := map[string][]string{}
	for _, d := range r.decisions {
		v := d.Value.Value
		if _, ok := who[v]; !ok {
			values = append(values, v)
		}
		who[v] = append(who[v], fmt.Sprintf("%v at %v", d.Node, d.Time))
	}
	if len(values) > 1 {
		var parts []string
		for _, v := range values {
			parts = append(parts, fmt.Sprintf("%q by %s", v, strings.Join(who[v], ", ")))
		}
		return trace.Failed(PropAgreement, "decided differently: %s", strings.Join(parts, "; "))
	}
	return trace.Passed(PropAgreement, "all %d decisions are %q", len(r.decisions), values[0])
}

func (r *paxosRun) integrity() trace.Check {
	first := map[node.ID]trace.EmittedEvent[PaxosDecided]{}
	for _, d := range r.decisions {
		if f, ok := first[d.Node]; ok {
			return trace.Failed(PropIntegrity, "%v decided twice: %q at %v, then %q at %v", d.Node, f.Value.Value, f.Time, d.Value.Value, d.Time)
		}
		first[d.Node] = d
	}
	return trace.Passed(PropIntegrity, "no process decided twice, restarts included")
}

func (r *paxosRun) termination() trace.Check {
	if len(r.proposed) == 0 && len(r.decisions) == 0 {
		return trace.Passed(PropTermination, "no process was asked to propose, so none can decide")
	}
	decided := map[node.ID]time.Duration{}
	for _, d := range r.decisions {
		if _, ok := decided[d.Node]; !ok {
			decided[d.Node] = d.Time
		}
	}
	faults := "no faults"
	if r.lastFault >= 0 {
		faults = fmt.Sprintf("faults stopped at %v", r.lastFault)
	}
	var undecided []string
	live := 0
	last := time.Duration(0)
	for p := range node.ID(r.n) {
		if !r.up[p] {
			continue
		}
		live++
		at, ok := decided[p]
		if !ok {
			undecided = append(undecided, p.String())
			continue
		}
		last = max(last, at)
	}
	if len(undecided) > 0 {
		return trace.Failed(PropTermination, "%s up at the end of the run and never decided (%s)", strings.Join(undecided, ", "), faults)
	}
	return trace.Passed(PropTermination, "all %d processes up at the end decided, the last at %v (%s)", live, last, faults)
}

func (r *paxosRun) oneChosen() trace.Check {
	if len(r.chosen) == 0 {
		if len(r.decisions) > 0 {
			d := r.decisions[0]
			return trace.Failed(PropOneChosen, "%v decided %q at %v, but no majority of acceptors ever accepted a proposal", d.Node, d.Value.Value, d.Time)
		}
		return trace.Passed(PropOneChosen, "no value was chosen")
	}
	first := r.chosen[0]
	for _, c := range r.chosen[1:] {
		if c.value != first.value {
			return trace.Failed(PropOneChosen, "two values chosen: %q in ballot %v, then %q in ballot %v, each accepted by a majority of acceptors",
				first.value, first.ballot, c.value, c.ballot)
		}
	}
	for _, d := range r.decisions {
		if d.Seq < first.seq {
			return trace.Failed(PropOneChosen, "%v decided %q at %v, before a majority of acceptors had accepted it", d.Node, d.Value.Value, d.Time)
		}
	}
	ballots := make([]string, len(r.chosen))
	for i, c := range r.chosen {
		ballots[i] = c.ballot.String()
	}
	return trace.Passed(PropOneChosen, "only %q was chosen (in ballot %s), before anyone decided it", first.value, strings.Join(ballots, ", "))
}

// PaxosCosts measures a run of Paxos in a group of n beside the textbook
// (Paxos Made Simple with every acceptor telling every learner; messages to
// self are not sent):
//
//   - the messages of the ballot that got a value chosen: phase 1 sends
//     N−1 prepares and gets N−1 promises, phase 2 sends N−1 accepts and
//     each of the N acceptors tells the N−1 other learners, (N+3)(N−1);
//     phase 2 alone, what a proposer that already holds the promises pays
//     per value (Multi-Paxos's steady state), is (N+1)(N−1);
//   - every message of the run, duels, retries and catch-up included, for
//     its one decided value;
//   - the message delays to commit: the longest causal chain of that
//     ballot's messages from its first prepare to the moment its proposer
//     learns the value is chosen, 4 (prepare, promise, accept, accepted),
//     and from its first accept, 2; left out when that proposer crashed
//     before it learned.
func PaxosCosts(t *trace.Trace, n int) []trace.Cost {
	r := readPaxos(t)
	if len(r.chosen) == 0 || len(r.decisions) == 0 {
		return nil
	}
	b := r.chosen[0].ballot
	var phase1, phase2, all int
	for i := range t.Events {
		e := &t.Events[i]
		if e.Kind != trace.Send {
			continue
		}
		all++
		if ballotOf(e.Value) != b {
			continue
		}
		switch e.Value.(type) {
		case PaxosPrepare, PaxosPromise:
			phase1++
		case PaxosAccept, PaxosAccepted:
			phase2++
		}
	}
	with, without := (n+3)*(n-1), (n+1)*(n-1)
	costs := []trace.Cost{
		{Name: "messages of the deciding ballot, phases 1+2", Value: float64(phase1 + phase2),
			Textbook: fmt.Sprintf("(N+3)(N−1) = %d (fewer when a duel makes acceptors nack it)", with)},
		{Name: "messages of the deciding ballot, phase 2 alone", Value: float64(phase2),
			Textbook: fmt.Sprintf("(N+1)(N−1) = %d (likewise)", without)},
		{Name: "messages in the whole run (duels, retries, catch-up)", Value: float64(all),
			Textbook: fmt.Sprintf("(N+3)(N−1) = %d uncontested", with)},
	}
	if d := messageDelays(t, b, false); d >= 0 {
		costs = append(costs, trace.Cost{Name: "message delays to commit, phases 1+2", Value: float64(d), Textbook: "4: prepare, promise, accept, accepted"})
	}
	if d := messageDelays(t, b, true); d >= 0 {
		costs = append(costs, trace.Cost{Name: "message delays to commit, phase 2 alone", Value: float64(d), Textbook: "2: accept, accepted"})
	}
	return costs
}

// ballotOf is the ballot a phase message belongs to (zero for others).
func ballotOf(msg any) PaxosBallot {
	switch m := msg.(type) {
	case PaxosPrepare:
		return m.Ballot
	case PaxosPromise:
		return m.Ballot
	case PaxosAccept:
		return m.Ballot
	case PaxosAccepted:
		return m.Ballot
	}
	return PaxosBallot{}
}

// messageDelays counts the message delays on the critical path of ballot
// b, from its first prepare (or, with phase2, its first accept) to the
// moment b's proposer learns that its value is chosen: each step of a
// process (a delivery and what the process does in reply) is one delay
// deeper than the message that triggered it, a message leaves with the
// depth of the step that sent it, and messages to self, handled within the
// step, add none. Prepare, promise, accept and accepted make 4. It is −1
// if the proposer did not decide after the path began.
//
// Other learners may learn sooner: with N = 3 the proposer's own acceptor
// and a learner's own vote are a majority, so that learner decides after
// 3 delays (1 for phase 2 alone).
func messageDelays(t *trace.Trace, b PaxosBallot, phase2 bool) int {
	step := make([]int, t.Nodes) // the depth of each process's current step (−1: off the path)
	for i := range step {
		step[i] = -1
	}
	sent := map[uint64]int{}
	started := false
	for i := range t.Events {
		e := &t.Events[i]
		if e.Node < 0 || int(e.Node) >= t.Nodes {
			continue
		}
		switch e.Kind {
		case trace.Deliver:
			step[e.Node] = -1
			if d, ok := sent[e.MsgID]; ok {
				step[e.Node] = d + 1
			}
		case trace.Timer, trace.Request, trace.Start, trace.Crash, trace.Restart:
			step[e.Node] = -1
		case trace.Send:
			if ballotOf(e.Value) != b {
				continue
			}
			_, isPrepare := e.Value.(PaxosPrepare)
			_, isAccept := e.Value.(PaxosAccept)
			if !started && ((!phase2 && isPrepare) || (phase2 && isAccept)) {
				started = true
				step[e.Node] = 0
			}
			if step[e.Node] >= 0 {
				sent[e.MsgID] = step[e.Node]
			}
		case trace.Emit:
			if _, ok := e.Value.(PaxosDecided); ok && e.Node == b.Proposer && started {
				return step[e.Node]
			}
		}
	}
	return -1
}
