package clocksync_test

import (
	"fmt"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/synod-dev/synod/clocksync"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// algorithm is how the tests build one of the four algorithms, correct or
// in one of its broken variants, as the catalog (cmd/synod) does.
type algorithm struct {
	name     string // as in the catalog: clocksync/<name>
	nodes    int    // the catalog's default group size
	messages []any
	new      func(variant string) func(node.ID) node.Process
	variants []string // the broken variants
	warmUp   time.Duration
	// boundedJitter: the algorithm assumes that two receivers timestamp a
	// message within the default link's spread of each other, so it skips
	// the networks where they may not: unbounded delays, or pauses (a
	// paused process timestamps what arrived meanwhile late).
	boundedJitter bool
}

// opts are the checker's options for the algorithm's runs.
func (a algorithm) opts() clocksync.CheckOptions {
	return clocksync.CheckOptions{Epoch: sim.Epoch, WarmUp: a.warmUp}
}

var algorithms = []algorithm{
	{
		name: "cristian", nodes: 5, messages: clocksync.CristianMessages(),
		new: func(v string) func(node.ID) node.Process {
			cfg := clocksync.CristianConfig{NoHalfRTT: v == "no-half-rtt"}
			cfg.StepBackward = v == "step-backward"
			return func(node.ID) node.Process { return clocksync.NewCristian(cfg) }
		},
		variants: []string{"no-half-rtt", "step-backward"},
		warmUp:   clocksync.CristianConfig{}.WarmUp(),
	},
	{
		name: "ntp", nodes: 5, messages: clocksync.NTPMessages(),
		new: func(v string) func(node.ID) node.Process {
			cfg := clocksync.NTPConfig{LatestSample: v == "latest-sample"}
			cfg.StepBackward = v == "step-backward"
			return func(node.ID) node.Process { return clocksync.NewNTP(cfg) }
		},
		variants: []string{"latest-sample", "step-backward"},
		warmUp:   clocksync.NTPConfig{}.WarmUp(),
	},
	{
		name: "berkeley", nodes: 5, messages: clocksync.BerkeleyMessages(),
		new: func(v string) func(node.ID) node.Process {
			cfg := clocksync.BerkeleyConfig{AbsoluteTime: v == "absolute-time"}
			cfg.StepBackward = v == "step-backward"
			return func(node.ID) node.Process { return clocksync.NewBerkeley(cfg) }
		},
		variants: []string{"absolute-time", "step-backward"},
		warmUp:   clocksync.BerkeleyConfig{}.WarmUp(),
	},
	{
		name: "rbs", nodes: 5, messages: clocksync.RBSMessages(),
		new: func(v string) func(node.ID) node.Process {
			cfg := clocksync.RBSConfig{ExcludeSelf: v == "exclude-self"}
			cfg.StepBackward = v == "step-backward"
			return func(node.ID) node.Process { return clocksync.NewRBS(cfg) }
		},
		variants: []string{"exclude-self", "step-backward"},
		warmUp:   clocksync.RBSConfig{}.WarmUp(),
		// RBS bounds its error by the medium's receive jitter, 4 ms by
		// default.
		boundedJitter: true,
	},
}

// The catalog's defaults: runs of 10 s, read 100 times.
const (
	runFor  = 10 * time.Second
	samples = 100
)

// scenario is one simulated run.
type scenario struct {
	alg      algorithm
	variant  string
	n        int // 0: the catalog's default
	seed     uint64
	link     sim.Link // zero: sim.DefaultLink, as in the catalog
	nemesis  sim.Nemesis
	schedule []sim.Scheduled // after the default clock faults
}

// defaultClocks is the catalog's default clock faults (clocksync.DefaultClock),
// exactly as cmd/synod's clocksyncFaults schedules them, so that a run here
// and its catalog replay give the same trace.
func defaultClocks(n int) []sim.Scheduled {
	var s []sim.Scheduled
	for i := range n {
		off, drift := clocksync.DefaultClock(node.ID(i))
		if off != 0 {
			s = append(s, sim.Scheduled{Action: sim.Skew(node.ID(i), off)})
		}
		if drift != 0 {
			s = append(s, sim.Scheduled{Action: sim.Drift(node.ID(i), drift)})
		}
	}
	return s
}

func (sc scenario) nodes() int {
	if sc.n > 0 {
		return sc.n
	}
	return sc.alg.nodes
}

// run simulates the scenario and returns its trace.
func (sc scenario) run(t *testing.T) *trace.Trace {
	t.Helper()
	n := sc.nodes()
	s, err := sim.New(sim.Config{
		Nodes:    n,
		New:      sc.alg.new(sc.variant),
		Registry: node.NewRegistry(sc.alg.messages...),
		Seed:     sc.seed,
		Network:  sim.Network{Default: sc.link},
		Nemesis:  sc.nemesis,
		Schedule: append(defaultClocks(n), sc.schedule...),
		MaxSteps: 5_000_000,
	})
	if err != nil {
		t.Fatal(err)
	}
	clocksync.SampleWorkload(s, samples, runFor)
	if err := s.Run(runFor); err != nil {
		t.Fatalf("%v\nreplay: %s", err, replay(t))
	}
	return s.Trace()
}

// replay is the command that reruns just the current (sub)test.
func replay(t *testing.T) string {
	return fmt.Sprintf("go test ./clocksync -run '^%s$' -v", regexp.QuoteMeta(t.Name()))
}

// catalogReplay is the command that replays a catalog run: the same
// algorithm, variant, defaults and seed.
func catalogReplay(alg, variant string, seed uint64) string {
	cmd := "go run ./cmd/synod sim clocksync/" + alg
	if variant != "" {
		cmd += " --variant " + variant
	}
	return fmt.Sprintf("%s --seed %d", cmd, seed)
}

func requireOK(t *testing.T, checks []trace.Check, replay string) {
	t.Helper()
	for _, c := range checks {
		if !c.OK {
			t.Errorf("%s failed: %s\nreplay: %s", c.Property, c.Detail, replay)
		}
	}
}

// TestCatalogRunsPass runs each correct algorithm as the catalog does, over
// many seeds, and requires every property to hold and the clocks to have
// been pulled together: the skew after the warm-up is a small fraction of
// the skew of the clocks left alone.
func TestCatalogRunsPass(t *testing.T) {
	seeds := uint64(20)
	if testing.Short() {
		seeds = 5
	}
	for _, alg := range algorithms {
		for seed := uint64(1); seed <= seeds; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", alg.name, seed), func(t *testing.T) {
				tr := scenario{alg: alg, seed: seed}.run(t)
				requireOK(t, clocksync.Check(tr, alg.opts()), catalogReplay(alg.name, "", seed))
				st := clocksync.Measure(tr, alg.opts())
				// Every sample instant after the warm-up has readings.
				if want := int(samples * (runFor - alg.opts().WarmUp) / runFor); st.Instants < want {
					t.Errorf("only %d instants measured, want %d", st.Instants, want)
				}
				if st.MaxRawSkew < 50*time.Millisecond || st.MaxSkew > 10*time.Millisecond {
					t.Errorf("max skew %v, left alone %v: not synchronized\nreplay: %s", st.MaxSkew, st.MaxRawSkew, catalogReplay(alg.name, "", seed))
				}
				t.Logf("%+v", st)
			})
		}
	}
}

