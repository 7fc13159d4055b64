package kv_test

import (
	"testing"
	"time"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
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
			setup:  isolateLeader(multiPaxosLeader, 3, 3*time.Second, 1*time.Second, 5*time.Second),
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

// TestMultiPaxosSimRandomFaults is TestSimRandomFaults on Multi-Paxos:
// partitions, crash-restarts, pauses, clock skew and drift on a lossy,
// duplicating, reordering network, with snapshots taken often. KV_SEEDS=N
// runs N seeds per setting instead of 5.
func TestMultiPaxosSimRandomFaults(t *testing.T) {
	mp := multiPaxos(consensus.MultiPaxosConfig{SnapshotThreshold: 16, MaxBatch: 4})
	runRandomFaults(t, []faultSetting{
		{"3-servers", cluster{servers: 3, clients: 3, ops: 150, window: 5 * time.Second, length: 12 * time.Second, link: lossyLink, nemesis: randomFaults(1), log: mp}},
		{"5-servers", cluster{servers: 5, clients: 5, ops: 250, window: 5 * time.Second, length: 12 * time.Second, link: lossyLink, nemesis: randomFaults(2), log: mp}},
	}, checkMultiPaxos)
}
