package mutex_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/mutex"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

var voting = algo{
	name: "voting",
	new: func(v string) node.Factory {
		cfg := mutex.VotingConfig{HalfQuorum: v == "half-quorum"}
		return func(node.ID) node.Process { return mutex.NewVoting(cfg) }
	},
	messages: mutex.VotingMessages(),
	check:    mutex.CheckVoting,
}

// Voting keeps mutual exclusion and answers every request, over many seeds
// and group sizes, with duplicated messages, as long as no coordinator
// resets.
func TestVotingSim(t *testing.T) {
	requireCorrect(t, voting, []int{1, 2, 3, 5}, 20)
}

// An uncontended entry takes one round trip; an entry costs 3N messages
// per attempt that succeeds (N requests, N answers, N releases), more when
// attempts fail. An entry counted as uncontended can still take a second
// attempt: the previous holder's releases may still be on their way when
// its requests reach the coordinators.
func TestVotingCosts(t *testing.T) {
	healthy := sim.Link{Latency: sim.Uniform(1*time.Millisecond, 5*time.Millisecond)}
	for _, n := range []int{2, 3, 5, 8} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			s := costOf(t, voting, n, healthy, mutex.Measure)
			t.Logf("%d entries, %.2f messages per entry (3N = %d at one attempt each), %d uncontended: %.2f message delays, %v; mean delay %v",
				s.Entries, s.MessagesPerEntry(), 3*n, s.Uncontended, s.Hops, s.UncontendedDelay, s.Delay)
			if s.MessagesPerEntry() < float64(3*n) {
				t.Errorf("%.2f messages per entry, fewer than 3N = %d", s.MessagesPerEntry(), 3*n)
			}
			if s.Uncontended == 0 || s.Hops < 2 || s.Hops > 2.5 {
				t.Errorf("%d uncontended entries took %.2f message delays on average, want 2 (a little more at worst)", s.Uncontended, s.Hops)
			}
		})
	}
}

// With m ≤ N/2 two processes can collect their votes from disjoint halves
// of the coordinators and enter together, without any reset.
func TestVotingHalfQuorumIsCaught(t *testing.T) {
	requireCaught(t, voting, "half-quorum", mutex.PropMutualExclusion, 5)
}

// ResetRisk is the binomial tail P[k ≥ 2m−N] for k resets among the m
// voters.
func TestResetRisk(t *testing.T) {
	tests := []struct {
		n, m int
		p    float64
		want float64
	}{
		{5, 3, 0, 0},
		{5, 3, 1, 1},
		{5, 3, 0.1, 1 - 0.9*0.9*0.9},      // any single reset among the three voters
		{5, 4, 0.1, 4*0.001*0.9 + 0.0001}, // three or four of four
		{5, 5, 0.1, 1e-5},                 // all five
		{5, 2, 0.1, 1},                    // m ≤ N/2: always at risk
		{4, 2, 0.3, 1},                    // m = N/2: always at risk
		{8, 6, 0.2, 15*0.0016*0.64 + 6*0.00032*0.8 + 0.000064}, // four or more of six
	}
	for _, tt := range tests {
		if got := mutex.ResetRisk(tt.n, tt.m, tt.p); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("ResetRisk(%d, %d, %g) = %.12g, want %.12g", tt.n, tt.m, tt.p, got, tt.want)
		}
	}
	// Van Steen & Tanenbaum's example: N = 32, m = 0.75N, a coordinator
	// resetting once every three hours and a critical section of 10 s:
	// "less than 10^−40".
	if got := mutex.ResetRisk(32, 24, 10.0/(3*3600)); got >= 1e-40 || got <= 0 {
		t.Errorf("ResetRisk(32, 24, 10s/3h) = %g, want below 1e-40", got)
	}
}

// resetExperiment is the voting run of the reset experiment: coordinators
// n0..n(N−1) that only vote, and clients after them that only ask, so that a
// reset is a coordinator forgetting its vote and nothing else. Each
// coordinator resets — crashes and restarts 100 µs later with no vote in
// memory — at the times of a Poisson process of the given rate, drawn from
// the seed.
type resetExperiment struct {
	coordinators, clients, quorum int
	rate                          float64 // resets per coordinator per second
	seed                          uint64
}

// Each run submits 80 requests in the first second of a two-second run;
// resets happen throughout.
const (
	resetOps    = 80
	resetLength = 2 * time.Second
)

func (x resetExperiment) schedule() string {
	r := rand.New(rand.NewPCG(x.seed, 0x5e7))
	var s []string
	for c := range x.coordinators {
		for at := time.Duration(0); ; {
			at += time.Duration(r.ExpFloat64() / x.rate * float64(time.Second))
			if at >= resetLength {
				break
			}
			s = append(s, fmt.Sprintf("%v crash n%d; %v restart n%d", at, c, at+100*time.Microsecond, c))
		}
	}
	return strings.Join(s, "; ")
}

