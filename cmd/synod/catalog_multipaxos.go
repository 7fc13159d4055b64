package main

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/raft"
	"github.com/synod-dev/synod/trace"
)

// multipaxosCatalog lists Multi-Paxos, run as the replicated key-value
// service (package kv on consensus.MultiPaxos) with the same client
// processes, workload and linearizability check as Raft (kvService).
func multipaxosCatalog() []*algorithm {
	length := 10 * time.Second
	// A server shows by a step (role, ballot or leader) or by restoring its
	// state machine, which it does at every start.
	service := kvService{Log: "Multi-Paxos", Check: consensus.CheckMultiPaxos, Servers: func(t *trace.Trace) []node.ID {
		return append(emittedBy[consensus.MultiPaxosStepped](t), emittedBy[consensus.MultiPaxosRestored](t)...)
	}}
	return []*algorithm{service.entry(&algorithm{
		Name:       "consensus/multipaxos",
		FaultModel: "crash-recovery, any partition, loss, duplication, reordering; safe always, live with a connected majority",
		Summary:    "Multi-Paxos (Lamport 2001 §3; van Renesse & Altinbuken 2015) replicating the key-value store: stable leader by ballots, one phase 1 per leadership, batched phase 2, no-op holes, in-order execution, catch-up, snapshots; checks agreement per slot, prefix execution, one leader per ballot and linearizability (porcupine)",
		Nodes:      3,
		Length:     length,
		Ops:        200,
		Messages:   kv.Messages(),
		Variants: []variant{
			{Name: "no-adopt", Summary: "a new leader ignores the values accepted in the promises and proposes fresh commands in those slots", ExposedBy: raftFaults(length)},
			{Name: "unsynced-acceptor", Summary: "acceptors answer prepares and accepts before syncing their promise and accepted values: a crash takes back what a majority was counted on", ExposedBy: crashRestarts(length)},
			{Name: "execute-gaps", Summary: "a replica executes a chosen slot at once, before the slots below it", ExposedBy: raftFaults(length)},
		},
		New: func(v string, servers int) node.Factory {
			return kvFactory(servers, kv.ServerConfig{Log: kv.MultiPaxosLog(consensus.MultiPaxosConfig{Broken: consensus.MultiPaxosBroken{
				NoAdopt:          v == "no-adopt",
				UnsyncedAcceptor: v == "unsynced-acceptor",
				ExecuteGaps:      v == "execute-gaps",
			}})})
		},
		Textbook: func(n int) textbook {
			// Per command in steady state: accept and accepted to and from
			// each other acceptor, the decide to each learner, and the
			// client's request and reply. Heartbeats add to it; batching
			// and decides piggybacked on the next accept take from it.
			return textbook{PerOp: float64(3*(n-1) + 2), Formula: "3(N−1)+2"}
		},
		Costs: multipaxosCosts,
	})}
}

// multipaxosCosts are Multi-Paxos' figures beside the textbook's: the
// phase 2 messages per chosen slot, and the commit latency of a write in
// message delays, at the leader and at the other replicas.
func multipaxosCosts(t *trace.Trace, n int) []trace.Cost {
	kinds := messageKinds(t)
	slots := map[uint64]bool{}
	for _, e := range trace.Emitted[consensus.MultiPaxosExecuted](t) {
		slots[e.Value.Slot] = true
	}
	var costs []trace.Cost
	if len(slots) > 0 {
		p2 := kinds["accept"] + kinds["accepted"] + kinds["decide"]
		costs = append(costs, trace.Cost{Name: "phase 2 messages per chosen slot", Value: float64(p2) / float64(len(slots)),
			Textbook: fmt.Sprintf("3(N−1) = %d, less with batching", 3*(n-1))})
	}
	lat := commitLatencies(t)
	if len(lat.leader) > 0 {
		costs = append(costs, trace.Cost{Name: "commit latency at the leader (message delays, median)", Value: median(lat.leader),
			Textbook: "2 (less with random delays: the fastest answers make the majority)"})
	}
	if len(lat.learners) > 0 {
		costs = append(costs, trace.Cost{Name: "commit latency at the other replicas (message delays, median)", Value: median(lat.learners),
			Textbook: "3 (likewise less)"})
	}
	return costs
}

// messageKinds counts a run's messages by what they do in replicating
// commands, for Multi-Paxos and Raft alike: accept (an accept or an
// AppendEntries carrying values), accepted (its answer), decide (a decide
// message), heartbeat (an empty accept or AppendEntries, and its answer),
// election (prepares, promises, nacks; votes), catch-up (pulls and
// snapshots), client (requests and replies). Raft's answers do not say
// whether they answer entries or a heartbeat; every AppendEntries delivered
// gets one answer, so as many answers as AppendEntries with entries were
// delivered count as accepted, the rest as heartbeats.
func messageKinds(t *trace.Trace) map[string]int { return messageKindsIn(t, 0, -1) }

