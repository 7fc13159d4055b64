package commit

import (
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// The two-phase commit protocol's timers.
type (
	// voteTimeout fires at the coordinator when a vote has not come.
	voteTimeout struct{ Tx TxID }
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
	cfg TwoPhaseConfig
	// coord holds the transactions this process coordinates; part those it
	// takes part in (a participant with no entry is in the initial state).
	coord map[TxID]*coordTx
	part  map[TxID]*partTx
}

// coordTx is a transaction at its coordinator.
type coordTx struct {
	// state is Uncertain while the votes come in, then the decision.
	state State
	// yes holds the participants that voted YES; acked those that have
	// acknowledged the decision; ended is set once all have.
	yes, acked map[node.ID]bool
	ended      bool
	// reqs are the client requests waiting for the result.
	reqs []node.RequestID
	// timer is the vote timeout, then the resend timer.
	timer timer
}

// partTx is a transaction at a participant.
type partTx struct {
	// state is Uncertain (voted YES), Committed or Aborted.
	state State
	// locked: the participant holds the transaction's locks.
	locked bool
	// timer is the decision timeout of the termination protocol.
	timer timer
}

// NewTwoPhase returns a process of two-phase commit: the coordinator if its
// ID is cfg.Coordinator, a participant otherwise.
func NewTwoPhase(cfg TwoPhaseConfig) node.Process {
	return &TwoPhase{cfg: cfg, coord: map[TxID]*coordTx{}, part: map[TxID]*partTx{}}
}

func (p *TwoPhase) isCoordinator(env node.Env) bool { return env.Self() == p.cfg.Coordinator }

func (p *TwoPhase) participants(env node.Env) []node.ID {
	return participantsOf(env.Group(), p.cfg.Coordinator)
}

// Start implements node.Process: the recovery protocol. At first boot the
// log is empty and there is nothing to do.
func (p *TwoPhase) Start(env node.Env) {
	ids, recs := readLog(env)
	emitRecovered(env, ids, func(id TxID) State { return recs[id].State })
	for _, id := range ids {
		if p.isCoordinator(env) {
			p.recoverCoordinator(env, id, recs[id])
		} else {
			p.recoverParticipant(env, id, recs[id])
		}
	}
}

// recoverCoordinator restores one transaction of a restarted coordinator.
func (p *TwoPhase) recoverCoordinator(env node.Env, tx TxID, r record) {
	ct := &coordTx{state: r.State, yes: map[node.ID]bool{}, acked: map[node.ID]bool{}, ended: r.Ended}
	p.coord[tx] = ct
	switch {
	case r.State == Uncertain:
		// A start record and no decision: it cannot have committed.
		if r.Req != 0 {
			ct.reqs = []node.RequestID{r.Req}
		}
		p.decide(env, tx, ct, Abort)
	case !r.Ended:
		p.announce(env, tx, ct)
	}
}

// recoverParticipant restores one transaction of a restarted participant.
func (p *TwoPhase) recoverParticipant(env node.Env, tx TxID, r record) {
	pt := &partTx{state: r.State}
	p.part[tx] = pt
	if r.State == Uncertain {
		// Prepared and undecided: take the locks again and find out.
		pt.locked = true
		env.Emit(Locked{Tx: tx})
		if !p.cfg.Broken.NoRetry {
			p.askDecision(env, tx, pt)
		}
	}
}

// Request implements node.Process: a Transaction to commit, or a Status
// question.
func (p *TwoPhase) Request(env node.Env, req node.Request) {
	switch op := req.Op.(type) {
	case Transaction:
		p.onTransaction(env, req.ID, op)
	case Status:
		env.Reply(req.ID, StatusReply{Tx: op.Tx, State: p.state(env, op.Tx)})
	default:
		env.Log().Warn("2pc: unknown request op", "op", node.TypeName(req.Op))
	}
}

// state is what this process knows of tx.
func (p *TwoPhase) state(env node.Env, tx TxID) State {
	if p.isCoordinator(env) {
		if ct, ok := p.coord[tx]; ok {
			return ct.state
		}
	} else if pt, ok := p.part[tx]; ok {
		return pt.state
	}
	return Initial
}

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

// onTransaction is step 1 at the coordinator: force the start record, send
// VOTE-REQ. A repeated request for a known transaction waits for (or gets)
// the same result.
func (p *TwoPhase) onTransaction(env node.Env, req node.RequestID, op Transaction) {
	if !p.isCoordinator(env) {
		env.Reply(req, Result{Tx: op.ID, Err: fmt.Sprintf("%v is a participant; the coordinator is %v", env.Self(), p.cfg.Coordinator)})
		return
	}
	if ct, ok := p.coord[op.ID]; ok {
		if ct.state.Decided() {
			env.Reply(req, Result{Tx: op.ID, Outcome: stateOutcome(ct.state)})
		} else {
			ct.reqs = append(ct.reqs, req)
		}
		return
	}
	ct := &coordTx{state: Uncertain, yes: map[node.ID]bool{}, acked: map[node.ID]bool{}, reqs: []node.RequestID{req}}
	p.coord[op.ID] = ct
	writeRecord(env, op.ID, record{State: Uncertain, Req: req}, true)
	parts := p.participants(env)
	env.Emit(Began{Tx: op.ID, Participants: parts})
	if len(parts) == 0 {
		p.decide(env, op.ID, ct, Commit)
		return
	}
	for _, q := range parts {
		env.Send(q, voteReq{Tx: op.ID})
	}
	ct.timer.set(env, p.cfg.VoteTimeout, voteTimeout{Tx: op.ID})
}

// onVoteReq is step 2 at a participant: vote. A repeated VOTE-REQ gets the
// vote already given.
func (p *TwoPhase) onVoteReq(env node.Env, from node.ID, m voteReq) {
	if p.isCoordinator(env) {
		return
	}
	if pt, ok := p.part[m.Tx]; ok {
		if pt.state == Aborted {
			env.Send(from, no{Tx: m.Tx})
		} else {
			env.Send(from, yes{Tx: m.Tx})
		}
		return
	}
	if voteNo(env, p.cfg.NoProbability) {
		env.Emit(Voted{Tx: m.Tx, Yes: false})
		p.learn(env, m.Tx, Abort) // a NO is a unilateral abort
		env.Send(from, no{Tx: m.Tx})
		return
	}
	pt := &partTx{state: Uncertain, locked: true}
	p.part[m.Tx] = pt
	writeRecord(env, m.Tx, record{State: Uncertain}, !p.cfg.Broken.UnsyncedPrepare)
	env.Emit(Voted{Tx: m.Tx, Yes: true})
	env.Emit(Locked{Tx: m.Tx})
	env.Send(from, yes{Tx: m.Tx})
	if !p.cfg.Broken.NoRetry {
		pt.timer.set(env, p.cfg.DecisionTimeout, decisionTimeout{Tx: m.Tx})
	}
}

// onYes counts a YES at the coordinator: the last one decides Commit.
func (p *TwoPhase) onYes(env node.Env, from node.ID, m yes) {
	ct, ok := p.coord[m.Tx]
	if !ok || ct.state != Uncertain || !slices.Contains(p.participants(env), from) {
		return
	}
	ct.yes[from] = true
	if len(ct.yes) == len(p.participants(env)) {
		p.decide(env, m.Tx, ct, Commit)
	}
}

// onNo is a NO at the coordinator: the transaction aborts.
func (p *TwoPhase) onNo(env node.Env, m no) {
	if ct, ok := p.coord[m.Tx]; ok && ct.state == Uncertain {
		p.decide(env, m.Tx, ct, Abort)
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
// client, announce it.
func (p *TwoPhase) decide(env node.Env, tx TxID, ct *coordTx, o Outcome) {
	ct.state = outcomeState(o)
	ct.timer.stop(env)
	writeRecord(env, tx, record{State: ct.state}, !p.cfg.Broken.UnsyncedDecision)
	env.Emit(Decided{Tx: tx, Outcome: o})
	for _, r := range ct.reqs {
		env.Reply(r, Result{Tx: tx, Outcome: o})
	}
	ct.reqs = nil
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
// coordinator or, in the termination protocol, from any process. The
// coordinator's is acknowledged.
func (p *TwoPhase) onDecision(env node.Env, from node.ID, tx TxID, o Outcome) {
	if p.isCoordinator(env) {
		return
	}
	switch pt, ok := p.part[tx]; {
	case !ok:
		// No record: this participant never voted YES (a log that lost its
		// YES record thinks so too), so it aborts, whatever it is told.
		if o == Commit {
			env.Log().Error("2pc: told to commit a transaction with no YES in the log; aborting it", "tx", tx, "from", from)
		}
		p.learn(env, tx, Abort)
	case pt.state == Uncertain:
		p.learn(env, tx, o)
	case stateOutcome(pt.state) != o:
		env.Log().Error("2pc: told the opposite of the decision in the log", "tx", tx, "from", from, "told", o, "decided", pt.state)
	}
	if from == p.cfg.Coordinator {
		env.Send(from, ack{Tx: tx})
	}
}

// learn makes a participant's decision durable, then reports it and
// releases the locks.
func (p *TwoPhase) learn(env node.Env, tx TxID, o Outcome) {
	pt, ok := p.part[tx]
	if !ok {
		pt = &partTx{}
		p.part[tx] = pt
	}
	pt.state = outcomeState(o)
	pt.timer.stop(env)
	writeRecord(env, tx, record{State: pt.state}, true)
	env.Emit(Decided{Tx: tx, Outcome: o})
	if pt.locked {
		pt.locked = false
		env.Emit(Unlocked{Tx: tx})
	}
}

// askDecision is the termination protocol at an uncertain participant:
// DECISION-REQ to the coordinator and every other participant, again after
// DecisionTimeout.
func (p *TwoPhase) askDecision(env node.Env, tx TxID, pt *partTx) {
	for _, q := range others(env, node.None) {
		env.Send(q, decisionReq{Tx: tx})
	}
	pt.timer.set(env, p.cfg.DecisionTimeout, decisionTimeout{Tx: tx})
}

// onDecisionReq answers the termination protocol: with the decision if this
// process knows it; with ABORT from a coordinator that has no record of the
// transaction (presumed abort) or from a participant that has not voted
// (which thereby aborts unilaterally); not at all from a process that is
// itself uncertain or still collecting votes.
func (p *TwoPhase) onDecisionReq(env node.Env, from node.ID, m decisionReq) {
	if p.isCoordinator(env) {
		switch ct, ok := p.coord[m.Tx]; {
		case !ok:
			env.Send(from, abortMsg{Tx: m.Tx})
		case ct.state.Decided():
			env.Send(from, decisionMessage(m.Tx, stateOutcome(ct.state)))
		}
		return
	}
	switch pt, ok := p.part[m.Tx]; {
	case !ok:
		p.learn(env, m.Tx, Abort)
		env.Send(from, abortMsg{Tx: m.Tx})
	case pt.state.Decided():
		env.Send(from, decisionMessage(m.Tx, stateOutcome(pt.state)))
	}
}
