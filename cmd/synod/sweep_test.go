package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// faultProfiles are the fault profiles of the replicated key-value sweeps
// (TestRaftSweep, TestMultiPaxosSweep), as `synod sim` flags, so that a
// failing seed's replay command is the profile plus --seed. Together they
// cover issue #5's list: partitions of every shape (random
// majority/minority splits, one node isolated — often the leader — and
// one-way cuts; a flapping bridge on a schedule), crash-restarts losing
// unsynced writes, pauses, loss with duplication and reordering, and clock
// skew with drift.
var faultProfiles = []struct {
	name string
	args string
}{
	{"partitions", "--partitions 3 --partition-for 400ms"},
	{"crashes", "--crashes 2 --restart-after 200ms"},
	{"pauses", "--pauses 2 --pause-for 300ms"},
	{"lossy network", "--loss 0.05 --dup 0.05 --reorder --latency uniform:1ms-10ms"},
	{"clocks", "--skew 50ms --drift 0.01"},
	{"flapping bridge", "--schedule " + strconv.Quote(flappingBridge(3))},
	{"everything", "--nemesis all --loss 0.02 --dup 0.02 --reorder"},
	{"5 nodes, everything", "--nodes 5 --nemesis all --loss 0.02 --dup 0.02 --reorder"},
	{"5 nodes, flapping bridge", "--nodes 5 --schedule " + strconv.Quote(flappingBridge(5))},
}

// flappingBridge partitions the servers into two sides joined only by one
// bridge node (n1 of 3, n2 of 5), healing and splitting again every 150 ms
// for the first two seconds.
func flappingBridge(n int) string {
	sides := "n0|n2"
	if n == 5 {
		sides = "n0,n1|n3,n4"
	}
	var s []string
	for t := 200; t < 2000; t += 300 {
		s = append(s, fmt.Sprintf("%dms partition %s", t, sides), fmt.Sprintf("%dms heal", t+150))
	}
	return strings.Join(s, "; ")
}

// sweep runs algorithm algo under every fault profile, checking its
// properties on every seed: 200 seeds in all by default, or as many as the
// environment variable seedsVar says. A failure prints the command that
// replays the seed and the path of porcupine's drawing of the history.
func sweep(t *testing.T, algo, seedsVar string) {
	total := 200
	if s := os.Getenv(seedsVar); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < len(faultProfiles) {
			t.Fatalf("%s=%q: want a number of seeds of at least %d", seedsVar, s, len(faultProfiles))
		}
		total = n
	}
	per := (total + len(faultProfiles) - 1) / len(faultProfiles)
	for i, p := range faultProfiles {
		t.Run(p.name, func(t *testing.T) {
			args := append([]string{"sim", algo, "--time", "4s", "--ops", "80",
				"--seed", strconv.Itoa(1 + i*per), "--seeds", strconv.Itoa(per)}, splitArgs(p.args)...)
			out, err := synod(args...)
			if err != nil {
				t.Fatalf("synod %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if !strings.Contains(out, fmt.Sprintf("%d/%d", per, per)) {
				t.Fatalf("sweep summary lacks %d/%d passes:\n%s", per, per, out)
			}
		})
	}
}

// splitArgs splits flags on spaces, keeping quoted strings whole.
func splitArgs(s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				panic(err)
			}
			u, _ := strconv.Unquote(q)
			out = append(out, u)
			s = s[len(q):]
			continue
		}
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			i = len(s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

// TestMultiPaxosSweep runs the key-value service on Multi-Paxos under every
// fault profile of the Raft sweep, checking Multi-Paxos' invariants and
// linearizability on every seed: 200 seeds by default,
// SYNOD_MULTIPAXOS_SEEDS=10000 for the long sweep.
func TestMultiPaxosSweep(t *testing.T) {
	sweep(t, "consensus/multipaxos", "SYNOD_MULTIPAXOS_SEEDS")
}