// messageKindsIn is messageKinds for the events from time from to time to
// (to < 0: the end).
func messageKindsIn(t *trace.Trace, from, to time.Duration) map[string]int {
	kinds := map[string]int{}
	raftReplies, raftAccepts := 0, 0
	for i := range t.Events {
		e := &t.Events[i]
		if e.Time < from || (to >= 0 && e.Time > to) {
			continue
		}
		switch e.Kind {
		case trace.Send:
			switch m := e.Value.(type) {
			case kv.ClientRequest, kv.ClientReply:
				kinds["client"]++
			case raft.RequestVote, raft.RequestVoteReply, raft.TimeoutNow:
				kinds["election"]++
			case raft.InstallSnapshot, raft.InstallSnapshotReply:
				kinds["catch-up"]++
			case raft.AppendEntries:
				if len(m.Entries) > 0 {
					kinds["accept"]++
				} else {
					kinds["heartbeat"]++
				}
			case raft.AppendEntriesReply:
				raftReplies++
			default:
				switch k := consensus.MultiPaxosMessageKind(m); k {
				case "prepare", "promise", "nack":
					kinds["election"]++
				case "":
					kinds["other"]++
				default:
					kinds[k]++
				}
			}
		case trace.Deliver:
			if m, ok := e.Value.(raft.AppendEntries); ok && len(m.Entries) > 0 {
				raftAccepts++
			}
		}
	}
	if raftReplies > 0 {
		accepted := min(raftReplies, raftAccepts)
		kinds["accepted"] += accepted
		kinds["heartbeat"] += raftReplies - accepted
	}
	return kinds
}

// writeLatencies are the commit latencies of a run's writes, in message
// delays (the run's mean one-way delay): from the write's arrival at the
// server that commits it to its reply there (leader), and to its
// application at each other server (learners).
type writeLatencies struct {
	leader, learners []float64
}

// commitLatencies measures the writes of a key-value run on Raft or
// Multi-Paxos. The leader answers a write from within the application of
// its entry, just before it emits the entry's Applied (Raft) or Executed
// (Multi-Paxos) event: that event names the entry, whose application on
// the other servers the trace then shows.
func commitLatencies(t *trace.Trace) writeLatencies {
	delay := meanDelay(t)
	if delay <= 0 {
		return writeLatencies{}
	}
	type attempt struct {
		server, client node.ID
		req            uint64
	}
	arrived := map[attempt]time.Duration{}
	type write struct {
		server  node.ID
		arrival time.Duration
	}
	answered := map[node.ID]*write{}      // a write just answered, awaiting its entry's event
	var entries []write                   // the writes whose entry is known...
	var index []uint64                    // ...and that entry's index
	applied := map[uint64][]trace.Event{} // every application of each index
	for i := range t.Events {
		e := &t.Events[i]
		if !e.Kind.IsProcess() {
			continue
		}
		// The event right after a server's answer, on that server.
		w := answered[e.Node]
		delete(answered, e.Node)
		switch e.Kind {
		case trace.Deliver:
			if m, ok := e.Value.(kv.ClientRequest); ok && isWriteOp(m.Op.V) {
				arrived[attempt{e.Node, e.Peer, m.ReqID}] = e.Time
			}
		case trace.Send:
			if m, ok := e.Value.(kv.ClientReply); ok && m.Result.Code == kv.CodeOK {
				if at, ok := arrived[attempt{e.Node, e.Peer, m.ReqID}]; ok {
					answered[e.Node] = &write{e.Node, at}
				}
			}
		case trace.Emit:
			var idx uint64
			switch v := e.Value.(type) {
			case raft.Applied:
				idx = v.Index
			case consensus.MultiPaxosExecuted:
				idx = v.Slot
			default:
				continue
			}
			applied[idx] = append(applied[idx], *e)
			if w != nil && w.server == e.Node {
				entries, index = append(entries, *w), append(index, idx)
			}
		}
	}
	var l writeLatencies
	for k, w := range entries {
		var reply time.Duration
		first := map[node.ID]time.Duration{}
		for _, a := range applied[index[k]] {
			if a.Time < w.arrival {
				continue // an earlier life of the index (a lost entry)
			}
			if a.Node == w.server {
				if reply == 0 {
					reply = a.Time
				}
				continue
			}
			if _, ok := first[a.Node]; !ok {
				first[a.Node] = a.Time
			}
		}
		l.leader = append(l.leader, float64(reply-w.arrival)/float64(delay))
		for _, id := range slices.Sorted(maps.Keys(first)) {
			l.learners = append(l.learners, float64(first[id]-w.arrival)/float64(delay))
		}
	}
	return l
}

// isWriteOp reports whether a key-value operation goes through the log.
func isWriteOp(op any) bool {
	switch op.(type) {
	case kv.Put, kv.Delete, kv.CAS:
		return true
	}
	return false
}

// meanDelay is the mean one-way delay of the messages a run delivered.
func meanDelay(t *trace.Trace) time.Duration {
	sent := map[uint64]time.Duration{}
	var sum time.Duration
	n := 0
	for i := range t.Events {
		e := &t.Events[i]
		switch e.Kind {
		case trace.Send:
			sent[e.MsgID] = e.Time
		case trace.Deliver:
			if at, ok := sent[e.MsgID]; ok {
				sum += e.Time - at
				n++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum / time.Duration(n)
}

// median returns the median of xs (which it sorts).
func median(xs []float64) float64 { return quantile(xs, 0.5) }

// quantile returns the q-quantile of xs (nearest rank; it sorts xs).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	k := int(q*float64(len(xs))+0.5) - 1
	return xs[min(max(k, 0), len(xs)-1)]
}
