package consensus_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// seeds is how many seeds the property tests sweep: 200 by default, more
// with CONSENSUS_SEEDS=n.
func seeds(t *testing.T) uint64 {
	if s := os.Getenv("CONSENSUS_SEEDS"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 {
			t.Fatalf("bad CONSENSUS_SEEDS=%q: want a positive number of seeds", s)
		}
		return n
	}
	return 200
}

// verdicts indexes checks by property.
func verdicts(checks []trace.Check) map[string]trace.Check {
	m := map[string]trace.Check{}
	for _, c := range checks {
		m[c.Property] = c
	}
	return m
}

func TestGraphFigures(t *testing.T) {
	cases := []struct {
		graph                *consensus.Graph
		diameter, kappa, df1 int
	}{
		{consensus.Complete(1), 0, 0, 0},
		{consensus.Complete(2), 1, 1, 0},
		{consensus.Complete(5), 1, 4, 1},
		{consensus.Ring(3), 1, 2, 1}, // a triangle is K3
		{consensus.Ring(4), 2, 2, 2},
		{consensus.Ring(8), 4, 2, 6}, // one crash leaves a line of 7
		{consensus.Ring(9), 4, 2, 7},
		{consensus.Grid(4), 2, 2, 2},  // a 2×2 grid is a ring of 4
		{consensus.Grid(9), 4, 2, 4},  // 3×3: no single crash lengthens a corner-to-corner path
		{consensus.Grid(5), 3, 1, -1}, // 3 wide, the last row short: n2 hangs on n1 alone
	}
	for _, c := range cases {
		g := c.graph
		name := fmt.Sprintf("%v of %d", g, g.N())
		if d := g.Diameter(); d != c.diameter {
			t.Errorf("%s: diameter %d, want %d", name, d, c.diameter)
		}
		if k := g.Connectivity(); k != c.kappa {
			t.Errorf("%s: connectivity %d, want %d", name, k, c.kappa)
		}
		if d := g.FaultDiameter(1); d != c.df1 {
			t.Errorf("%s: 1-fault diameter %d, want %d", name, d, c.df1)
		}
		if d := g.FaultDiameter(0); d != c.diameter {
			t.Errorf("%s: 0-fault diameter %d, want the diameter %d", name, d, c.diameter)
		}
	}
	if got := consensus.Ring(5).Neighbors(0); !slices.Equal(got, []node.ID{1, 4}) {
		t.Errorf("ring of 5: n0's neighbours %v, want [n1 n4]", got)
	}
	if got := consensus.Grid(9).Neighbors(4); !slices.Equal(got, []node.ID{1, 3, 5, 7}) {
		t.Errorf("3×3 grid: n4's neighbours %v, want [n1 n3 n5 n7]", got)
	}
}

func TestFloodingRounds(t *testing.T) {
	cases := []struct {
		graph  *consensus.Graph
		f      int
		rounds int
		err    string
	}{
		{consensus.Complete(3), 1, 2, ""},
		{consensus.Complete(5), 2, 3, ""},
		{consensus.Complete(9), 4, 5, ""},
		{consensus.Complete(9), 0, 1, ""},
		{consensus.Ring(8), 0, 4, ""},
		{consensus.Ring(8), 1, 7, ""}, // f + D_1 = 1 + 6, not f + D = 5
		{consensus.Grid(9), 1, 5, ""},
		{consensus.Ring(8), 2, 0, "f = 2 crashes on the ring graph of 8 processes: want fewer than its vertex connectivity 2"},
		{consensus.Complete(3), 3, 0, "f = 3 crashes on the complete graph of 3 processes: want fewer than its vertex connectivity 2"},
		{consensus.Complete(3), -1, 0, "f = -1 crashes: want 0 or more"},
	}
	for _, c := range cases {
		r, err := consensus.FloodingRounds(c.graph, c.f)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v of %d, f=%d: err %v, want %q", c.graph, c.graph.N(), c.f, err, c.err)
		case c.err == "" && (err != nil || r != c.rounds):
			t.Errorf("%v of %d, f=%d: %d rounds (err %v), want %d", c.graph, c.graph.N(), c.f, r, err, c.rounds)
		}
	}
}

// floodRun is a simulated run of flooding consensus with staged crashes.
type floodRun struct {
	graph   *consensus.Graph
	rounds  int   // the processes decide after this many
	bound   int   // the checker's bound (the correct number of rounds)
	values  []int // values[i] is n(i)'s proposal
	crashes []consensus.FloodingCrash
}

const roundLength = 10 * time.Millisecond

// run simulates the run, staging each crash as the catalog does: a cut
// from the victim to the neighbours its last message does not reach, and
// the crash, between the round's sends and their delivery.
func (r floodRun) run(t *testing.T) *trace.Trace {
	t.Helper()
	cfg := consensus.FloodingConfig{Graph: r.graph, Rounds: r.rounds}
	s, err := sim.New(sim.Config{Nodes: r.graph.N(), Rounds: roundLength, Registry: node.NewRegistry(consensus.FloodingMessages()...),
		New: func(node.ID) node.Process { return consensus.NewFlooding(cfg) }})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range r.values {
		s.Request(0, node.ID(i), consensus.FloodPropose{Value: v})
	}
	stage(s, r.graph, r.crashes)
	if err := s.Run(time.Minute); err != nil {
		t.Fatal(err)
	}
	return s.Trace()
}

