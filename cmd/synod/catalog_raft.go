package main

import (
	"slices"
	"time"

	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/raft"
	"github.com/synod-dev/synod/sim"
)

// raftFaults are the faults that expose Raft's broken variants: partitions
// of every shape, and crash-restarts with unsynced writes lost.
func raftFaults(length time.Duration) sim.Nemesis {
	return sim.Nemesis{Partition: 4, PartitionFor: 300 * time.Millisecond, Crash: 2, RestartAfter: 200 * time.Millisecond, Stop: length * 7 / 10}
}

// raftCatalog lists Raft, run as the replicated key-value service (package
// kv) with client processes that retry through leader changes.
func raftCatalog() []*algorithm {
	length := 10 * time.Second
	service := kvService{Log: "Raft", Check: raft.Check, Servers: emittedBy[raft.Stepped]}
	return []*algorithm{service.entry(&algorithm{
		Name:       "raft",
		Joinable:   true,
		FaultModel: "crash-recovery, any partition, loss, duplication, reordering; safe always, live with a connected majority",
		Summary:    "Raft (Ongaro & Ousterhout 2014) replicating a key-value store; clients retry through leader changes; checks Raft's safety properties and linearizability (porcupine)",
		Nodes:      3,
		Length:     length,
		Ops:        200,
		Messages:   slices.Concat(raft.Messages(), kv.Messages()),
		Variants: []variant{
			{Name: "commit-old-term", Summary: "commit an entry of an earlier term by counting replicas (the paper's Figure 8)",
				CaughtBy: "go test ./raft -run TestFigure8CommitRule"},
			{Name: "unsynced-vote", Summary: "grant a vote without syncing votedFor: a crash lets a server vote twice in a term",
				CaughtBy: "go test ./raft -run TestVoteMustBeDurable"},
			{Name: "keep-conflicts", Summary: "a follower keeps its entries that conflict with the leader's instead of deleting them", ExposedBy: raftFaults(length)},
			{Name: "read-without-index", Summary: "the leader serves reads at once, without a ReadIndex round (and without CheckQuorum): a deposed leader in a minority serves stale data", ExposedBy: raftFaults(length)},
		},
		// New builds servers 0..servers-1 with those as the initial voters,
		// and clients above them (in the simulator; a live node is always
		// one of the servers). servers 0 is a live server started with
		// `synod node --join`: it has no initial configuration and waits
		// for a leader to add it (diss. §4.1).
		New: func(v string, servers int) node.Factory {
			rc := raft.Config{Broken: raft.Broken{
				CommitOldTerm:    v == "commit-old-term",
				UnsyncedVote:     v == "unsynced-vote",
				KeepConflicts:    v == "keep-conflicts",
				ReadWithoutIndex: v == "read-without-index",
			}}
			// Without ReadIndex, only CheckQuorum's step-down would keep
			// the window for a stale read short; the broken variant leaves
			// it out too, as the paper's core algorithm does, so that an
			// isolated leader keeps serving until it hears a higher term.
			rc.NoCheckQuorum = v == "read-without-index"
			if servers == 0 {
				return func(node.ID) node.Process { return kv.NewServer(kv.ServerConfig{Raft: rc}) }
			}
			return kvFactory(servers, kv.ServerConfig{Raft: rc})
		},
		Textbook: func(n int) textbook {
			// AppendEntries and its reply to each follower, plus the
			// client's request and reply; heartbeats add to it, batching
			// takes from it.
			return textbook{PerOp: float64(2*(n-1) + 2), Formula: "2(N−1)+2"}
		},
	})}
}
