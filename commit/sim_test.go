package commit_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/commit"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// scenario is one simulated run of a commit protocol, built exactly as
// `synod sim commit/2pc` (or commit/3pc) builds it from the flags replay
// prints, so that a failing seed can be rerun from the command line.
type scenario struct {
	proto   string // "2pc" or "3pc"
	n       int
	seed    uint64
	length  time.Duration
	ops     int
	link    sim.Link // zero: sim.DefaultLink
	nemesis sim.Nemesis
}

// run simulates the scenario and returns its trace.
func (sc scenario) run(t testing.TB) *trace.Trace {
	t.Helper()
	var f node.Factory
	var reg *node.Registry
	switch sc.proto {
	case "2pc":
		cfg := commit.DefaultTwoPhaseConfig()
		f, reg = func(node.ID) node.Process { return commit.NewTwoPhase(cfg) }, node.NewRegistry(commit.TwoPhaseMessages()...)
	case "3pc":
		cfg := commit.DefaultThreePhaseConfig()
		f, reg = func(node.ID) node.Process { return commit.NewThreePhase(cfg) }, node.NewRegistry(commit.ThreePhaseMessages()...)
	default:
		t.Fatalf("unknown protocol %q", sc.proto)
	}
	link := sc.link
	if link == (sim.Link{}) {
		link = sim.DefaultLink
	}
	s, err := sim.New(sim.Config{Nodes: sc.n, New: f, Registry: reg, Seed: sc.seed, Network: sim.Network{Default: link}, Nemesis: sc.nemesis, MaxSteps: 5_000_000})
	if err != nil {
		t.Fatal(err)
	}
	commit.Workload(s, 0, sc.ops, sc.length*3/4)
	if err := s.Run(sc.length); err != nil {
		t.Fatalf("%v\nreplay: %s", err, sc.replay())
	}
	return s.Trace()
}

// check runs the protocol's checker.
func (sc scenario) check(tr *trace.Trace) []trace.Check {
	if sc.proto == "3pc" {
		return commit.Check3PC(tr)
	}
	return commit.Check2PC(tr)
}

// replay is the command line that reruns the scenario.
func (sc scenario) replay() string {
	args := []string{"go run ./cmd/synod sim commit/" + sc.proto}
	flag := func(name string, value any) { args = append(args, "--"+name, fmt.Sprint(value)) }
	flag("nodes", sc.n)
	flag("time", sc.length)
	flag("ops", sc.ops)
	args = append(append(args, sc.link.Flags()...), sc.nemesis.Flags()...)
	flag("seed", sc.seed)
	return strings.Join(args, " ")
}

// seeds is how many seeds the property tests sweep: COMMIT_SEEDS, or 30.
func seeds(t *testing.T) int {
	if s := os.Getenv("COMMIT_SEEDS"); s != "" {
		k, err := strconv.Atoi(s)
		if err != nil || k < 1 {
			t.Fatalf("bad COMMIT_SEEDS=%q: want a positive count", s)
		}
		return k
	}
	return 30
}

// sweep runs the scenario over many seeds and fails with the replay
// command of each seed that violated a property.
func sweep(t *testing.T, sc scenario) {
	k := seeds(t)
	failures := 0
	for seed := uint64(1); seed <= uint64(k); seed++ {
		sc.seed = seed
		for _, c := range sc.check(sc.run(t)) {
			if !c.OK {
				failures++
				t.Errorf("seed %d: %s: %s\nreplay: %s", seed, c.Property, c.Detail, sc.replay())
				break
			}
		}
		if failures >= 3 {
			t.Fatal("stopping after 3 failing seeds")
		}
	}
}

// Two-phase commit is safe under every fault the simulator has: crashes
// with recovery, loss, duplication, reordering, unbounded delays,
// partitions and pauses. It only blocks; once the faults stop, every
// participant learns the outcome.
func TestTwoPhaseSafeUnderAllFaults(t *testing.T) {
	sweep(t, scenario{proto: "2pc", n: 5, length: 2 * time.Second, ops: 100,
		link: sim.Link{Latency: sim.Exponential(time.Millisecond, 2*time.Millisecond), Loss: 0.02, Duplicate: 0.02, Reorder: true},
		nemesis: sim.Nemesis{Crash: 2, RestartAfter: 50 * time.Millisecond, Partition: 2, PartitionFor: 50 * time.Millisecond,
			Pause: 2, PauseFor: 20 * time.Millisecond, Stop: time.Second}})
}

// Frequent crashes and restarts of any process, the coordinator included.
func TestTwoPhaseSafeUnderCrashRestarts(t *testing.T) {
	sweep(t, scenario{proto: "2pc", n: 5, length: 2 * time.Second, ops: 100,
		nemesis: sim.Nemesis{Crash: 10, RestartAfter: 20 * time.Millisecond, Stop: time.Second}})
}

// Three-phase commit in its fault model: crash-stop failures of all but one
// process, on the default network (every message within Δ = 5 ms). The
// operational participants decide within the bound, whoever crashed.
func TestThreePhaseNonBlockingUnderCrashStop(t *testing.T) {
	for _, n := range []int{3, 5, 9} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			sweep(t, scenario{proto: "3pc", n: n, length: 2 * time.Second, ops: 100,
				nemesis: sim.Nemesis{Crash: 4, MaxDown: n - 1, Stop: time.Second}})
		})
	}
}

