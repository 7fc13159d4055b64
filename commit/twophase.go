package commit

import (
	"time"

	"github.com/synod-dev/synod/node"
)

// The two-phase commit protocol's timers (with voteTimeout, core.go).
type (
	// resendTimeout fires at the coordinator when a participant has not
	// acknowledged the decision: it is sent again.
	resendTimeout struct{ Tx TxID }
	// decisionTimeout fires at an uncertain participant that has not
	// learned the outcome: it runs the termination protocol (again).
	decisionTimeout struct{ Tx TxID }
)

// TwoPhaseMessages returns one zero value of every message, emitted event,
// request op, reply and timer of two-phase commit, for node.NewRegistry.
func TwoPhaseMessages() []any {
	return []any{voteReq{}, yes{}, no{}, commitMsg{}, abortMsg{}, ack{}, decisionReq{},
		Transaction{}, Result{}, Status{}, StatusReply{},
		Began{}, Voted{}, Decided{}, Locked{}, Unlocked{}, Recovered{},
		voteTimeout{}, resendTimeout{}, decisionTimeout{}}
}

// TwoPhaseConfig configures NewTwoPhase. Use DefaultTwoPhaseConfig and
// change what you need.
type TwoPhaseConfig struct {
	// Coordinator is the process that coordinates every transaction; the
	// others are its participants.
	Coordinator node.ID
	// NoProbability is the chance that a participant votes NO.
	NoProbability float64
	// VoteTimeout is how long the coordinator waits for the votes before it
	// decides Abort. It must exceed the longest round trip, or transactions
	// abort with nothing wrong (the abort validity check catches that).
	VoteTimeout time.Duration
	// DecisionTimeout is how long an uncertain participant waits for the
	// decision before it asks for it (the termination protocol), and how
	// often it asks again.
	DecisionTimeout time.Duration
	// ResendInterval is how often the coordinator sends the decision again
	// to the participants that have not acknowledged it.
	ResendInterval time.Duration
	// Broken selects deliberately broken variants.
	Broken TwoPhaseBroken
}

// TwoPhaseBroken lists the deliberately broken variants of two-phase
// commit, each caught by the checker. The zero value is the correct
// protocol.
type TwoPhaseBroken struct {
	// UnsyncedPrepare: a participant votes YES without syncing its prepared
	// record. A crash before the decision arrives loses the record, and the
	// restarted participant, finding no YES in its log, aborts a transaction
	// the coordinator committed: agreement and durability are violated.
	UnsyncedPrepare bool
	// CommitOnTimeout: a coordinator whose vote timer fires commits instead
	// of aborting, as if a missing vote were a YES: commit validity is
	// violated when the missing participant voted NO or never voted.
	CommitOnTimeout bool
	// UnsyncedDecision: the coordinator announces its decision without
	// forcing it. A crash loses it, and the restarted coordinator, finding
	// only the start record, aborts what it committed: durability and
	// agreement are violated.
	UnsyncedDecision bool
	// NoRetry: the decision is sent once and never asked for: the
	// coordinator does not resend it and uncertain participants never run
	// the termination protocol. A participant that was down when its
	// decision came stays uncertain, holding its locks, although the
	// coordinator is up: termination is violated.
	NoRetry bool
}

// DefaultTwoPhaseConfig returns the defaults: node 0 coordinates, a
// participant votes NO with probability 0.05, the coordinator waits 30 ms
// for votes (the simulator's default round trip is 2–10 ms), an uncertain
// participant asks for the decision after 60 ms and every 60 ms after that,
// and the coordinator resends an unacknowledged decision every 60 ms.
func DefaultTwoPhaseConfig() TwoPhaseConfig {
	return TwoPhaseConfig{
		Coordinator:     0,
		NoProbability:   0.05,
		VoteTimeout:     30 * time.Millisecond,
		DecisionTimeout: 60 * time.Millisecond,
		ResendInterval:  60 * time.Millisecond,
	}
}

