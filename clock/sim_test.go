package clock_test

import (
	"fmt"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/synod-dev/synod/clock"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// faulty is the network of the simulated runs: 1–10 ms of latency, messages
// lost, duplicated and overtaking each other.
var faulty = sim.Link{Latency: sim.Uniform(1*time.Millisecond, 10*time.Millisecond), Loss: 0.1, Duplicate: 0.05, Reorder: true}

// runFor bounds a run; with the default workload (30 actions, one every
// 1–20 ms) a run ends by itself after about half a second.
const runFor = 10 * time.Second

// scenario is one simulated run of a clock demo.
type scenario struct {
	n    int
	seed uint64
	new  func() node.Process
	// calm turns off every fault but the crash-restart of one node.
	calm bool
}

// schedule is the nemesis of every run: node seed%n crashes at 60 ms, while
// it is busy, and restarts at 100 ms; then n0 is cut off from the rest for
// 50 ms. Unless calm, a random nemesis adds crashes, partitions and pauses
// until 400 ms, when everything heals and restarts.
func (sc scenario) config() sim.Config {
	k := node.ID(sc.seed % uint64(sc.n))
	cfg := sim.Config{
		Nodes:    sc.n,
		New:      func(node.ID) node.Process { return sc.new() },
		Registry: node.NewRegistry(clock.Messages()...),
		Seed:     sc.seed,
		Network:  sim.Network{Default: faulty},
		Schedule: []sim.Scheduled{
			{At: 60 * time.Millisecond, Action: sim.Crash(k)},
			{At: 100 * time.Millisecond, Action: sim.Restart(k)},
		},
		MaxSteps: 1_000_000,
	}
	if sc.calm {
		cfg.Network.Default = sim.Link{Latency: faulty.Latency}
		return cfg
	}
	if sc.n > 1 {
		rest := make([]node.ID, 0, sc.n-1)
		for i := 1; i < sc.n; i++ {
			rest = append(rest, node.ID(i))
		}
		cfg.Schedule = append(cfg.Schedule,
			sim.Scheduled{At: 120 * time.Millisecond, Action: sim.PartitionGroups([]node.ID{0}, rest)},
			sim.Scheduled{At: 170 * time.Millisecond, Action: sim.Heal()})
	}
	cfg.Nemesis = sim.Nemesis{
		Crash: 10, RestartAfter: 30 * time.Millisecond,
		Partition: 10, PartitionFor: 30 * time.Millisecond,
		Pause: 10, PauseFor: 20 * time.Millisecond,
		Stop: 400 * time.Millisecond,
	}
	return cfg
}

// run simulates the scenario to the end and returns its trace.
func (sc scenario) run(t *testing.T) *trace.Trace {
	t.Helper()
	s, err := sim.New(sc.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(runFor); err != nil {
		t.Fatalf("%v\nreplay: %s", err, replay(t))
	}
	if s.Now() >= runFor {
		t.Fatalf("the run did not end within %v\nreplay: %s", runFor, replay(t))
	}
	return s.Trace()
}

// replay is the command that reruns just the current (sub)test.
func replay(t *testing.T) string {
	return fmt.Sprintf("go test ./clock -run '^%s$' -v", regexp.QuoteMeta(t.Name()))
}

// shape counts what a run did: stamps by event kind, deliveries of clock
// messages, and crashes.
type shape struct {
	local, send, receive, deliveries, crashes int
}

func shapeOf[T any](tr *trace.Trace, event func(T) string) shape {
	var sh shape
	for _, s := range trace.Emitted[T](tr) {
		switch event(s.Value) {
		case clock.EventLocal:
			sh.local++
		case clock.EventSend:
			sh.send++
		case clock.EventReceive:
			sh.receive++
		}
	}
	sh.deliveries = len(tr.Filter(trace.Deliver))
	sh.crashes = len(tr.Filter(trace.Crash))
	return sh
}

// checkShape asserts that the run exercised the clock: every node did all
// its actions (crashes notwithstanding), every delivery was stamped, and
// there were messages and crashes to get wrong.
func checkShape(t *testing.T, sh shape, n int) {
	t.Helper()
	want := n * clock.DefaultWorkload().Actions
	if sh.local+sh.send != want {
		t.Errorf("%d local events and %d sends, want %d actions in all\nreplay: %s", sh.local, sh.send, want, replay(t))
	}
	if sh.receive != sh.deliveries {
		t.Errorf("%d receive stamps for %d deliveries\nreplay: %s", sh.receive, sh.deliveries, replay(t))
	}
	if n > 1 && (sh.send == 0 || sh.receive == 0) || sh.crashes == 0 {
		t.Errorf("a run without enough to judge: %+v\nreplay: %s", sh, replay(t))
	}
}

func lamportEvent(s clock.LamportStamp) string { return s.Event }
func vectorEvent(s clock.VectorStamp) string   { return s.Event }

// TestClocksUnderFaults runs the correct demos over many seeds and group
// sizes, with a lossy, duplicating, reordering network, partitions, pauses
// and crash-restarts, and requires every verdict to pass.
func TestClocksUnderFaults(t *testing.T) {
	seeds := uint64(50)
	if testing.Short() {
		seeds = 10
	}
	for _, n := range []int{2, 3, 5} {
		for seed := range seeds {
			t.Run(fmt.Sprintf("lamport/n=%d/seed=%d", n, seed), func(t *testing.T) {
				tr := scenario{n: n, seed: seed, new: func() node.Process { return clock.NewLamportProcess(clock.DefaultLamportConfig()) }}.run(t)
				checkShape(t, shapeOf(tr, lamportEvent), n)
				requireOK(t, clock.CheckLamport(tr))
			})
			t.Run(fmt.Sprintf("vector/n=%d/seed=%d", n, seed), func(t *testing.T) {
				tr := scenario{n: n, seed: seed, new: func() node.Process { return clock.NewVectorProcess(clock.DefaultVectorConfig()) }}.run(t)
				checkShape(t, shapeOf(tr, vectorEvent), n)
				requireOK(t, clock.CheckVector(tr))
			})
		}
	}
}

func requireOK(t *testing.T, checks []trace.Check) {
	t.Helper()
	for _, c := range checks {
		if !c.OK {
			t.Errorf("%s failed: %s\nreplay: %s", c.Property, c.Detail, replay(t))
		}
	}
}

// TestBrokenClocksAreCaught runs each deliberately broken variant until a
// checker rejects it, and requires that to happen within a few seeds: a
// checker that cannot fail is worse than none.
func TestBrokenClocksAreCaught(t *testing.T) {
	const within = 5 // seeds
	tests := []struct {
		name     string
		n        int
		calm     bool // only the crash-restart: the bug alone must be caught
		new      func() node.Process
		check    func(*trace.Trace) []trace.Check
		property string
	}{
		{"lamport NoMax", 2, true, func() node.Process { return clock.NewLamportProcess(clock.LamportConfig{NoMax: true}) },
			clock.CheckLamport, clock.PropClockCondition},
		{"lamport NoSync", 3, true, func() node.Process { return clock.NewLamportProcess(clock.LamportConfig{NoSync: true}) },
			clock.CheckLamport, clock.PropClockCondition},
		{"vector NoMerge", 2, true, func() node.Process { return clock.NewVectorProcess(clock.VectorConfig{NoMerge: true}) },
			clock.CheckVector, clock.PropClockCondition},
		{"vector NoSync", 3, true, func() node.Process { return clock.NewVectorProcess(clock.VectorConfig{NoSync: true}) },
			clock.CheckVector, clock.PropClockCondition},
		{"vector NoMerge under faults", 5, false, func() node.Process { return clock.NewVectorProcess(clock.VectorConfig{NoMerge: true}) },
			clock.CheckVector, clock.PropClockCondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(within) {
				tr := scenario{n: tt.n, seed: seed, new: tt.new, calm: tt.calm}.run(t)
				for _, c := range tt.check(tr) {
					if !c.OK {
						if c.Property != tt.property {
							t.Fatalf("seed %d: caught by %q, want %q: %s", seed, c.Property, tt.property, c.Detail)
						}
						t.Logf("caught at seed %d (n=%d): %s", seed, tt.n, c.Detail)
						return
					}
				}
			}
			t.Fatalf("not caught in %d seeds", within)
		})
	}
}

// TestDeterministic: the same seed gives the same run, so a failure can be
// replayed from its seed.
func TestDeterministic(t *testing.T) {
	stamps := func() []trace.EmittedEvent[clock.VectorStamp] {
		sc := scenario{n: 3, seed: 7, new: func() node.Process { return clock.NewVectorProcess(clock.DefaultVectorConfig()) }}
		return trace.Emitted[clock.VectorStamp](sc.run(t))
	}
	a, b := stamps(), stamps()
	if len(a) != len(b) {
		t.Fatalf("%d stamps, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Time != b[i].Time || a[i].Node != b[i].Node || !reflect.DeepEqual(a[i].Value, b[i].Value) {
			t.Fatalf("stamp %d differs: %v %v at %v, then %v %v at %v", i, a[i].Node, a[i].Value, a[i].Time, b[i].Node, b[i].Value, b[i].Time)
		}
	}
}
