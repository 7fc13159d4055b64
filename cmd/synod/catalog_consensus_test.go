package main

import (
	"strings"
	"testing"
)

// Flooding consensus runs in synchronous rounds by default (the catalog's
// Rounds), or of the length --rounds gives, and prints the rounds it took
// beside f+1; the ring's entry prints f + D_f.
func TestConsensusFloodingRunsInRounds(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"sim", "consensus/flooding", "--seed", "3"},
			[]string{"synchronous rounds of 10ms", "termination        pass", "rounds to decide              3 rounds  f+1 = 3", "(f+1)(N−1) = 12"}},
		{[]string{"sim", "consensus/flooding", "--rounds", "25ms", "--nodes", "9", "--seed", "3"},
			[]string{"synchronous rounds of 25ms", "rounds to decide              5 rounds  f+1 = 5"}},
		{[]string{"sim", "consensus/flooding-ring", "--seed", "3"},
			[]string{"rounds to decide              7 rounds  f+D_f = 1+6 = 7 (diameter 4)"}},
	}
	for _, c := range cases {
		out, err := synod(c.args...)
		if err != nil {
			t.Fatalf("synod %s: %v\n%s", strings.Join(c.args, " "), err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("synod %s lacks %q:\n%s", strings.Join(c.args, " "), w, out)
			}
		}
	}
	// The test helpers' run specs get the default too.
	for _, name := range []string{"consensus/flooding", "consensus/flooding-ring"} {
		a, _ := lookup(name)
		spec := &runSpec{alg: a, nodes: a.Nodes, length: a.Length, ops: a.Ops}
		r := spec.execute(1, true)
		if !r.ok() || r.trace.Events[len(r.trace.Events)-1].Round == 0 {
			t.Errorf("%s: a run spec without --rounds did not run in rounds: %v %+v", name, r.err, r.checks)
		}
	}
}

// A broken variant fails with the replay command, and says what went
// wrong.
func TestConsensusVariantsFailWithReplay(t *testing.T) {
	for _, c := range []struct{ alg, variant, seed, want string }{
		{"consensus/flooding", "early-decide", "2", "uniform agreement  FAIL    n0 decided 0; n2, n3 decided 1"},
		{"consensus/flooding-ring", "plain-diameter", "2", "uniform agreement  FAIL"},
		{"consensus/paxos", "forget-accepted", "17", "one value chosen   FAIL    two values chosen"},
	} {
		out, err := synod("sim", c.alg, "--variant", c.variant, "--seed", c.seed)
		if err == nil || !strings.Contains(out, c.want) || !strings.Contains(out, "sim "+c.alg+" --variant "+c.variant+" --seed "+c.seed) {
			t.Errorf("%s --variant %s --seed %s: err %v, want %q and the replay command:\n%s", c.alg, c.variant, c.seed, err, c.want, out)
		}
	}
}

// The report tabulates the measured costs beside the textbook for each N:
// rounds for flooding, messages and message delays for Paxos.
func TestConsensusReportHasTheCosts(t *testing.T) {
	out, err := synod("report", "--only", "consensus/flooding,consensus/paxos", "--nodes", "3,5", "--seeds", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"| `consensus/flooding` | rounds to decide | 3 | 2 rounds | f+1 = 2 |",
		"| `consensus/flooding` | rounds to decide | 5 | 3 rounds | f+1 = 3 |",
		"| `consensus/flooding` | messages per correct process | 5 | 12 | (f+1)(N−1) = 12 |",
		"| `consensus/paxos` | message delays to commit, phases 1+2 | 3 | 4 | 4: prepare, promise, accept, accepted |",
		"| `consensus/paxos` | message delays to commit, phase 2 alone | 5 | 2 | 2: accept, accepted |",
		"| `consensus/paxos` | messages of the deciding ballot, phases 1+2 | 5 |",
		"(N+1)(N−1) = 24",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// Round-based algorithms need the simulator: the live commands refuse them
// with a clear line.
func TestRoundBasedAlgorithmsDoNotRunLive(t *testing.T) {
	want := "consensus/flooding runs in synchronous rounds, which only the simulator has: try synod sim consensus/flooding"
	for _, args := range [][]string{
		{"node", "--id", "0", "--peers", "0=127.0.0.1:1", "--algo", "consensus/flooding", "--data", t.TempDir()},
		{"cluster", "consensus/flooding", "--nodes", "3"},
	} {
		_, err := synod(args...)
		if err == nil || err.Error() != want {
			t.Errorf("synod %s: err %v, want %q", strings.Join(args, " "), err, want)
		}
	}
}
