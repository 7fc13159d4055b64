package consensus

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// executedEverywhere reports the highest slot every node executed.
func executedEverywhere(tr *trace.Trace, n int) uint64 {
	top := make([]uint64, n)
	for _, e := range trace.Emitted[MultiPaxosExecuted](tr) {
		top[e.Event.Node] = max(top[e.Event.Node], e.Value.Slot)
	}
	low := top[0]
	for _, t := range top {
		low = min(low, t)
	}
	return low
}

func TestMultiPaxosNoFaults(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		_, tr := runMP(t, 3, seed, 3*time.Second, MultiPaxosConfig{}, nil, 200)
		if bad := failedChecks(tr); len(bad) > 0 {
			t.Fatalf("seed %d: %v", seed, bad)
		}
		// Every node executes every command proposed to the leader (those
		// sent to followers were refused).
		if got := executedEverywhere(tr, 3); got < 60 {
			t.Errorf("seed %d: only %d slots executed everywhere", seed, got)
		}
		elected := trace.Emitted[MultiPaxosElected](tr)
		if len(elected) != 1 {
			t.Errorf("seed %d: %d elections on a fault-free network, want 1", seed, len(elected))
		}
		t.Logf("seed %d: %v", seed, trace.Measure(tr))
	}
}

// TestMultiPaxosRandomFaults runs Multi-Paxos under every kind of fault
// over many seeds, with snapshots taken often. MULTIPAXOS_SEEDS=N runs N
// seeds per setting instead of 20; a failing seed replays alone with
// -run 'TestMultiPaxosRandomFaults/SETTING/seed=N$'.
func TestMultiPaxosRandomFaults(t *testing.T) {
	seeds := 20
	if n, err := strconv.Atoi(os.Getenv("MULTIPAXOS_SEEDS")); err == nil && n > 0 {
		seeds = n
	}
	lossy := sim.Link{Latency: sim.Uniform(1*time.Millisecond, 8*time.Millisecond), Loss: 0.05, Duplicate: 0.05, Reorder: true}
	nemesis := sim.Nemesis{Partition: 2, PartitionFor: 400 * time.Millisecond, Crash: 2, RestartAfter: 300 * time.Millisecond,
		Pause: 0.5, PauseFor: 300 * time.Millisecond, Skew: 20 * time.Millisecond, Drift: 0.001, Stop: 4 * time.Second}
	for _, n := range []int{3, 5} {
		for seed := uint64(1); seed <= uint64(seeds); seed++ {
			t.Run(fmt.Sprintf("%d-nodes/seed=%d", n, seed), func(t *testing.T) {
				_, tr := runMP(t, n, seed, 6*time.Second, MultiPaxosConfig{SnapshotThreshold: 8},
					func(c *sim.Config) { c.Network.Default = lossy; c.Nemesis = nemesis }, 300)
				if bad := failedChecks(tr); len(bad) > 0 {
					t.Fatalf("%v", bad)
				}
				if got := executedEverywhere(tr, n); got < 20 {
					t.Errorf("only %d slots executed everywhere after the faults stopped", got)
				}
			})
		}
	}
}

// Each deliberately broken variant is caught by CheckMultiPaxos within 20
// seeds of the faults that expose it: leader changes under partitions and
// loss for no-adopt and execute-gaps, frequent crash-restarts for the
// acceptor that does not sync.
func TestMultiPaxosBrokenVariantsAreCaught(t *testing.T) {
	lossy := sim.Link{Latency: sim.Uniform(1*time.Millisecond, 8*time.Millisecond), Loss: 0.05, Duplicate: 0.05, Reorder: true}
	partitions := sim.Nemesis{Partition: 2, PartitionFor: 400 * time.Millisecond, Crash: 2, RestartAfter: 300 * time.Millisecond,
		Pause: 0.5, PauseFor: 300 * time.Millisecond, Stop: 4 * time.Second}
	crashes := sim.Nemesis{Crash: 10, RestartAfter: 20 * time.Millisecond, Stop: 3 * time.Second}
	for _, v := range []struct {
		name    string
		broken  MultiPaxosBroken
		nemesis sim.Nemesis
	}{
		{"no-adopt", MultiPaxosBroken{NoAdopt: true}, partitions},
		{"unsynced-acceptor", MultiPaxosBroken{UnsyncedAcceptor: true}, crashes},
		{"execute-gaps", MultiPaxosBroken{ExecuteGaps: true}, partitions},
	} {
		t.Run(v.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 20; seed++ {
				_, tr := runMP(t, 3, seed, 6*time.Second, MultiPaxosConfig{SnapshotThreshold: 8, Broken: v.broken},
					func(c *sim.Config) { c.Network.Default = lossy; c.Nemesis = v.nemesis }, 300)
				if bad := failedChecks(tr); len(bad) > 0 {
					t.Logf("caught at seed %d: %v", seed, bad)
					return
				}
			}
			t.Errorf("%s was not caught in 20 seeds", v.name)
		})
	}
}
