package broadcast_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/broadcast"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// algorithm is one of Cachin et al.'s broadcasts or the sequencer, as the
// catalog builds it.
type algorithm struct {
	name     string // as in the catalog: broadcast/NAME
	variants []string
	new      func(variant string) node.Process
	messages []any
	check    func(*trace.Trace) []trace.Check
	spare    []node.ID // processes the workload must not crash
}

var algorithms = []algorithm{
	{
		name: "best-effort", variants: []string{"no-self"}, messages: broadcast.BestEffortMessages(), check: broadcast.CheckBestEffort,
		new: func(v string) node.Process {
			return broadcast.NewBestEffort(broadcast.BestEffortConfig{NoSelf: v == "no-self"})
		},
	},
	{
		name: "reliable", variants: []string{"no-relay"}, messages: broadcast.ReliableMessages(), check: broadcast.CheckReliable,
		new: func(v string) node.Process {
			return broadcast.NewReliable(broadcast.ReliableConfig{NoRelay: v == "no-relay"})
		},
	},
	{
		name: "fifo", variants: []string{"no-order"}, messages: broadcast.FIFOMessages(), check: broadcast.CheckFIFO,
		new: func(v string) node.Process { return broadcast.NewFIFO(broadcast.FIFOConfig{NoOrder: v == "no-order"}) },
	},
	{
		name: "causal", variants: []string{"no-wait"}, messages: broadcast.CausalMessages(), check: broadcast.CheckCausal,
		new: func(v string) node.Process {
			return broadcast.NewCausal(broadcast.CausalConfig{NoWait: v == "no-wait"})
		},
	},
	{
		name: "sequencer", variants: []string{"local-first"}, messages: broadcast.SequencerMessages(), check: broadcast.CheckSequencer,
		new: func(v string) node.Process {
			return broadcast.NewSequencer(broadcast.SequencerConfig{LocalFirst: v == "local-first"})
		},
		spare: []node.ID{0},
	},
}

func algorithmNamed(t testing.TB, name string) algorithm {
	for _, a := range algorithms {
		if a.name == name {
			return a
		}
	}
	t.Fatalf("no algorithm %q", name)
	return algorithm{}
}

// reordering is the network of most runs here: messages overtake each
// other, and one in twenty is delivered twice.
var reordering = sim.Link{Latency: sim.Uniform(1*time.Millisecond, 10*time.Millisecond), Reorder: true, Duplicate: 0.05}

// bscenario is one simulated run of a broadcast algorithm.
type bscenario struct {
	alg        algorithm
	variant    string
	n          int
	seed       uint64
	link       sim.Link // zero: sim.DefaultLink
	broadcasts int      // 0: 30
	burst      int      // 0: 3
	noCrash    bool     // no sender crashes mid-broadcast
	schedule   string
}

// run plans the workload as the catalog does (PlanWorkload over the first
// 100 ms), stages the crash mid-broadcast, and runs until quiescence.
func (sc bscenario) run(t testing.TB) *trace.Trace {
	t.Helper()
	s, plan := sc.sim(t)
	stage(s, plan)
	if err := s.Run(runFor); err != nil {
		t.Fatalf("%v\nreplay: %s", err, sc.replay(t))
	}
	if s.Now() >= runFor {
		t.Fatalf("the run did not quiesce within %v\nreplay: %s", runFor, sc.replay(t))
	}
	return s.Trace()
}

