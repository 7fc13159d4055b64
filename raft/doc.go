// Package raft is the Raft consensus algorithm (Ongaro and Ousterhout, "In
// Search of an Understandable Consensus Algorithm", extended version, 2014;
// and Ongaro's dissertation, "Consensus: Bridging Theory and Practice",
// 2014), written as a node.Process: a deterministic state machine with no
// goroutines, clocks or I/O of its own, so the same code runs in the
// simulator and on the network.
//
// Section references follow the extended paper (§5.2 "leader election")
// unless they name the dissertation ("diss. §4.1").
//
// What is here:
//
//   - leader election with randomized timeouts (§5.2), PreVote and
//     CheckQuorum (diss. §9.6, §6.2) so a partitioned server cannot disrupt
//     a healthy cluster, and leadership transfer (diss. §3.10);
//   - log replication with the consistency check and the fast conflict
//     back-off (§5.3), pipelined and batched AppendEntries;
//   - the commit rule of §5.4.2: only entries of the leader's own term are
//     committed by counting replicas;
//   - persistence: currentTerm, votedFor and the log are written and synced
//     to node.Store before any message that depends on them is sent; writes
//     that arrive together share one sync (diss. §10.2.1);
//   - snapshots, log compaction and InstallSnapshot (§7);
//   - single-server membership changes (diss. §4.1), new servers catching up
//     as non-voting learners first (diss. §4.2.1);
//   - linearizable reads through ReadIndex (diss. §6.4) and, only when asked
//     for with a stated clock-drift bound, lease reads (diss. §6.4.1).
//
// To embed Raft, write a node.Process that holds a *Raft, forwards Start,
// Receive and Timeout to it, and gives it a StateMachine; see the example and
// package kv, which is built this way.
package raft