// networks are the harsher conditions every correct algorithm must
// survive with its properties intact.
var networks = []struct {
	name     string
	link     sim.Link
	nemesis  sim.Nemesis
	schedule []sim.Scheduled
	// unbounded: two receivers may timestamp a message more than the
	// default link's 4 ms apart.
	unbounded bool
}{
	{name: "jittery", link: sim.Link{Latency: sim.Exponential(500*time.Microsecond, 3*time.Millisecond)}, unbounded: true},
	{name: "slow-lossy", link: sim.Link{Latency: sim.Uniform(time.Millisecond, 10*time.Millisecond), Loss: 0.1, Duplicate: 0.05, Reorder: true}, unbounded: true},
	{name: "lossy", link: sim.Link{Latency: sim.Uniform(time.Millisecond, 5*time.Millisecond), Loss: 0.1, Duplicate: 0.05, Reorder: true}},
	{name: "crashes", nemesis: sim.Nemesis{
		Crash: 1, RestartAfter: 300 * time.Millisecond,
		Partition: 1, PartitionFor: 300 * time.Millisecond,
		Stop: runFor / 2,
	}},
	{name: "pauses", nemesis: sim.Nemesis{Pause: 1, PauseFor: 200 * time.Millisecond, Stop: runFor / 2}, unbounded: true},
	{name: "clock-faults", schedule: []sim.Scheduled{
		{At: 2 * time.Second, Action: sim.Skew(1, 30*time.Millisecond)},
		{At: 2500 * time.Millisecond, Action: sim.Drift(2, -8e-5)},
		{At: 3 * time.Second, Action: sim.Skew(0, -20*time.Millisecond)},
	}},
}

