package consensus_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// paxosRun is one simulated run of Paxos, built as `synod sim
// consensus/paxos` builds it from the flags replay prints.
type paxosRun struct {
	variant   string
	n         int
	proposers int           // --ops
	window    time.Duration // when the proposals come: [0, window)
	seed      uint64
	length    time.Duration
	link      sim.Link // zero: sim.DefaultLink
	nemesis   sim.Nemesis
}

func (r paxosRun) config() consensus.PaxosConfig {
	cfg := consensus.DefaultPaxosConfig()
	cfg.Broken = consensus.PaxosBroken{
		ForgetAccepted:   r.variant == "forget-accepted",
		IgnoreAccepted:   r.variant == "ignore-accepted",
		UnsyncedAcceptor: r.variant == "unsynced-acceptor",
	}
	return cfg
}

func (r paxosRun) run(t *testing.T) *trace.Trace {
	t.Helper()
	cfg := r.config()
	link := r.link
	if link == (sim.Link{}) {
		link = sim.DefaultLink
	}
	s, err := sim.New(sim.Config{Nodes: r.n, Seed: r.seed, Registry: node.NewRegistry(consensus.PaxosMessages()...),
		Network: sim.Network{Default: link}, Nemesis: r.nemesis, MaxSteps: 5_000_000,
		New: func(node.ID) node.Process { return consensus.NewPaxos(cfg) }})
	if err != nil {
		t.Fatal(err)
	}
	consensus.PaxosWorkload(s, r.proposers, r.window)
	if err := s.Run(r.length); err != nil {
		t.Fatalf("%v\nreplay: %s", err, r.replay())
	}
	return s.Trace()
}

// replay is the command line that reruns the run (the catalog's workload
// proposes within 10ms).
func (r paxosRun) replay() string {
	args := []string{"go run ./cmd/synod sim consensus/paxos"}
	flag := func(name string, v any) { args = append(args, fmt.Sprintf("--%s %v", name, v)) }
	if r.variant != "" {
		flag("variant", r.variant)
	}
	flag("nodes", r.n)
	flag("ops", r.proposers)
	flag("time", r.length)
	args = append(append(args, r.link.Flags()...), r.nemesis.Flags()...)
	flag("seed", r.seed)
	if r.window != 10*time.Millisecond {
		args = append(args, fmt.Sprintf("(with proposals within %v, not the catalog's 10ms)", r.window))
	}
	return strings.Join(args, " ")
}

// expectPass fails the test with the replay command unless every check
// passed.
func expectPass(t *testing.T, r paxosRun, checks []trace.Check) bool {
	t.Helper()
	ok := true
	for _, c := range checks {
		if !c.OK {
			t.Errorf("seed %d: %s: %s\nreplay: %s", r.seed, c.Property, c.Detail, r.replay())
			ok = false
		}
	}
	return ok
}

// Under lost, duplicated and reordered messages, partitions of every shape
// and crash-restarts of a minority during the first half of the run,
// Paxos stays safe, and once the faults stop every process decides. The
// proposers either duel at the start or come one by one during the faults,
// when some of them have missed the decision and must find the chosen
// value in their promises. The faults really happen.
func TestPaxosUnderFaults(t *testing.T) {
	link := sim.Link{Latency: sim.Uniform(time.Millisecond, 5*time.Millisecond), Loss: 0.05, Duplicate: 0.05, Reorder: true}
	nem := sim.Nemesis{Partition: 5, PartitionFor: 100 * time.Millisecond, Crash: 5, RestartAfter: 50 * time.Millisecond, Stop: 1500 * time.Millisecond}
	for _, c := range []struct {
		n      int
		window time.Duration
	}{{3, 10 * time.Millisecond}, {5, 10 * time.Millisecond}, {5, 1500 * time.Millisecond}} {
		n := c.n
		var crashes, partitions, lost, nacks, decided int
		for seed := uint64(1); seed <= seeds(t); seed++ {
			r := paxosRun{n: n, proposers: n, window: c.window, seed: seed, length: 3 * time.Second, link: link, nemesis: nem}
			tr := r.run(t)
			if !expectPass(t, r, consensus.CheckPaxos(tr)) {
				break
			}
			m := trace.Measure(tr)
			crashes += m.Crashes
			partitions += len(tr.Filter(trace.Partition))
			lost += m.DroppedFor(trace.DropLoss)
			nacks += m.Type("consensus.PaxosNack").Sent
			decided += len(trace.Emitted[consensus.PaxosDecided](tr))
		}
		t.Logf("N=%d, proposals within %v: %d crashes, %d partitions, %d messages lost, %d nacks, %d decisions", n, c.window, crashes, partitions, lost, nacks, decided)
		if crashes == 0 || partitions == 0 || lost == 0 || nacks == 0 {
			t.Errorf("N=%d, proposals within %v: the runs did not exercise the faults", n, c.window)
		}
	}
}