// TwoPhase is one process of two-phase commit, the coordinator or a
// participant (J. Gray, "Notes on Data Base Operating Systems", 1978,
// §5.8.3.3; in the form of P. Bernstein, V. Hadzilacos and N. Goodman,
// "Concurrency Control and Recovery in Database Systems", 1987, §7.4, with
// the acknowledgements of Gray's version).
//
// The protocol, for one transaction:
//
//  1. The coordinator forces a start-2PC record and sends VOTE-REQ to every
//     participant.
//  2. A participant that votes NO decides Abort unilaterally and sends NO.
//     One that votes YES forces a prepared (YES) record, takes the locks
//     and sends YES: from then on it is uncertain and must wait.
//  3. If every vote is YES the coordinator decides Commit; if one is NO, or
//     a vote does not come within VoteTimeout, it decides Abort. It forces
//     the decision and sends COMMIT or ABORT to every participant.
//  4. A participant forces the decision it receives, releases its locks and
//     sends ACK. Once every participant has acknowledged, the coordinator
//     writes an end record; until then it sends the decision again every
//     ResendInterval.
//
// Steps 1 and 2 are three-phase commit's too, and written once for both
// (core.go); this file holds steps 3 and 4 and the termination protocol.
//
// The termination protocol (BHG §7.4, cooperative termination): a
// participant uncertain for DecisionTimeout sends DECISION-REQ to the
// coordinator and to every other participant, and again every
// DecisionTimeout until it learns the outcome. A process that knows it
// answers with COMMIT or ABORT; a participant that has not voted decides
// Abort unilaterally and says so; an uncertain one cannot help. If the
// coordinator is down and every participant voted YES, none can help: they
// block, holding their locks, until the coordinator returns.
//
// The recovery protocol (BHG §7.4): a restarted process reads its DT log. A
// coordinator with a start record and no decision decides Abort (it cannot
// have committed without forcing Commit) and announces it; one with an
// unacknowledged decision announces it again. A participant with a prepared
// record and no decision is uncertain again: it re-acquires its locks and
// runs the termination protocol at once. A participant with no record of a
// transaction never voted YES on it: told about it by anyone, it aborts it.
// The coordinator answers a DECISION-REQ about a transaction it has no
// record of with ABORT, the presumed-abort rule (Mohan, Lindsay and
// Obermarck, 1986), safe because it forces its start record before any
// VOTE-REQ and never commits without a forced decision.
//
// Messages per transaction: VOTE-REQ, the vote, the decision (to every
// participant, whatever the outcome, as in Gray's version; BHG send ABORT
// only to the YES voters) and ACK, each N−1 times: 4(N−1) for N processes,
// 3(N−1) without the acknowledgements; four message delays, the
// participants deciding after three.
type TwoPhase struct {
	// core is steps 1 and 2, recovery from the DT log, and the answers to
	// DECISION-REQ, shared with three-phase commit (core.go).
	core
	cfg TwoPhaseConfig
}

// NewTwoPhase returns a process of two-phase commit: the coordinator if its
// ID is cfg.Coordinator, a participant otherwise.
func NewTwoPhase(cfg TwoPhaseConfig) node.Process {
	p := &TwoPhase{cfg: cfg}
	p.core = newCore("2pc", p, cfg.Coordinator, cfg.NoProbability, cfg.VoteTimeout)
	return p
}

// Start implements node.Process: the recovery protocol.
func (p *TwoPhase) Start(env node.Env) {
	p.recover(env, p.recoverCoordinator, p.recoverParticipant)
}

// recoverCoordinator restores one transaction of a restarted coordinator:
// one with no decision aborts (restoreCoordinator); one with an
// unacknowledged decision announces it again.
func (p *TwoPhase) recoverCoordinator(env node.Env, tx TxID, r record) {
	if ct := p.restoreCoordinator(env, tx, r); ct != nil && !r.Ended {
		p.announce(env, tx, ct)
	}
}

// recoverParticipant restores one transaction of a restarted participant:
// one prepared and undecided takes the locks again (restoreParticipant) and
// finds out, by the termination protocol.
func (p *TwoPhase) recoverParticipant(env node.Env, tx TxID, r record) {
	if pt := p.restoreParticipant(env, tx, r); pt != nil && !p.cfg.Broken.NoRetry {
		p.askDecision(env, tx, pt)
	}
}

// Request implements node.Process: a Transaction to commit (step 1,
// core.onTransaction), or a Status question.
func (p *TwoPhase) Request(env node.Env, req node.Request) { p.request(env, req) }

// Receive implements node.Process, dispatching to one handler per message.
func (p *TwoPhase) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case voteReq:
		p.onVoteReq(env, from, m)
	case yes:
		p.onYes(env, from, m)
	case no:
		p.onNo(env, m)
	case commitMsg:
		p.onDecision(env, from, m.Tx, Commit)
	case abortMsg:
		p.onDecision(env, from, m.Tx, Abort)
	case ack:
		p.onAck(env, from, m)
	case decisionReq:
		p.onDecisionReq(env, from, m)
	default:
		env.Log().Warn("2pc: unknown message", "from", from, "type", node.TypeName(msg))
	}
}

