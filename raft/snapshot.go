package raft

import "github.com/synod-dev/synod/node"

// maybeSnapshot compacts the log once SnapshotThreshold entries have been
// applied since the last snapshot (§7: "each server takes snapshots
// independently, covering just the committed entries in its log").
func (r *Raft) maybeSnapshot() {
	if r.cfg.SnapshotThreshold < 0 || r.lastApplied-r.log.snapIndex < uint64(r.cfg.SnapshotThreshold) {
		return
	}
	r.Compact(r.env)
}

// Compact takes a snapshot of the state machine now, at the last applied
// entry, and deletes the log entries it covers.
func (r *Raft) Compact(env node.Env) {
	r.env = env
	i := r.lastApplied
	if i <= r.log.snapIndex {
		return
	}
	term, _ := r.log.term(i)
	s := snapshot{Index: i, Term: term, Chain: r.log.chain(i), Config: r.configAt(i), Data: r.sm.Snapshot()}
	r.env.Store().Set(keySnapshot, encode(s))
	first := r.log.snapIndex + 1
	r.log.compact(i)
	r.snapConfig = s.Config
	r.deleteEntries(first, i)
}

// sendSnapshot sends InstallSnapshot to a follower that needs entries the
// leader has compacted away (§7: "the leader must occasionally send
// snapshots to followers that lag behind").
func (r *Raft) sendSnapshot(id node.ID, p *progress) {
	b, ok := r.env.Store().Get(keySnapshot)
	if !ok {
		r.env.Log().Error("raft: snapshot missing from the store", "follower", id)
		return
	}
	var s snapshot
	if err := decMode.Unmarshal(b, &s); err != nil {
		r.env.Log().Error("raft: snapshot unreadable", "err", err)
		return
	}
	p.snapshot, p.idle = true, 0
	r.env.Send(id, InstallSnapshot{Term: r.currentTerm, LastIncludedIndex: s.Index, LastIncludedTerm: s.Term,
		Chain: s.Chain, Config: s.Config, Data: s.Data})
}

// handleInstallSnapshot is the receiver implementation of InstallSnapshot
// (Figure 13): "reply immediately if term < currentTerm; ... if existing log
// entry has same index and term as snapshot's last included entry, retain
// log entries following it and reply; discard the entire log; reset state
// machine using snapshot contents".
func (r *Raft) handleInstallSnapshot(from node.ID, m InstallSnapshot) {
	if m.Term < r.currentTerm {
		r.send(from, InstallSnapshotReply{Term: r.currentTerm})
		return
	}
	r.heardFromLeader(from, m.Term)
	reply := InstallSnapshotReply{Term: r.currentTerm, MatchIndex: m.LastIncludedIndex}
	if m.LastIncludedIndex <= r.commitIndex {
		r.send(from, reply) // already have it all, committed
		return
	}
	if err := r.sm.Restore(m.Data); err != nil {
		r.env.Log().Error("raft: cannot restore the leader's snapshot", "err", err)
		r.send(from, InstallSnapshotReply{Term: r.currentTerm})
		return
	}
	s := snapshot{Index: m.LastIncludedIndex, Term: m.LastIncludedTerm, Chain: m.Chain, Config: m.Config, Data: m.Data}
	r.env.Store().Set(keySnapshot, encode(s))
	first, last := r.log.snapIndex+1, r.log.lastIndex()
	if t, ok := r.log.term(s.Index); ok && t == s.Term {
		r.log.compact(s.Index) // retain the entries that follow
		r.deleteEntries(first, s.Index)
	} else {
		r.log.reset(s.Index, s.Term, s.Chain)
		r.deleteEntries(first, last)
	}
	r.snapConfig = s.Config.clone()
	r.commitIndex, r.lastApplied = s.Index, s.Index
	r.durableIndex = min(r.durableIndex, s.Index)
	r.recomputeConfig()
	r.send(from, reply)
}

// handleInstallSnapshotReply moves the follower past the snapshot.
func (r *Raft) handleInstallSnapshotReply(from node.ID, m InstallSnapshotReply) {
	if m.Term > r.currentTerm {
		r.becomeFollower(m.Term, node.None)
		return
	}
	p := r.progress[from]
	if r.role != Leader || m.Term != r.currentTerm || p == nil {
		return
	}
	p.recentActive, p.snapshot, p.idle = true, false, 0
	if m.MatchIndex > p.match {
		p.match = m.MatchIndex
		r.maybeCommit()
	}
	p.next = max(p.next, p.match+1)
	p.probing, p.inflight = true, 0
	r.sendAppend(from, true)
}
