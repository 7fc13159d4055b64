package detector_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/detector"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// algo is one detector as the tests drive it, named and configured as in
// synod's catalog, so that a failing run can be replayed with
// `go run ./cmd/synod sim`.
type algo struct {
	name     string // the catalog's name without "detector/"
	new      func(variant string) node.Factory
	messages []any
}

var heartbeat = algo{
	name: "heartbeat",
	new: func(v string) node.Factory {
		cfg := detector.DefaultHeartbeatConfig()
		cfg.FixedTimeout, cfg.SharedTimer = v == "fixed-timeout", v == "shared-timer"
		return func(node.ID) node.Process { return detector.NewHeartbeat(cfg) }
	},
	messages: detector.HeartbeatMessages(),
}

var phi = algo{
	name: "phi",
	new: func(v string) node.Factory {
		cfg := detector.DefaultPhiConfig()
		if v == "low-threshold" {
			cfg.Threshold = detector.LowThreshold
		}
		return func(node.ID) node.Process { return detector.NewPhi(cfg) }
	},
	messages: detector.PhiMessages(),
}

// The defaults of a run, as in the catalog: 5 processes for 10 s, one of
// them crashing for good.
const (
	defaultNodes   = 5
	defaultCrashes = 1
	defaultLength  = 10 * time.Second
)

// scenario is one simulated run: the catalog's fault scenario
// (detector.Scenario) on the given network, with more faults from the
// random nemesis if asked.
type scenario struct {
	algo    algo
	variant string
	n       int
	seed    uint64
	crashes int           // 0: defaultCrashes; negative: none (--ops 0)
	length  time.Duration // 0: defaultLength
	link    sim.Link      // zero: the simulator's default
	nemesis sim.Nemesis
}

func (sc scenario) withDefaults() scenario {
	if sc.n == 0 {
		sc.n = defaultNodes
	}
	if sc.crashes == 0 {
		sc.crashes = defaultCrashes
	}
	sc.crashes = max(sc.crashes, 0)
	if sc.length == 0 {
		sc.length = defaultLength
	}
	return sc
}

