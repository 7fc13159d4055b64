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

// figure runs the textbook's figure: n processes on 1 ms links, the
// coordinator n(N−1) crashed at 1 s, and the given processes noticing it at
// once 1 ms later (told so by an Elect request; nobody's heartbeat timeout
// expires meanwhile). It returns the election messages sent after the crash,
// one line each, "TIME FROM→TO TYPE", and the trace.
func figure(t *testing.T, algo string, n int, initiators ...node.ID) (string, *trace.Trace) {
	t.Helper()
	hb := election.DefaultHeartbeats()
	hb.Timeout = time.Hour
	var f node.Factory
	var reg *node.Registry
	if algo == "bully" {
		cfg := election.DefaultBullyConfig()
		cfg.Heartbeats = hb
		f, reg = func(node.ID) node.Process { return election.NewBully(cfg) }, node.NewRegistry(election.BullyMessages()...)
	} else {
		cfg := election.DefaultRingConfig()
		cfg.Heartbeats = hb
		f, reg = func(node.ID) node.Process { return election.NewRing(cfg) }, node.NewRegistry(election.RingMessages()...)
	}
	s, err := sim.New(sim.Config{Nodes: n, New: f, Registry: reg, Seed: 1,
		Network: sim.Network{Default: sim.Link{Latency: sim.Constant(time.Millisecond)}}})
	if err != nil {
		t.Fatal(err)
	}
	s.At(time.Second, sim.Crash(node.ID(n-1)))
	for _, p := range initiators {
		s.Request(time.Second+time.Millisecond, p, election.Elect{})
	}
	if err := s.Run(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range s.Trace().Filter(trace.Send) {
		if e.Time > time.Second && e.Type != "election.heartbeat" && e.Type != "election.ack" {
			fmt.Fprintf(&b, "%v %v→%v %s\n", e.Time-time.Second, e.Node, e.Peer, node.ShortName(e.Type))
		}
	}
	return b.String(), s.Trace()
}

// Van Steen and Tanenbaum's Figure 5-20, the bully election algorithm:
// "(a) Process 4 holds an election. (b) Processes 5 and 6 respond, telling 4
// to stop. (c) Now 5 and 6 each hold an election. (d) Process 6 tells 5 to
// stop. (e) Process 6 wins and tells everyone." Process 7, the old
// coordinator, has crashed: its ELECTION messages go unanswered, and 6 wins
// when its wait for an OK (30 ms) runs out.
func TestBullyFigure5_20(t *testing.T) {
	got, tr := figure(t, "bully", 8, 4)
	want := `
1ms n4→n5 election
1ms n4→n6 election
1ms n4→n7 election
2ms n5→n4 answer
2ms n5→n6 election
2ms n5→n7 election
2ms n6→n4 answer
2ms n6→n7 election
3ms n6→n5 answer
32ms n6→n0 coordinator
32ms n6→n1 coordinator
32ms n6→n2 coordinator
32ms n6→n3 coordinator
32ms n6→n4 coordinator
32ms n6→n5 coordinator
`
	if got != strings.TrimPrefix(want, "\n") {
		t.Fatalf("messages:\n%s\nwant:\n%s", got, want)
	}
	for _, l := range trace.Emitted[election.Leader](tr) {
		if l.Time > time.Second && l.Value.ID != 6 {
			t.Errorf("%v adopted %v at %v, want n6", l.Node, l.Value.ID, l.Time)
		}
	}
	if !trace.AllOK(election.Check(tr)) {
		t.Errorf("%+v", election.Check(tr))
	}
}

// "If a process that was previously down comes back up, it holds an
// election. If it happens to be the highest-numbered process currently
// running, it will win the election and take over the coordinator's job."
// It does so at once: it has no one to ask.
func TestBullyRestartedHighestTakesOver(t *testing.T) {
	sc := scenario{algo: "bully", n: 5, seed: 1, length: 3 * time.Second, schedule: "500ms crash n4; 1500ms restart n4"}
	tr := sc.run(t)
	var got []string
	for _, l := range trace.Emitted[election.Leader](tr) {
		if l.Time >= 1500*time.Millisecond {
			got = append(got, fmt.Sprintf("%v %v", l.Node, l.Value.ID))
		}
	}
	// n4 declares itself when it starts; the others adopt it one link
	// delay later.
	if len(got) != 5 || got[0] != "n4 n4" || len(trace.Emitted[election.Leader](tr)) == 0 {
		t.Fatalf("after the restart: %v, want n4 first, then the four others adopting n4\nreplay: %s", got, sc.replay())
	}
	for _, g := range got {
		if !strings.HasSuffix(g, " n4") {
			t.Errorf("after the restart %s\nreplay: %s", g, sc.replay())
		}
	}
	expectPass(t, sc, election.Check(tr))
}
