package election_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/election"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// scenario is one simulated run of an election algorithm, built exactly as
// `synod sim election/ALGO` builds it from the flags replay prints, so that
// a failing seed can be rerun from the command line.
type scenario struct {
	algo    string // "bully" or "ring"
	variant string // "" or a broken variant's catalog name
	n       int
	seed    uint64
	length  time.Duration
	// ops is the number of coordinator crashes CoordinatorCrashes plans
	// (the catalog's --ops); 0 plans none.
	ops      int
	link     sim.Link // zero: sim.DefaultLink
	nemesis  sim.Nemesis
	schedule string
}

// factory builds the processes and registry of the scenario's algorithm
// and variant, as the catalog does.
func (sc scenario) factory(t testing.TB) (node.Factory, *node.Registry) {
	switch sc.algo {
	case "bully":
		cfg := election.DefaultBullyConfig()
		cfg.IgnoreAnswers = sc.variant == "ignore-ok"
		return func(node.ID) node.Process { return election.NewBully(cfg) }, node.NewRegistry(election.BullyMessages()...)
	case "ring":
		cfg := election.DefaultRingConfig()
		cfg.NoSkip, cfg.PickInitiator = sc.variant == "no-skip", sc.variant == "pick-initiator"
		return func(node.ID) node.Process { return election.NewRing(cfg) }, node.NewRegistry(election.RingMessages()...)
	}
	t.Fatalf("unknown algorithm %q", sc.algo)
	return nil, nil
}

// sim prepares the run: the configuration and the coordinator crashes.
func (sc scenario) sim(t testing.TB) *sim.Sim {
	t.Helper()
	f, reg := sc.factory(t)
	link := sc.link
	if link == (sim.Link{}) {
		link = sim.DefaultLink
	}
	schedule, err := sim.ParseSchedule(sc.schedule, sc.n)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.Config{Nodes: sc.n, New: f, Registry: reg, Seed: sc.seed,
		Network: sim.Network{Default: link}, Nemesis: sc.nemesis, Schedule: schedule, MaxSteps: 5_000_000})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range election.CoordinatorCrashes(s.Group(), sc.ops, sc.length) {
		a := sim.Crash(f.Node)
		if f.Restart {
			a = sim.Restart(f.Node)
		}
		s.At(f.At, a)
	}
	return s
}

// run simulates the scenario for its length and returns the trace.
func (sc scenario) run(t testing.TB) *trace.Trace {
	t.Helper()
	s := sc.sim(t)
	if err := s.Run(sc.length); err != nil {
		t.Fatalf("%v\nreplay: %s", err, sc.replay())
	}
	return s.Trace()
}

// replay is the command line that reruns the scenario.
func (sc scenario) replay() string {
	args := []string{"go run ./cmd/synod sim election/" + sc.algo}
	flag := func(name string, value any) { args = append(args, "--"+name, fmt.Sprint(value)) }
	if sc.variant != "" {
		flag("variant", sc.variant)
	}
	flag("nodes", sc.n)
	flag("time", sc.length)
	flag("ops", sc.ops)
	args = append(append(args, sc.link.Flags()...), sc.nemesis.Flags()...)
	if sc.schedule != "" {
		args = append(args, "--schedule", strconv.Quote(sc.schedule))
	}
	flag("seed", sc.seed)
	return strings.Join(args, " ")
}

// verdicts indexes checks by property.
func verdicts(checks []trace.Check) map[string]trace.Check {
	m := map[string]trace.Check{}
	for _, c := range checks {
		m[c.Property] = c
	}
	return m
}

// seeds is how many seeds the property tests sweep: 20 by default, more
// with ELECTION_SEEDS=n.
func seeds(t *testing.T) uint64 {
	if s := os.Getenv("ELECTION_SEEDS"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 {
			t.Fatalf("bad ELECTION_SEEDS=%q", s)
		}
		return n
	}
	return 20
}

// expectPass fails the test with the replay command unless every check passed.
func expectPass(t *testing.T, sc scenario, checks []trace.Check) {
	t.Helper()
	for _, c := range checks {
		if !c.OK {
			t.Errorf("seed %d: %s: %s\nreplay: %s", sc.seed, c.Property, c.Detail, sc.replay())
		}
	}
}

// leaders lists the coordinators the group agreed on, one after another,
// without repeats.
func leaders(m election.Measure) []node.ID {
	var ids []node.ID
	for _, e := range m.Episodes {
		if e.End >= 0 && (len(ids) == 0 || ids[len(ids)-1] != e.Leader) {
			ids = append(ids, e.Leader)
		}
	}
	return ids
}