// run simulates the scenario and returns its trace.
func (sc scenario) run(t testing.TB) *trace.Trace {
	t.Helper()
	sc = sc.withDefaults()
	s, err := sim.New(sim.Config{
		Nodes:    sc.n,
		New:      sc.algo.new(sc.variant),
		Registry: node.NewRegistry(sc.algo.messages...),
		Seed:     sc.seed,
		Network:  sim.Network{Default: sc.link},
		Nemesis:  sc.nemesis,
		MaxSteps: 5_000_000,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sc.crashes > 0 {
		schedule(s, detector.Scenario(s, sc.crashes, sc.length))
	}
	if err := s.Run(sc.length); err != nil {
		t.Fatalf("%v\nreplay: %s", err, sc.replay())
	}
	return s.Trace()
}

// schedule turns a scenario's faults into nemesis actions, as the catalog
// does.
func schedule(s *sim.Sim, faults []detector.Fault) {
	for _, f := range faults {
		actions := map[detector.FaultKind]func(...node.ID) sim.Action{
			detector.FaultCrash: sim.Crash, detector.FaultPause: sim.Pause, detector.FaultResume: sim.Resume,
		}
		s.At(f.At, actions[f.Kind](f.Node))
	}
}

// replay is the command line that reruns the scenario.
func (sc scenario) replay() string {
	sc = sc.withDefaults()
	args := []string{"go run ./cmd/synod sim detector/" + sc.algo.name}
	if sc.variant != "" {
		args = append(args, "--variant", sc.variant)
	}
	args = append(args, "--nodes", fmt.Sprint(sc.n), "--ops", fmt.Sprint(sc.crashes), "--time", sc.length.String())
	if l := sc.link; l != (sim.Link{}) {
		args = append(args, "--latency", l.Latency.String())
		if l.Loss > 0 {
			args = append(args, "--loss", fmt.Sprint(l.Loss))
		}
	}
	nem := sc.nemesis
	if nem.Crash > 0 {
		args = append(args, "--crashes", fmt.Sprint(nem.Crash), "--restart-after", nem.RestartAfter.String())
		if nem.MaxDown > 0 {
			args = append(args, "--max-down", fmt.Sprint(nem.MaxDown))
		}
	}
	if nem.Pause > 0 {
		args = append(args, "--pauses", fmt.Sprint(nem.Pause), "--pause-for", nem.PauseFor.String())
	}
	if nem.Partition > 0 {
		args = append(args, "--partitions", fmt.Sprint(nem.Partition), "--partition-for", nem.PartitionFor.String())
	}
	if nem.Stop > 0 {
		args = append(args, "--faults-until", nem.Stop.String())
	}
	args = append(args, "--seed", fmt.Sprint(sc.seed))
	return strings.Join(args, " ")
}

// seeds is the number of seeds of the property tests: DETECTOR_SEEDS in the
// environment raises it for a long sweep.
func seeds(t *testing.T, short uint64) uint64 {
	if s := os.Getenv("DETECTOR_SEEDS"); s != "" {
		var n uint64
		if _, err := fmt.Sscan(s, &n); err != nil || n == 0 {
			t.Fatalf("bad DETECTOR_SEEDS %q", s)
		}
		return n
	}
	return short
}

// verdicts indexes checks by property.
func verdicts(checks []trace.Check) map[string]trace.Check {
	m := map[string]trace.Check{}
	for _, c := range checks {
		m[c.Property] = c
	}
	return m
}

// The networks and extra faults of the property tests. Each keeps delays
// and pauses bounded, as partial synchrony demands, except loss, which makes
// silences unbounded but ever rarer.
var conditions = []struct {
	name    string
	link    sim.Link
	nemesis sim.Nemesis
}{
	{name: "steady", link: sim.Link{Latency: sim.Uniform(1*time.Millisecond, 5*time.Millisecond)}},
	{name: "jitter", link: sim.Link{Latency: sim.Uniform(1*time.Millisecond, 60*time.Millisecond)}},
	{name: "exponential", link: sim.Link{Latency: sim.Exponential(time.Millisecond, 10*time.Millisecond)}},
	{name: "loss 5%", link: sim.Link{Latency: sim.Uniform(1*time.Millisecond, 20*time.Millisecond), Loss: 0.05}},
	{name: "pauses", nemesis: sim.Nemesis{Pause: 2, PauseFor: 200 * time.Millisecond, Stop: 5 * time.Second}},
	{name: "crash-stop", nemesis: sim.Nemesis{Crash: 1, MaxDown: 2, Stop: 5 * time.Second}},
	// Crash-recovery ends at 2 s, when the nemesis restarts whatever it
	// crashed, before the scenario's crash-stop (which it would restart too).
	{name: "crash-recovery", nemesis: sim.Nemesis{Crash: 3, RestartAfter: 300 * time.Millisecond, Stop: 2 * time.Second}},
	{name: "partitions", nemesis: sim.Nemesis{Partition: 1, PartitionFor: 300 * time.Millisecond, Stop: 5 * time.Second}},
}

// Both correct detectors satisfy strong completeness and eventual strong
// accuracy over many seeds and group sizes, on every network above, with
// the catalog's crash-stop and slow process and, under some conditions,
// more random faults until half the run. And the runs show what they
// should: crashes detected, and false suspicions (the slow process's first
// pause) that stop.
func TestCorrectDetectors(t *testing.T) {
	for _, a := range []algo{heartbeat, phi} {
		for _, cond := range conditions {
			t.Run(a.name+"/"+cond.name, func(t *testing.T) {
				detections, mistakes := 0, 0
				for _, n := range []int{3, 5} {
					for seed := uint64(1); seed <= seeds(t, 15); seed++ {
						sc := scenario{algo: a, n: n, seed: seed, link: cond.link, nemesis: cond.nemesis}
						tr := sc.run(t)
						for _, c := range detector.Check(tr) {
							if !c.OK {
								t.Errorf("N=%d seed %d: %s: %s\nreplay: %s", n, seed, c.Property, c.Detail, sc.replay())
							}
						}
						r := detector.Analyze(tr)
						detections += len(r.Detections)
						mistakes += len(r.False)
					}
				}
				if detections == 0 || mistakes == 0 {
					t.Errorf("%d detections and %d false suspicions in all: the runs did not exercise the detector", detections, mistakes)
				}
			})
		}
	}
}

// With 10% loss a silence of any length happens now and then, so no
// time-out is ever safe for good; every mistake lengthens the time-out and
// the mistakes get rarer, but a finite run can still catch a late one. The
// detectors pass all but a few runs, and the false suspicions of the last
// half are far fewer than those of the first.
func TestHeavyLoss(t *testing.T) {
	lossy := sim.Link{Latency: sim.Uniform(1*time.Millisecond, 30*time.Millisecond), Loss: 0.1}
	for _, a := range []algo{heartbeat, phi} {
		t.Run(a.name, func(t *testing.T) {
			runs, passed, early, late := 0, 0, 0, 0
			for seed := uint64(1); seed <= seeds(t, 40); seed++ {
				sc := scenario{algo: a, seed: seed, link: lossy}
				tr := sc.run(t)
				runs++
				checks := detector.Check(tr)
				if trace.AllOK(checks) {
					passed++
				} else {
					t.Logf("seed %d: %+v\nreplay: %s", seed, checks, sc.replay())
				}
				for _, s := range detector.Analyze(tr).False {
					if s.At < sc.withDefaults().length/2 {
						early++
					} else {
						late++
					}
				}
			}
			t.Logf("%d of %d runs passed; %d false suspicions in the first half, %d in the second", passed, runs, early, late)
			if passed < runs*9/10 {
				t.Errorf("only %d of %d runs passed", passed, runs)
			}
			if late*5 > early {
				t.Errorf("%d false suspicions in the first half, %d in the second: they do not die out", early, late)
			}
		})
	}
}

// Each broken variant is caught within a few seeds of the catalog's default
// run, by the property it breaks, while the other property holds.
func TestBrokenVariantsAreCaught(t *testing.T) {
	tests := []struct {
		algo     algo
		variant  string
		n        int
		property string
	}{
		{heartbeat, "fixed-timeout", 5, detector.PropAccuracy},
		{heartbeat, "shared-timer", 5, detector.PropCompleteness},
		{heartbeat, "shared-timer", 3, detector.PropCompleteness},
		{phi, "low-threshold", 5, detector.PropAccuracy},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%s/N=%d", tc.algo.name, tc.variant, tc.n), func(t *testing.T) {
			for seed := uint64(1); seed <= 5; seed++ {
				sc := scenario{algo: tc.algo, variant: tc.variant, n: tc.n, seed: seed}
				v := verdicts(detector.Check(sc.run(t)))
				if c := v[tc.property]; !c.OK {
					t.Logf("caught at seed %d: %s: %s\nreplay: %s", seed, c.Property, c.Detail, sc.replay())
					for p, other := range v {
						if p != tc.property && !other.OK {
							t.Errorf("%s failed too: %s\nreplay: %s", p, other.Detail, sc.replay())
						}
					}
					return
				}
			}
			t.Fatalf("%s --variant %s passed %s on seeds 1..5", tc.algo.name, tc.variant, tc.property)
		})
	}
}

