package broadcast_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/synod-dev/synod/broadcast"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// scenario is one simulated run of the total-order multicast.
type scenario struct {
	n        int
	seed     uint64
	cfg      broadcast.TotalOrderConfig
	link     sim.Link
	schedule string
}

// multicasts is the number of multicasts the workload submits in each run.
const multicasts = 20

// The workload submits its multicasts in the first 70% of workloadSpan, so
// that with 1–10 ms links many are in flight at once; the run itself is
// allowed runFor, far longer, and ends as soon as nothing is left to do.
const (
	workloadSpan = 100 * time.Millisecond
	runFor       = 10 * time.Second
)

// fifo is the network Lamport assumes: FIFO links, here with random latency
// and occasional duplicates.
var fifo = sim.Link{Latency: sim.Uniform(1*time.Millisecond, 10*time.Millisecond), Duplicate: 0.05}

func (sc scenario) run(t *testing.T) *trace.Trace {
	t.Helper()
	schedule, err := sim.ParseSchedule(sc.schedule, sc.n)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.Config{
		Nodes:    sc.n,
		New:      func(node.ID) node.Process { return broadcast.NewTotalOrder(sc.cfg) },
		Registry: node.NewRegistry(broadcast.TotalOrderMessages()...),
		Seed:     sc.seed,
		Network:  sim.Network{Default: sc.link},
		Schedule: schedule,
		MaxSteps: 1_000_000,
	})
	if err != nil {
		t.Fatal(err)
	}
	broadcast.TotalOrderWorkload(s, multicasts, workloadSpan)
	if err := s.Run(runFor); err != nil {
		t.Fatalf("%v\nreplay: %s", err, replay(t))
	}
	if s.Now() >= runFor {
		t.Fatalf("the run did not quiesce within %v\nreplay: %s", runFor, replay(t))
	}
	return s.Trace()
}

// replay is the command that reruns just the current (sub)test.
func replay(t *testing.T) string {
	return fmt.Sprintf("go test ./broadcast -run '^%s$' -v", regexp.QuoteMeta(t.Name()))
}

// verdicts indexes checks by property.
func verdicts(checks []trace.Check) map[string]trace.Check {
	m := map[string]trace.Check{}
	for _, c := range checks {
		m[c.Property] = c
	}
	return m
}

// The correct algorithm, on FIFO links with random latency and duplicates,
// passes every check over many seeds, and answers every request.
func TestTotalOrderSim(t *testing.T) {
	duplicated := 0
	for _, n := range []int{2, 3, 5} {
		for seed := uint64(1); seed <= 50; seed++ {
			t.Run(fmt.Sprintf("N=%d/seed=%d", n, seed), func(t *testing.T) {
				sc := scenario{n: n, seed: seed, link: fifo}
				tr := sc.run(t)
				for _, c := range broadcast.CheckTotalOrder(tr) {
					if !c.OK {
						t.Errorf("%s: %s", c.Property, c.Detail)
					}
				}
				if got := len(tr.Filter(trace.Reply)); got != multicasts {
					t.Errorf("%d of %d multicast requests answered", got, multicasts)
				}
				duplicated += len(tr.Filter(trace.Deliver)) - len(tr.Filter(trace.Send))
				if t.Failed() {
					t.Logf("replay: %s", replay(t))
				}
			})
		}
	}
	if duplicated <= 0 {
		t.Errorf("the network duplicated nothing: the runs did not exercise duplicates")
	}
}

// A multicast costs N−1 messages and (N−1)² acknowledgements, N(N−1) in
// all, exactly the textbook figure when nothing is lost or duplicated.
func TestMessagesPerMulticast(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 7} {
		sc := scenario{n: n, seed: 1, link: sim.Link{Latency: sim.Uniform(1*time.Millisecond, 10*time.Millisecond)}}
		tr := sc.run(t)
		if !trace.AllOK(broadcast.CheckTotalOrder(tr)) {
			t.Fatalf("N=%d: %+v", n, broadcast.CheckTotalOrder(tr))
		}
		multicasts := len(trace.Emitted[broadcast.Sent](tr))
		got := float64(len(tr.Filter(trace.Send))) / float64(multicasts)
		want := broadcast.TextbookMessagesPerMulticast(n)
		t.Logf("N=%d: %d multicasts, %.2f messages per multicast (textbook N(N−1) = %.0f)", n, multicasts, got, want)
		if got != want {
			t.Errorf("N=%d: %.2f messages per multicast, want %.0f", n, got, want)
		}
	}
}

// The broken variant, which delivers without waiting for acknowledgements,
// is caught within a few seeds, and by the total-order check.
func TestEarlyDeliverIsCaught(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		tr := scenario{n: 3, seed: seed, link: fifo, cfg: broadcast.TotalOrderConfig{EarlyDeliver: true}}.run(t)
		v := verdicts(broadcast.CheckTotalOrder(tr))
		if c := v[broadcast.PropTotalOrder]; !c.OK {
			t.Logf("EarlyDeliver caught at seed %d: %s: %s", seed, c.Property, c.Detail)
			return
		}
	}
	t.Fatalf("EarlyDeliver passed the total-order check on seeds 1..5")
}

