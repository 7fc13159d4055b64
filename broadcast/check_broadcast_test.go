package broadcast

import (
	"strings"
	"testing"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

func (b *traceBuilder) restart(n node.ID) {
	b.event(trace.Event{Node: n, Kind: trace.Restart})
	b.event(trace.Event{Node: n, Kind: trace.Start})
}

// allProps is every property Check knows.
var allProps = []string{PropValidity, PropNoDuplication, PropNoCreation, PropAgreement, PropFIFOOrder, PropCausalOrder, PropTotalOrder}

// Each property of the broadcast checker holds on a run that keeps it and
// fails, naming the counterexample, on a run built to break it; the other
// properties are not disturbed by what they do not judge.
func TestCheckBroadcast(t *testing.T) {
	const n0, n1, n2 = node.ID(0), node.ID(1), node.ID(2)
	pass := verdict{ok: true}
	tests := []struct {
		name string
		run  func(b *traceBuilder)
		want map[string]verdict // by property; unlisted properties must pass
	}{
		{
			name: "empty run",
			run:  func(b *traceBuilder) {},
		},
		{
			name: "everyone delivers everything in broadcast order",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.multicast(n0, 2, "b")
				b.delivered(n0, 1, "a", n0, n1, n2)
				b.delivered(n0, 2, "b", n0, n1, n2)
			},
			want: map[string]verdict{
				PropValidity:      {true, "all 3 correct processes delivered all 2 messages"},
				PropNoDuplication: {true, "6 deliveries, none of them a repeat"},
				PropNoCreation:    {true, "every one of the 6 deliveries"},
				PropAgreement:     {true, "each of the 2 messages delivered by a correct process was delivered by all 3 correct processes (0 crashed)"},
				PropFIFOOrder:     {true, "all 6 deliveries kept each sender's broadcast order"},
				PropCausalOrder:   {true, "all 6 deliveries came after their message's causal past"},
				PropTotalOrder:    pass,
			},
		},
		{
			name: "a correct process misses a correct sender's message",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.delivered(n0, 1, "a", n0, n1)
			},
			want: map[string]verdict{
				PropValidity:  {false, `1:n0 "a", broadcast by correct n0 at 1ms, was never delivered by n2`},
				PropAgreement: {false, `correct n0 delivered 1:n0 "a" but correct n2 never did (n0 is correct)`},
			},
		},
		{
			name: "the sender does not deliver its own message",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.delivered(n0, 1, "a", n1, n2)
			},
			want: map[string]verdict{
				PropValidity:  {false, "was never delivered by n0"},
				PropAgreement: {false, "but correct n0 never did"},
			},
		},
		{
			name: "a sender crashes mid-broadcast: best-effort's outcome",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.delivered(n0, 1, "a", n0, n1)
				b.crash(n0)
			},
			// Validity does not oblige anyone by a crashed sender's
			// message; agreement does, once a correct process has it.
			want: map[string]verdict{
				PropValidity:  {true, "all 2 correct processes delivered all 0 messages"},
				PropAgreement: {false, `correct n1 delivered 1:n0 "a" but correct n2 never did (n0 crashed at`},
			},
		},
		{
			name: "only a crashed process delivers: agreement is regular, not uniform",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.delivered(n0, 1, "a", n0)
				b.crash(n0)
			},
			want: map[string]verdict{
				PropAgreement: {true, "each of the 0 messages delivered by a correct process was delivered by all 2 correct processes (1 crashed)"},
			},
		},
		{
			name: "a process delivers twice",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.delivered(n0, 1, "a", n0, n1, n2, n1)
			},
			want: map[string]verdict{
				PropNoDuplication: {false, `n1 delivered 1:n0 "a" twice, at 7ms and 9ms`},
			},
		},
		{
			name: "a restarted process delivers again: a new incarnation",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.delivered(n0, 1, "a", n0, n1, n2)
				b.crash(n1)
				b.restart(n1)
				b.message(n0, n1)
				b.delivered(n0, 1, "a", n1)
			},
			want: map[string]verdict{
				PropNoDuplication: pass,
			},
		},
		{
			name: "a message nobody broadcast",
			run: func(b *traceBuilder) {
				b.delivered(n2, 1, "ghost", n1)
			},
			want: map[string]verdict{
				PropNoCreation:    {false, `n1 delivered 1:n2 "ghost" (at 1ms), which n2 never broadcast`},
				PropAgreement:     {false, "but correct n0, n2 never did"},
				PropCausalOrder:   {true, "all 0 deliveries"},
				PropFIFOOrder:     {true, "all 0 deliveries"},
				PropValidity:      pass,
				PropTotalOrder:    pass,
				PropNoDuplication: pass,
			},
		},
		{
			name: "a payload changed on the way",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.delivered(n0, 1, "a", n0, n1)
				b.delivered(n0, 1, "forged", n2)
			},
			want: map[string]verdict{
				PropNoCreation: {false, `n2 delivered 1:n0 with payload "forged"`},
			},
		},
		{
			name: "a delivery that does not happen after the broadcast",
			run: func(b *traceBuilder) {
				b.delivered(n0, 1, "a", n1)
				b.multicast(n0, 1, "a")
				b.delivered(n0, 1, "a", n0, n2)
			},
			want: map[string]verdict{
				PropNoCreation: {false, `n1 delivered 1:n0 "a" (at 1ms), which does not happen after its broadcast`},
			},
		},
		{
			name: "two broadcasts under one name",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.multicast(n0, 1, "b")
				b.delivered(n0, 1, "a", n0, n1, n2)
			},
			want: map[string]verdict{
				PropNoCreation: {false, `n0 broadcast two messages named 1:n0: "a" at 1ms and "b" at`},
			},
		},
		{
			name: "a relay overtakes: one sender's messages out of order",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.multicast(n0, 2, "b")
				b.delivered(n0, 1, "a", n0, n1)
				b.delivered(n0, 2, "b", n0, n1, n2)
				b.delivered(n0, 1, "a", n2)
			},
			want: map[string]verdict{
				PropFIFOOrder:   {false, `n2 delivered 2:n0 "b" (at 15ms) before 1:n0 "a", which n0 broadcast first`},
				PropCausalOrder: {false, `n2 delivered 2:n0 "b" (at 15ms) before 1:n0 "a", which n0 broadcast first`},
				PropTotalOrder:  {false, "n2's delivery #1"},
			},
		},
		{
			name: "a later message delivered, an earlier one never",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.multicast(n0, 2, "b")
				b.delivered(n0, 1, "a", n0, n1)
				b.delivered(n0, 2, "b", n0, n1, n2)
			},
			want: map[string]verdict{
				PropFIFOOrder:   {false, `n2 delivered 2:n0 "b" (at 15ms) without ever delivering 1:n0 "a"`},
				PropCausalOrder: {false, "without ever delivering"},
				PropValidity:    {false, `1:n0 "a", broadcast by correct n0 at 1ms, was never delivered by n2`},
				PropAgreement:   {false, "correct n2 never did"},
				PropTotalOrder:  {false, "n2's delivery #1"},
			},
		},
		{
			name: "a reply overtakes the message it answers: causal, not FIFO",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "question")
				b.delivered(n0, 1, "question", n0, n1)
				b.multicast(n1, 1, "answer") // n1 answers having delivered the question
				b.delivered(n1, 1, "answer", n1, n0, n2)
				b.delivered(n0, 1, "question", n2)
			},
			want: map[string]verdict{
				PropFIFOOrder:   {true, "all 6 deliveries kept each sender's broadcast order"},
				PropCausalOrder: {false, `n2 delivered 1:n1 "answer" (at 15ms) before 1:n0 "question", which causally precedes it`},
				PropTotalOrder:  {false, "n2's delivery #1"},
			},
		},
		{
			name: "causality through a chain of three",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.delivered(n0, 1, "a", n0, n1, n2)
				b.multicast(n1, 1, "b")
				b.delivered(n1, 1, "b", n1, n2)
				b.multicast(n2, 1, "c") // a → b → c
				b.delivered(n2, 1, "c", n2, n0)
				b.delivered(n1, 1, "b", n0)
				b.delivered(n2, 1, "c", n1)
			},
			want: map[string]verdict{
				PropCausalOrder: {false, `n0 delivered 1:n2 "c" (at 22ms) before 1:n1 "b", which causally precedes it`},
				PropTotalOrder:  {false, "delivery #"},
			},
		},
		{
			name: "received but not delivered is not in the causal past",
			run: func(b *traceBuilder) {
				// n1 receives n0's message (the simulator's happens-before
				// now orders it before anything n1 does) but has not
				// delivered it when it broadcasts b; n2 may deliver b first.
				b.multicast(n0, 1, "a")
				b.multicast(n1, 1, "b")
				b.delivered(n1, 1, "b", n1, n2, n0)
				b.delivered(n0, 1, "a", n0, n1, n2)
			},
			want: map[string]verdict{
				PropCausalOrder: {true, "all 6 deliveries came after their message's causal past (0.0 messages on average)"},
			},
		},
		{
			name: "every process delivers the same sequence",
			run: func(b *traceBuilder) {
				b.multicast(n0, 1, "a")
				b.multicast(n1, 1, "b")
				b.delivered(n1, 1, "b", n0, n1, n2)
				b.delivered(n0, 1, "a", n0, n1, n2)
			},
			want: map[string]verdict{
				PropTotalOrder: {true, "3 processes delivered in the same order"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newTraceBuilder(3)
			tc.run(b)
			checks := Check(&b.t, allProps...)
			if len(checks) != len(allProps) {
				t.Fatalf("%d verdicts for %d properties", len(checks), len(allProps))
			}
			for i, c := range checks {
				if c.Property != allProps[i] {
					t.Fatalf("verdict %d is %q, want %q", i, c.Property, allProps[i])
				}
				want, listed := tc.want[c.Property]
				if !listed {
					want = pass
				}
				if c.OK != want.ok || !strings.Contains(c.Detail, want.detail) {
					t.Errorf("%s: ok=%v %q; want ok=%v containing %q", c.Property, c.OK, c.Detail, want.ok, want.detail)
				}
			}
		})
	}
}

