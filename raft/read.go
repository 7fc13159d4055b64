package raft

import (
	"time"

	"github.com/synod-dev/synod/node"
)

// readState is the leader's bookkeeping for linearizable reads (diss. §6.4):
// each heartbeat round carries a context number; a read registered while
// round ctx was current is safe once a majority has answered a round ≥ ctx+1
// (sent after the read arrived) and the state machine has applied the
// commit index as it was when the read arrived.
type readState struct {
	ctx     uint64 // the latest round sent
	want    bool   // a read is waiting for the next round
	pending []pendingRead
	// starts remembers when recent rounds began, for the lease.
	starts     map[uint64]time.Time
	leaseUntil time.Time
	confirmed  uint64 // the highest round a majority has answered
}

type pendingRead struct {
	index uint64 // readIndex: commitIndex when the read arrived
	ctx   uint64 // the round that must be confirmed
	done  func(error)
}

// ReadIndex serves a linearizable read (diss. §6.4): done(nil) is called
// once the state machine reflects every write committed before the call, so
// the embedder may read its state machine there; done gets an error if this
// server is not (or stops being) the leader. With LeaseRead, a leader whose
// lease holds skips the round of heartbeats (diss. §6.4.1).
func (r *Raft) ReadIndex(env node.Env, done func(error)) {
	r.env = env
	if r.role != Leader {
		done(r.notLeader())
		return
	}
	if r.cfg.Broken.ReadWithoutIndex {
		done(nil) // broken: no confirmation that this server still leads
		return
	}
	rd := pendingRead{index: max(r.commitIndex, r.termStart), done: done}
	if r.cfg.LeaseRead && !r.cfg.NoCheckQuorum && env.Now().Before(r.reads.leaseUntil) {
		rd.ctx = 0 // the lease stands in for the round
	} else {
		rd.ctx = r.reads.ctx + 1
		r.reads.want = true
		r.out.Schedule(r.env)
	}
	r.reads.pending = append(r.reads.pending, rd)
	r.serveReads()
}

// startReadRound sends a heartbeat round now if a read waits for one.
func (r *Raft) startReadRound() {
	if r.reads.want {
		r.reads.round(r)
	}
}

// round starts heartbeat round ctx+1 to every follower (the heartbeats of
// §5.2 double as the confirmation).
func (s *readState) round(r *Raft) {
	s.begin(r)
	for _, id := range r.peers() {
		r.sendAppend(id, true)
	}
	s.end(r)
}

// begin numbers a new round, ctx+1, which the AppendEntries sent next carry.
func (s *readState) begin(r *Raft) {
	s.want = false
	s.ctx++
	if s.starts == nil {
		s.starts = map[uint64]time.Time{}
	}
	s.starts[s.ctx] = r.env.Now()
	delete(s.starts, s.ctx-16)
}

// end follows a round's sends: a cluster of one confirms its own round.
func (s *readState) end(r *Raft) {
	s.tally(r)
	r.serveReads()
}

// ack records that follower p answered round ctx in the current term.
func (s *readState) ack(r *Raft, from node.ID, p *progress, ctx uint64) {
	if ctx > p.readAck {
		p.readAck = ctx
		s.tally(r)
		r.serveReads()
	}
}

// tally finds the highest round a majority of voters has answered and
// extends the lease from its start.
func (s *readState) tally(r *Raft) {
	for c := s.ctx; c > s.confirmed; c-- {
		n := 0
		for _, id := range r.config.Voters {
			if id == r.env.Self() {
				n++
			} else if p := r.progress[id]; p != nil && p.readAck >= c {
				n++
			}
		}
		if n >= r.majority() {
			s.confirmed = c
			if start, ok := s.starts[c]; ok {
				lease := time.Duration(float64(r.cfg.ElectionTimeoutMin) * (1 - r.cfg.ClockDrift))
				if until := start.Add(lease); until.After(s.leaseUntil) {
					s.leaseUntil = until
				}
			}
			return
		}
	}
}

// serveReads completes the reads whose round is confirmed and whose index
// is applied; a read may not be served before the leader's no-op commits.
func (r *Raft) serveReads() {
	if r.role != Leader || len(r.reads.pending) == 0 {
		return
	}
	var keep []pendingRead
	for _, rd := range r.reads.pending {
		if rd.ctx <= r.reads.confirmed && r.commitIndex >= r.termStart && r.lastApplied >= rd.index {
			rd.done(nil)
		} else {
			keep = append(keep, rd)
		}
	}
	r.reads.pending = keep
}

// failReads fails every pending read.
func (r *Raft) failReads(err error) {
	pending := r.reads.pending
	r.reads = readState{}
	for _, rd := range pending {
		rd.done(err)
	}
}