// Without FIFO links Lamport's condition no longer holds: an acknowledgement
// can overtake an earlier multicast from the same process. The checker says
// so; every run still ends.
func TestReorderingLinksBreakTheOrder(t *testing.T) {
	reorder := fifo
	reorder.Reorder = true
	caught := 0
	for seed := uint64(1); seed <= 20; seed++ {
		tr := scenario{n: 3, seed: seed, link: reorder}.run(t)
		v := verdicts(broadcast.CheckTotalOrder(tr))
		if c := v[broadcast.PropTotalOrder]; !c.OK {
			if caught == 0 {
				t.Logf("reordering caught at seed %d: %s: %s", seed, c.Property, c.Detail)
			}
			caught++
		}
		if c := v[broadcast.PropIntegrity]; !c.OK {
			t.Errorf("seed %d: %s: %s", seed, c.Property, c.Detail)
		}
	}
	t.Logf("total order violated in %d of 20 runs", caught)
	if caught == 0 {
		t.Errorf("reordering links never broke the total order in 20 runs")
	}
}

// Lamport's algorithm does not retransmit: on lossy FIFO links a lost
// message or acknowledgement blocks delivery for good, and the checker
// reports the run as unfinished ("n2 delivered 7 of 20 multicasts"). The
// total order survives — a process that misses a message never acknowledges
// it, so nobody delivers it, and what does arrive still arrives in FIFO
// order — but causal order does not: a process that lost m1 can deliver
// its sender's later m2, which nobody else ever will.
func TestLossBlocksButKeepsTheOrder(t *testing.T) {
	lossy := fifo
	lossy.Loss = 0.05
	unfinished := regexp.MustCompile(`^n\d delivered \d+ of 20 multicasts \(missing `)
	blocked, gaps := 0, 0
	for seed := uint64(1); seed <= 20; seed++ {
		tr := scenario{n: 3, seed: seed, link: lossy}.run(t)
		v := verdicts(broadcast.CheckTotalOrder(tr))
		for _, p := range []string{broadcast.PropTotalOrder, broadcast.PropIntegrity} {
			if !v[p].OK {
				t.Errorf("seed %d: %s: %s", seed, p, v[p].Detail)
			}
		}
		if c := v[broadcast.PropCausalOrder]; !c.OK {
			if gaps == 0 {
				t.Logf("seed %d: %s: %s", seed, c.Property, c.Detail)
			}
			gaps++
		}
		if c := v[broadcast.PropTermination]; !c.OK {
			if blocked == 0 {
				t.Logf("seed %d: %s: %s", seed, c.Property, c.Detail)
			}
			if !unfinished.MatchString(c.Detail) {
				t.Errorf("seed %d: termination detail %q does not say what was missed", seed, c.Detail)
			}
			blocked++
		}
	}
	t.Logf("termination failed in %d of 20 runs, causal order in %d", blocked, gaps)
	if blocked == 0 {
		t.Errorf("5%% loss never blocked a run")
	}
}

// A crash-stop failure blocks everyone (every multicast waits for the dead
// process's acknowledgement), and the verdict says which process is down.
func TestCrashBlocksTermination(t *testing.T) {
	tr := scenario{n: 3, seed: 1, link: fifo, schedule: "30ms crash n2"}.run(t)
	v := verdicts(broadcast.CheckTotalOrder(tr))
	c := v[broadcast.PropTermination]
	if c.OK || !regexp.MustCompile(`n2 delivered \d+ of \d+ multicasts \(missing .*\), crashed at 30ms`).MatchString(c.Detail) {
		t.Fatalf("termination: %v %q, want a failure naming n2 as crashed", c.OK, c.Detail)
	}
	t.Logf("%s: %s", c.Property, c.Detail)
	for _, p := range []string{broadcast.PropTotalOrder, broadcast.PropCausalOrder, broadcast.PropIntegrity} {
		if !v[p].OK {
			t.Errorf("%s: %s", p, v[p].Detail)
		}
	}
}

// TotalOrderWorkload spreads its requests over the processes and over the first 70%
// of the run, and is reproducible from the seed.
func TestWorkload(t *testing.T) {
	requests := func(seed uint64) []trace.Event {
		s, err := sim.New(sim.Config{Nodes: 4, New: func(node.ID) node.Process { return broadcast.NewTotalOrder(broadcast.TotalOrderConfig{}) },
			Registry: node.NewRegistry(broadcast.TotalOrderMessages()...), Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		broadcast.TotalOrderWorkload(s, 200, time.Second)
		if err := s.Run(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		return s.Trace().Filter(trace.Request)
	}
	reqs := requests(7)
	if len(reqs) != 200 {
		t.Fatalf("%d requests arrived, want 200", len(reqs))
	}
	perNode := map[node.ID]int{}
	for _, e := range reqs {
		perNode[e.Node]++
		if e.Time >= time.Duration(float64(time.Second)*broadcast.WorkloadFraction) {
			t.Errorf("request at %v, after the first %.0f%% of the run", e.Time, 100*broadcast.WorkloadFraction)
		}
		if _, ok := e.Value.(broadcast.Multicast); !ok {
			t.Errorf("request op %T, want Multicast", e.Value)
		}
	}
	if len(perNode) != 4 {
		t.Errorf("requests went to %d of 4 processes: %v", len(perNode), perNode)
	}
	again := requests(7)
	for i := range reqs {
		if reqs[i].Time != again[i].Time || reqs[i].Node != again[i].Node || reqs[i].Value != again[i].Value {
			t.Fatalf("the same seed gave a different workload at request %d: %+v vs %+v", i, reqs[i], again[i])
		}
	}
}
