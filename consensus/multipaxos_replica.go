package consensus

import (
	"encoding/binary"
	"hash/fnv"

	"github.com/synod-dev/synod/node"
)

// The learner's and replica's side of Multi-Paxos: learning which values
// are chosen ("Paxos Made Simple", §2.4), executing them in slot order (§3),
// and catching up on what was missed.

// handleDecide learns the chosen prefix a leader announces.
func (m *MultiPaxos) handleDecide(from node.ID, d mpDecide) {
	m.observe(d.Ballot)
	if d.Ballot == m.promised && from == m.leader && m.role == MultiPaxosFollower {
		m.lastContact = m.env.Now()
		m.resetElectionTimer()
	}
	m.learn(from, d.Ballot, d.Commit)
}

// learn takes in that every slot up to commit is chosen with the value the
// leader of ballot b proposed in it: a slot holding a value accepted in b
// holds that value (a leader proposes one value per slot and ballot). Slots
// that hold nothing from b are holes, to be pulled from the announcer.
func (m *MultiPaxos) learn(from node.ID, b MultiPaxosBallot, commit uint64) {
	for s := m.commit + 1; s <= min(commit, m.lastSlot()); s++ {
		if rec := m.peek(s); rec.Ballot == b && !rec.Decided {
			m.decide(s)
		}
	}
	if commit > m.knownCommit {
		m.knownCommit, m.aheadOf = commit, from
	}
	m.advance()
}

// decide marks slot s chosen with the value its record holds.
func (m *MultiPaxos) decide(s uint64) {
	rec := m.slot(s)
	rec.Decided = true
	m.persistDecided(s)
	delete(m.votes, s)
	if m.cfg.Broken.ExecuteGaps && s > m.executed+1 && !m.gapExecuted[s] {
		// Broken: execute it now, past the gap below it.
		if m.gapExecuted == nil {
			m.gapExecuted = map[uint64]bool{}
		}
		m.gapExecuted[s] = true
		m.execute(s, rec)
	}
}

// advance extends the chosen prefix over the slots now known chosen,
// executes it in order (the prefix invariant: never a slot whose
// predecessors are not all executed), and pulls the rest if the prefix
// stops short of what was announced.
func (m *MultiPaxos) advance() {
	for rec := m.peek(m.commit + 1); rec != nil && rec.Decided; rec = m.peek(m.commit + 1) {
		m.commit++
	}
	for m.executed < m.commit {
		m.executed++
		if m.gapExecuted[m.executed] {
			delete(m.gapExecuted, m.executed)
			continue
		}
		m.execute(m.executed, m.peek(m.executed))
	}
	m.maybeSnapshot()
	m.catchUp()
}

// execute hands slot s's chosen value to the state machine, and completes
// the reads waiting for it.
func (m *MultiPaxos) execute(s uint64, rec *mpSlot) {
	if !rec.Noop {
		m.sm.Apply(s, uint64(rec.Ballot), rec.Command)
	}
	m.env.Emit(MultiPaxosExecuted{Slot: s, Ballot: rec.Ballot, Noop: rec.Noop, Digest: valueDigest(rec.Noop, rec.Command)})
	m.serveReads(s, rec.Ballot)
}

// valueDigest names a value for the checkers (FNV-1a).
func valueDigest(noop bool, command []byte) uint64 {
	h := fnv.New64a()
	if noop {
		h.Write([]byte{1})
	} else {
		var b [9]byte
		binary.LittleEndian.PutUint64(b[1:], uint64(len(command)))
		h.Write(b[:])
		h.Write(command)
	}
	return h.Sum64()
}

// catchUp asks for the chosen values this replica misses, when the prefix
// it executed stops short of one announced: from the announcer at once,
// then, while no answer comes, once per heartbeat interval from the next
// member in turn.
func (m *MultiPaxos) catchUp() {
	if m.commit >= m.knownCommit || m.aheadOf == node.None {
		m.asked = false
		return
	}
	now := m.env.Now()
	if m.asked && now.Sub(m.askedAt) < m.cfg.HeartbeatInterval {
		return
	}
	to := m.aheadOf
	if m.asked || to == m.env.Self() {
		to = m.nextPeer(to)
		m.aheadOf = to
	}
	if to == node.None {
		return
	}
	m.asked, m.askedAt = true, now
	m.env.Send(to, mpCatchUp{From: m.commit + 1})
}

// nextPeer returns the member after id, skipping self (node.None alone).
func (m *MultiPaxos) nextPeer(id node.ID) node.ID {
	ps := m.peers()
	if len(ps) == 0 {
		return node.None
	}
	for _, p := range ps {
		if p > id {
			return p
		}
	}
	return ps[0]
}

// handleCatchUp answers a replica that missed chosen values: with the
// chosen prefix from c.From on, or with the snapshot if the log no longer
// holds c.From.
func (m *MultiPaxos) handleCatchUp(from node.ID, c mpCatchUp) {
	if c.From <= m.snapSlot {
		if s, ok := m.storedSnapshot(); ok && s.Slot >= c.From {
			m.env.Send(from, mpSnapshot{Slot: s.Slot, Data: s.Data})
		}
		return
	}
	var es []mpEntry
	for s := c.From; s <= m.commit && len(es) < m.cfg.MaxBatch; s++ {
		e := m.peek(s).entry(s)
		e.Decided = false // implied
		es = append(es, e)
	}
	if len(es) > 0 {
		m.env.Send(from, mpDecisions{Entries: es})
	}
}

// handleDecisions takes in chosen values pulled by catchUp. A chosen value
// replaces whatever the acceptor had accepted in its slot: it is the only
// value any later ballot can propose there.
func (m *MultiPaxos) handleDecisions(from node.ID, d mpDecisions) {
	m.asked = false
	top := uint64(0)
	for _, e := range d.Entries {
		if e.Slot <= m.commit {
			continue
		}
		rec := m.slot(e.Slot)
		if rec.Decided {
			continue
		}
		rec.Ballot, rec.Noop, rec.Command = e.Ballot, e.Noop, e.Command
		m.decide(e.Slot)
		top = max(top, e.Slot)
	}
	if top > m.knownCommit {
		m.knownCommit = top
	}
	m.aheadOf = from
	m.advance()
}

// handleSnapshot installs a snapshot pulled by catchUp: the state machine
// as of s.Slot replaces the executed prefix, and the log below it goes.
func (m *MultiPaxos) handleSnapshot(from node.ID, s mpSnapshot) {
	m.asked = false
	if s.Slot <= m.executed {
		m.advance()
		return
	}
	if err := m.sm.Restore(s.Data); err != nil {
		m.env.Log().Error("multipaxos: cannot restore a snapshot", "from", from, "slot", s.Slot, "err", err)
		return
	}
	m.env.Store().Set(mpKeySnapshot, mpEncode(mpSnap{Slot: s.Slot, Data: s.Data}))
	m.truncate(s.Slot)
	m.commit, m.executed = s.Slot, s.Slot
	if m.role == MultiPaxosLeader {
		m.nextSlot = max(m.nextSlot, s.Slot+1) // never propose in a chosen slot
	}
	m.knownCommit = max(m.knownCommit, s.Slot)
	m.aheadOf = from
	m.env.Emit(MultiPaxosRestored{Slot: s.Slot})
	m.failReadsUpTo(s.Slot)
	m.advance()
}
