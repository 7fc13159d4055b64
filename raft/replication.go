package raft

import (
	"slices"

	"github.com/synod-dev/synod/node"
)

// broadcastAppend sends new entries to every follower that is ready for
// them (§5.3: "issues AppendEntries RPCs in parallel to each of the other
// servers to replicate the entry").
func (r *Raft) broadcastAppend() {
	for _, id := range r.peers() {
		r.sendAppend(id, false)
	}
}

// sendAppend sends follower id the entries from its nextIndex on, pipelining
// up to MaxInflight requests; with force it sends even when there is
// nothing new (a heartbeat) or the pipeline is full. A follower whose
// nextIndex fell below the snapshot gets InstallSnapshot instead (§7).
func (r *Raft) sendAppend(id node.ID, force bool) {
	p := r.progress[id]
	if p == nil || p.snapshot {
		return
	}
	last := r.log.lastIndex()
	hasNew := p.next <= last
	prev := p.next - 1
	if !hasNew && !p.probing && p.match >= r.log.snapIndex {
		// A heartbeat while entries are in flight: anchor it at the last
		// known match, so that a reordered delivery does not look like a
		// conflict.
		prev = p.match
	}
	prevTerm, ok := r.log.term(prev)
	if !ok {
		r.sendSnapshot(id, p)
		return
	}
	if !force && (!hasNew || (p.probing && p.inflight > 0) || p.inflight >= r.cfg.MaxInflight) {
		return
	}
	m := AppendEntries{Term: r.currentTerm, PrevLogIndex: prev, PrevLogTerm: prevTerm,
		LeaderCommit: r.commitIndex, ReadCtx: r.reads.ctx}
	if hasNew {
		m.Entries = r.log.slice(p.next, last, r.cfg.MaxEntries)
		if !p.probing {
			p.next = m.Entries[len(m.Entries)-1].Index + 1
		}
		p.inflight++
	}
	// Sent at once, not after the next sync: what the leader sends is its
	// log, which followers may hold before the leader's own write is
	// durable (diss. §10.2.1); the leader counts itself only once synced.
	r.env.Send(id, m)
}

// handleAppendEntries is the receiver implementation of AppendEntries
// (Figure 2):
//
//  1. reply false if term < currentTerm (§5.1);
//  2. reply false if the log doesn't contain an entry at prevLogIndex whose
//     term matches prevLogTerm (§5.3);
//  3. if an existing entry conflicts with a new one (same index, different
//     terms), delete the existing entry and all that follow it (§5.3);
//  4. append any new entries not already in the log;
//  5. if leaderCommit > commitIndex, set commitIndex = min(leaderCommit,
//     index of last new entry).
func (r *Raft) handleAppendEntries(from node.ID, m AppendEntries) {
	if m.Term < r.currentTerm { // 1
		r.send(from, AppendEntriesReply{Term: r.currentTerm, RejectIndex: m.PrevLogIndex})
		return
	}
	r.heardFromLeader(from, m.Term)
	reply := AppendEntriesReply{Term: r.currentTerm, ReadCtx: m.ReadCtx}
	if m.PrevLogIndex < r.log.snapIndex {
		// The prefix up to the snapshot is committed, hence matches; skip
		// the entries the snapshot already covers.
		skip := r.log.snapIndex - m.PrevLogIndex
		if uint64(len(m.Entries)) <= skip {
			reply.Success, reply.MatchIndex = true, r.log.snapIndex
			r.send(from, reply)
			return
		}
		m.Entries = m.Entries[skip:]
		m.PrevLogIndex, m.PrevLogTerm = r.log.snapIndex, r.log.snapTerm
	}
	if t, ok := r.log.term(m.PrevLogIndex); !ok || t != m.PrevLogTerm { // 2
		reply.RejectIndex = m.PrevLogIndex
		if !ok {
			reply.ConflictIndex = r.log.lastIndex() + 1
		} else {
			reply.ConflictTerm = t
			reply.ConflictIndex = r.log.firstIndexOfTerm(m.PrevLogIndex)
		}
		r.send(from, reply)
		return
	}
	for k, e := range m.Entries {
		if t, ok := r.log.term(e.Index); ok {
			if t == e.Term {
				continue // 4: already there
			}
			if r.cfg.Broken.KeepConflicts {
				continue // broken: keep our conflicting entry
			}
			r.truncateFrom(e.Index) // 3
		}
		for _, e := range m.Entries[k:] { // 4
			r.log.append(e)
			r.persistEntry(&e)
			if e.Type == EntryConfig && e.Config != nil {
				r.setConfig(*e.Config, e.Index)
			}
		}
		break
	}
	lastNew := m.PrevLogIndex + uint64(len(m.Entries))
	if m.LeaderCommit > r.commitIndex { // 5
		r.commitIndex = max(r.commitIndex, min(m.LeaderCommit, lastNew))
		r.applyCommitted()
	}
	reply.Success, reply.MatchIndex = true, lastNew
	r.send(from, reply)
}

