package consensus_test

import (
	"strings"
	"testing"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// history builds a trace from events, in order.
func history(n int, events ...trace.Event) *trace.Trace {
	t := &trace.Trace{Nodes: n}
	for i := range events {
		t.Record(&events[i])
	}
	return t
}

func propose(p node.ID, v int) trace.Event {
	return trace.Event{Kind: trace.Request, Node: p, Value: consensus.FloodPropose{Value: v}}
}

// decide is p's decision at the start of the given round (after round−1
// rounds).
func decide(p node.ID, v, round int) trace.Event {
	return trace.Event{Kind: trace.Emit, Node: p, Round: round, Value: consensus.FloodDecided{Value: v, Round: round - 1}}
}

func crash(p node.ID) trace.Event { return trace.Event{Kind: trace.Crash, Node: p} }

// Each property of the flooding checker fails on the history that breaks
// it, naming the counterexample, and passes otherwise.
func TestFloodingCheckerCatchesEachViolation(t *testing.T) {
	cases := []struct {
		name     string
		events   []trace.Event
		property string // the one that fails ("" for none)
		detail   string
	}{
		{"good", []trace.Event{propose(0, 5), propose(1, 3), propose(2, 4), crash(1), decide(0, 3, 3), decide(2, 3, 3)}, "", ""},
		{"crashed process decides the same", []trace.Event{propose(0, 5), propose(1, 3), decide(0, 3, 3), decide(1, 3, 3), crash(1)}, "", ""},
		{"unproposed value", []trace.Event{propose(0, 5), propose(1, 3), decide(0, 7, 3), decide(1, 7, 3)}, consensus.PropValidity, "n0 decided 7, which no process proposed"},
		{"decides twice", []trace.Event{propose(0, 5), propose(1, 3), decide(0, 3, 3), decide(1, 3, 3), decide(1, 3, 4)}, consensus.PropIntegrity, "n1 decided twice: 3 after 2 rounds, then 3 after 3"},
		{"disagreement", []trace.Event{propose(0, 5), propose(1, 3), decide(0, 5, 3), decide(1, 3, 3)}, consensus.PropAgreement, "n1 decided 3; n0 decided 5"},
		{"uniform: a process decides, then crashes", []trace.Event{propose(0, 5), propose(1, 3), decide(1, 3, 3), crash(1), decide(0, 5, 3)}, consensus.PropAgreement, "n1 decided 3; n0 decided 5"},
		{"a correct process never decides", []trace.Event{propose(0, 5), propose(1, 3), decide(0, 3, 3)}, consensus.PropTermination, "n1 never crashed and never decided"},
		{"decides too late", []trace.Event{propose(0, 5), propose(1, 3), decide(0, 3, 3), decide(1, 3, 4)}, consensus.PropTermination, "n1 decided after 3 rounds; the bound is 2"},
	}
	for _, c := range cases {
		for _, v := range (consensus.FloodingChecker{Rounds: 2}).Check(history(2, c.events...)) {
			fails := v.Property == c.property
			if v.OK == fails {
				t.Errorf("%s: %s ok=%v (%s)", c.name, v.Property, v.OK, v.Detail)
			}
			if fails && !strings.Contains(v.Detail, c.detail) {
				t.Errorf("%s: %s detail %q, want %q", c.name, v.Property, v.Detail, c.detail)
			}
		}
	}
}

func paxosPropose(p node.ID, v string) trace.Event {
	return trace.Event{Kind: trace.Request, Node: p, Value: consensus.PaxosPropose{Value: v}}
}

func paxosDecide(p node.ID, v string) trace.Event {
	return trace.Event{Kind: trace.Emit, Node: p, Value: consensus.PaxosDecided{Value: v}}
}

func vote(p node.ID, round uint64, proposer node.ID, v string) trace.Event {
	return trace.Event{Kind: trace.Emit, Node: p, Value: consensus.PaxosVoted{Ballot: consensus.PaxosBallot{Round: round, Proposer: proposer}, Value: v}}
}

func start(p node.ID) trace.Event { return trace.Event{Kind: trace.Start, Node: p} }

// Each property of the Paxos checker fails on the history that breaks it,
// naming the counterexample, and passes otherwise.
func TestPaxosCheckerCatchesEachViolation(t *testing.T) {
	boot := []trace.Event{start(0), start(1), start(2), paxosPropose(0, "a"), paxosPropose(2, "c")}
	chosenA := []trace.Event{vote(0, 1, 0, "a"), vote(1, 1, 0, "a")}
	with := func(evs ...[]trace.Event) []trace.Event {
		var out []trace.Event
		for _, e := range evs {
			out = append(out, e...)
		}
		return out
	}
	all := func(v string) []trace.Event {
		return []trace.Event{paxosDecide(0, v), paxosDecide(1, v), paxosDecide(2, v)}
	}
	cases := []struct {
		name     string
		events   []trace.Event
		property string // the one that fails ("" for none)
		detail   string
	}{
		{"good", with(boot, chosenA, all("a")), "", ""},
		{"chosen again in a later ballot", with(boot, chosenA, []trace.Event{vote(2, 2, 2, "a"), vote(1, 2, 2, "a")}, all("a")), "", ""},
		{"a crashed process stays undecided", with(boot, chosenA, []trace.Event{paxosDecide(0, "a"), paxosDecide(1, "a"), crash(2)}), "", ""},
		{"unproposed value", with(boot, []trace.Event{vote(0, 1, 0, "z"), vote(1, 1, 0, "z")}, all("z")), consensus.PropValidity, `n0 decided "z"`},
		{"two decisions differ", with(boot, chosenA, []trace.Event{paxosDecide(0, "a"), paxosDecide(1, "a"), paxosDecide(2, "c")}),
			consensus.PropAgreement, `decided differently: "a" by n0 at 0s, n1 at 0s; "c" by n2 at 0s`},
		{"decides twice", with(boot, chosenA, all("a"), []trace.Event{crash(1), {Kind: trace.Restart, Node: 1}, start(1), paxosDecide(1, "a")}),
			consensus.PropIntegrity, `n1 decided twice`},
		{"a live process never decides", with(boot, chosenA, []trace.Event{paxosDecide(0, "a"), paxosDecide(1, "a")}), consensus.PropTermination, "n2 up at the end of the run and never decided"},
		{"learned before chosen", with(boot, []trace.Event{vote(0, 1, 0, "a"), paxosDecide(0, "a"), vote(1, 1, 0, "a"), paxosDecide(1, "a"), paxosDecide(2, "a")}),
			consensus.PropOneChosen, `n0 decided "a" at 0s, before a majority of acceptors had accepted it`},
		{"never chosen", with(boot, []trace.Event{vote(0, 1, 0, "a")}, all("a")), consensus.PropOneChosen, "no majority of acceptors ever accepted a proposal"},
		{"two values chosen, one learned", with(boot, chosenA, []trace.Event{vote(1, 2, 2, "c"), vote(2, 2, 2, "c")}, all("a")),
			consensus.PropOneChosen, `two values chosen: "a" in ballot 1.n0, then "c" in ballot 2.n2`},
	}
	for _, c := range cases {
		for _, v := range consensus.CheckPaxos(history(3, c.events...)) {
			fails := v.Property == c.property
			if v.OK == fails {
				t.Errorf("%s: %s ok=%v (%s)", c.name, v.Property, v.OK, v.Detail)
			}
			if fails && !strings.Contains(v.Detail, c.detail) {
				t.Errorf("%s: %s detail %q, want %q", c.name, v.Property, v.Detail, c.detail)
			}
		}
	}
}
