package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `synod bench election` prints a row per range with the paper's figure
// beside it, writes the figure and the trials, and prints the same numbers
// for the same seed.
func TestBenchElection(t *testing.T) {
	dir := t.TempDir()
	svg, csvPath := filepath.Join(dir, "f.svg"), filepath.Join(dir, "f.csv")
	args := []string{"bench", "election", "--trials", "20", "--ranges", "150-155,12-24", "--seed", "5", "--svg", svg, "--csv", csvPath}
	out, err := synod(args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"150-155ms", "12-24ms", "median 287ms", "mean 35ms, max 152ms", "p95", "wrote " + svg} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(svg); err != nil || !strings.Contains(string(b), `data-range="12-24ms"`) {
		t.Errorf("svg: %v, %.200s", err, b)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 41 || rows[0][0] != "range" || rows[1][1] != "5" {
		t.Errorf("csv: %v, %d rows, first %v", err, len(rows), rows[:min(2, len(rows))])
	}
	table := func(s string) string { return s[strings.Index(s, "range"):strings.Index(s, "wrote")] }
	again, err := synod(args...)
	if err != nil || table(again) != table(out) {
		t.Errorf("the same seed printed another table (%v):\n%s\n%s", err, table(out), table(again))
	}
}

func TestBenchElectionRejectsBadFlags(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{"--trials 0", "--trials 0: want at least 1"},
		{"--ranges 150-abc", `"150-abc": want MIN-MAX in milliseconds`},
		{"--ranges 300-150", `"300-150": want 0 < MIN <= MAX`},
		{"--stale 4", "--stale 4: want 0, 1 or 2"},
		{"--latency fast", `invalid argument "fast" for "--latency"`},
		{"--limit -1s", `invalid argument "-1s" for "--limit"`},
	} {
		out, err := synod(append([]string{"bench", "election"}, strings.Fields(c.args)...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v (output %q), want one line with %q", c.args, err, out, c.want)
		}
	}
}
