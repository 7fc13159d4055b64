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

// The costs a catalog run reports: the messages of the election after the
// coordinator crashed beside the textbook's best and worst cases, of the one
// when it comes back and takes over again, the time to replace the crashed
// coordinator (detection plus election) and the time with two coordinators.
func TestCosts(t *testing.T) {
	for _, algo := range []string{"bully", "ring"} {
		sc := scenario{algo: algo, n: 5, seed: 1, length: 10 * time.Second, ops: 1}
		tr := sc.run(t)
		costs, best, back := election.BullyCosts(tr, 5), float64(election.TextbookBullyBest(5)), []float64{4, 5}
		if algo == "ring" {
			costs, best, back = election.RingCosts(tr, 5), float64(election.TextbookRing(5)), []float64{10, 10}
		}
		byName := map[string]trace.Cost{}
		for _, c := range costs {
			byName[c.Name] = c
			t.Logf("%s: %s = %v (%s)", algo, c.Name, c, c.Textbook)
		}
		if c := byName["elections after a coordinator crash"]; c.Value != 1 {
			t.Errorf("%s: %v elections after a coordinator crash, want 1", algo, c.Value)
		}
		lo, hi := byName["messages per election after a crash (fewest)"].Value, byName["messages per election after a crash (most)"].Value
		if lo < best || hi < lo {
			t.Errorf("%s: messages per election after a crash from %v to %v, the textbook's best is %v", algo, lo, hi, best)
		}
		// The highest comes back: the bully's COORDINATOR to each lower
		// process (and one more to the old coordinator if one of its
		// heartbeats crossed it); the ring's ELECTION and COORDINATOR, once
		// round all five.
		if c := byName["messages per election when a process comes back (mean)"]; c.Value < back[0] || c.Value > back[1] {
			t.Errorf("%s: %v messages when the coordinator came back, want %v to %v", algo, c.Value, back[0], back[1])
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
