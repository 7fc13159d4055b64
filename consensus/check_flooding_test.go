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
		{"nothing proposed, nothing decided", nil, "", ""},
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