func measure(algo string, tr *trace.Trace) election.Measure {
	if algo == "ring" {
		return election.MeasureRing(tr)
	}
	return election.MeasureBully(tr)
}

// On a healthy network, whoever crashes, the survivors elect the highest of
// them, and a process that comes back takes over again: with one crash the
// group follows n(N−1), then n(N−2), then n(N−1) again; with two crashes
// n(N−3) leads in between.
func TestCoordinatorCrashesAndComesBack(t *testing.T) {
	for _, algo := range []string{"bully", "ring"} {
		for _, n := range []int{3, 5, 9} {
			for _, ops := range []int{1, 2} {
				top := node.ID(n - 1)
				want := []node.ID{top, top - 1, top}
				if ops == 2 {
					want = []node.ID{top, top - 1, top - 2, top - 1, top}
				}
				for seed := uint64(1); seed <= seeds(t); seed++ {
					sc := scenario{algo: algo, n: n, seed: seed, length: 10 * time.Second, ops: ops}
					tr := sc.run(t)
					expectPass(t, sc, election.Check(tr))
					if got := leaders(measure(algo, tr)); !slices.Equal(got, want) {
						t.Errorf("%s N=%d ops=%d seed %d: the group agreed on %v, want %v\nreplay: %s", algo, n, ops, seed, got, want, sc.replay())
					}
				}
			}
		}
	}
}

// Lost, duplicated and reordered messages and random crashes, pauses and
// partitions (until 5 s) do not keep the group from agreeing on the highest
// live process once they stop; the faults really happen.
func TestLossAndRandomFaults(t *testing.T) {
	link := sim.Link{Latency: sim.Uniform(time.Millisecond, 5*time.Millisecond), Loss: 0.05, Duplicate: 0.05, Reorder: true}
	nem := sim.Nemesis{Crash: 1, RestartAfter: 200 * time.Millisecond, Partition: 1, PartitionFor: 200 * time.Millisecond,
		Pause: 1, PauseFor: 100 * time.Millisecond, Stop: 5 * time.Second}
	for _, algo := range []string{"bully", "ring"} {
		var crashes, partitions, lost, judged int
		for seed := uint64(1); seed <= 3*seeds(t); seed++ {
			sc := scenario{algo: algo, n: 5, seed: seed, length: 10 * time.Second, ops: 1, link: link, nemesis: nem}
			tr := sc.run(t)
			checks := election.Check(tr)
			expectPass(t, sc, checks)
			m := trace.Measure(tr)
			crashes += m.Crashes
			partitions += len(tr.Filter(trace.Partition))
			lost += m.DroppedFor(trace.DropLoss)
			if !strings.HasPrefix(verdicts(checks)[election.PropElectedHighest].Detail, "no election") {
				judged++
			}
		}
		t.Logf("%s: %d crashes, %d partitions, %d messages lost; elections judged in %d runs", algo, crashes, partitions, lost, judged)
		if crashes == 0 || partitions == 0 || lost == 0 || judged == 0 {
			t.Errorf("%s: the runs did not exercise the faults (%d crashes, %d partitions, %d lost, %d judged)", algo, crashes, partitions, lost, judged)
		}
	}
}

// A partition that cuts the coordinator off makes a second leader on the
// other side while it lasts: the algorithms assume there are none. The
// checker does not hold that against them, and once the partition heals
// the higher coordinator wins back the lower one's followers.
func TestPartitionMakesTwoLeadersUntilItHeals(t *testing.T) {
	for _, algo := range []string{"bully", "ring"} {
		sc := scenario{algo: algo, n: 5, seed: 1, length: 6 * time.Second, schedule: "1s partition n0,n1,n2|n3,n4; 3s heal"}
		tr := sc.run(t)
		expectPass(t, sc, election.Check(tr))
		m := measure(algo, tr)
		if m.TwoLeaders < 1500*time.Millisecond || m.TwoLeaders > 2*time.Second {
			t.Errorf("%s: two coordinators for %v, want most of the 2 s partition\nreplay: %s", algo, m.TwoLeaders, sc.replay())
		}
		var minority []string
		for _, l := range trace.Emitted[election.Leader](tr) {
			if l.Time > time.Second && l.Time < 3*time.Second && l.Value.ID == 2 {
				minority = append(minority, l.Node.String())
			}
		}
		slices.Sort(minority)
		if !slices.Equal(minority, []string{"n0", "n1", "n2"}) {
			t.Errorf("%s: during the partition %v adopted n2, want each of n0, n1 and n2 once\nreplay: %s", algo, minority, sc.replay())
		}
		t.Logf("%s: two coordinators for %v; %s", algo, m.TwoLeaders, verdicts(election.Check(tr))[election.PropAgreement].Detail)
	}
}

