package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportMeasuresAndReplacesTheReadmeBlock(t *testing.T) {
	out, err := synod("report", "--only", "broadcast/total-order", "--nodes", "3,4", "--seeds", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"| `broadcast/total-order` | reliable FIFO links, no crashes | total order 4/4; termination 4/4",
		"| `broadcast/total-order` | messages per operation | 3 | 6 | N(N−1) = 6 |",
		"| `broadcast/total-order` | messages per operation | 4 | 12 | N(N−1) = 12 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	again, _ := synod("report", "--only", "broadcast/total-order", "--nodes", "3,4", "--seeds", "2")
	if strings.Count(again, "|") != strings.Count(out, "|") || !strings.Contains(again, "N(N−1) = 12") {
		t.Fatal("the report is not reproducible")
	}

	readme := filepath.Join(t.TempDir(), "README.md")
	os.WriteFile(readme, []byte("# x\n\n"+reportBegin+"\nold\n"+reportEnd+"\ntail\n"), 0o644)
	if _, err := synod("report", "--only", "broadcast/total-order", "--nodes", "3", "--seeds", "1", "--readme", readme); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(readme)
	if strings.Contains(string(got), "old") || !strings.Contains(string(got), "N(N−1) = 6") || !strings.HasSuffix(string(got), reportEnd+"\ntail\n") {
		t.Fatalf("README after --readme:\n%s", got)
	}

	for _, c := range []struct{ args, want string }{
		{"--nodes 3,x", `bad --nodes "3,x"`},
		{"--seeds 0", "bad --seeds 0"},
		{"--only nosuch", `unknown algorithm "nosuch"`},
	} {
		_, err := synod(append([]string{"report"}, strings.Fields(c.args)...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("report %s: %v, want %q", c.args, err, c.want)
		}
	}
}
