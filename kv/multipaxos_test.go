package kv_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// The key-value service on Multi-Paxos (ServerConfig.Log): the same
// clients, workload and linearizability checker as on Raft.

func multiPaxos(cfg consensus.MultiPaxosConfig) func([]node.ID, kv.Replica) kv.Log {
	return kv.MultiPaxosLog(cfg)
}

// checkMultiPaxos asserts Multi-Paxos' own invariants on a run.
func checkMultiPaxos(t *testing.T, name string, seed uint64, tr *trace.Trace) {
	t.Helper()
	for _, c := range consensus.CheckMultiPaxos(tr) {
		if !c.OK {
			t.Errorf("%s seed %d: %s: %s", name, seed, c.Property, c.Detail)
		}
	}
}

func TestMultiPaxosSimNoFaults(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		c := cluster{servers: 3, clients: 3, seed: seed, ops: 150, window: 3 * time.Second, length: 8 * time.Second,
			log: multiPaxos(consensus.MultiPaxosConfig{})}
		tr := c.run(t)
		checkRun(t, "multipaxos, no faults", c, tr, 1.0)
		checkMultiPaxos(t, "multipaxos, no faults", seed, tr)
	}
}

func TestMultiPaxosSimPartitions(t *testing.T) {
	schedule := "1s partition n0|n1,n2; 1.8s heal; 2.2s partition n1|n0,n2; 3s heal; 3.4s partition n2|n0,n1; 4.2s heal"
	for seed := uint64(1); seed <= 3; seed++ {
		c := cluster{servers: 3, clients: 3, seed: seed, ops: 150, window: 4 * time.Second, length: 10 * time.Second, schedule: schedule,
			log: multiPaxos(consensus.MultiPaxosConfig{})}
		tr := c.run(t)
		checkRun(t, "multipaxos, partitions", c, tr, 0.8)
		checkMultiPaxos(t, "multipaxos, partitions", seed, tr)
	}
}

// A client cut off with the leader can reach only a deposed leader: its
// reads go through the log, so they cannot be served stale.
func TestMultiPaxosSimIsolatedLeader(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		c := cluster{servers: 3, clients: 3, seed: seed, ops: 200, window: 8 * time.Second, length: 14 * time.Second,
			setup:  isolateMultiPaxosLeader(3, 3*time.Second, 1*time.Second, 5*time.Second),
			client: kv.ClientConfig{OpTimeout: 500 * time.Millisecond},
			log:    multiPaxos(consensus.MultiPaxosConfig{})}
		tr := c.run(t)
		checkRun(t, "multipaxos, isolated leader", c, tr, 0.6)
		checkMultiPaxos(t, "multipaxos, isolated leader", seed, tr)
	}
}

// multiPaxosLeader returns the node that leads in the highest ballot so far.
func multiPaxosLeader(tr *trace.Trace) node.ID {
	id, b := node.None, consensus.MultiPaxosBallot(0)
	for _, e := range trace.Emitted[consensus.MultiPaxosElected](tr) {
		if e.Value.Ballot > b {
			id, b = e.Event.Node, e.Value.Ballot
		}
	}
	return id
}

// isolateMultiPaxosLeader is isolateLeader for Multi-Paxos.
func isolateMultiPaxosLeader(client node.ID, d time.Duration, at ...time.Duration) func(*sim.Sim) {
	return func(s *sim.Sim) {
		for _, t := range at {
			s.At(t, func() {
				l := multiPaxosLeader(s.Trace())
				if l == node.None {
					return
				}
				var rest []node.ID
				for _, id := range s.Group() {
					if id != l && id != client {
						rest = append(rest, id)
					}
				}
				if err := s.Apply(sim.PartitionGroups([]node.ID{l, client}, rest)); err != nil {
					panic(err)
				}
			})
			s.At(t+d, sim.Heal())
		}
	}
}

// TestMultiPaxosSimRandomFaults is TestSimRandomFaults on Multi-Paxos:
// partitions, crash-restarts, pauses, clock skew and drift on a lossy,
// duplicating, reordering network, with snapshots taken often. KV_SEEDS=N
// runs N seeds per setting instead of 5.
func TestMultiPaxosSimRandomFaults(t *testing.T) {
	seeds := 5
	if n, err := strconv.Atoi(os.Getenv("KV_SEEDS")); err == nil && n > 0 {
		seeds = n
	}
	lossy := sim.Link{Latency: sim.Uniform(1*time.Millisecond, 8*time.Millisecond), Loss: 0.05, Duplicate: 0.05, Reorder: true}
	nemesis := func(crash float64) sim.Nemesis {
		return sim.Nemesis{Partition: 2, PartitionFor: 400 * time.Millisecond, Crash: crash, RestartAfter: 400 * time.Millisecond,
			Pause: 0.5, PauseFor: 300 * time.Millisecond, Skew: 20 * time.Millisecond, Drift: 0.001, Stop: 6 * time.Second}
	}
	mp := multiPaxos(consensus.MultiPaxosConfig{SnapshotThreshold: 16, MaxBatch: 4})
	settings := []struct {
		name string
		c    cluster
	}{
		{"3-servers", cluster{servers: 3, clients: 3, ops: 150, window: 5 * time.Second, length: 12 * time.Second, link: lossy, nemesis: nemesis(1), log: mp}},
		{"5-servers", cluster{servers: 5, clients: 5, ops: 250, window: 5 * time.Second, length: 12 * time.Second, link: lossy, nemesis: nemesis(2), log: mp}},
	}
	for _, st := range settings {
		for seed := uint64(1); seed <= uint64(seeds); seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", st.name, seed), func(t *testing.T) {
				c := st.c
				c.seed = seed
				tr := c.run(t)
				checkRun(t, st.name, c, tr, 0.3)
				checkMultiPaxos(t, st.name, seed, tr)
			})
		}
	}
}
