package mutex_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/synod-dev/synod/mutex"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
)

var lamport = algo{
	name: "lamport",
	new: func(v string) node.Factory {
		cfg := mutex.LamportConfig{NoAckWait: v == "no-ack-wait", NoHeadCheck: v == "no-head-check"}
		return func(node.ID) node.Process { return mutex.NewLamport(cfg) }
	},
	messages: mutex.LamportMessages(),
	check:    mutex.CheckLamport,
}

// Lamport's algorithm keeps mutual exclusion, answers every request and
// grants in timestamp order, over many seeds and group sizes, with
// duplicated messages on FIFO links.
func TestLamportSim(t *testing.T) {
	requireCorrect(t, lamport, []int{1, 2, 3, 5}, 20)
}

// An entry costs exactly 3(N−1) messages and, uncontended, one round trip
// (REQUEST, ACK); the RELEASE comes after. Condition (ii) of rule 5 takes
// any later message, not only an acknowledgment: a RELEASE of the previous
// holder still on its way can satisfy it sooner, so an uncontended entry
// takes at most two message delays, and on average a little fewer in small
// groups.
func TestLamportCosts(t *testing.T) {
	healthy := sim.Link{Latency: sim.Uniform(1*time.Millisecond, 5*time.Millisecond)}
	for _, n := range []int{2, 3, 5, 8} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			s := costOf(t, lamport, n, healthy, mutex.Measure)
			want := mutex.TextbookLamportMessages(n)
			t.Logf("%d entries, %.2f messages per entry (textbook 3(N−1) = %.0f), %d uncontended: %.2f message delays, %v; mean delay %v",
				s.Entries, s.MessagesPerEntry(), want, s.Uncontended, s.Hops, s.UncontendedDelay, s.Delay)
			if s.Entries != defaultOps || s.MessagesPerEntry() != want {
				t.Errorf("%d entries, %.2f messages per entry; want %d and %.0f", s.Entries, s.MessagesPerEntry(), defaultOps, want)
			}
			if s.Uncontended == 0 || s.Hops > 2 || s.Hops < 1.5 {
				t.Errorf("%d uncontended entries took %.2f message delays on average, want about 2", s.Uncontended, s.Hops)
			}
		})
	}
}

// Entering without condition (ii) of rule 5 overlooks an earlier request
// still on its way; entering without condition (i) lets two concurrent
// requesters in.
func TestLamportBrokenVariantsAreCaught(t *testing.T) {
	for _, v := range []string{"no-ack-wait", "no-head-check"} {
		t.Run(v, func(t *testing.T) { requireCaught(t, lamport, v, mutex.PropMutualExclusion, 5) })
	}
}

// Condition (ii) needs FIFO links: when an acknowledgment can overtake the
// same process's earlier request, a process can enter before it knows of a
// request that precedes its own. Over 20 seeds of reordering links, mutual
// exclusion or the timestamp order breaks.
func TestLamportNeedsFIFOLinks(t *testing.T) {
	reorder := sim.Link{Latency: sim.Uniform(1*time.Millisecond, 10*time.Millisecond), Reorder: true}
	broken := 0
	for seed := uint64(1); seed <= 20; seed++ {
		sc := scenario{algo: lamport, seed: seed, link: reorder}
		v := verdicts(lamport.check(sc.run(t)))
		for _, p := range []string{mutex.PropMutualExclusion, mutex.PropTimestampOrder} {
			if c := v[p]; !c.OK {
				if broken == 0 {
					t.Logf("seed %d: %s: %s\nreplay: %s", seed, p, c.Detail, sc.replay())
				}
				broken++
				break
			}
		}
	}
	t.Logf("reordering broke %d of 20 runs", broken)
	if broken == 0 {
		t.Error("reordering links never broke Lamport's algorithm in 20 runs")
	}
}

// Every process must hear from every other: a crashed one blocks everyone.
func TestLamportBlocksWhenAProcessDies(t *testing.T) {
	sc := scenario{algo: lamport, seed: 1, schedule: "300ms crash n4"}
	v := verdicts(lamport.check(sc.run(t)))
	mustMatch(t, v[mutex.PropLiveness], `^n\d's request at .* never granted \(n4 crashed at 300ms\); \d+ of \d+ requests never granted`)
}
