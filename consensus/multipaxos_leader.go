package consensus

import (
	"slices"

	"github.com/synod-dev/synod/node"
)

// The proposer's side of Multi-Paxos: phase 1 once per leadership, for all
// slots ("Paxos Made Simple", §3), then phase 2 per batch of commands, and
// the announcements of what is chosen. Van Renesse and Altinbuken's scout
// is the candidate's prepare round, their commanders the per-slot vote
// counts.

// startPhase1 makes this node a candidate with a ballot above every ballot
// it has met, promises it itself (counted once synced), and asks every
// other acceptor for a promise for all slots from its first unchosen one.
// The election timer stays armed: if the ballot does not win in time, the
// next one is tried.
func (m *MultiPaxos) startPhase1() {
	if m.role == MultiPaxosLeader {
		m.stopLeading()
	}
	round := max(m.seenRound, m.promised.Round()) + 1
	m.ballot = ballot(round, m.env.Self())
	m.observe(m.ballot)
	m.promised = m.ballot
	m.persistPromised()
	m.prepareFor = m.commit + 1
	m.promises = map[node.ID]mpPromise{}
	m.setRole(MultiPaxosCandidate, node.None)
	m.selfPrep = true
	m.scheduleFlush()
	for _, p := range m.peers() {
		m.env.Send(p, mpPrepare{Ballot: m.ballot, From: m.prepareFor})
	}
	m.resetElectionTimer()
}

// handlePromise counts a promise for the own ballot; a majority makes this
// node the leader.
func (m *MultiPaxos) handlePromise(from node.ID, p mpPromise) {
	m.observe(p.Ballot)
	if m.role != MultiPaxosCandidate || p.Ballot != m.ballot {
		return // late, or for an abandoned ballot
	}
	m.promises[from] = p
	if len(m.promises) >= m.majority() {
		m.becomeLeader()
	}
}

// handleNack: an acceptor promised a higher ballot than the own one. A
// candidate's next try (at its election timeout) goes above it; a leader is
// preempted (van Renesse and Altinbuken) and runs phase 1 again at once,
// above the ballot that beat it.
func (m *MultiPaxos) handleNack(from node.ID, n mpNack) {
	m.observe(n.Promised)
	if n.Ballot != m.ballot || n.Promised <= m.ballot || m.role != MultiPaxosLeader {
		return
	}
	m.startPhase1()
}

