package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// raftProfiles are the fault profiles of the Raft sweep, as `synod sim`
// flags, so that a failing seed's replay command is the profile plus
// --seed. Together they cover issue #5's list: partitions of every shape
// (random majority/minority splits, one node isolated — often the leader —
// and one-way cuts; a flapping bridge on a schedule), crash-restarts losing
// unsynced writes, pauses, loss with duplication and reordering, and clock
// skew with drift.
var raftProfiles = []struct {
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

// TestRaftSweep runs the key-value service on Raft under every fault
// profile, checking Raft's safety properties and linearizability on every
// seed: 200 seeds by default, SYNOD_RAFT_SEEDS=10000 for the long sweep. A
// failure prints the command that replays the seed and the path of
// porcupine's drawing of the history.
func TestRaftSweep(t *testing.T) {
	total := 200
	if s := os.Getenv("SYNOD_RAFT_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < len(raftProfiles) {
			t.Fatalf("SYNOD_RAFT_SEEDS=%q: want a number of seeds of at least %d", s, len(raftProfiles))
		}
		total = n
	}
	per := (total + len(raftProfiles) - 1) / len(raftProfiles)
	for i, p := range raftProfiles {
		t.Run(p.name, func(t *testing.T) {
			args := append([]string{"sim", "raft", "--time", "4s", "--ops", "80",
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
