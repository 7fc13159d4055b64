package raft

import (
	"slices"

	"github.com/synod-dev/synod/node"
)

// electionTimeout: §5.2, "if a follower receives no communication over a
// period of time called the election timeout, then it assumes there is no
// viable leader and begins an election". With PreVote (diss. §9.6) it first
// asks whether it could win, without disturbing anyone's term.
func (r *Raft) electionTimeout() {
	r.electionTimer = 0
	if r.role == Leader || !r.config.IsVoter(r.env.Self()) {
		r.resetElectionTimer() // learners and removed servers never campaign
		return
	}
	if r.cfg.NoPreVote {
		r.campaign(false)
	} else {
		r.preCampaign()
	}
}

// preCampaign asks the voters whether they would vote for this server in the
// next term (diss. §9.6).
func (r *Raft) preCampaign() {
	r.setRole(PreCandidate, node.None)
	r.votes = map[node.ID]bool{r.env.Self(): true}
	r.resetElectionTimer()
	if r.wonVote() {
		r.campaign(false)
		return
	}
	r.requestVotes(RequestVote{Term: r.currentTerm + 1, PreVote: true})
}

// campaign starts an election (§5.2): "a follower increments its current
// term and transitions to candidate state. It then votes for itself and
// issues RequestVote RPCs in parallel to each of the other servers".
func (r *Raft) campaign(transfer bool) {
	r.currentTerm++
	r.votedFor = r.env.Self()
	r.persistHardState()
	r.setRole(Candidate, node.None)
	r.votes = map[node.ID]bool{r.env.Self(): true}
	r.resetElectionTimer()
	if r.wonVote() {
		r.becomeLeader()
		return
	}
	r.requestVotes(RequestVote{Term: r.currentTerm, Transfer: transfer})
}

func (r *Raft) requestVotes(m RequestVote) {
	m.LastLogIndex, m.LastLogTerm = r.log.lastIndex(), r.log.lastTerm()
	for _, id := range r.config.Voters {
		if id != r.env.Self() {
			r.send(id, m)
		}
	}
}

func (r *Raft) wonVote() bool {
	n := 0
	for _, id := range r.config.Voters {
		if r.votes[id] {
			n++
		}
	}
	return n >= r.majority()
}

// inLease reports whether this server heard from a leader within the
// minimum election timeout: then it refuses votes, so a server that was cut
// off (or removed) cannot depose a leader that a majority still follows
// (diss. §4.2.3 and §9.6).
func (r *Raft) inLease() bool {
	if r.cfg.NoCheckQuorum {
		return false
	}
	if r.role == Leader {
		return true
	}
	return r.leader != node.None && r.env.Now().Sub(r.lastContact) < r.cfg.ElectionTimeoutMin
}

// handleRequestVote is the receiver implementation of RequestVote (Figure 2):
// "reply false if term < currentTerm; if votedFor is null or candidateId,
// and candidate's log is at least as up-to-date as receiver's log, grant
// vote" (§5.2, §5.4.1).
func (r *Raft) handleRequestVote(from node.ID, m RequestVote) {
	if m.Term > r.currentTerm && !m.Transfer && r.inLease() {
		return // a leader is alive: ignore, without even raising the term
	}
	upToDate := m.LastLogTerm > r.log.lastTerm() ||
		(m.LastLogTerm == r.log.lastTerm() && m.LastLogIndex >= r.log.lastIndex())
	if m.PreVote {
		// Grant when an election in m.Term could be legitimate, changing
		// nothing; a refusal carries our term so a stale sender catches up.
		if m.Term > r.currentTerm && upToDate {
			r.send(from, RequestVoteReply{Term: m.Term, VoteGranted: true, PreVote: true})
		} else {
			r.send(from, RequestVoteReply{Term: r.currentTerm, PreVote: true})
		}
		return
	}
	if m.Term > r.currentTerm {
		r.becomeFollower(m.Term, node.None)
	}
	grant := m.Term == r.currentTerm && upToDate &&
		(r.votedFor == node.None || r.votedFor == from)
	if grant {
		r.votedFor = from
		if r.cfg.Broken.UnsyncedVote {
			// Broken: the vote lives only in memory; a crash forgets it.
			r.resetElectionTimer()
			r.send(from, RequestVoteReply{Term: r.currentTerm, VoteGranted: true})
			return
		}
		r.persistHardState()
		r.resetElectionTimer() // §5.2: granting a vote resets the timer
	}
	r.send(from, RequestVoteReply{Term: r.currentTerm, VoteGranted: grant})
}

// handleRequestVoteReply counts votes: §5.2, "a candidate wins an election if
// it receives votes from a majority of the servers in the full cluster for
// the same term".
func (r *Raft) handleRequestVoteReply(from node.ID, m RequestVoteReply) {
	if m.PreVote {
		if r.role != PreCandidate {
			return
		}
		if m.VoteGranted && m.Term == r.currentTerm+1 {
			r.votes[from] = true
			if r.wonVote() {
				r.campaign(false)
			}
		} else if !m.VoteGranted && m.Term > r.currentTerm {
			r.becomeFollower(m.Term, node.None)
		}
		return
	}
	if m.Term > r.currentTerm {
		r.becomeFollower(m.Term, node.None)
		return
	}
	if r.role != Candidate || m.Term != r.currentTerm || !m.VoteGranted {
		return
	}
	r.votes[from] = true
	if r.wonVote() {
		r.becomeLeader()
	}
}