// heardFromLeader follows the leader of term (>= currentTerm) that just sent
// AppendEntries or InstallSnapshot, and restarts the election timer (Figure
// 2: a follower times out only without "AppendEntries RPC from current
// leader").
func (r *Raft) heardFromLeader(from node.ID, term uint64) {
	r.lastContact = r.env.Now()
	if term > r.currentTerm || r.role != Follower || r.leader != from {
		r.becomeFollower(term, from)
	}
	r.resetElectionTimer()
}

// truncateFrom deletes entries i.. from the log and the store; the
// configuration reverts to the latest one left.
func (r *Raft) truncateFrom(i uint64) {
	last := r.log.lastIndex()
	// Allocate a fresh array: entries already sent may share the old one.
	r.log.entries = slices.Clone(r.log.entries)
	r.log.truncate(i)
	r.deleteEntries(i, last)
	r.durableIndex = min(r.durableIndex, i-1)
	if r.configIndex >= i {
		r.recomputeConfig()
	}
}

// handleAppendEntriesReply: Figure 2, rules for leaders: "if successful:
// update nextIndex and matchIndex for follower; if AppendEntries fails
// because of log inconsistency: decrement nextIndex and retry" — using the
// follower's conflict hint to skip a whole term at a time (§5.3).
func (r *Raft) handleAppendEntriesReply(from node.ID, m AppendEntriesReply) {
	if m.Term > r.currentTerm {
		r.becomeFollower(m.Term, node.None)
		return
	}
	if r.role != Leader || m.Term != r.currentTerm {
		return
	}
	p := r.progress[from]
	if p == nil {
		return
	}
	p.recentActive = true
	p.idle = 0
	r.reads.ack(r, from, p, m.ReadCtx)
	if m.Success {
		p.inflight = max(0, p.inflight-1)
		if m.MatchIndex > p.match {
			p.match = m.MatchIndex
			if p.probing {
				p.probing, p.inflight = false, 0
			}
			p.next = max(p.next, p.match+1)
			r.maybeCommit()
			r.afterCommit() // a learner may have caught up
			r.maybeSendTimeoutNow(from)
		}
		r.sendAppend(from, false)
		return
	}
	if m.RejectIndex == 0 && m.ConflictIndex == 0 {
		return // a rejection for a stale term: nothing to learn
	}
	if m.RejectIndex < p.match || (p.probing && m.RejectIndex != p.next-1) {
		return // stale: answers a request sent before a later success or probe
	}
	next := m.ConflictIndex
	if m.ConflictTerm != 0 {
		if i := r.log.lastIndexOfTerm(m.ConflictTerm); i != 0 {
			next = i + 1
		}
	}
	p.next = max(p.match+1, min(next, m.RejectIndex))
	p.probing, p.inflight = true, 0
	r.sendAppend(from, true)
}

// maybeCommit advances commitIndex (Figure 2, rules for leaders): "if there
// exists an N such that N > commitIndex, a majority of matchIndex[i] ≥ N, and
// log[N].term == currentTerm: set commitIndex = N". §5.4.2: entries of
// earlier terms are never committed by counting replicas.
func (r *Raft) maybeCommit() {
	matches := make([]uint64, 0, len(r.config.Voters))
	for _, id := range r.config.Voters {
		switch {
		case id == r.env.Self():
			matches = append(matches, r.durableIndex)
		case r.progress[id] != nil:
			matches = append(matches, r.progress[id].match)
		default:
			matches = append(matches, 0)
		}
	}
	if len(matches) == 0 {
		return
	}
	slices.Sort(matches)
	n := matches[len(matches)-r.majority()] // the highest index a majority holds
	if n <= r.commitIndex {
		return
	}
	if t, _ := r.log.term(n); t != r.currentTerm && !r.cfg.Broken.CommitOldTerm {
		return
	}
	r.commitIndex = n
	r.applyCommitted()
	r.afterCommit()
}