// The presets judge exactly the properties of their abstraction; best-effort
// broadcast is not judged on agreement.
func TestCheckPresets(t *testing.T) {
	b := newTraceBuilder(3)
	b.multicast(0, 1, "a")
	b.delivered(0, 1, "a", 0, 1)
	b.crash(0)
	props := func(checks []trace.Check) string {
		var names []string
		for _, c := range checks {
			names = append(names, c.Property)
		}
		return strings.Join(names, ", ")
	}
	for _, c := range []struct {
		check func(*trace.Trace) []trace.Check
		want  string
		ok    bool
	}{
		{CheckBestEffort, "validity, no duplication, no creation", true},
		{CheckReliable, "validity, no duplication, no creation, agreement", false},
		{CheckFIFO, "validity, no duplication, no creation, agreement, FIFO order", false},
		{CheckCausal, "validity, no duplication, no creation, agreement, causal order", false},
		{CheckSequencer, "validity, no duplication, no creation, agreement, total order", false},
	} {
		checks := c.check(&b.t)
		if got := props(checks); got != c.want || trace.AllOK(checks) != c.ok {
			t.Errorf("got %s (all ok: %v), want %s (all ok: %v)", got, trace.AllOK(checks), c.want, c.ok)
		}
	}
	if got := PartlyDelivered(&b.t); got != 1 {
		t.Errorf("PartlyDelivered = %d, want 1", got)
	}
	if c := Check(&b.t, "liveness"); c[0].OK || !strings.Contains(c[0].Detail, `unknown property "liveness"`) {
		t.Errorf("an unknown property: %+v", c)
	}
}

// A malformed trace (events at no process) cannot make the checker panic.
func TestCheckBroadcastMalformedTrace(t *testing.T) {
	tr := &trace.Trace{Nodes: 2, Events: []trace.Event{
		{Kind: trace.Emit, Node: node.None, Value: Sent{Sender: 0, TS: 1}},
		{Seq: 1, Kind: trace.Emit, Node: node.None, Value: Delivered{Sender: 0, TS: 1}},
		{Seq: 2, Kind: trace.Emit, Node: 1, Value: Delivered{Sender: 5, TS: 1}},
	}}
	checks := Check(tr, allProps...)
	if len(checks) != len(allProps) {
		t.Fatalf("%d verdicts, want %d", len(checks), len(allProps))
	}
	if c := checks[2]; c.Property != PropNoCreation || c.OK || !strings.Contains(c.Detail, "which n5 never broadcast") {
		t.Errorf("no creation: %+v, want a failure naming the message from n5", c)
	}
}
