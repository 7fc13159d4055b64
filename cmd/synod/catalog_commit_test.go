package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/synod-dev/synod/sim"
)

// The blocking of 2PC shows in `synod sim` as a passing termination check
// that reports the blocking windows and in the costs, both in the dedicated
// entry and in a plain run with a scheduled coordinator crash.
func TestCommitBlockingShowsInSimOutput(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "commit/2pc-blocking"},
		{"sim", "commit/2pc", "--schedule", "820ms crash n0; 1.2s restart n0"},
	} {
		out, err := synod(args...)
		if err != nil {
			t.Fatalf("synod %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		for _, want := range []string{"termination      pass", "blocking windows: prepared participants held their locks", "not a violation", "longest blocking window", "until the coordinator recovers"} {
			if !strings.Contains(out, want) {
				t.Errorf("synod %s: output lacks %q:\n%s", strings.Join(args, " "), want, out)
			}
		}
	}
	out, err := synod("sim", "commit/3pc-nonblocking")
	if err != nil || !strings.Contains(out, "non-blocking     pass") || !strings.Contains(out, "by the termination protocol") {
		t.Fatalf("3pc-nonblocking: %v\n%s", err, out)
	}
}

// The partition run of 3PC fails on agreement, and prints the command that
// replays it.
func TestCommitThreePhasePartitionViolatesAgreement(t *testing.T) {
	out, err := synod("sim", "commit/3pc", "--variant", "partition", "--partitions", "10", "--partition-for", "100ms", "--seed", "2")
	if !errors.Is(err, errViolation) || !strings.Contains(out, "agreement        FAIL") ||
		!strings.Contains(out, "sim commit/3pc --variant partition --partitions 10 --partition-for 100ms --seed 2") {
		t.Fatalf("err %v\n%s", err, out)
	}
}

// The hint `synod list` gives for a variant names every setting that
// differs from the defaults, --max-down included.
func TestNemesisFlagsNameMaxDown(t *testing.T) {
	if got := nemesisFlags(sim.Nemesis{Crash: 4, MaxDown: 4}); got != "--crashes 4 --restart-after 0s --max-down 4" {
		t.Errorf("nemesisFlags = %q", got)
	}
}
