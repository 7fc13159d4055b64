package raft

import (
	"testing"
	"time"

	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

func TestClusterCommitsWithoutFaults(t *testing.T) {
	_, tr := runCluster(t, 3, 1, 3*time.Second, Config{}, nil, 300)
	for _, c := range Check(tr) {
		if !c.OK {
			t.Errorf("%s: %s", c.Property, c.Detail)
		}
	}
	applied := map[int]int{}
	for _, e := range trace.Emitted[Applied](tr) {
		applied[int(e.Event.Node)]++
	}
	t.Logf("applied per node: %v; elections %d", applied, len(trace.Emitted[Elected](tr)))
	for id := range 3 {
		if applied[id] < 90 {
			t.Errorf("n%d applied only %d entries", id, applied[id])
		}
	}
}

func TestClusterSafeUnderFaults(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		_, tr := runCluster(t, 5, seed, 5*time.Second, Config{SnapshotThreshold: 50}, func(c *sim.Config) {
			c.Nemesis = sim.Nemesis{Partition: 2, PartitionFor: 300 * time.Millisecond, Crash: 2, RestartAfter: 200 * time.Millisecond, Stop: 4 * time.Second}
		}, 500)
		for _, c := range Check(tr) {
			if !c.OK {
				t.Errorf("seed %d: %s: %s", seed, c.Property, c.Detail)
			}
		}
		max := uint64(0)
		for _, e := range trace.Emitted[Applied](tr) {
			max = e.Value.Index
		}
		t.Logf("seed %d: %d applied events, last %d, %d elections", seed, len(trace.Emitted[Applied](tr)), max, len(trace.Emitted[Elected](tr)))
	}
}
