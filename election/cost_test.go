package election_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/election"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// walkthrough is the textbook's election: the coordinator, n(N−1), has
// crashed and one process, the initiator, notices (it is told so with an
// Elect request); nobody else suspects anything meanwhile (the heartbeat
// timeout is out of reach). It returns the episode of that election.
func walkthrough(t *testing.T, algo string, n int, initiator node.ID, crash bool) election.Episode {
	t.Helper()
	hb := election.DefaultHeartbeats()
	hb.Timeout = time.Hour
	var f node.Factory
	var reg *node.Registry
	switch algo {
	case "bully":
		cfg := election.DefaultBullyConfig()
		cfg.Heartbeats = hb
		f, reg = func(node.ID) node.Process { return election.NewBully(cfg) }, node.NewRegistry(election.BullyMessages()...)
	case "ring":
		cfg := election.DefaultRingConfig()
		cfg.Heartbeats = hb
		f, reg = func(node.ID) node.Process { return election.NewRing(cfg) }, node.NewRegistry(election.RingMessages()...)
	}
	s, err := sim.New(sim.Config{Nodes: n, New: f, Registry: reg, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if crash {
		s.At(time.Second, sim.Crash(node.ID(n-1)))
	}
	s.Request(time.Second+time.Millisecond, initiator, election.Elect{})
	if err := s.Run(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	tr := s.Trace()
	if !trace.AllOK(election.Check(tr)) {
		t.Fatalf("%s N=%d, %v starts: %+v", algo, n, initiator, election.Check(tr))
	}
	var after []election.Episode
	for _, e := range measure(algo, tr).Episodes {
		if e.Start > time.Second {
			after = append(after, e)
		}
	}
	if len(after) != 1 || after[0].End < 0 {
		t.Fatalf("%s N=%d, %v starts: episodes after the crash %+v, want one finished", algo, n, initiator, after)
	}
	return after[0]
}

// The message counts of one election, with one initiator, are exactly the
// textbook's (van Steen and Tanenbaum §5.4.1), for N = 3, 5 and 9: the bully
// algorithm takes N−1 messages when the next highest process notices the
// crash (N−2 COORDINATOR and the ELECTION to the dead coordinator) and
// N²−N−1 when the lowest does; the ring takes 2N−1 with the coordinator
// dead (N ELECTION sends, one of them to the dead process, N−1 COORDINATOR)
// and 2N with everyone alive, acknowledgements apart (one per hop that
// arrives).
func TestMessagesPerElectionAreTheTextbooks(t *testing.T) {
	var table strings.Builder
	fmt.Fprintf(&table, "%-6s %-34s %4s %8s %6s %s\n", "algo", "case", "N", "messages", "acks", "textbook")
	for _, n := range []int{3, 5, 9} {
		cases := []struct {
			algo, name string
			initiator  node.ID
			crash      bool
			want, acks int
			textbook   string
		}{
			{"bully", "best: next highest starts", node.ID(n - 2), true, election.TextbookBullyBest(n), 0, "N−1 (N−2 COORDINATOR + 1 ELECTION)"},
			{"bully", "worst: lowest starts", 0, true, election.TextbookBullyWorst(n), 0, "N²−N−1"},
			{"ring", "coordinator dead, n0 starts", 0, true, election.TextbookRing(n), 2 * (n - 1), "2N−1"},
			{"ring", "coordinator dead, n(N−2) starts", node.ID(n - 2), true, election.TextbookRing(n), 2 * (n - 1), "2N−1"},
			{"ring", "all alive, n0 starts", 0, false, 2 * n, 2 * n, "2N"},
		}
		for _, c := range cases {
			e := walkthrough(t, c.algo, n, c.initiator, c.crash)
			fmt.Fprintf(&table, "%-6s %-34s %4d %8d %6d %s = %d\n", c.algo, c.name, n, e.Messages, e.Acks, c.textbook, c.want)
			if e.Messages != c.want || e.Acks != c.acks {
				t.Errorf("%s N=%d, %s: %d messages and %d acks, want %d and %d", c.algo, n, c.name, e.Messages, e.Acks, c.want, c.acks)
			}
			if want := node.ID(n - 1); c.crash {
				want--
				if e.Leader != want {
					t.Errorf("%s N=%d, %s: elected %v, want %v", c.algo, n, c.name, e.Leader, want)
				}
			}
		}
	}
	t.Logf("messages per election:\n%s", table.String())
}

// The costs a catalog run reports: elections after boot, their messages
// beside the textbook's best and worst cases, the time to replace a crashed
// coordinator (detection plus election) and the time with two coordinators.
func TestCosts(t *testing.T) {
	for _, algo := range []string{"bully", "ring"} {
		sc := scenario{algo: algo, n: 5, seed: 1, length: 10 * time.Second, ops: 1}
		tr := sc.run(t)
		costs := election.BullyCosts(tr, 5)
		if algo == "ring" {
			costs = election.RingCosts(tr, 5)
		}
		byName := map[string]trace.Cost{}
		for _, c := range costs {
			byName[c.Name] = c
			t.Logf("%s: %s = %v (%s)", algo, c.Name, c, c.Textbook)
		}
		if c := byName["elections after boot"]; c.Value != 2 {
			t.Errorf("%s: %v elections after boot, want 2 (the crash, the return)", algo, c.Value)
		}
		lo, hi := byName["messages per election (fewest)"].Value, byName["messages per election (most)"].Value
		if lo < 4 || hi < lo {
			t.Errorf("%s: messages per election from %v to %v", algo, lo, hi)
		}
		// Detection takes 100–300 ms after the crash, the election a little more.
		if d := byName["time to elect after the coordinator crashed"]; d.Unit != "ms" || d.Value < 100 || d.Value > 500 {
			t.Errorf("%s: time to elect %v", algo, d)
		}
		// Only the handover when the old coordinator comes back, a few ms.
		if d := byName["time with two coordinators"]; d.Value <= 0 || d.Value > 50 {
			t.Errorf("%s: two coordinators for %v", algo, d)
		}
	}
}
