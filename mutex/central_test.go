package mutex_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/mutex"
	"github.com/synod-dev/synod/sim"
)

// The coordinator keeps mutual exclusion, answers every request and grants
// in the order the requests reach it, over many seeds and group sizes, with
// duplicated messages.
func TestCentralSim(t *testing.T) {
	requireCorrect(t, central, []int{1, 2, 3, 5}, 20)
}

// An entry costs exactly three messages (REQUEST, GRANT, RELEASE) and, when
// nobody else wants the section, two message delays.
func TestCentralCosts(t *testing.T) {
	healthy := sim.Link{Latency: sim.Uniform(1*time.Millisecond, 5*time.Millisecond)}
	for _, n := range []int{2, 3, 5, 8} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			s := costOf(t, central, n, healthy, mutex.Measure)
			t.Logf("%d entries, %.2f messages per entry (textbook %d), %d uncontended: %.2f message delays, %v; mean delay %v",
				s.Entries, s.MessagesPerEntry(), mutex.TextbookCentralMessages, s.Uncontended, s.Hops, s.UncontendedDelay, s.Delay)
			if s.Entries != defaultOps || s.MessagesPerEntry() != mutex.TextbookCentralMessages {
				t.Errorf("%d entries, %.2f messages per entry; want %d and %d", s.Entries, s.MessagesPerEntry(), defaultOps, mutex.TextbookCentralMessages)
			}
			if s.Uncontended == 0 || s.Hops != 2 {
				t.Errorf("%d uncontended entries took %.2f message delays on average, want 2", s.Uncontended, s.Hops)
			}
		})
	}
}

// A coordinator that grants without waiting for the RELEASE lets two
// processes in at once.
func TestCentralGrantEarlyIsCaught(t *testing.T) {
	requireCaught(t, central, "grant-early", mutex.PropMutualExclusion, 5)
}

// The coordinator is a single point of failure: once it crashes, nobody
// enters again, and the liveness verdict says why.
func TestCentralCoordinatorCrashBlocks(t *testing.T) {
	sc := scenario{algo: central, seed: 1, schedule: "300ms crash n0"}
	v := verdicts(central.check(sc.run(t)))
	mustMatch(t, v[mutex.PropLiveness], `^n\d's request at .* never granted \(n0 crashed at 300ms\); \d+ of \d+ requests never granted; \d+ more reached a crashed process$`)
	if c := v[mutex.PropMutualExclusion]; !c.OK {
		t.Errorf("%s: %s", c.Property, c.Detail)
	}
}

// A coordinator that restarts has forgotten its queue and the holder: the
// queued requests are never granted, and the next request may be granted
// while the old holder is still inside. Over 20 seeds with a restart every
// 100 ms of the busy part of the run, both happen.
func TestCentralCoordinatorRestartForgets(t *testing.T) {
	var restarts []string
	for at := 100 * time.Millisecond; at < time.Second; at += 100 * time.Millisecond {
		restarts = append(restarts, fmt.Sprintf("%v crash n0; %v restart n0", at, at+time.Millisecond))
	}
	failed := map[string]int{}
	for seed := uint64(1); seed <= 20; seed++ {
		sc := scenario{algo: central, seed: seed, schedule: strings.Join(restarts, "; ")}
		v := verdicts(central.check(sc.run(t)))
		for _, p := range []string{mutex.PropMutualExclusion, mutex.PropLiveness} {
			if c := v[p]; !c.OK {
				if failed[p] == 0 {
					t.Logf("seed %d: %s: %s\nreplay: %s", seed, p, c.Detail, sc.replay())
				}
				failed[p]++
			}
		}
	}
	t.Logf("violations in 20 runs: %v", failed)
	if failed[mutex.PropMutualExclusion] == 0 || failed[mutex.PropLiveness] == 0 {
		t.Errorf("coordinator restarts broke %v in 20 runs; want both mutual exclusion and liveness broken at least once", failed)
	}
}

// On a healthy run the verdicts summarize what was judged.
func TestCentralVerdictsSummarize(t *testing.T) {
	sc := scenario{algo: central, seed: 3, n: 3}
	tr := sc.run(t)
	v := verdicts(central.check(tr))
	mustPass(t, v[mutex.PropMutualExclusion], `^40 entries by 3 processes, never two inside at once$`)
	mustPass(t, v[mutex.PropLiveness], `^40 of 40 requests granted$`)
	mustPass(t, v[mutex.PropFIFOOrder], `^40 entries in the order their requests reached the coordinator$`)
}
