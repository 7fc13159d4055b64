package kv_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/synod-dev/synod/raft"
	"github.com/synod-dev/synod/sim"
)

func TestHunt(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("KV_HUNT"))
	if n == 0 {
		t.Skip()
	}
	lossy := sim.Link{Latency: sim.Exponential(1*time.Millisecond, 5*time.Millisecond), Loss: 0.1, Duplicate: 0.1, Reorder: true}
	nem := sim.Nemesis{Partition: 3, PartitionFor: 600 * time.Millisecond, Crash: 2, RestartAfter: 300 * time.Millisecond,
		Pause: 1, PauseFor: 400 * time.Millisecond, Skew: 50 * time.Millisecond, Drift: 0.005, Stop: 7 * time.Second}
	settings := []struct {
		name string
		c    cluster
	}{
		{"lease", cluster{servers: 3, clients: 4, ops: 200, window: 6 * time.Second, length: 14 * time.Second, link: lossy, nemesis: nem,
			raft: raft.Config{SnapshotThreshold: 8, LeaseRead: true, ClockDrift: 0.02}}},
		{"noprevote", cluster{servers: 5, clients: 4, ops: 200, window: 6 * time.Second, length: 14 * time.Second, link: lossy, nemesis: nem,
			raft: raft.Config{SnapshotThreshold: 8, NoPreVote: true, NoCheckQuorum: true}}},
		{"fast", cluster{servers: 3, clients: 6, ops: 300, window: 6 * time.Second, length: 14 * time.Second, link: lossy, nemesis: nem,
			raft: raft.Config{SnapshotThreshold: 5, ElectionTimeoutMin: 30 * time.Millisecond, MaxEntries: 2, MaxInflight: 2}}},
	}
	for _, st := range settings {
		for seed := uint64(1); seed <= uint64(n); seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", st.name, seed), func(t *testing.T) {
				c := st.c
				c.seed = seed
				checkRun(t, st.name, c, c.run(t), 0.1)
			})
		}
	}
}
