package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// synod bench kv end to end, briefly: it measures the baselines and every
// level, prints the tables, and judges the targets it has levels for.
func TestBenchKV(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes; skipped with -short")
	}
	var out strings.Builder
	err := runBenchKV(&out, benchKVConfig{Exe: synodBinary(t), Dir: t.TempDir(), Clients: []int{1, 4},
		Duration: 300 * time.Millisecond, Value: 100, Baseline: 100 * time.Millisecond})
	if err != nil && err != errTargetMissed {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		`write 132 B \+ fsync, in the data directory +\d+ `,
		`loopback client request \(gRPC\), round trip +\d+ `,
		`kv status of a follower \(a node process\), round trip +\d+ `,
		`(?m)^ +1 +[1-9]\d* +\d+ +[\d.]+ [µm]s +[\d.]+ [µm]s +[1-9]\d* +[\d.]+ +\d+ +0$`, // 1 client: writes, fsyncs, no errors
		`(?m)^ +4 +[1-9]\d* +\d+ `,
		`batching: not measured \(--clients has no 64\)`,
		`latency: 1 client p50 [\d.]+ [µm]s = [\d.]+× \(fsync p50 .*\); target ≤ 3×: (PASS|FAIL)`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("no %q in the output:\n%s", want, out.String())
		}
	}
	if (err == errTargetMissed) != strings.Contains(out.String(), "FAIL") {
		t.Errorf("returned %v, but the output says:\n%s", err, out.String())
	}
}

func TestParseClientLevels(t *testing.T) {
	if got, err := parseClientLevels("1, 16,64"); err != nil || len(got) != 3 || got[1] != 16 {
		t.Fatalf("parseClientLevels: %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "1,x", "5000"} {
		if _, err := parseClientLevels(bad); err == nil || !strings.Contains(err.Error(), "bad --clients entry") {
			t.Errorf("parseClientLevels(%q): %v", bad, err)
		}
	}
	if _, err := synod("bench", "kv", "--duration", "0s"); err == nil || !strings.Contains(err.Error(), "bad --duration 0s") {
		t.Errorf("bench kv --duration 0s: %v", err)
	}
}