// Each broken variant is caught on the first seeds, by the property it
// breaks, with a verdict that says what went wrong.
func TestBrokenVariantsAreCaught(t *testing.T) {
	cases := []struct {
		algo, variant, property string
		detail                  *regexp.Regexp
	}{
		{"bully", "ignore-ok", election.PropElectedHighest,
			regexp.MustCompile(`^election n\d#\d+ \(started at .*\) made n\d coordinator at .*, although n\d was up and reachable throughout`)},
		{"ring", "pick-initiator", election.PropElectedHighest,
			regexp.MustCompile(`^election n\d#\d+ \(started at .*\) made n\d coordinator at .*, although n\d was up and reachable throughout`)},
		{"ring", "no-skip", election.PropTermination,
			regexp.MustCompile(`^n\d started election n\d#\d+ at .* and had no coordinator 1\.05s later, with no fault in between \(it had none until 7\.0`)},
	}
	for _, c := range cases {
		caught := uint64(0)
		for seed := uint64(1); seed <= 5 && caught == 0; seed++ {
			sc := scenario{algo: c.algo, variant: c.variant, n: 5, seed: seed, length: 10 * time.Second, ops: 1}
			v := verdicts(election.Check(sc.run(t)))[c.property]
			if v.OK {
				continue
			}
			caught = seed
			t.Logf("%s --variant %s caught at seed %d: %s: %s\nreplay: %s", c.algo, c.variant, seed, v.Property, v.Detail, sc.replay())
			if !c.detail.MatchString(v.Detail) {
				t.Errorf("%s --variant %s: verdict %q does not match %v", c.algo, c.variant, v.Detail, c.detail)
			}
		}
		if caught == 0 {
			t.Errorf("%s --variant %s: %s passed on seeds 1..5", c.algo, c.variant, c.property)
		}
	}
}

// The ring without skipping, with its dead process never coming back, never
// elects anyone again: the checker reports which processes have no leader,
// not a hang.
func TestRingWithoutSkipNeverAgreesAfterCrashStop(t *testing.T) {
	sc := scenario{algo: "ring", variant: "no-skip", n: 5, seed: 1, length: 5 * time.Second, schedule: "1s crash n4"}
	v := verdicts(election.Check(sc.run(t)))[election.PropAgreement]
	want := regexp.MustCompile(`^faults stopped at 1s \(crash n4\); at the end \(.*\) the highest live process is n3, but n0 has no leader: its election n0#\d+, started at .*, never finished; .*`)
	if v.OK || !want.MatchString(v.Detail) {
		t.Fatalf("agreement: %v %q, want a failure matching %v\nreplay: %s", v.OK, v.Detail, want, sc.replay())
	}
	t.Logf("%s: %s", v.Property, v.Detail)
}

// The bully algorithm assumes a synchronous system: an OK must come back
// within AnswerTimeout (30 ms). On links of 20 ms each way it cannot, and a
// lower process that calls an election declares itself coordinator while a
// higher one is alive; the checker says so. The heartbeats then make the
// higher one bully it out, so the group still agrees in the end.
func TestBullyNeedsBoundedDelay(t *testing.T) {
	slow := sim.Link{Latency: sim.Constant(20 * time.Millisecond)}
	caught := 0
	for seed := uint64(1); seed <= 10; seed++ {
		sc := scenario{algo: "bully", n: 5, seed: seed, length: 10 * time.Second, ops: 1, link: slow}
		v := verdicts(election.Check(sc.run(t)))
		if c := v[election.PropElectedHighest]; !c.OK {
			if caught == 0 {
				t.Logf("seed %d: %s: %s\nreplay: %s", seed, c.Property, c.Detail, sc.replay())
			}
			caught++
		}
		if c := v[election.PropAgreement]; !c.OK {
			t.Errorf("seed %d: %s: %s\nreplay: %s", seed, c.Property, c.Detail, sc.replay())
		}
	}
	if caught == 0 {
		t.Errorf("round trips of 40 ms against a 30 ms answer timeout never made a lower process usurp a higher one")
	}
}
