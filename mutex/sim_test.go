package mutex_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/mutex"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// algo is one algorithm of the family as the tests drive it, named and
// configured as in synod's catalog, so that a failing run can be replayed
// with `go run ./cmd/synod sim`.
type algo struct {
	name     string // the catalog's name without "mutex/"
	new      func(variant string) node.Factory
	messages []any
	check    func(*trace.Trace) []trace.Check
}

var central = algo{
	name: "central",
	new: func(v string) node.Factory {
		cfg := mutex.CentralConfig{GrantEarly: v == "grant-early"}
		return func(node.ID) node.Process { return mutex.NewCentral(cfg) }
	},
	messages: mutex.CentralMessages(),
	check:    mutex.CheckCentral,
}

// The defaults of a run, as in the catalog: 5 processes, 40 requests in the
// first second of a two-second run.
const (
	defaultNodes  = 5
	defaultOps    = 40
	defaultLength = 2 * time.Second
)

// scenario is one simulated run.
type scenario struct {
	algo    algo
	variant string
	n       int
	seed    uint64
	ops     int           // 0: defaultOps
	length  time.Duration // 0: defaultLength
	link    sim.Link      // zero: the simulator's default
	// schedule is a nemesis schedule in sim.ParseSchedule's syntax.
	schedule string
	nemesis  sim.Nemesis
}

func (sc scenario) withDefaults() scenario {
	if sc.n == 0 {
		sc.n = defaultNodes
	}
	if sc.ops == 0 {
		sc.ops = defaultOps
	}
	if sc.length == 0 {
		sc.length = defaultLength
	}
	return sc
}

// run simulates the scenario with the catalog's workload and returns its
// trace.
func (sc scenario) run(t testing.TB) *trace.Trace {
	t.Helper()
	sc = sc.withDefaults()
	schedule, err := sim.ParseSchedule(sc.schedule, sc.n)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.Config{
		Nodes:    sc.n,
		New:      sc.algo.new(sc.variant),
		Registry: node.NewRegistry(sc.algo.messages...),
		Seed:     sc.seed,
		Network:  sim.Network{Default: sc.link},
		Schedule: schedule,
		Nemesis:  sc.nemesis,
		MaxSteps: 5_000_000,
	})
	if err != nil {
		t.Fatal(err)
	}
	mutex.Workload(s, sc.ops, sc.length)
	if err := s.Run(sc.length); err != nil {
		t.Fatalf("%v\nreplay: %s", err, sc.replay())
	}
	return s.Trace()
}

// replay is the command line that reruns the scenario.
func (sc scenario) replay() string {
	sc = sc.withDefaults()
	args := []string{"go run ./cmd/synod sim mutex/" + sc.algo.name}
	if sc.variant != "" {
		args = append(args, "--variant", sc.variant)
	}
	args = append(args, "--nodes", fmt.Sprint(sc.n), "--ops", fmt.Sprint(sc.ops), "--time", sc.length.String())
	args = append(append(args, sc.link.Flags()...), sc.nemesis.Flags()...)
	if sc.schedule != "" {
		args = append(args, "--schedule", "'"+sc.schedule+"'")
	}
	args = append(args, "--seed", fmt.Sprint(sc.seed))
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

// requireOK fails the test for every failed check, with the replay command.
func requireOK(t *testing.T, sc scenario, checks []trace.Check) {
	t.Helper()
	for _, c := range checks {
		if !c.OK {
			t.Errorf("%s: %s\nseed %d; replay: %s", c.Property, c.Detail, sc.seed, sc.replay())
		}
	}
}

// seeds is the number of seeds of the property tests: MUTEX_SEEDS in the
// environment raises it for a long sweep.
func seeds(t *testing.T, short uint64) uint64 {
	if s := os.Getenv("MUTEX_SEEDS"); s != "" {
		var n uint64
		if _, err := fmt.Sscan(s, &n); err != nil || n == 0 {
			t.Fatalf("bad MUTEX_SEEDS %q", s)
		}
		return n
	}
	return short
}

// duplicating is a healthy network (FIFO, 1–5 ms) that delivers some
// messages twice: every algorithm here must take duplicates in its stride.
var duplicating = sim.Link{Latency: sim.Uniform(1*time.Millisecond, 5*time.Millisecond), Duplicate: 0.05}

// answered counts the replies to Acquire requests in a trace.
func answered(tr *trace.Trace) int {
	n := 0
	for _, e := range tr.Filter(trace.Reply) {
		if _, ok := e.Value.(mutex.ExitCS); ok {
			n++
		}
	}
	return n
}

// requireCorrect runs the correct algorithm over many seeds and group sizes
// on a healthy but duplicating network, and requires every check to pass and
// every request to be answered.
func requireCorrect(t *testing.T, a algo, sizes []int, seedCount uint64) {
	for _, n := range sizes {
		for seed := uint64(1); seed <= seeds(t, seedCount); seed++ {
			sc := scenario{algo: a, n: n, seed: seed, link: duplicating}
			tr := sc.run(t)
			requireOK(t, sc, a.check(tr))
			if got := answered(tr); got != sc.withDefaults().ops {
				t.Errorf("N=%d seed %d: %d of %d requests answered\nreplay: %s", n, seed, got, sc.withDefaults().ops, sc.replay())
			}
		}
	}
}

// requireCaught runs a broken variant until property fails, and requires
// that to happen within a few seeds on the default network.
func requireCaught(t *testing.T, a algo, variant, property string, within uint64) {
	t.Helper()
	for seed := uint64(1); seed <= within; seed++ {
		sc := scenario{algo: a, variant: variant, seed: seed}
		c := verdicts(a.check(sc.run(t)))[property]
		if !c.OK {
			t.Logf("%s --variant %s caught at seed %d: %s: %s\nreplay: %s", a.name, variant, seed, c.Property, c.Detail, sc.replay())
			return
		}
	}
	t.Errorf("%s --variant %s passed %q on seeds 1..%d", a.name, variant, property, within)
}

// costOf runs the default scenario with seed 1 and measures it.
func costOf(t *testing.T, a algo, n int, link sim.Link, measure func(*trace.Trace) mutex.EntryStats) mutex.EntryStats {
	t.Helper()
	sc := scenario{algo: a, n: n, seed: 1, link: link}
	tr := sc.run(t)
	requireOK(t, sc, a.check(tr))
	return measure(tr)
}

// mustMatch fails unless detail matches the pattern.
func mustMatch(t *testing.T, c trace.Check, pattern string) {
	t.Helper()
	if c.OK || !regexp.MustCompile(pattern).MatchString(c.Detail) {
		t.Fatalf("%s: ok=%v %q; want a failure matching %q", c.Property, c.OK, c.Detail, pattern)
	}
	t.Logf("%s: %s", c.Property, c.Detail)
}

// mustPass fails unless c passed with a detail matching the pattern.
func mustPass(t *testing.T, c trace.Check, pattern string) {
	t.Helper()
	if !c.OK || !regexp.MustCompile(pattern).MatchString(c.Detail) {
		t.Errorf("%s: ok=%v %q; want a pass matching %q", c.Property, c.OK, c.Detail, pattern)
	}
}