// becomeLeader: §5.2, "once a candidate wins an election, it becomes leader.
// It then sends heartbeat messages to all of the other servers"; §8: "each
// leader commit a blank no-op entry into the log at the start of its term".
func (r *Raft) becomeLeader() {
	r.setRole(Leader, r.env.Self())
	r.stopElectionTimer()
	r.progress = map[node.ID]*progress{}
	r.syncProgress()
	r.transferee = node.None
	r.reads = readState{}
	r.quorumCheck = r.env.Now().Add(r.cfg.ElectionTimeoutMin)
	chains := slices.Clone(r.log.chains)
	r.env.Emit(Elected{Term: r.currentTerm, LastIndex: r.log.lastIndex(), LastTerm: r.log.lastTerm(),
		FirstIndex: r.log.snapIndex + 1, Chains: chains})
	e := r.appendEntry(Entry{Type: EntryNoop})
	r.termStart = e.Index
	r.heartbeat = r.env.After(r.cfg.HeartbeatInterval, heartbeatTimer{})
}

// syncProgress gives every member a progress entry (new members start
// probing at the end of the leader's log: Figure 2, "nextIndex initialized
// to leader last log index + 1") and drops those no longer members.
func (r *Raft) syncProgress() {
	members := r.peers()
	for _, id := range members {
		if r.progress[id] == nil {
			r.progress[id] = &progress{next: r.log.lastIndex() + 1, probing: true, recentActive: true}
		}
	}
	for id := range r.progress {
		if !slices.Contains(members, id) {
			delete(r.progress, id)
		}
	}
}

// stopLeading cleans up after losing leadership: pending reads and
// membership changes fail with ErrLeadershipLost.
func (r *Raft) stopLeading() {
	if r.heartbeat != 0 {
		r.env.Cancel(r.heartbeat)
		r.heartbeat = 0
	}
	r.progress = nil
	r.transferee = node.None
	r.failReads(ErrLeadershipLost)
	if c := r.change; c != nil {
		r.change = nil
		if c.done != nil {
			c.done(ErrLeadershipLost)
		}
	}
}

// heartbeatTick: the leader's periodic work. §5.2: heartbeats keep followers
// from timing out; diss. §6.2 CheckQuorum: "a leader steps down if an
// election timeout elapses without a successful round of heartbeats to a
// majority"; diss. §3.10: a transfer that has not finished within an
// election timeout is abandoned.
func (r *Raft) heartbeatTick() {
	r.heartbeat = 0
	if r.role != Leader {
		return
	}
	r.heartbeat = r.env.After(r.cfg.HeartbeatInterval, heartbeatTimer{})
	now := r.env.Now()
	if !r.cfg.NoCheckQuorum && !now.Before(r.quorumCheck) {
		r.quorumCheck = now.Add(r.cfg.ElectionTimeoutMin)
		active := 0
		for _, id := range r.config.Voters {
			if id == r.env.Self() {
				active++
			} else if p := r.progress[id]; p != nil && p.recentActive {
				active++
			}
		}
		for _, p := range r.progress {
			p.recentActive = false
		}
		if active < r.majority() {
			r.env.Log().Info("raft: lost contact with a majority; stepping down", "term", r.currentTerm)
			r.becomeFollower(r.currentTerm, node.None)
			return
		}
	}
	if r.transferee != node.None && now.Sub(r.transferFrom) >= r.cfg.ElectionTimeoutMin {
		r.transferee = node.None
	}
	// The heartbeats are a read round (diss. §6.4): they confirm the
	// leadership for the reads waiting and extend the lease.
	r.reads.begin(r)
	for _, id := range r.peers() {
		p := r.progress[id]
		switch {
		case p.snapshot:
			// Keep the follower's election timer quiet while the snapshot
			// travels: a heartbeat anchored at the snapshot's last entry.
			r.env.Send(id, AppendEntries{Term: r.currentTerm, PrevLogIndex: r.log.snapIndex, PrevLogTerm: r.log.snapTerm,
				LeaderCommit: min(r.commitIndex, r.log.snapIndex), ReadCtx: r.reads.ctx})
			p.idle++
			if p.idle >= 5 {
				p.snapshot = false
				r.sendAppend(id, true)
			}
		case !p.probing && p.inflight >= r.cfg.MaxInflight:
			// The pipeline is full and nothing came back for a beat: fall
			// back to probing from the last known match.
			p.probing, p.next, p.inflight = true, p.match+1, 0
			r.sendAppend(id, true)
		default:
			r.sendAppend(id, true)
		}
	}
	r.reads.end(r)
}

// TransferLeadership hands leadership to server to (diss. §3.10): the leader
// stops taking proposals, brings to's log up to date, then sends it
// TimeoutNow so that it starts an election at once.
func (r *Raft) TransferLeadership(env node.Env, to node.ID) error {
	r.env = env
	if r.role != Leader {
		return r.notLeader()
	}
	if to == env.Self() {
		return nil
	}
	if !r.config.IsVoter(to) {
		return ErrUnknownMember
	}
	r.transferee, r.transferFrom = to, env.Now()
	r.maybeSendTimeoutNow(to)
	if p := r.progress[to]; p != nil && p.match < r.log.lastIndex() {
		r.sendAppend(to, false)
	}
	return nil
}

func (r *Raft) maybeSendTimeoutNow(id node.ID) {
	if r.transferee != id {
		return
	}
	if p := r.progress[id]; p != nil && p.match == r.log.lastIndex() {
		r.send(id, TimeoutNow{Term: r.currentTerm})
	}
}

// handleTimeoutNow starts an election at once, skipping PreVote and the
// voters' leader lease (diss. §3.10).
func (r *Raft) handleTimeoutNow(from node.ID, m TimeoutNow) {
	if m.Term != r.currentTerm || !r.config.IsVoter(r.env.Self()) || r.role == Leader {
		return
	}
	r.campaign(true)
}
