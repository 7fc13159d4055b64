package mutex_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/synod-dev/synod/mutex"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
)

var ricartAgrawala = algo{
	name: "ricart-agrawala",
	new: func(v string) node.Factory {
		cfg := mutex.RicartAgrawalaConfig{ReplyInCS: v == "reply-in-cs"}
		return func(node.ID) node.Process { return mutex.NewRicartAgrawala(cfg) }
	},
	messages: mutex.RicartAgrawalaMessages(),
	check:    mutex.CheckRicartAgrawala,
}

// Ricart–Agrawala keeps mutual exclusion, answers every request and grants
// in timestamp order, over many seeds and group sizes, with duplicated
// messages.
func TestRicartAgrawalaSim(t *testing.T) {
	requireCorrect(t, ricartAgrawala, []int{1, 2, 3, 5}, 20)
}

// An entry costs exactly 2(N−1) messages and, uncontended, one round trip.
func TestRicartAgrawalaCosts(t *testing.T) {
	healthy := sim.Link{Latency: sim.Uniform(1*time.Millisecond, 5*time.Millisecond)}
	for _, n := range []int{2, 3, 5, 8} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			s := costOf(t, ricartAgrawala, n, healthy, mutex.Measure)
			want := mutex.TextbookRicartAgrawalaMessages(n)
			t.Logf("%d entries, %.2f messages per entry (textbook 2(N−1) = %.0f), %d uncontended: %.2f message delays, %v; mean delay %v",
				s.Entries, s.MessagesPerEntry(), want, s.Uncontended, s.Hops, s.UncontendedDelay, s.Delay)
			if s.Entries != defaultOps || s.MessagesPerEntry() != want {
				t.Errorf("%d entries, %.2f messages per entry; want %d and %.0f", s.Entries, s.MessagesPerEntry(), defaultOps, want)
			}
			if s.Uncontended == 0 || s.Hops != 2 {
				t.Errorf("%d uncontended entries took %.2f message delays on average, want 2", s.Uncontended, s.Hops)
			}
		})
	}
}

// A process that answers REQUESTs while it holds the section lets the
// requester in beside it.
func TestRicartAgrawalaReplyInCSIsCaught(t *testing.T) {
	requireCaught(t, ricartAgrawala, "reply-in-cs", mutex.PropMutualExclusion, 5)
}

// Every process must answer every REQUEST: when one dies, nobody else
// enters again, and the liveness verdict names the crash.
func TestRicartAgrawalaBlocksWhenAProcessDies(t *testing.T) {
	sc := scenario{algo: ricartAgrawala, seed: 1, schedule: "300ms crash n3"}
	v := verdicts(ricartAgrawala.check(sc.run(t)))
	mustMatch(t, v[mutex.PropLiveness], `^n\d's request at .* never granted \(n3 crashed at 300ms\); \d+ of \d+ requests never granted`)
	for _, p := range []string{mutex.PropMutualExclusion, mutex.PropTimestampOrder} {
		if c := v[p]; !c.OK {
			t.Errorf("%s: %s\nreplay: %s", p, c.Detail, sc.replay())
		}
	}
}
