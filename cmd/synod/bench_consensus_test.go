package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// On a fault-free run with one client (nothing batched) the measured
// messages per command meet the textbook formulas (within 30%), and the
// commit latencies are the textbook's message delays: 2 at the leader,
// 3 at Multi-Paxos' other servers (the decide), 4 at the client.
func TestBenchConsensusFigures(t *testing.T) {
	rows, err := runConsensusBench(consensusBench{Nodes: []int{3, 5}, Clients: []int{1}, Ops: 60, Seeds: 1, Latency: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows; want Raft and Multi-Paxos for N = 3 and 5", len(rows))
	}
	near := func(got, want, tol float64) bool { return math.Abs(got-want) <= tol*want }
	for _, r := range rows {
		if r.Ops != 60 {
			t.Errorf("%s N=%d: %d writes completed, want 60", r.Algo, r.N, r.Ops)
		}
		if got, want := r.steady(), steadyFormula(r.Algo, r.N); !near(got, want, 0.3) {
			t.Errorf("%s N=%d: %.2f messages per command, want within 30%% of the formula's %.0f (%v)", r.Algo, r.N, got, want, r.Kinds)
		}
		for _, c := range []struct {
			what string
			xs   []float64
			want float64
		}{
			{"commit at the leader", r.Leader, 2},
			{"the client's latency", r.Client, 4},
		} {
			if got := median(c.xs); !near(got, c.want, 0.05) {
				t.Errorf("%s N=%d: %s %.2f message delays (median of %d), want %.0f", r.Algo, r.N, c.what, got, len(c.xs), c.want)
			}
		}
		learners := median(r.Learners)
		switch r.Algo {
		case "consensus/multipaxos":
			if !near(learners, 3, 0.05) || r.perOp("decide") < 0.9*float64(r.N-1) {
				t.Errorf("Multi-Paxos N=%d: the other servers learn in %.2f delays with %.2f decides per command; want 3 delays, N−1 decides",
					r.N, learners, r.perOp("decide"))
			}
		case "raft":
			if learners < 3 || r.perOp("decide") != 0 {
				t.Errorf("Raft N=%d: followers learn in %.2f delays (want at least 3: the commit index rides on the next AppendEntries), %.2f decides",
					r.N, learners, r.perOp("decide"))
			}
		}
	}
}

// synod bench consensus prints the Markdown table and writes the document.
func TestBenchConsensusCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cmp.md")
	got, err := synod("bench", "consensus", "--nodes", "3", "--clients", "1,4", "--ops", "40", "--seeds", "1", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	for _, want := range []string{"| Raft | 3 | 1 |", "| Multi-Paxos | 3 | 4 |", "3(N−1)+2 = 8", "2(N−1)+2 = 6", "--clients 1,4 --ops 40"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(doc), "# Multi-Paxos beside Raft") || !strings.Contains(string(doc), "| Multi-Paxos | 3 | 1 |") {
		t.Errorf("the document:\n%s", doc)
	}
	for _, bad := range [][]string{{"--nodes", "0"}, {"--clients", "x"}, {"--ops", "0"}, {"--latency", "-1ms"}} {
		if _, err := synod(append([]string{"bench", "consensus"}, bad...)...); err == nil || !strings.Contains(err.Error(), "bad "+bad[0]) {
			t.Errorf("synod bench consensus %s: %v; want a clear error naming %s", strings.Join(bad, " "), err, bad[0])
		}
	}
}
