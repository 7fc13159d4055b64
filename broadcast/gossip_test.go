package broadcast

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// gossipRound is the round length of the gossip runs in these tests, as in
// the catalog.
const gossipRound = 10 * time.Millisecond

// runGossip runs one rumor from n0 over n processes in synchronous rounds.
func runGossip(t testing.TB, n int, seed uint64, cfg GossipConfig, link sim.Link) *trace.Trace {
	t.Helper()
	s, err := sim.New(sim.Config{Nodes: n, New: func(node.ID) node.Process { return NewGossip(cfg) },
		Registry: node.NewRegistry(GossipMessages()...), Seed: seed, Rounds: gossipRound, Network: sim.Network{Default: link}})
	if err != nil {
		t.Fatal(err)
	}
	s.Request(0, 0, Rumor{})
	if err := s.Run(time.Minute); err != nil {
		t.Fatal(err)
	}
	return s.Trace()
}

// gossipSeeds is the number of seeds of the gossip property tests:
// BROADCAST_SEEDS for a long sweep.
func gossipSeeds(t testing.TB, short int) int {
	if s := os.Getenv("BROADCAST_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("BROADCAST_SEEDS=%q: want a positive count", s)
		}
		return n
	}
	return short
}

var forms = []GossipForm{Push, Pull, PushPull}

// Every form covers the group over many seeds, the coverage check passes,
// and the rounds it takes stay within a few of the textbook figure; the
// rumor dies out by its lifetime and the run then falls silent.
func TestGossipCoversTheGroupInTextbookRounds(t *testing.T) {
	seeds := gossipSeeds(t, 10)
	for _, form := range forms {
		for _, n := range []int{2, 3, 10, 200} {
			t.Run(fmt.Sprintf("%v/N=%d", form, n), func(t *testing.T) {
				textbook, formula := GossipRounds(form, n, 1)
				sum := 0
				for seed := uint64(1); seed <= uint64(seeds); seed++ {
					tr := runGossip(t, n, seed, GossipConfig{Form: form}, sim.Link{})
					st := GossipStatsOf(tr)
					replay := fmt.Sprintf("go test ./broadcast -run '%s' (seed %d)", t.Name(), seed)
					if c := CheckGossip(tr); !trace.AllOK(c) {
						t.Fatalf("seed %d: %+v\nreplay: %s", seed, c, replay)
					}
					if st.Infected != n {
						t.Fatalf("seed %d: %d of %d infected\nreplay: %s", seed, st.Infected, n, replay)
					}
					if life := DefaultLifetime(form, n, 1); st.Rounds > life {
						t.Fatalf("seed %d: covered in round %d, after the rumor's lifetime %d", seed, st.Rounds, life)
					}
					if last := trace.Measure(tr).LastRound; last > DefaultLifetime(form, n, 1)+1 {
						t.Fatalf("seed %d: still talking in round %d, lifetime %d", seed, last, DefaultLifetime(form, n, 1))
					}
					sum += st.Rounds
				}
				mean := float64(sum) / float64(seeds)
				t.Logf("%v N=%d: %.2f rounds on average, textbook %s = %.2f", form, n, mean, formula, textbook)
				if n >= 10 && math.Abs(mean-textbook) > 3 {
					t.Errorf("mean %.2f rounds, more than 3 from the textbook's %.2f", mean, textbook)
				}
			})
		}
	}
}

// Push sends exactly Fanout messages per informed process per round while
// the rumor lives; pull sends a request per uninformed process per round and
// an answer per request that reaches an informed process, never a push.
func TestGossipMessageCounts(t *testing.T) {
	for _, form := range forms {
		for _, fanout := range []int{1, 3} {
			tr := runGossip(t, 100, 7, GossipConfig{Form: form, Fanout: fanout}, sim.Link{})
			pushes, pulls, answers := 0, 0, 0
			for _, e := range tr.Filter(trace.Send) {
				switch e.Value.(type) {
				case pull:
					pulls++
				case Rumor:
					// A push leaves at a round's tick; an answer on the
					// arrival of a pull, at the boundary that ends the round.
					if e.Time == time.Duration(e.Round)*gossipRound {
						pushes++
					} else {
						answers++
					}
				}
			}
			st := GossipStatsOf(tr)
			life := DefaultLifetime(form, 100, fanout)
			// Each round r in 1..life, every process that knew the rumor at
			// the round's start pushes (push, push-pull) and every one that
			// did not pulls (pull, push-pull), to fanout peers each.
			informedAt := make([]int, life+2) // processes informed before round r
			for _, e := range trace.Emitted[Infected](tr) {
				for r := e.Round + 1; r <= life+1; r++ {
					informedAt[r]++
				}
			}
			wantPush, wantPull := 0, 0
			for r := 1; r <= life; r++ {
				if form != Pull {
					wantPush += fanout * informedAt[r]
				}
				if form != Push {
					wantPull += fanout * (100 - informedAt[r])
				}
			}
			t.Logf("%v fanout %d: %d pushes, %d pulls, %d answers; %d rounds to cover", form, fanout, pushes, pulls, answers, st.Rounds)
			if pushes != wantPush || pulls != wantPull {
				t.Errorf("%v fanout %d: %d pushes and %d pulls, want %d and %d", form, fanout, pushes, pulls, wantPush, wantPull)
			}
			if answers > pulls {
				t.Errorf("%v: %d answers to %d pulls", form, answers, pulls)
			}
		}
	}
}