func stage(s *sim.Sim, g *consensus.Graph, crashes []consensus.FloodingCrash) {
	for _, c := range crashes {
		at := time.Duration(c.Round)*s.RoundLength() + s.RoundLength()/2
		if cut := c.Unreached(g); len(cut) > 0 {
			s.At(at, sim.Cut([]node.ID{c.Node}, cut))
		}
		s.At(at, sim.Crash(c.Node))
	}
}

// decisions lists who decided what after how many rounds, in node order.
func decisions(tr *trace.Trace) string {
	var out []string
	for _, d := range trace.Emitted[consensus.FloodDecided](tr) {
		out = append(out, fmt.Sprintf("%v:%d@%d", d.Node, d.Value.Value, d.Value.Round))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// The run behind the f+1 lower bound (Lynch §6.7), on five processes
// tolerating f = 2 crashes: n0 holds the smallest value, 0, and crashes in
// round 1 after its message reached n1 alone; n1 crashes in round 2 after
// its message reached n2 alone. After two rounds only n2, of the live
// processes, knows of 0; the third round tells n3 and n4. A process that
// decides after f rounds instead of f+1 decides before it knows.
func TestFloodingLowerBoundRun(t *testing.T) {
	g := consensus.Complete(5)
	crashes := []consensus.FloodingCrash{
		{Round: 1, Node: 0, Reached: []node.ID{1}},
		{Round: 2, Node: 1, Reached: []node.ID{2}},
	}
	for _, c := range []struct {
		name      string
		rounds    int
		decisions string
		agreement bool
	}{
		{"f+1 rounds", 3, "n2:0@3 n3:0@3 n4:0@3", true},
		{"f rounds (early-decide)", 2, "n2:0@2 n3:1@2 n4:1@2", false},
	} {
		r := floodRun{graph: g, rounds: c.rounds, bound: 3, values: []int{0, 1, 2, 3, 4}, crashes: crashes}
		tr := r.run(t)
		if got := decisions(tr); got != c.decisions {
			t.Errorf("%s: decisions %s, want %s", c.name, got, c.decisions)
		}
		v := verdicts(consensus.FloodingChecker{Rounds: r.bound}.Check(tr))
		if a := v[consensus.PropAgreement]; a.OK != c.agreement {
			t.Errorf("%s: agreement %v (%s), want %v", c.name, a.OK, a.Detail, c.agreement)
		} else {
			t.Logf("%s: %s: %s", c.name, a.Property, a.Detail)
		}
		for _, p := range []string{consensus.PropValidity, consensus.PropIntegrity, consensus.PropTermination} {
			if !v[p].OK {
				t.Errorf("%s: %s failed: %s", c.name, p, v[p].Detail)
			}
		}
	}
}

// On a ring of 8 with f = 1, the diameter is 4, but a crash turns the
// ring into a line of 7: n0, holding 0, crashes in round 1 after reaching
// n1 only, and 0 must go the long way round, n1 → n2 → … → n7, arriving in
// round 7 = f + D_1. Deciding after f + D = 5 rounds, or one round early,
// leaves the far side with 1.
func TestFloodingRingNeedsTheFaultDiameter(t *testing.T) {
	g := consensus.Ring(8)
	crash := []consensus.FloodingCrash{{Round: 1, Node: 0, Reached: []node.ID{1}}}
	values := []int{0, 1, 2, 3, 4, 5, 6, 7}
	for _, c := range []struct {
		name      string
		rounds    int
		agreement string // the agreement verdict's detail
	}{
		{"f + D_1 = 7 rounds", 7, "all 7 decisions are 0"},
		{"f + D_1 − 1 = 6 rounds (early-decide)", 6, "n1, n2, n3, n4, n5, n6 decided 0; n7 decided 1"},
		{"f + D = 5 rounds (plain-diameter)", 5, "n1, n2, n3, n4, n5 decided 0; n6 decided 1; n7 decided 2"},
	} {
		tr := floodRun{graph: g, rounds: c.rounds, bound: 7, values: values, crashes: crash}.run(t)
		a := verdicts(consensus.FloodingChecker{Rounds: 7}.Check(tr))[consensus.PropAgreement]
		if a.Detail != c.agreement || a.OK != (c.rounds == 7) {
			t.Errorf("%s: agreement %v %q, want %q", c.name, a.OK, a.Detail, c.agreement)
		}
	}
}

// Without crashes every process decides the smallest proposal after
// exactly f+1 rounds (FloodSet does not stop early), having sent one
// message to each neighbour per round.
func TestFloodingWithoutCrashes(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 9} {
		g := consensus.Complete(n)
		f := (n - 1) / 2
		rounds, _ := consensus.FloodingRounds(g, f)
		if n > 1 && rounds != f+1 {
			t.Errorf("N=%d: %d rounds, want f+1 = %d", n, rounds, f+1)
		}
		values := make([]int, n)
		for i := range values {
			values[i] = 10 + (i*7)%n
		}
		tr := floodRun{graph: g, rounds: rounds, bound: rounds, values: values}.run(t)
		for _, c := range (consensus.FloodingChecker{Rounds: rounds}).Check(tr) {
			if !c.OK {
				t.Errorf("N=%d: %s: %s", n, c.Property, c.Detail)
			}
		}
		ds := trace.Emitted[consensus.FloodDecided](tr)
		if len(ds) != n {
			t.Fatalf("N=%d: %d decisions, want %d", n, len(ds), n)
		}
		for _, d := range ds {
			if d.Value.Value != 10 || d.Round != rounds+1 {
				t.Errorf("N=%d: %v decided %d at the start of round %d, want 10 after %d rounds", n, d.Node, d.Value.Value, d.Round, rounds)
			}
		}
		costs := consensus.FloodingCosts(tr, g, f)
		if costs[0].Value != float64(rounds) || costs[1].Value != float64(rounds*(n-1)) {
			t.Errorf("N=%d: costs %v, want %d rounds and %d·(N−1) = %d messages", n, costs, rounds, rounds, rounds*(n-1))
		}
	}
}

// floodingSweep runs FloodingWorkload over seeds on a graph and reports
// the first seed whose checks fail, or 0.
func floodingSweep(t *testing.T, g *consensus.Graph, f, rounds, bound int, n uint64) (failed uint64, detail string) {
	t.Helper()
	cfg := consensus.FloodingConfig{Graph: g, Rounds: rounds}
	for seed := uint64(1); seed <= n; seed++ {
		s, err := sim.New(sim.Config{Nodes: g.N(), Seed: seed, Rounds: roundLength, Registry: node.NewRegistry(consensus.FloodingMessages()...),
			New: func(node.ID) node.Process { return consensus.NewFlooding(cfg) }})
		if err != nil {
			t.Fatal(err)
		}
		stage(s, g, consensus.FloodingWorkload(s, g, f, bound))
		if err := s.Run(time.Minute); err != nil {
			t.Fatal(err)
		}
		for _, c := range (consensus.FloodingChecker{Rounds: bound}).Check(s.Trace()) {
			if !c.OK {
				return seed, c.Property + ": " + c.Detail
			}
		}
	}
	return 0, ""
}

// Over many seeds of crashes (random ones, and the lower bound's
// adversary), flooding consensus keeps its four properties on every graph
// and size; deciding a round early, or after f plus the plain diameter on
// a ring, is caught within a few seeds.
func TestFloodingProperties(t *testing.T) {
	graphs := []struct {
		name string
		make func(int) *consensus.Graph
		ns   []int
	}{
		{"complete", consensus.Complete, []int{2, 3, 5, 9}},
		{"ring", consensus.Ring, []int{3, 5, 8}},
		{"grid", consensus.Grid, []int{4, 9}},
	}
	for _, gr := range graphs {
		for _, n := range gr.ns {
			g := gr.make(n)
			f := max(0, min((n-1)/2, g.Connectivity()-1))
			bound, err := consensus.FloodingRounds(g, f)
			if err != nil {
				t.Fatal(err)
			}
			if seed, detail := floodingSweep(t, g, f, bound, bound, seeds(t)); seed != 0 {
				t.Errorf("%s N=%d f=%d seed %d: %s\nreplay: %s", gr.name, n, f, seed, detail, floodingReplay(gr.name, n, seed))
			}
			broken := map[string]int{"early-decide": bound - 1}
			if d := g.Diameter(); f+d < bound {
				broken["plain-diameter"] = f + d
			}
			for name, rounds := range broken {
				if seed, detail := floodingSweep(t, g, f, rounds, bound, 20); seed == 0 {
					t.Errorf("%s N=%d f=%d: %s (%d rounds instead of %d) not caught in 20 seeds", gr.name, n, f, name, rounds, bound)
				} else {
					t.Logf("%s N=%d f=%d: %s caught at seed %d: %s", gr.name, n, f, name, seed, detail)
				}
			}
		}
	}
}

// floodingReplay is the command that reruns a seed of the sweep: the
// catalog's entries run the same workload.
func floodingReplay(graph string, n int, seed uint64) string {
	switch graph {
	case "complete":
		return fmt.Sprintf("go run ./cmd/synod sim consensus/flooding --nodes %d --seed %d", n, seed)
	case "ring":
		return fmt.Sprintf("go run ./cmd/synod sim consensus/flooding-ring --nodes %d --seed %d", n, seed)
	}
	return fmt.Sprintf("CONSENSUS_SEEDS=%d go test ./consensus -run TestFloodingProperties (the %s has no catalog entry)", seed, graph)
}