// Timeout implements node.Process.
func (p *TwoPhase) Timeout(env node.Env, t any) {
	switch t := t.(type) {
	case voteTimeout:
		if ct, ok := p.coord[t.Tx]; ok {
			ct.timer.fired()
			p.onVoteTimeout(env, t.Tx, ct)
		}
	case resendTimeout:
		if ct, ok := p.coord[t.Tx]; ok {
			ct.timer.fired()
			if !ct.ended {
				p.announce(env, t.Tx, ct)
			}
		}
	case decisionTimeout:
		if pt, ok := p.part[t.Tx]; ok {
			pt.timer.fired()
			if pt.state == Uncertain {
				p.askDecision(env, t.Tx, pt)
			}
		}
	}
}

// onVoteReq is step 2 at a participant: vote (core.vote), and having voted
// YES, wait DecisionTimeout for the decision before asking for it.
func (p *TwoPhase) onVoteReq(env node.Env, from node.ID, m voteReq) {
	pt := p.vote(env, from, m, !p.cfg.Broken.UnsyncedPrepare)
	if pt != nil && !p.cfg.Broken.NoRetry {
		pt.timer.set(env, p.cfg.DecisionTimeout, decisionTimeout{Tx: m.Tx})
	}
}

// onYes counts a YES at the coordinator: the last one decides Commit.
func (p *TwoPhase) onYes(env node.Env, from node.ID, m yes) {
	if ct := p.countYes(env, from, m); ct != nil {
		p.decide(env, m.Tx, ct, Commit)
	}
}

// onVoteTimeout: a vote has not come in time, so the coordinator aborts
// (the broken variant commits).
func (p *TwoPhase) onVoteTimeout(env node.Env, tx TxID, ct *coordTx) {
	if ct.state != Uncertain {
		return
	}
	if p.cfg.Broken.CommitOnTimeout {
		p.decide(env, tx, ct, Commit)
		return
	}
	p.decide(env, tx, ct, Abort)
}

// decide is step 3 at the coordinator: force the decision, answer the
// client (core.forceDecision), announce it.
func (p *TwoPhase) decide(env node.Env, tx TxID, ct *coordTx, o Outcome) {
	p.forceDecision(env, tx, ct, o, !p.cfg.Broken.UnsyncedDecision)
	p.announce(env, tx, ct)
}

// announce sends the decision to every participant that has not
// acknowledged it, and arms the resend timer.
func (p *TwoPhase) announce(env node.Env, tx TxID, ct *coordTx) {
	waiting := false
	for _, q := range p.participants(env) {
		if !ct.acked[q] {
			env.Send(q, decisionMessage(tx, stateOutcome(ct.state)))
			waiting = true
		}
	}
	if !waiting {
		ct.ended = true
		return
	}
	if !p.cfg.Broken.NoRetry {
		ct.timer.set(env, p.cfg.ResendInterval, resendTimeout{Tx: tx})
	}
}

// onAck is step 4 at the coordinator: once every participant has
// acknowledged, write the end record (not forced: if it is lost, the
// decision is sent again) and stop resending.
func (p *TwoPhase) onAck(env node.Env, from node.ID, m ack) {
	ct, ok := p.coord[m.Tx]
	if !ok || !ct.state.Decided() || ct.ended {
		return
	}
	ct.acked[from] = true
	for _, q := range p.participants(env) {
		if !ct.acked[q] {
			return
		}
	}
	ct.ended = true
	ct.timer.stop(env)
	writeRecord(env, m.Tx, record{State: ct.state, Ended: true}, false)
}

// onDecision is step 4 at a participant, for a COMMIT or ABORT from the
// coordinator or, in the termination protocol, from any process: it learns
// the outcome (core.onDecision) and acknowledges the coordinator's.
func (p *TwoPhase) onDecision(env node.Env, from node.ID, tx TxID, o Outcome) {
	if p.isCoordinator(env) {
		return
	}
	p.core.onDecision(env, from, tx, o)
	if from == p.cfg.Coordinator {
		env.Send(from, ack{Tx: tx})
	}
}

// askDecision is the termination protocol at an uncertain participant:
// DECISION-REQ to the coordinator and every other participant, again after
// DecisionTimeout. The answers come from core.onDecisionReq.
func (p *TwoPhase) askDecision(env node.Env, tx TxID, pt *partTx) {
	for _, q := range others(env, node.None) {
		env.Send(q, decisionReq{Tx: tx})
	}
	pt.timer.set(env, p.cfg.DecisionTimeout, decisionTimeout{Tx: tx})
}