// A larger fanout covers the group in fewer rounds.
func TestGossipFanoutSpeedsUp(t *testing.T) {
	for _, form := range forms {
		mean := func(fanout int) float64 {
			sum := 0
			for seed := uint64(1); seed <= 5; seed++ {
				sum += GossipStatsOf(runGossip(t, 300, seed, GossipConfig{Form: form, Fanout: fanout}, sim.Link{})).Rounds
			}
			return float64(sum) / 5
		}
		one, four := mean(1), mean(4)
		want, _ := GossipRounds(form, 300, 4)
		t.Logf("%v N=300: %.1f rounds with fanout 1, %.1f with fanout 4 (mean-field %.1f)", form, one, four, want)
		if four >= one || math.Abs(four-want) > 3 {
			t.Errorf("%v: fanout 4 took %.1f rounds, fanout 1 %.1f, mean-field %.1f", form, four, one, want)
		}
	}
}

// Loss and crashes slow the epidemic but do not stop it.
func TestGossipSurvivesLossAndCrashes(t *testing.T) {
	for _, form := range forms {
		s, err := sim.New(sim.Config{Nodes: 200, New: func(node.ID) node.Process { return NewGossip(GossipConfig{Form: form}) },
			Registry: node.NewRegistry(GossipMessages()...), Seed: 3, Rounds: gossipRound,
			Network: sim.Network{Default: sim.Link{Latency: sim.Constant(time.Millisecond), Loss: 0.2}},
			Nemesis: sim.Nemesis{Crash: 100, MaxDown: 20, Stop: 200 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		s.Request(0, 0, Rumor{})
		if err := s.Run(time.Minute); err != nil {
			t.Fatal(err)
		}
		st := GossipStatsOf(s.Trace())
		m := trace.Measure(s.Trace())
		t.Logf("%v: %d of 200 infected with 20%% loss and %d crashes, %d messages dropped", form, st.Infected, m.Crashes, m.Dropped)
		if m.Crashes == 0 || m.DroppedFor(trace.DropLoss) == 0 || st.Infected < 175 {
			t.Errorf("%v: %d infected, %d crashes, %d lost", form, st.Infected, m.Crashes, m.DroppedFor(trace.DropLoss))
		}
	}
}

// The broken variant, in which only the origin spreads the rumor, is caught
// by the coverage check in every form.
func TestOriginOnlyGossipIsCaught(t *testing.T) {
	for _, form := range forms {
		for seed := uint64(1); seed <= 3; seed++ {
			tr := runGossip(t, 200, seed, GossipConfig{Form: form, OriginOnly: true}, sim.Link{})
			if c := CheckGossip(tr); trace.AllOK(c) {
				t.Fatalf("%v seed %d: origin-only gossip passed the coverage check: %+v", form, seed, c)
			}
		}
	}
}

func TestGossipRoundsFormulas(t *testing.T) {
	cases := []struct {
		form    GossipForm
		n, f    int
		rounds  float64
		formula string
	}{
		{Push, 1024, 1, 10 + math.Log(1024), "log₂N + ln N"},
		{Pull, 1024, 1, 10 + math.Log2(math.Log(1024)), "log₂N + log₂ln N"},
		{PushPull, 729, 1, 6 + math.Log2(math.Log(729)), "log₃N + log₂ln N"},
		{Push, 729, 2, 6 + math.Log(729)/2, "log_3N + ln N/2"},
		{PushPull, 625, 2, 4 + math.Log(math.Log(625))/math.Log(3), "log_5N + log_3(ln N)"},
	}
	for _, c := range cases {
		got, formula := GossipRounds(c.form, c.n, c.f)
		if math.Abs(got-c.rounds) > 1e-9 || formula != c.formula {
			t.Errorf("GossipRounds(%v, %d, %d) = %v, %q; want %v, %q", c.form, c.n, c.f, got, formula, c.rounds, c.formula)
		}
	}
	if got := DefaultLifetime(Push, 1024, 1); got != 17+LifetimeSlack {
		t.Errorf("DefaultLifetime(push, 1024, 1) = %d, want %d", got, 17+LifetimeSlack)
	}
}
