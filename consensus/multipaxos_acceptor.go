package consensus

import "github.com/synod-dev/synod/node"

// The acceptor's side of Multi-Paxos ("Paxos Made Simple", §2.2): it
// promises, accepts, and refuses what its promise forbids.

// handlePrepare is phase 1b: "if an acceptor receives a prepare request with
// number n greater than that of any prepare request to which it has already
// responded, then it responds to the request with a promise not to accept
// any more proposals numbered less than n and with the highest-numbered
// proposal (if any) that it has accepted" — here for every slot from From
// on. A node that hears from a live leader ignores other candidates
// (otherwise a node cut off for a while would depose a healthy leader as
// soon as it is back), as Raft's servers do (Ongaro's dissertation §4.2.3).
func (m *MultiPaxos) handlePrepare(from node.ID, p mpPrepare) {
	m.observe(p.Ballot)
	if p.Ballot < m.promised {
		m.send(from, mpNack{Ballot: p.Ballot, Promised: m.promised})
		return
	}
	if m.loyal(from) {
		return
	}
	if p.Ballot > m.promised {
		m.promised = p.Ballot
		m.persistPromised()
		// No leader now, until one wins; the election timer restarts to
		// give the candidate time to.
		m.becomeFollower(node.None)
	}
	// (An equal ballot is a duplicate: promised again, nothing changes.)
	m.send(from, m.promise(p.From))
}

// loyal reports whether this node keeps following (or leading) a live
// leadership and so ignores a prepare from candidate.
func (m *MultiPaxos) loyal(candidate node.ID) bool {
	switch m.role {
	case MultiPaxosLeader:
		return candidate != m.env.Self() // CheckQuorum steps a leader down when it is cut off
	case MultiPaxosFollower:
		return m.leader != node.None && candidate != m.leader &&
			m.env.Now().Sub(m.lastContact) < m.cfg.ElectionTimeoutMin
	}
	return false
}

// promise is the phase 1b answer to a prepare for slots from on, in the
// ballot just promised.
func (m *MultiPaxos) promise(from uint64) mpPromise {
	p := mpPromise{Ballot: m.promised, From: from}
	if m.snapSlot >= from {
		p.Snapshot = m.snapSlot
	}
	for s := max(from, m.snapSlot+1); s <= m.lastSlot(); s++ {
		if rec := m.peek(s); rec.Ballot != 0 {
			p.Accepted = append(p.Accepted, rec.entry(s))
		}
	}
	return p
}

// handleAccept is phase 2b: "if an acceptor receives an accept request for a
// proposal numbered n, it accepts the proposal unless it has already
// responded to a prepare request having a number greater than n". An
// accept comes from a leader: the node follows it, and learns the chosen
// prefix the accept announces.
func (m *MultiPaxos) handleAccept(from node.ID, a mpAccept) {
	m.observe(a.Ballot)
	if a.Ballot < m.promised {
		m.send(from, mpNack{Ballot: a.Ballot, Promised: m.promised})
		return
	}
	m.heardFromLeader(from, a.Ballot)
	for _, e := range a.Entries {
		if e.Slot <= m.executed {
			continue // chosen and executed: the leader's value is that one
		}
		rec := m.slot(e.Slot)
		rec.Ballot, rec.Noop, rec.Command = a.Ballot, e.Noop, e.Command
		m.persistAccepted(e.Slot)
	}
	m.learn(from, a.Ballot, a.Commit)
	reply := mpAccepted{Ballot: a.Ballot}
	if n := len(a.Entries); n > 0 {
		reply.First, reply.Last = a.Entries[0].Slot, a.Entries[n-1].Slot
	}
	m.send(from, reply)
}

// heardFromLeader follows the leader of ballot b (>= promised), whose accept
// just arrived: accepting in b is promising b, and the election timer
// restarts.
func (m *MultiPaxos) heardFromLeader(from node.ID, b MultiPaxosBallot) {
	if b > m.promised {
		m.promised = b
		m.persistPromised()
	}
	m.lastContact = m.env.Now()
	if m.role != MultiPaxosFollower || m.leader != from || m.emitted.Ballot != m.promised {
		m.becomeFollower(from)
		return
	}
	m.resetElectionTimer()
}