func (sc bscenario) sim(t testing.TB) (*sim.Sim, []broadcast.Step) {
	t.Helper()
	link := sc.link
	if link == (sim.Link{}) {
		link = sim.DefaultLink
	}
	schedule, err := sim.ParseSchedule(sc.schedule, sc.n)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.Config{Nodes: sc.n, Seed: sc.seed, Network: sim.Network{Default: link}, Schedule: schedule,
		New: func(node.ID) node.Process { return sc.alg.new(sc.variant) }, Registry: node.NewRegistry(sc.alg.messages...), MaxSteps: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	k, burst := sc.broadcasts, sc.burst
	if k == 0 {
		k = 30
	}
	if burst == 0 {
		burst = 3
	}
	plan := broadcast.PlanWorkload(s.Rand(), s.Group(), broadcast.WorkloadConfig{Broadcasts: k, Window: workloadSpan,
		Burst: burst, CrashSender: !sc.noCrash, Spare: sc.alg.spare})
	return s, plan
}

// stage submits a plan as the catalog does: a crash mid-broadcast is a cut
// from the sender to the processes it does not reach, the request, and the
// crash, at one instant.
func stage(s *sim.Sim, plan []broadcast.Step) {
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

func (sc bscenario) replay(t testing.TB) string { return replay(t.(*testing.T)) }

// seeds is the number of seeds of a property test: BROADCAST_SEEDS for a
// long sweep.
func seeds(t testing.TB, short int) uint64 {
	if s := os.Getenv("BROADCAST_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("BROADCAST_SEEDS=%q: want a positive count", s)
		}
		return uint64(n)
	}
	return uint64(short)
}

// Every algorithm keeps every property it promises over many seeds, with a
// sender crashing mid-broadcast, on links that reorder and duplicate, in
// groups of 1 to 5; and answers the request of every broadcast its sender
// delivers.
func TestBroadcastProperties(t *testing.T) {
	k := seeds(t, 20)
	for _, a := range algorithms {
		for _, n := range []int{1, 2, 3, 5} {
			for seed := uint64(1); seed <= k; seed++ {
				t.Run(fmt.Sprintf("%s/N=%d/seed=%d", a.name, n, seed), func(t *testing.T) {
					sc := bscenario{alg: a, n: n, seed: seed, link: reordering}
					tr := sc.run(t)
					for _, c := range a.check(tr) {
						if !c.OK {
							t.Errorf("%s: %s\nreplay: %s", c.Property, c.Detail, replay(t))
						}
					}
					own := 0
					for _, d := range trace.Emitted[broadcast.Delivered](tr) {
						if d.Value.Sender == d.Node {
							own++
						}
					}
					if replies := len(tr.Filter(trace.Reply)); replies != own {
						t.Errorf("%d replies for %d deliveries of own broadcasts", replies, own)
					}
				})
			}
		}
	}
}

// Best-effort broadcast keeps its promises, but agreement, which it does
// not promise, fails in some runs: the sender crashed having reached some
// correct processes and not others. Reliable broadcast never lets that
// happen on the same runs.
func TestBestEffortHasNoAgreement(t *testing.T) {
	partly := 0
	for seed := uint64(1); seed <= 10; seed++ {
		for _, name := range []string{"best-effort", "reliable"} {
			tr := bscenario{alg: algorithmNamed(t, name), n: 4, seed: seed}.run(t)
			agreement := broadcast.Check(tr, broadcast.PropAgreement)[0]
			switch name {
			case "best-effort":
				if !trace.AllOK(broadcast.CheckBestEffort(tr)) {
					t.Errorf("seed %d: %+v", seed, broadcast.CheckBestEffort(tr))
				}
				if p := broadcast.PartlyDelivered(tr); p > 0 {
					partly++
					if agreement.OK {
						t.Errorf("seed %d: %d messages partly delivered, yet agreement holds: %s", seed, p, agreement.Detail)
					}
					if partly == 1 {
						t.Logf("best-effort, seed %d: %s", seed, agreement.Detail)
					}
				}
			case "reliable":
				if !agreement.OK || broadcast.PartlyDelivered(tr) != 0 {
					t.Errorf("reliable, seed %d: %s", seed, agreement.Detail)
				}
			}
		}
	}
	if partly < 5 {
		t.Errorf("a sender crashing mid-broadcast left its message partly delivered in only %d of 10 best-effort runs", partly)
	}
}

// With nothing lost, duplicated or crashed, each broadcast costs exactly the
// textbook's messages: N−1 for best-effort, N(N−1) for eager reliable
// broadcast and the FIFO and causal broadcasts over it, and for the
// sequencer 1 + (N−1), or N−1 when the sequencer itself broadcasts.
func TestMessagesPerBroadcast(t *testing.T) {
	for _, a := range algorithms {
		for _, n := range []int{1, 2, 3, 4, 7} {
			tr := bscenario{alg: a, n: n, seed: 3, link: sim.Link{Latency: sim.Uniform(time.Millisecond, 10*time.Millisecond), Reorder: true}, noCrash: true}.run(t)
			if !trace.AllOK(a.check(tr)) {
				t.Fatalf("%s N=%d: %+v", a.name, n, a.check(tr))
			}
			want := 0.0
			sends := trace.Emitted[broadcast.Sent](tr)
			for _, s := range sends {
				switch a.name {
				case "best-effort":
					want += broadcast.TextbookBestEffortMessages(n)
				case "sequencer":
					want += float64(n - 1)
					if s.Node != 0 {
						want++
					}
				default:
					want += broadcast.TextbookReliableMessages(n)
				}
			}
			got := len(tr.Filter(trace.Send))
			if float64(got) != want {
				t.Errorf("%s N=%d: %d messages for %d broadcasts, want %.0f", a.name, n, got, len(sends), want)
			}
		}
	}
	if got, want := broadcast.TextbookSequencerMessages(4), 4-0.25; got != want {
		t.Errorf("TextbookSequencerMessages(4) = %v, want %v", got, want)
	}
}

// Each broken variant is caught, within a few seeds, by the property it
// breaks, on the network and workload the catalog gives it.
func TestBrokenVariantsAreCaught(t *testing.T) {
	cases := []struct {
		alg, variant, prop string
		link               sim.Link
	}{
		{"best-effort", "no-self", broadcast.PropValidity, sim.Link{}},
		{"reliable", "no-relay", broadcast.PropAgreement, sim.Link{}},
		{"fifo", "no-order", broadcast.PropFIFOOrder, reordering},
		{"causal", "no-wait", broadcast.PropCausalOrder, reordering},
		{"sequencer", "local-first", broadcast.PropTotalOrder, reordering},
	}
	for _, c := range cases {
		caught := uint64(0)
		for seed := uint64(1); seed <= 5 && caught == 0; seed++ {
			tr := bscenario{alg: algorithmNamed(t, c.alg), variant: c.variant, n: 4, seed: seed, link: c.link}.run(t)
			for _, v := range broadcast.Check(tr, c.prop) {
				if !v.OK {
					caught = seed
					t.Logf("%s --variant %s, seed %d: %s: %s", c.alg, c.variant, seed, v.Property, v.Detail)
				}
			}
		}
		if caught == 0 {
			t.Errorf("%s --variant %s: %s held on seeds 1..5", c.alg, c.variant, c.prop)
		}
	}
}

// Causal order is more than FIFO order. n0 asks a question; n1 delivers it
// (within 1 ms), relays it and, 10 ms later, broadcasts its answer; n0's own
// copy to n2 takes 100 ms, and the link n1 → n2 reorders, so the answer
// can reach n2 before n1's relay of the question. Waiting causal broadcast
// holds the answer back until the question is delivered; the no-wait
// variant delivers the answer first, and the checker names the question as
// its causal predecessor, though they come from different senders.
func TestAnswerOvertakesQuestion(t *testing.T) {
	run := func(variant string, seed uint64) *trace.Trace {
		a := algorithmNamed(t, "causal")
		fast := sim.Link{Latency: sim.Constant(time.Millisecond)}
		s, err := sim.New(sim.Config{Nodes: 3, Seed: seed, New: func(node.ID) node.Process { return a.new(variant) },
			Registry: node.NewRegistry(a.messages...),
			Network: sim.Network{Default: fast, Links: map[sim.Pair]sim.Link{
				{From: 0, To: 2}: {Latency: sim.Constant(100 * time.Millisecond)},
				{From: 1, To: 2}: {Latency: sim.Uniform(time.Millisecond, 60*time.Millisecond), Reorder: true},
			}}})
		if err != nil {
			t.Fatal(err)
		}
		s.Request(0, 0, broadcast.Broadcast{Payload: "question"})
		s.Request(10*time.Millisecond, 1, broadcast.Broadcast{Payload: "answer"})
		if err := s.Run(time.Second); err != nil {
			t.Fatal(err)
		}
		return s.Trace()
	}
	// received lists the payloads of the copies n2 received, in order.
	received := func(tr *trace.Trace) []string {
		var out []string
		for _, e := range tr.Filter(trace.Deliver) {
			if e.Node == 2 {
				out = append(out, fmt.Sprint(e.Value))
			}
		}
		return out
	}
	for seed := uint64(1); seed <= 20; seed++ {
		correct, broken := run("", seed), run("no-wait", seed)
		if !trace.AllOK(broadcast.CheckCausal(correct)) {
			t.Fatalf("seed %d: waiting causal broadcast: %+v", seed, broadcast.CheckCausal(correct))
		}
		c := broadcast.Check(broken, broadcast.PropCausalOrder)[0]
		if c.OK {
			continue
		}
		want := `n2 delivered 1:n1 "answer"`
		if !strings.Contains(c.Detail, want) || !strings.Contains(c.Detail, `before 1:n0 "question", which causally precedes it`) {
			t.Fatalf("seed %d: %s, want %s before the question", seed, c.Detail, want)
		}
		t.Logf("seed %d: n2 received %v; no-wait: %s", seed, received(broken), c.Detail)
		return
	}
	t.Fatal("the answer never overtook the question in 20 seeds")
}

// Eager reliable broadcast over FIFO links is already FIFO and causal: every
// relayer passes a sender's messages on in the order it got them, and a
// process relays what it delivers before it broadcasts anything after. So
// the broken variants go unnoticed there, which is why the catalog runs
// FIFO and causal broadcast on reordering links.
func TestFIFOLinksHideTheOrderBugs(t *testing.T) {
	for _, c := range []struct{ alg, variant string }{{"fifo", "no-order"}, {"causal", "no-wait"}} {
		for seed := uint64(1); seed <= 5; seed++ {
			tr := bscenario{alg: algorithmNamed(t, c.alg), variant: c.variant, n: 4, seed: seed}.run(t)
			if checks := algorithmNamed(t, c.alg).check(tr); !trace.AllOK(checks) {
				t.Errorf("%s --variant %s on FIFO links, seed %d: %+v", c.alg, c.variant, seed, checks)
			}
		}
	}
}

// The textbook's crash mid-broadcast, staged exactly: n0's message reaches
// n1 and not n2, and n0 crashes. Reliable broadcast delivers it at n2
// through n1's relay; without relaying, n2 never gets it and agreement
// fails; best-effort broadcast leaves n2 without it too, which it is allowed
// to.
func TestCrashMidBroadcast(t *testing.T) {
	run := func(name, variant string) *trace.Trace {
		a := algorithmNamed(t, name)
		s, err := sim.New(sim.Config{Nodes: 3, Seed: 1, New: func(node.ID) node.Process { return a.new(variant) },
			Registry: node.NewRegistry(a.messages...)})
		if err != nil {
			t.Fatal(err)
		}
		stage(s, []broadcast.Step{
			{At: time.Millisecond, Sender: 1, Op: broadcast.Broadcast{Payload: "before"}},
			{At: 50 * time.Millisecond, Sender: 0, Op: broadcast.Broadcast{Payload: "last words"}, Crash: true, Reaches: []node.ID{1}},
		})
		if err := s.Run(time.Second); err != nil {
			t.Fatal(err)
		}
		return s.Trace()
	}
	delivered := func(tr *trace.Trace, at node.ID) []string {
		var out []string
		for _, d := range trace.Emitted[broadcast.Delivered](tr) {
			if d.Node == at {
				out = append(out, d.Value.Payload)
			}
		}
		return out
	}
	for _, c := range []struct {
		name, variant string
		n2            []string
		agreement     bool
	}{
		{"reliable", "", []string{"before", "last words"}, true},
		{"reliable", "no-relay", []string{"before"}, false},
		{"best-effort", "", []string{"before"}, false},
		{"fifo", "", []string{"before", "last words"}, true},
		{"causal", "", []string{"before", "last words"}, true},
	} {
		tr := run(c.name, c.variant)
		got := delivered(tr, 2)
		agreement := broadcast.Check(tr, broadcast.PropAgreement)[0]
		if !slices.Equal(got, c.n2) || agreement.OK != c.agreement {
			t.Errorf("%s %s: n2 delivered %q, agreement %v (%s); want %q, %v", c.name, c.variant, got, agreement.OK, agreement.Detail, c.n2, c.agreement)
		}
		if !slices.Equal(delivered(tr, 1), []string{"before", "last words"}) {
			t.Errorf("%s %s: n1 delivered %q", c.name, c.variant, delivered(tr, 1))
		}
	}
}

// Loss breaks the perfect links these algorithms assume: validity and
// agreement may fail (nothing is retransmitted), but no safety property
// does.
func TestLossBreaksLivenessNotSafety(t *testing.T) {
	lossy := reordering
	lossy.Loss = 0.1
	failed := 0
	for _, a := range algorithms {
		for seed := uint64(1); seed <= 5; seed++ {
			tr := bscenario{alg: a, n: 4, seed: seed, link: lossy}.run(t)
			for _, c := range a.check(tr) {
				switch {
				case c.OK:
				case c.Property == broadcast.PropValidity || c.Property == broadcast.PropAgreement:
					failed++
				default:
					t.Errorf("%s seed %d with loss: %s: %s", a.name, seed, c.Property, c.Detail)
				}
			}
		}
	}
	if failed == 0 {
		t.Error("10% loss never cost validity or agreement")
	}
}

// PlanWorkload draws bursts from the group's processes, reproducibly, and
// makes the latest burst from a process that may crash end in the crash,
// reaching between 1 and N−2 others.
func TestPlanWorkload(t *testing.T) {
	group := []node.ID{0, 1, 2, 3, 4}
	for seed := uint64(1); seed <= 50; seed++ {
		s, _ := bscenario{alg: algorithmNamed(t, "sequencer"), n: 5, seed: seed, broadcasts: 20}.sim(t)
		plan := broadcast.PlanWorkload(s.Rand(), group, broadcast.WorkloadConfig{Broadcasts: 20, Window: time.Second, Burst: 3, CrashSender: true, Spare: []node.ID{0}})
		if len(plan) != 20 {
			t.Fatalf("seed %d: %d steps, want 20", seed, len(plan))
		}
		crashes := 0
		var crash broadcast.Step
		for i, st := range plan {
			if st.Op.Payload != fmt.Sprintf("m%d", i+1) || st.At < 0 || st.At >= time.Second {
				t.Fatalf("seed %d: step %d is %+v", seed, i, st)
			}
			if i%3 != 0 && (st.At != plan[i-1].At || st.Sender != plan[i-1].Sender) {
				t.Fatalf("seed %d: step %d breaks its burst: %+v after %+v", seed, i, st, plan[i-1])
			}
			if st.Crash {
				crashes++
				crash = st
				if i%3 != 2 && i != len(plan)-1 {
					t.Fatalf("seed %d: the crash is not at the end of a burst (step %d)", seed, i)
				}
			}
		}
		if crashes != 1 || crash.Sender == 0 || len(crash.Reaches) < 1 || len(crash.Reaches) > 3 || slices.Contains(crash.Reaches, crash.Sender) {
			t.Fatalf("seed %d: %d crashes, the last %+v", seed, crashes, crash)
		}
		for _, st := range plan {
			if st.Sender != 0 && st.At > crash.At {
				t.Fatalf("seed %d: a burst at %v from a process that may crash is later than the crash at %v", seed, st.At, crash.At)
			}
		}
	}
	if plan := broadcast.PlanWorkload(nil, []node.ID{0, 1}, broadcast.WorkloadConfig{}); plan != nil {
		t.Errorf("no broadcasts planned %v", plan)
	}
	s1, p1 := bscenario{alg: algorithmNamed(t, "reliable"), n: 2, seed: 9}.sim(t)
	_, p2 := bscenario{alg: algorithmNamed(t, "reliable"), n: 2, seed: 9}.sim(t)
	if !slices.EqualFunc(p1, p2, func(a, b broadcast.Step) bool { return a.At == b.At && a.Sender == b.Sender && a.Op == b.Op }) {
		t.Error("the same seed planned two workloads")
	}
	for _, st := range p1 {
		if st.Crash {
			t.Errorf("a group of %d planned a crash mid-broadcast: %+v", len(s1.Group()), st)
		}
	}
}
