package main

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/raft"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// raftClients is how many client processes a simulated Raft run adds after
// the servers.
const raftClients = 4

// raftFaults are the faults that expose Raft's broken variants: partitions
// of every shape, and crash-restarts with unsynced writes lost.
func raftFaults(length time.Duration) sim.Nemesis {
	return sim.Nemesis{Partition: 4, PartitionFor: 300 * time.Millisecond, Crash: 2, RestartAfter: 200 * time.Millisecond, Stop: length * 7 / 10}
}

// raftCatalog lists Raft, run as the replicated key-value service (package
// kv) with client processes that retry through leader changes.
func raftCatalog() []*algorithm {
	length := 10 * time.Second
	return []*algorithm{{
		Name:       "raft",
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
			members := make([]node.ID, servers)
			for i := range members {
				members[i] = node.ID(i)
			}
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
			return func(id node.ID) node.Process {
				if servers == 0 {
					return kv.NewServer(kv.ServerConfig{Raft: rc})
				}
				if int(id) < servers {
					return kv.NewServer(kv.ServerConfig{Members: members, Raft: rc})
				}
				return kv.NewClient(kv.ClientConfig{Servers: members})
			}
		},
		Clients: func(int) int { return raftClients },
		Workload: func(s *sim.Sim, ops int, length time.Duration) {
			g := s.Group()
			kv.Workload(s, g[len(g)-raftClients:], ops, length*6/10)
		},
		Check: func(t *trace.Trace) []trace.Check {
			return append(raft.Check(t), kv.CheckLinearizable(t, raftClientsOf(t)))
		},
		Explain: func(t *trace.Trace, path string) error {
			c := kv.Linearizability{VisualizePath: path}.Check(t, raftClientsOf(t))
			if c.OK {
				return fmt.Errorf("the history is linearizable; a Raft property failed: see the table")
			}
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("porcupine wrote no visualization: %w", err)
			}
			return nil
		},
		Textbook: func(n int) textbook {
			// AppendEntries and its reply to each follower, plus the
			// client's request and reply; heartbeats add to it, batching
			// takes from it.
			return textbook{PerOp: float64(2*(n-1) + 2), Formula: "2(N−1)+2"}
		},
	}}
}

// raftClientsOf finds the client processes of a Raft run: the nodes that
// took requests but never acted as Raft servers.
func raftClientsOf(t *trace.Trace) []node.ID {
	servers := map[node.ID]bool{}
	for _, e := range trace.Emitted[raft.Stepped](t) {
		servers[e.Event.Node] = true
	}
	var clients []node.ID
	seen := map[node.ID]bool{}
	for i := range t.Events {
		e := &t.Events[i]
		if e.Kind == trace.Request && !servers[e.Node] && !seen[e.Node] {
			seen[e.Node] = true
			clients = append(clients, e.Node)
		}
	}
	slices.Sort(clients)
	return clients
}