// TestUnderFaults runs each correct algorithm over many seeds on jittery,
// lossy, duplicating and reordering networks, with crashes, partitions and
// pauses, and with clocks set by the nemesis in mid-run, and requires every
// property to hold.
func TestUnderFaults(t *testing.T) {
	seeds := uint64(20)
	if testing.Short() {
		seeds = 4
	}
	for _, alg := range algorithms {
		for _, nw := range networks {
			if nw.unbounded && alg.boundedJitter {
				continue
			}
			for seed := uint64(1); seed <= seeds; seed++ {
				t.Run(fmt.Sprintf("%s/%s/seed=%d", alg.name, nw.name, seed), func(t *testing.T) {
					tr := scenario{alg: alg, seed: seed, link: nw.link, nemesis: nw.nemesis, schedule: nw.schedule}.run(t)
					requireOK(t, clocksync.Check(tr, alg.opts()), replay(t))
					if st := clocksync.Measure(tr, alg.opts()); st.Instants < samples/4 {
						t.Errorf("only %d instants measured: %+v\nreplay: %s", st.Instants, st, replay(t))
					}
				})
			}
		}
	}
}

// TestBrokenVariantsAreCaught runs each deliberately broken variant as the
// catalog does until the checker rejects it, and requires that to happen
// within a few seeds, on the property the bug breaks.
func TestBrokenVariantsAreCaught(t *testing.T) {
	const within = 5 // seeds
	property := map[string]string{
		"no-half-rtt":   clocksync.PropBound,
		"latest-sample": clocksync.PropBound,
		"absolute-time": clocksync.PropBound,
		"exclude-self":  clocksync.PropBound,
		"step-backward": clocksync.PropMonotonic,
	}
	for _, alg := range algorithms {
		for _, v := range alg.variants {
			t.Run(alg.name+"/"+v, func(t *testing.T) {
				for seed := uint64(1); seed <= within; seed++ {
					tr := scenario{alg: alg, variant: v, seed: seed}.run(t)
					for _, c := range clocksync.Check(tr, alg.opts()) {
						if c.OK {
							continue
						}
						if c.Property != property[v] {
							t.Fatalf("seed %d: caught by %q, want %q: %s\nreplay: %s", seed, c.Property, property[v], c.Detail, catalogReplay(alg.name, v, seed))
						}
						t.Logf("caught at seed %d: %s\nreplay: %s", seed, c.Detail, catalogReplay(alg.name, v, seed))
						return
					}
				}
				t.Fatalf("not caught in %d seeds", within)
			})
		}
	}
}

// TestDeterministic: the same seed gives the same readings.
func TestDeterministic(t *testing.T) {
	for _, alg := range algorithms {
		a := trace.Emitted[clocksync.Reading](scenario{alg: alg, seed: 7}.run(t))
		b := trace.Emitted[clocksync.Reading](scenario{alg: alg, seed: 7}.run(t))
		if len(a) != len(b) || len(a) == 0 {
			t.Fatalf("%s: %d readings, then %d", alg.name, len(a), len(b))
		}
		for i := range a {
			if a[i].Time != b[i].Time || a[i].Node != b[i].Node || !reflect.DeepEqual(a[i].Value, b[i].Value) {
				t.Fatalf("%s: reading %d differs: %v %+v, then %v %+v", alg.name, i, a[i].Node, a[i].Value, b[i].Node, b[i].Value)
			}
		}
	}
}