func (x resetExperiment) run(t *testing.T) *trace.Trace {
	t.Helper()
	n := x.coordinators + x.clients
	schedule, err := sim.ParseSchedule(x.schedule(), n)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mutex.VotingConfig{Coordinators: x.coordinators, Quorum: x.quorum}
	s, err := sim.New(sim.Config{
		Nodes:    n,
		New:      func(node.ID) node.Process { return mutex.NewVoting(cfg) },
		Registry: node.NewRegistry(mutex.VotingMessages()...),
		Seed:     x.seed,
		Schedule: schedule,
		MaxSteps: 5_000_000,
	})
	if err != nil {
		t.Fatal(err)
	}
	clients := make([]node.ID, x.clients)
	for i := range clients {
		clients[i] = node.ID(x.coordinators + i)
	}
	mutex.WorkloadOn(s, clients, resetOps, resetLength)
	if err := s.Run(resetLength); err != nil {
		t.Fatal(err)
	}
	return s.Trace()
}

// The reset experiment of van Steen & Tanenbaum §5.3.5, measured: with N = 5
// coordinators that each reset about 10 times a second, and m = 3, 4 or 5,
// how often an entry is at risk (at least 2m − N of its m voters reset while
// it held their votes) beside ResetRisk's prediction, and how often mutual
// exclusion actually broke. Every violation must be one the derivation
// allows: each coordinator that voted for both processes inside reset
// between its two votes. MUTEX_SEEDS raises the number
// of runs per m (default 10); the table is printed with -v.
func TestVotingResetRisk(t *testing.T) {
	const coordinators, clients, rate = 5, 5, 10.0
	runs := seeds(t, 10)
	t.Logf("N=%d coordinators resetting %g times/s each, %d clients, %d runs of %d requests per m", coordinators, rate, clients, runs, resetOps)
	t.Logf("%2s %6s %8s %12s %12s %12s %15s %8s", "m", "2m−N", "p/voter", "P(at risk)", "at risk", "predicted", "violations", "runs hit")
	atRisk := map[int]float64{}
	for m := 3; m <= coordinators; m++ {
		var total mutex.VotingRisk
		hit := 0
		for seed := uint64(1); seed <= runs; seed++ {
			x := resetExperiment{coordinators: coordinators, clients: clients, quorum: m, rate: rate, seed: seed}
			tr := x.run(t)
			if c := verdicts(mutex.CheckVoting(tr))[mutex.PropLiveness]; !c.OK {
				t.Errorf("m=%d seed %d: %s: %s\nreplay: go test ./mutex -run '^TestVotingResetRisk$' -v", m, seed, c.Property, c.Detail)
			}
			v := mutex.MeasureVotingRisk(tr, coordinators, rate)
			if v.Quorum != m {
				t.Fatalf("m=%d seed %d: entries held %d votes", m, seed, v.Quorum)
			}
			if v.Explained != v.Overlaps {
				t.Errorf("m=%d seed %d: %d of %d violations without a reset of every coordinator that voted twice: the derivation or the algorithm is wrong\nreplay: go test ./mutex -run '^TestVotingResetRisk$' -v",
					m, seed, v.Overlaps-v.Explained, v.Overlaps)
			}
			if v.Overlaps > 0 {
				hit++
			}
			total.Entries += v.Entries
			total.AtRisk += v.AtRisk
			total.Expected += v.Expected
			total.MeanP += v.MeanP
			total.Overlaps += v.Overlaps
		}
		e := float64(total.Entries)
		p := total.MeanP / float64(runs)
		t.Logf("%2d %6d %8.3f %12.4g %12.4g %12.4g %8d (%.3g) %5d/%d", m, 2*m-coordinators, p, mutex.ResetRisk(coordinators, m, p),
			float64(total.AtRisk)/e, total.Expected/e, total.Overlaps, float64(total.Overlaps)/e, hit, runs)
		atRisk[m] = float64(total.AtRisk)
		// The measured count is binomial around the prediction.
		if dev := math.Abs(float64(total.AtRisk) - total.Expected); dev > 4*math.Sqrt(total.Expected)+3 {
			t.Errorf("m=%d: %d entries at risk, predicted %.1f", m, total.AtRisk, total.Expected)
		}
		if m == 3 && total.Overlaps == 0 {
			t.Errorf("m=3: no violation in %d runs: the experiment shows nothing", runs)
		}
	}
	if atRisk[5] > atRisk[3] {
		t.Errorf("a larger quorum was at risk more often: %v", atRisk)
	}
}