// becomeLeader ends phase 1. The new leader starts after the chosen prefix
// it knows of (and after any acceptor's snapshot, which it pulls), and for
// each slot up to the highest one reported it proposes the value accepted
// in the highest ballot among the promises, or a no-op where there is none
// (§2.2: "v is the value of the highest-numbered proposal among the
// responses, or is any value if the responders reported no proposals"; §3:
// gaps are filled with no-ops). Then every new command gets the next slot.
func (m *MultiPaxos) becomeLeader() {
	ids := make([]node.ID, 0, len(m.promises))
	for id := range m.promises {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var snap uint64
	snapAt := node.None
	for _, id := range ids {
		if s := m.promises[id].Snapshot; s > snap {
			snap, snapAt = s, id
		}
	}
	start := max(m.commit, snap) + 1
	// adopt: per slot, a value known chosen, else the one accepted in the
	// highest ballot.
	adopt := map[uint64]mpEntry{}
	top := start - 1
	for _, id := range ids {
		for _, e := range m.promises[id].Accepted {
			if e.Slot < start {
				continue
			}
			top = max(top, e.Slot)
			if old, ok := adopt[e.Slot]; !ok || (!old.Decided && (e.Decided || e.Ballot > old.Ballot)) {
				adopt[e.Slot] = e
			}
		}
	}
	if m.cfg.Broken.NoAdopt {
		adopt, top = nil, start-1 // broken: new commands go where values may be chosen
	}
	m.promises = nil
	m.stopElectionTimer()
	m.setRole(MultiPaxosLeader, m.env.Self())
	m.nextSlot = start
	m.votes = map[uint64][]node.ID{}
	m.committed = 0
	m.active = map[node.ID]bool{}
	m.quorumCheck = m.env.Now().Add(m.cfg.ElectionTimeoutMin)
	m.lastContact = m.env.Now()
	holes := 0
	for s := start; s <= top; s++ {
		e, ok := adopt[s]
		if !ok {
			e = mpEntry{Noop: true}
			holes++
		}
		m.propose(e)
		if e.Decided {
			m.decide(s)
		}
	}
	m.env.Emit(MultiPaxosElected{Ballot: m.ballot, From: start, Adopted: len(adopt), Holes: holes})
	if snap > m.knownCommit {
		m.knownCommit, m.aheadOf = snap, snapAt
	}
	m.resendBelow = start
	if top < start {
		m.sendHeartbeats(0) // nothing to re-propose: announce the leadership at once
	}
	m.env.After(m.cfg.HeartbeatInterval, mpHeartbeatTimer{Ballot: m.ballot})
	m.advance()
}

// propose puts value e in the next slot under the own ballot: the leader
// accepts it itself (counted once synced) and sends it with the next batch.
func (m *MultiPaxos) propose(e mpEntry) uint64 {
	s := m.nextSlot
	m.nextSlot++
	rec := m.slot(s)
	rec.Ballot, rec.Noop, rec.Command = m.ballot, e.Noop, e.Command
	m.persistAccepted(s)
	m.batch = append(m.batch, mpEntry{Slot: s, Noop: e.Noop, Command: e.Command})
	m.ownVotes = append(m.ownVotes, s)
	m.scheduleFlush()
	return s
}

// attachReads gives the reads that arrived since the last flush their slot:
// the last one proposed in this batch, or a no-op if there is none. Chosen
// in this ballot, that slot proves that no other leader chose anything
// after the reads arrived and before it.
func (m *MultiPaxos) attachReads() {
	if len(m.newReads) == 0 {
		return
	}
	var s uint64
	if n := len(m.batch); n > 0 {
		s = m.batch[n-1].Slot
	} else {
		s = m.propose(mpEntry{Noop: true})
	}
	for _, done := range m.newReads {
		m.reads = append(m.reads, mpRead{slot: s, done: done})
	}
	m.newReads = nil
}

// sendBatch sends the batch (phase 2a) to every other acceptor, MaxBatch
// slots per accept, with the chosen prefix piggybacked.
func (m *MultiPaxos) sendBatch() {
	if len(m.batch) == 0 {
		return
	}
	for len(m.batch) > 0 {
		n := min(len(m.batch), m.cfg.MaxBatch)
		a := mpAccept{Ballot: m.ballot, Entries: m.batch[:n:n], Commit: m.commit}
		for _, p := range m.peers() {
			m.env.Send(p, a)
		}
		m.batch = m.batch[n:]
	}
	m.batch = nil
	m.committed = max(m.committed, m.commit)
}

// handleAccepted counts the acceptor's vote for each slot it accepted in the
// own ballot; a majority chooses the slot (van Renesse and Altinbuken's
// commander).
func (m *MultiPaxos) handleAccepted(from node.ID, a mpAccepted) {
	m.observe(a.Ballot)
	if m.role != MultiPaxosLeader || a.Ballot != m.ballot {
		return
	}
	m.active[from] = true
	for s := a.First; a.First != 0 && s <= a.Last; s++ {
		m.vote(s, from)
	}
	before := m.commit
	m.advance()
	if m.commit > before {
		m.scheduleFlush() // the flush announces the new prefix
	}
}

// vote records that acceptor id accepted slot s in the own ballot.
func (m *MultiPaxos) vote(s uint64, id node.ID) {
	rec := m.peek(s)
	if s <= m.commit || rec == nil || rec.Decided || rec.Ballot != m.ballot {
		return
	}
	vs := m.votes[s]
	if slices.Contains(vs, id) {
		return
	}
	vs = append(vs, id)
	m.votes[s] = vs
	if len(vs) >= m.majority() {
		m.decide(s)
	}
}

// announce tells the learners the chosen prefix, if it grew since they
// were last told (in an accept or a decide).
func (m *MultiPaxos) announce() {
	if m.commit <= m.committed {
		return
	}
	for _, p := range m.peers() {
		m.env.Send(p, mpDecide{Ballot: m.ballot, Commit: m.commit})
	}
	m.committed = m.commit
}

// heartbeat is the leader's tick: every acceptor gets an accept, with the
// undecided slots it has not accepted yet (a lost accept is sent again) or
// empty, carrying the chosen prefix; a leader that did not hear from a
// majority within the last ElectionTimeoutMin steps down (CheckQuorum,
// Ongaro's dissertation §6.2), so that it stops turning candidates away.
func (m *MultiPaxos) heartbeat() {
	now := m.env.Now()
	if !now.Before(m.quorumCheck) {
		heard := 1
		for _, ok := range m.active {
			if ok {
				heard++
			}
		}
		if heard < m.majority() {
			m.env.Log().Info("multipaxos: no majority heard within the election timeout; stepping down")
			m.becomeFollower(node.None)
			return
		}
		m.active = map[node.ID]bool{}
		m.quorumCheck = now.Add(m.cfg.ElectionTimeoutMin)
	}
	m.sendHeartbeats(m.resendBelow)
	m.resendBelow = m.nextSlot
	m.catchUp()
}

// sendHeartbeats sends every acceptor an accept: the run of undecided slots
// below resend from the first it has not accepted (slots proposed at least
// a heartbeat interval ago: their accept or its answer may be lost), or
// nothing.
func (m *MultiPaxos) sendHeartbeats(resend uint64) {
	for _, p := range m.peers() {
		a := mpAccept{Ballot: m.ballot, Commit: m.commit}
		for s := m.commit + 1; s < min(resend, m.nextSlot); s++ {
			rec := m.peek(s)
			if rec == nil || rec.Decided || rec.Ballot != m.ballot || slices.Contains(m.votes[s], p) {
				continue
			}
			for t := s; t < m.nextSlot && len(a.Entries) < m.cfg.MaxBatch; t++ {
				r := m.peek(t)
				if r == nil || r.Ballot != m.ballot {
					break // not proposed in this ballot (below a snapshot it pulls)
				}
				a.Entries = append(a.Entries, mpEntry{Slot: t, Noop: r.Noop, Command: r.Command})
			}
			break
		}
		m.env.Send(p, a)
	}
	m.committed = max(m.committed, m.commit)
}

// serveReads completes the reads waiting for slot s, just executed from
// ballot b: they succeed if this node still leads and s was chosen in its
// ballot.
func (m *MultiPaxos) serveReads(s uint64, b MultiPaxosBallot) {
	if len(m.reads) == 0 {
		return
	}
	var keep []mpRead
	for _, r := range m.reads {
		switch {
		case r.slot > s:
			keep = append(keep, r)
		case r.slot == s && m.role == MultiPaxosLeader && b == m.ballot:
			r.done(nil)
		default:
			r.done(ErrMultiPaxosReadLost)
		}
	}
	m.reads = keep
}

// failReadsUpTo fails the reads whose slot a snapshot covers: this leader
// cannot tell in which ballot it was chosen.
func (m *MultiPaxos) failReadsUpTo(s uint64) {
	var keep []mpRead
	for _, r := range m.reads {
		if r.slot <= s {
			r.done(ErrMultiPaxosReadLost)
		} else {
			keep = append(keep, r)
		}
	}
	m.reads = keep
}
