package mutex_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/synod-dev/synod/mutex"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

var tokenRing = algo{
	name: "token-ring",
	new: func(v string) node.Factory {
		cfg := mutex.TokenRingConfig{NoDedup: v == "no-dedup"}
		return func(node.ID) node.Process { return mutex.NewTokenRing(cfg) }
	},
	messages: mutex.TokenRingMessages(),
	check:    mutex.CheckTokenRing,
}

// The token ring keeps mutual exclusion, answers every request and never
// lets a process enter twice while another waits, over many seeds and group
// sizes, with duplicated messages.
func TestTokenRingSim(t *testing.T) {
	requireCorrect(t, tokenRing, []int{1, 2, 3, 5}, 20)
}

// The stubborn links and the synced token carry the ring through loss,
// duplication, partitions, pauses and crash-restarts: every check passes,
// and every request that did not die with its process is granted once the
// faults stop.
func TestTokenRingSurvivesFaults(t *testing.T) {
	lossy := sim.Link{Latency: sim.Uniform(1*time.Millisecond, 5*time.Millisecond), Loss: 0.1, Duplicate: 0.05}
	nemesis := sim.Nemesis{
		Crash: 5, RestartAfter: 30 * time.Millisecond,
		Partition: 5, PartitionFor: 30 * time.Millisecond,
		Stop: time.Second,
	}
	var lost, crashes int
	for _, n := range []int{2, 3, 5} {
		for seed := uint64(1); seed <= seeds(t, 10); seed++ {
			sc := scenario{algo: tokenRing, n: n, seed: seed, link: lossy, nemesis: nemesis}
			tr := sc.run(t)
			requireOK(t, sc, tokenRing.check(tr))
			m := trace.Measure(tr)
			lost += m.DroppedFor(trace.DropLoss)
			crashes += m.Crashes
		}
	}
	t.Logf("%d messages lost and %d crashes survived", lost, crashes)
	if lost == 0 || crashes == 0 {
		t.Error("the runs lost no message or crashed no process: nothing was survived")
	}
}

// An uncontended entry waits for the token 0 to N−1 passes, (N−1)/2 on
// average; a pass costs a token and an acknowledgement, plus the
// retransmissions of passes whose acknowledgement is late.
func TestTokenRingCosts(t *testing.T) {
	healthy := sim.Link{Latency: sim.Uniform(1*time.Millisecond, 5*time.Millisecond)}
	for _, n := range []int{2, 3, 5, 8} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			s := costOf(t, tokenRing, n, healthy, mutex.MeasureTokenRing)
			t.Logf("%d entries, %.1f messages per entry, %d uncontended: %.2f passes (textbook (N−1)/2 = %.1f), %v; mean delay %v",
				s.Entries, s.MessagesPerEntry(), s.Uncontended, s.Hops, float64(n-1)/2, s.UncontendedDelay, s.Delay)
			if s.Uncontended == 0 || s.Hops > float64(n-1) {
				t.Errorf("%d uncontended entries waited %.2f passes on average, want 0 to %d", s.Uncontended, s.Hops, n-1)
			}
			if s.MessagesPerEntry() < 2 {
				t.Errorf("%.2f messages per entry: the idle token should cost more", s.MessagesPerEntry())
			}
		})
	}
	tr := scenario{algo: tokenRing, seed: 1, link: healthy}.run(t)
	for _, c := range mutex.TokenRingCosts(tr, defaultNodes) {
		t.Logf("%s: %v (textbook %s)", c.Name, c, c.Textbook)
		if c.Name == "messages per token pass" && (c.Value < 2 || c.Value > 2.5) {
			t.Errorf("%v messages per pass, want a token, an ack and a few retransmissions: 2 to 2.5", c)
		}
	}
}

// A receiver that takes a retransmitted token for a new one puts a second
// token on the ring.
func TestTokenRingNoDedupIsCaught(t *testing.T) {
	requireCaught(t, tokenRing, "no-dedup", mutex.PropMutualExclusion, 5)
}

// The token cannot get past a process that stays down: its predecessor
// retransmits to it for good, and the liveness verdict names the crash.
func TestTokenRingStopsAtADeadProcess(t *testing.T) {
	sc := scenario{algo: tokenRing, seed: 1, schedule: "300ms crash n2"}
	v := verdicts(tokenRing.check(sc.run(t)))
	mustMatch(t, v[mutex.PropLiveness], `^n\d's request at .* never granted \(n2 crashed at 300ms\); \d+ of \d+ requests never granted`)
	for _, p := range []string{mutex.PropMutualExclusion, mutex.PropBoundedWaiting} {
		if c := v[p]; !c.OK {
			t.Errorf("%s: %s\nreplay: %s", p, c.Detail, sc.replay())
		}
	}
}

// A process that crashes while it holds the token (inside, or passing it)
// and restarts carries on from its synced state: the token is neither lost
// nor duplicated.
func TestTokenRingCrashOfTheHolder(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		// Crash whoever is inside at the first entry after 200 ms, 1 ms in.
		var crashAt time.Duration
		var holder node.ID
		sc := scenario{algo: tokenRing, seed: seed}
		for _, e := range trace.Emitted[mutex.EnterCS](sc.run(t)) {
			if e.Time > 200*time.Millisecond {
				crashAt, holder = e.Time+time.Millisecond, e.Node
				break
			}
		}
		sc.schedule = fmt.Sprintf("%v crash %v; %v restart %v", crashAt, holder, crashAt+20*time.Millisecond, holder)
		tr := sc.run(t)
		if len(tr.Filter(trace.Crash)) != 1 {
			t.Fatalf("no crash: %s", sc.replay())
		}
		requireOK(t, sc, tokenRing.check(tr))
	}
}