// Three-phase commit with crashed processes recovering (BHG §7.5's
// recovery protocol): still safe, and those that stay up still decide
// within the bound.
func TestThreePhaseSafeUnderCrashRecovery(t *testing.T) {
	sweep(t, scenario{proto: "3pc", n: 5, length: 2 * time.Second, ops: 100,
		nemesis: sim.Nemesis{Crash: 4, RestartAfter: 50 * time.Millisecond, Stop: time.Second}})
}

// On a healthy network every transaction costs exactly the textbook's
// messages and message delays, for every group size.
func TestCostsMatchTheTextbook(t *testing.T) {
	for _, n := range []int{2, 3, 5, 9} {
		for _, proto := range []string{"2pc", "3pc"} {
			sc := scenario{proto: proto, n: n, seed: 7, length: 2 * time.Second, ops: 50}
			costs := commit.Measure(sc.run(t))
			commitMsgs, abortMsgs, delays, toDecisions := 4*(n-1), 4*(n-1), 4, 3
			if proto == "3pc" {
				commitMsgs, abortMsgs, delays, toDecisions = 5*(n-1), 3*(n-1), 5, 5
			}
			committed, aborted := 0, 0
			for _, tc := range costs.Txs {
				want, wantDelays := abortMsgs, 0
				if tc.Outcome == commit.Commit {
					committed++
					want, wantDelays = commitMsgs, delays
					if tc.ToDecisions != toDecisions {
						t.Errorf("%s n=%d %v: %d delays until every participant decided, want %d", proto, n, tc.Tx, tc.ToDecisions, toDecisions)
					}
				} else {
					aborted++
				}
				if tc.Messages != want || wantDelays > 0 && tc.Delays != wantDelays {
					t.Errorf("%s n=%d %v (%s): %d messages in %d delays, want %d in %d", proto, n, tc.Tx, tc.Outcome, tc.Messages, tc.Delays, want, wantDelays)
				}
			}
			if committed+aborted != 50 || (n > 2 && aborted == 0) {
				t.Errorf("%s n=%d: %d committed, %d aborted of 50", proto, n, committed, aborted)
			}
			if costs.Blocking.Windows != 0 {
				t.Errorf("%s n=%d: blocking %v without a crash", proto, n, costs.Blocking)
			}
		}
	}
}

// The blocking runs of the catalog: under 2PC every participant waits for
// the crashed coordinator for the whole time it is down; under 3PC no
// longer than its timeout on the coordinator and one termination protocol.
func TestBlockingAgainstNonBlocking(t *testing.T) {
	for _, proto := range []string{"2pc", "3pc"} {
		var f node.Factory
		var reg *node.Registry
		if proto == "2pc" {
			cfg := commit.DefaultTwoPhaseConfig()
			cfg.NoProbability = 0
			f, reg = func(node.ID) node.Process { return commit.NewTwoPhase(cfg) }, node.NewRegistry(commit.TwoPhaseMessages()...)
		} else {
			cfg := commit.DefaultThreePhaseConfig()
			cfg.NoProbability = 0
			f, reg = func(node.ID) node.Process { return commit.NewThreePhase(cfg) }, node.NewRegistry(commit.ThreePhaseMessages()...)
		}
		s, err := sim.New(sim.Config{Nodes: 5, New: f, Registry: reg, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		tx, plan := commit.CrashAfterVoteRequest(0, 1, 100*time.Millisecond, 700*time.Millisecond)
		s.Request(100*time.Millisecond, 0, tx)
		for _, step := range plan {
			a := sim.Crash(step.Node)
			if step.Restart {
				a = sim.Restart(step.Node)
			}
			s.At(step.At, a)
		}
		if err := s.Run(2 * time.Second); err != nil {
			t.Fatal(err)
		}
		b := commit.Blocking(s.Trace())
		if proto == "2pc" {
			// Each of the 4 participants blocks from its YES until the
			// coordinator is back: 600 ms less the first message delay.
			if b.Windows != 4 || b.Longest < 595*time.Millisecond || b.Longest > 600*time.Millisecond {
				t.Errorf("2pc: %v", b)
			}
			mustPassAll(t, commit.Check2PC(s.Trace()))
		} else {
			// One termination protocol after the timeout on the coordinator.
			cfg := commit.DefaultThreePhaseConfig()
			bound := cfg.UncertainTimeout + cfg.ElectionTimeout + cfg.ReportTimeout + cfg.TerminationTimeout
			if b.Windows != 4 || b.Longest > bound {
				t.Errorf("3pc: %v; want 4 windows no longer than %v", b, bound)
			}
			mustPassAll(t, commit.Check3PC(s.Trace()))
		}
	}
}

func mustPassAll(t *testing.T, checks []trace.Check) {
	t.Helper()
	for _, c := range checks {
		if !c.OK {
			t.Errorf("%s: %s", c.Property, c.Detail)
		}
	}
}