// The broken variants are the only difference: the correct detectors pass
// the very runs that catch them.
func TestSameRunsPassWhenCorrect(t *testing.T) {
	for _, a := range []algo{heartbeat, phi} {
		for seed := uint64(1); seed <= 5; seed++ {
			sc := scenario{algo: a, seed: seed}
			if checks := detector.Check(sc.run(t)); !trace.AllOK(checks) {
				t.Errorf("%+v\nreplay: %s", checks, sc.replay())
			}
		}
	}
}

// On a steady network the heartbeat detector's detection time is the
// textbook's: on average T + δ − P/2 after the crash (the last heartbeat
// left up to a period before it), never more than T + δmax, and never less
// than T + δmin − P. The slow process is left out (a paused observer
// detects late); each run crashes one process.
func TestDetectionTimeMatchesTextbook(t *testing.T) {
	cfg := detector.DefaultHeartbeatConfig()
	const lo, hi = 1 * time.Millisecond, 5 * time.Millisecond
	var sum time.Duration
	count := 0
	for seed := uint64(1); seed <= 40; seed++ {
		s, err := sim.New(sim.Config{Nodes: 4, New: heartbeat.new(""), Registry: node.NewRegistry(heartbeat.messages...),
			Seed: seed, Network: sim.Network{Default: sim.Link{Latency: sim.Uniform(lo, hi)}}})
		if err != nil {
			t.Fatal(err)
		}
		crash := time.Second + time.Duration(seed)*37*time.Millisecond
		s.At(crash, sim.Crash(node.ID(seed%4)))
		if err := s.Run(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		r := detector.Analyze(s.Trace())
		if len(r.Detections) != 3 || len(r.False) != 0 {
			t.Fatalf("seed %d: %d detections, %d false suspicions; want 3 and 0", seed, len(r.Detections), len(r.False))
		}
		for _, d := range r.Detections {
			if d.Delay > cfg.Timeout+hi || d.Delay < cfg.Timeout+lo-cfg.Period {
				t.Errorf("seed %d: %v detected %v after %v, outside [T+δmin−P, T+δmax] = [%v, %v]",
					seed, d.Observer, d.Process, d.Delay, cfg.Timeout+lo-cfg.Period, cfg.Timeout+hi)
			}
			sum += d.Delay
			count++
		}
	}
	mean, want := sum/time.Duration(count), cfg.Timeout+(lo+hi)/2-cfg.Period/2
	t.Logf("mean detection time %v over %d detections; textbook T + δ − P/2 = %v", mean, count, want)
	if (mean - want).Abs() > 15*time.Millisecond {
		t.Errorf("mean detection time %v, textbook %v", mean, want)
	}
}

// Every process sends N−1 heartbeats a period, the textbook's figure, and
// nothing else.
func TestMessagesPerPeriod(t *testing.T) {
	for _, a := range []algo{heartbeat, phi} {
		for _, n := range []int{2, 3, 7} {
			tr := scenario{algo: a, n: n, seed: 1, crashes: -1, length: 2 * time.Second}.run(t)
			m := trace.Measure(tr)
			rounds := 21 // at 0, 100 ms, ..., 2 s
			if want := n * (n - 1) * rounds; m.Sent != want || len(m.Types()) != 1 {
				t.Errorf("%s N=%d: %d messages of %d types in 2 s, want %d heartbeats", a.name, n, m.Sent, len(m.Types()), want)
			}
		}
	}
}

// The scenario is reproducible from the seed, crashes distinct processes in
// [length/5, length/2], and pauses one other process for SlowPause about
// every SlowEvery until the end of the run; every fault reads back through
// the simulator's schedule syntax as the same action.
func TestScenario(t *testing.T) {
	const length = 10 * time.Second
	for _, tc := range []struct{ n, crashes, wantCrashes int }{{5, 1, 1}, {5, 3, 3}, {3, 5, 2}, {1, 1, 0}, {2, 1, 1}, {4, 0, 0}} {
		s, err := sim.New(sim.Config{Nodes: tc.n, New: heartbeat.new(""), Registry: node.NewRegistry(heartbeat.messages...), Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		faults := detector.Scenario(s, tc.crashes, length)
		crashed := map[node.ID]bool{}
		var slow []detector.Fault
		for i, f := range faults {
			if i > 0 && f.At < faults[i-1].At {
				t.Errorf("N=%d: faults out of time order: %v after %v", tc.n, f, faults[i-1])
			}
			switch f.Kind {
			case detector.FaultCrash:
				if crashed[f.Node] || f.At < length/5 || f.At > length/2 {
					t.Errorf("N=%d: %v: a second crash of the node, or outside [2s, 5s]", tc.n, f)
				}
				crashed[f.Node] = true
			default:
				slow = append(slow, f)
			}
			parsed, err := sim.ParseSchedule(f.String(), tc.n)
			if err != nil || len(parsed) != 1 || parsed[0].At != f.At || string(parsed[0].Action.Kind) != string(f.Kind) || parsed[0].Action.Nodes[0] != f.Node {
				t.Errorf("fault %v reads back as %v (%v)", f, parsed, err)
			}
		}
		if len(crashed) != tc.wantCrashes {
			t.Errorf("N=%d, %d crashes asked: %d crashed", tc.n, tc.crashes, len(crashed))
		}
		if tc.n-tc.wantCrashes < 2 {
			if len(slow) > 0 {
				t.Errorf("N=%d: a slow process with nobody else up to watch it", tc.n)
			}
			continue
		}
		if len(slow) < 2*int(length/(detector.SlowEvery*13/10)) {
			t.Errorf("N=%d: %d pause/resume faults in %v, want one pair about every %v", tc.n, len(slow), length, detector.SlowEvery)
		}
		for i := 0; i+1 < len(slow); i += 2 {
			p, r := slow[i], slow[i+1]
			if p.Kind != detector.FaultPause || r.Kind != detector.FaultResume || p.Node != r.Node || r.At-p.At != detector.SlowPause || crashed[p.Node] || r.At >= length {
				t.Errorf("N=%d: pause %v then %v: want a %v pause of a process that does not crash, within the run", tc.n, p, r, detector.SlowPause)
			}
			if i+2 < len(slow) {
				if gap := slow[i+2].At - p.At; gap < detector.SlowEvery*7/10 || gap > detector.SlowEvery*13/10 {
					t.Errorf("N=%d: %v between pauses, want %v ± 30%%", tc.n, gap, detector.SlowEvery)
				}
			}
		}
		if last := slow[len(slow)-1].At; last < length-2*time.Second {
			t.Errorf("N=%d: the last pause ends at %v: the slow process must stay slow to the end", tc.n, last)
		}
	}
	again := func() []detector.Fault {
		s, _ := sim.New(sim.Config{Nodes: 5, New: heartbeat.new(""), Registry: node.NewRegistry(heartbeat.messages...), Seed: 7})
		return detector.Scenario(s, 1, length)
	}
	if a, b := fmt.Sprint(again()), fmt.Sprint(again()); a != b {
		t.Errorf("the same seed gave different scenarios:\n%s\n%s", a, b)
	}
}

// The acceptable pause is what keeps the φ detector accurate on a lossy
// network. A normal distribution fitted to intervals of one period, with the
// odd two-period gap of a lost heartbeat, has so thin a tail that two or
// three heartbeats lost in a row look like a crash: without the pause the
// false suspicions never stop (the paper's detector, measured), with Akka's
// three periods they stop at once.
func TestPhiNeedsTheAcceptablePauseOnALossyNetwork(t *testing.T) {
	lossy := sim.Link{Latency: sim.Uniform(time.Millisecond, 20*time.Millisecond), Loss: 0.05}
	for _, tc := range []struct {
		pause      time.Duration
		wantPassed bool
	}{{0, false}, {3 * detector.DefaultPeriod, true}} {
		a := algo{name: "phi", messages: detector.PhiMessages(), new: func(string) node.Factory {
			cfg := detector.DefaultPhiConfig()
			cfg.AcceptablePause = tc.pause
			return func(node.ID) node.Process { return detector.NewPhi(cfg) }
		}}
		passed, late := 0, 0
		for seed := uint64(1); seed <= 10; seed++ {
			sc := scenario{algo: a, seed: seed, crashes: -1, link: lossy}
			tr := sc.run(t)
			ok := trace.AllOK(detector.Check(tr))
			if ok {
				passed++
			}
			if ok != tc.wantPassed {
				t.Errorf("acceptable pause %v, seed %d: checks passed = %v, want %v (replay: go test ./detector -run '^%s$' -v)", tc.pause, seed, ok, tc.wantPassed, t.Name())
			}
			for _, s := range detector.Analyze(tr).False {
				if s.At > sc.withDefaults().length/2 {
					late++
				}
			}
		}
		t.Logf("acceptable pause %v: %d of 10 runs passed, %d false suspicions in their second halves", tc.pause, passed, late)
	}
}