// Duelling proposers terminate: with every process proposing at the same
// instant, their prepares pre-empt each other, but the randomized back-off
// lets one finish. Every run decides, and the duels really happen.
func TestPaxosDuellingProposersTerminate(t *testing.T) {
	for _, n := range []int{3, 5, 9} {
		var slowest time.Duration
		duels := 0
		for seed := uint64(1); seed <= seeds(t); seed++ {
			r := paxosRun{n: n, proposers: n, window: 0, seed: seed, length: 2 * time.Second}
			tr := r.run(t)
			if !expectPass(t, r, consensus.CheckPaxos(tr)) {
				break
			}
			ds := trace.Emitted[consensus.PaxosDecided](tr)
			slowest = max(slowest, ds[len(ds)-1].Time)
			if trace.Measure(tr).Type("consensus.PaxosNack").Sent > 0 {
				duels++
			}
			// However the duel went, the ballot that won took 4 message
			// delays, 2 of them in phase 2.
			for _, c := range consensus.PaxosCosts(tr, n) {
				if want, ok := map[string]float64{"message delays to commit, phases 1+2": 4, "message delays to commit, phase 2 alone": 2}[c.Name]; ok && c.Value != want {
					t.Errorf("seed %d: %s = %v, want %v\nreplay: %s", seed, c.Name, c.Value, want, r.replay())
				}
			}
		}
		t.Logf("N=%d: %d of %d runs duelled; the slowest decided everywhere by %v", n, duels, seeds(t), slowest)
		if duels == 0 {
			t.Errorf("N=%d: no run duelled", n)
		}
		if slowest > time.Second {
			t.Errorf("N=%d: a run took %v to decide", n, slowest)
		}
	}
}

// The broken variants that frequent crash-restarts expose (the catalog's
// ExposedBy) are caught within 20 seeds; the unsynced acceptor is staged
// exactly by TestPaxosAcceptorMustSync.
func TestPaxosBrokenVariantsAreCaught(t *testing.T) {
	nem := sim.Nemesis{Crash: 20, RestartAfter: 20 * time.Millisecond, Stop: time.Second}
	for _, v := range []string{"forget-accepted", "ignore-accepted"} {
		caught := false
		for seed := uint64(1); seed <= 20 && !caught; seed++ {
			r := paxosRun{variant: v, n: 5, proposers: 3, window: 10 * time.Millisecond, seed: seed, length: 2 * time.Second, nemesis: nem}
			for _, c := range consensus.CheckPaxos(r.run(t)) {
				if !c.OK && !caught {
					caught = true
					t.Logf("%s caught at seed %d: %s: %s\nreplay: %s", v, seed, c.Property, c.Detail, r.replay())
				}
			}
		}
		if !caught {
			t.Errorf("%s not caught in 20 seeds", v)
		}
	}
}

// With one proposer and no faults, a decision costs what Paxos Made Simple
// says: (N+3)(N−1) messages and 4 message delays with phase 1, (N+1)(N−1)
// and 2 for phase 2 alone. On links of a constant 5ms, the proposer learns
// the value is chosen 4 × 5ms after the request.
func TestPaxosCostsMatchTheTextbook(t *testing.T) {
	for _, n := range []int{3, 5, 9} {
		r := paxosRun{n: n, proposers: 1, seed: 1, length: time.Second, link: sim.Link{Latency: sim.Constant(5 * time.Millisecond)}}
		tr := r.run(t)
		expectPass(t, r, consensus.CheckPaxos(tr))
		want := map[string]float64{
			"messages of the deciding ballot, phases 1+2":          float64((n + 3) * (n - 1)),
			"messages of the deciding ballot, phase 2 alone":       float64((n + 1) * (n - 1)),
			"messages in the whole run (duels, retries, catch-up)": float64((n + 3) * (n - 1)),
			"message delays to commit, phases 1+2":                 4,
			"message delays to commit, phase 2 alone":              2,
		}
		costs := consensus.PaxosCosts(tr, n)
		if len(costs) != len(want) {
			t.Fatalf("N=%d: costs %v", n, costs)
		}
		for _, c := range costs {
			if w, ok := want[c.Name]; !ok || c.Value != w {
				t.Errorf("N=%d: %s = %v, want %v (textbook %s)", n, c.Name, c.Value, w, c.Textbook)
			}
		}
		for _, d := range trace.Emitted[consensus.PaxosDecided](tr) {
			if d.Node == 0 && d.Time != 20*time.Millisecond {
				t.Errorf("N=%d: the proposer decided at %v, want 4 × 5ms", n, d.Time)
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
		{"nothing proposed, nothing decided", boot[:3], "", ""},
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
