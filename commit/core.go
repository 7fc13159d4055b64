package commit

import (
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// voteTimeout fires at the coordinator, in either protocol, when a vote has
// not come.
type voteTimeout struct{ Tx TxID }

// core is what two-phase and three-phase commit share, written once. The
// first phase of 3PC is the first phase of 2PC (Skeen 1981; BHG §7.5 builds
// 3PC on §7.4's 2PC): the coordinator forces its start record and sends
// VOTE-REQ (step 1), each participant votes, forcing its prepared record
// before a YES (step 2), and a NO or a missing vote aborts. Both keep the
// same DT log and recover from it alike, make a participant's decision
// durable alike, and answer DECISION-REQ alike (BHG §7.4's cooperative
// termination, which 3PC's recovery protocol uses).
//
// TwoPhase and ThreePhase each embed a core and keep in their own file what
// differs: what the coordinator does once every vote is YES and how it
// sends its decision (2PC: COMMIT or ABORT with ACKs and resends; 3PC:
// PRE-COMMIT and ACK first), and what a participant does while it waits
// (2PC: cooperative termination; 3PC: election and the termination rules).
type core struct {
	// name is "2pc" or "3pc", in log messages.
	name          string
	coordinator   node.ID
	noProbability float64
	voteTimeout   time.Duration
	// protocol is the TwoPhase or ThreePhase that embeds this core: the
	// shared phase hands the coordinator's decision to it.
	protocol decider
	// coord holds the transactions this process coordinates; part those it
	// takes part in (a participant with no entry is in the initial state).
	coord map[TxID]*coordTx
	part  map[TxID]*partTx
}

// decider is the step the shared phase leaves to each protocol: the
// coordinator's decision, once the votes (or their absence) have made it.
type decider interface {
	decide(env node.Env, tx TxID, ct *coordTx, o Outcome)
}

func newCore(name string, protocol decider, coordinator node.ID, noProbability float64, voteTimeout time.Duration) core {
	return core{name: name, protocol: protocol, coordinator: coordinator, noProbability: noProbability, voteTimeout: voteTimeout,
		coord: map[TxID]*coordTx{}, part: map[TxID]*partTx{}}
}

// coordTx is a transaction at its coordinator.
type coordTx struct {
	// state is Uncertain while the votes come in, then (3PC) Committable
	// while the ACKs of PRE-COMMIT come in, then the decision; in 3PC,
	// Recovering after a restart in p.
	state State
	// yes holds the participants that voted YES; acked those that have
	// acknowledged the decision (2PC) or PRE-COMMIT (3PC).
	yes, acked map[node.ID]bool
	// ended (2PC only) is set once every participant has acknowledged the
	// decision: the end record.
	ended bool
	// reqs are the client requests waiting for the result.
	reqs []node.RequestID
	// timer is the vote timeout, then 2PC's resend timer or 3PC's ACK
	// timeout.
	timer timer
}

// partTx is a transaction at a participant.
type partTx struct {
	// state is Uncertain (voted YES), Committed or Aborted; in 3PC also
	// Committable and Recovering.
	state State
	// locked: the participant holds the transaction's locks.
	locked bool
	// timer is what the participant waits for: 2PC's decision timeout, or
	// 3PC's timeouts on its coordinator, backup or reports.
	timer timer

	// The rest is 3PC's termination protocol (BHG §7.5) only.

	// leader is the coordinator this participant waits on: the original
	// one, then a backup (itself, when it is the backup).
	leader node.ID
	// up is UP: the processes it believes operational.
	up map[node.ID]bool
	// backup: it is the backup coordinator. reports are the states it has
	// collected (its own included); acks, in rule TR4, the uncertain
	// processes sent PRE-COMMIT (true once they acknowledged).
	backup  bool
	reports map[node.ID]State
	acks    map[node.ID]bool
}

func (c *core) isCoordinator(env node.Env) bool { return env.Self() == c.coordinator }

func (c *core) participants(env node.Env) []node.ID {
	return participantsOf(env.Group(), c.coordinator)
}

// request answers a client: a Transaction to commit (step 1), or a Status
// question.
func (c *core) request(env node.Env, req node.Request) {
	switch op := req.Op.(type) {
	case Transaction:
		c.onTransaction(env, req.ID, op)
	case Status:
		env.Reply(req.ID, StatusReply{Tx: op.Tx, State: c.state(env, op.Tx)})
	default:
		env.Log().Warn(c.name+": unknown request op", "op", node.TypeName(req.Op))
	}
}

// state is what this process knows of tx.
func (c *core) state(env node.Env, tx TxID) State {
	if c.isCoordinator(env) {
		if ct, ok := c.coord[tx]; ok {
			return ct.state
		}
	} else if pt, ok := c.part[tx]; ok {
		return pt.state
	}
	return Initial
}

// onTransaction is step 1 at the coordinator: force the start record, send
// VOTE-REQ. A repeated request for a known transaction waits for (or gets)
// the same result.
func (c *core) onTransaction(env node.Env, req node.RequestID, op Transaction) {
	if !c.isCoordinator(env) {
		env.Reply(req, Result{Tx: op.ID, Err: fmt.Sprintf("%v is a participant; the coordinator is %v", env.Self(), c.coordinator)})
		return
	}
	if ct, ok := c.coord[op.ID]; ok {
		if ct.state.Decided() {
			env.Reply(req, Result{Tx: op.ID, Outcome: stateOutcome(ct.state)})
		} else {
			ct.reqs = append(ct.reqs, req)
		}
		return
	}
	ct := &coordTx{state: Uncertain, yes: map[node.ID]bool{}, acked: map[node.ID]bool{}, reqs: []node.RequestID{req}}
	c.coord[op.ID] = ct
	writeRecord(env, op.ID, record{State: Uncertain, Req: req}, true)
	parts := c.participants(env)
	env.Emit(Began{Tx: op.ID, Participants: parts})
	if len(parts) == 0 {
		c.protocol.decide(env, op.ID, ct, Commit)
		return
	}
	for _, q := range parts {
		env.Send(q, voteReq{Tx: op.ID})
	}
	ct.timer.set(env, c.voteTimeout, voteTimeout{Tx: op.ID})
}

// vote is step 2 at a participant. One that votes NO decides Abort
// unilaterally and sends NO; one that votes YES writes its prepared record
// (forced, unless force is false: a broken variant), takes the locks and
// sends YES. It returns the transaction when it has just voted YES, for the
// protocol to arm its wait, and nil otherwise. A repeated VOTE-REQ gets the
// vote already given.
func (c *core) vote(env node.Env, from node.ID, m voteReq, force bool) *partTx {
	if c.isCoordinator(env) {
		return nil
	}
	if pt, ok := c.part[m.Tx]; ok {
		if pt.state == Aborted {
			env.Send(from, no{Tx: m.Tx})
		} else {
			env.Send(from, yes{Tx: m.Tx})
		}
		return nil
	}
	if voteNo(env, c.noProbability) {
		env.Emit(Voted{Tx: m.Tx, Yes: false})
		c.learn(env, m.Tx, Abort) // a NO is a unilateral abort
		env.Send(from, no{Tx: m.Tx})
		return nil
	}
	pt := &partTx{state: Uncertain, locked: true}
	c.part[m.Tx] = pt
	writeRecord(env, m.Tx, record{State: Uncertain}, force)
	env.Emit(Voted{Tx: m.Tx, Yes: true})
	env.Emit(Locked{Tx: m.Tx})
	env.Send(from, yes{Tx: m.Tx})
	return pt
}

// countYes counts a YES at the coordinator. It returns the transaction when
// this was the last vote to come, every one YES, and nil otherwise.
func (c *core) countYes(env node.Env, from node.ID, m yes) *coordTx {
	ct, ok := c.coord[m.Tx]
	parts := c.participants(env)
	if !ok || ct.state != Uncertain || !slices.Contains(parts, from) {
		return nil
	}
	ct.yes[from] = true
	if len(ct.yes) < len(parts) {
		return nil
	}
	return ct
}

// onNo is a NO at the coordinator: the transaction aborts.
func (c *core) onNo(env node.Env, m no) {
	if ct, ok := c.coord[m.Tx]; ok && ct.state == Uncertain {
		c.protocol.decide(env, m.Tx, ct, Abort)
	}
}

// forceDecision makes the coordinator's decision durable (forced, unless
// force is false: a broken variant), reports it and answers the client.
// Sending it to the participants is the protocol's.
func (c *core) forceDecision(env node.Env, tx TxID, ct *coordTx, o Outcome, force bool) {
	ct.state = outcomeState(o)
	ct.timer.stop(env)
	writeRecord(env, tx, record{State: ct.state}, force)
	env.Emit(Decided{Tx: tx, Outcome: o})
	for _, r := range ct.reqs {
		env.Reply(r, Result{Tx: tx, Outcome: o})
	}
	ct.reqs = nil
}

// onDecision takes a COMMIT or ABORT at a participant, from whoever sends
// it. A participant with no record of the transaction never voted YES (a
// log that lost its YES record thinks so too), so it aborts, whatever it is
// told.
func (c *core) onDecision(env node.Env, from node.ID, tx TxID, o Outcome) {
	switch pt, ok := c.part[tx]; {
	case !ok:
		if o == Commit {
			env.Log().Error(c.name+": told to commit a transaction with no YES in the log; aborting it", "tx", tx, "from", from)
		}
		c.learn(env, tx, Abort)
	case !pt.state.Decided():
		c.learn(env, tx, o)
	case stateOutcome(pt.state) != o:
		env.Log().Error(c.name+": told the opposite of the decision in the log", "tx", tx, "from", from, "told", o, "decided", pt.state)
	}
}

// learn makes a participant's decision durable, then reports it and
// releases the locks.
func (c *core) learn(env node.Env, tx TxID, o Outcome) *partTx {
	pt, ok := c.part[tx]
	if !ok {
		pt = &partTx{}
		c.part[tx] = pt
	}
	pt.state = outcomeState(o)
	pt.timer.stop(env)
	writeRecord(env, tx, record{State: pt.state}, true)
	env.Emit(Decided{Tx: tx, Outcome: o})
	if pt.locked {
		pt.locked = false
		env.Emit(Unlocked{Tx: tx})
	}
	return pt
}

// onDecisionReq answers a process that asks for the outcome (BHG §7.4's
// cooperative termination; 3PC's recovery): with the decision if this
// process knows it; with ABORT from a coordinator that has no record of the
// transaction (presumed abort) or from a participant that has not voted
// (which thereby aborts unilaterally); not at all from a process that is
// itself undecided.
func (c *core) onDecisionReq(env node.Env, from node.ID, m decisionReq) {
	if c.isCoordinator(env) {
		switch ct, ok := c.coord[m.Tx]; {
		case !ok:
			env.Send(from, abortMsg{Tx: m.Tx})
		case ct.state.Decided():
			env.Send(from, decisionMessage(m.Tx, stateOutcome(ct.state)))
		}
		return
	}
	switch pt, ok := c.part[m.Tx]; {
	case !ok:
		c.learn(env, m.Tx, Abort)
		env.Send(from, abortMsg{Tx: m.Tx})
	case pt.state.Decided():
		env.Send(from, decisionMessage(m.Tx, stateOutcome(pt.state)))
	}
}

// recover reads the DT log back, says what it found (Recovered), and hands
// each transaction, in ID order, to the protocol's recovery: coordinator
// at the coordinator, participant elsewhere. At first boot the log is empty
// and there is nothing to do.
func (c *core) recover(env node.Env, coordinator, participant func(env node.Env, tx TxID, r record)) {
	ids, recs := readLog(env)
	emitRecovered(env, ids, func(id TxID) State { return recs[id].State })
	for _, id := range ids {
		if c.isCoordinator(env) {
			coordinator(env, id, recs[id])
		} else {
			participant(env, id, recs[id])
		}
	}
}

// restoreCoordinator restores one transaction of a restarted coordinator.
// One with a start record and no decision cannot have committed (in either
// protocol nothing commits before the coordinator's forced decision or
// PRE-COMMIT), so it decides Abort, and restoreCoordinator returns nil. It
// returns the restored transaction otherwise, for the protocol to carry on.
func (c *core) restoreCoordinator(env node.Env, tx TxID, r record) *coordTx {
	ct := &coordTx{state: r.State, yes: map[node.ID]bool{}, acked: map[node.ID]bool{}, ended: r.Ended}
	c.coord[tx] = ct
	if r.State != Uncertain {
		return ct
	}
	if r.Req != 0 {
		ct.reqs = []node.RequestID{r.Req}
	}
	c.protocol.decide(env, tx, ct, Abort)
	return nil
}

// restoreParticipant restores one transaction of a restarted participant.
// One with a prepared record and no decision takes its locks again, and
// restoreParticipant returns it, for the protocol to find out the outcome;
// it returns nil otherwise.
func (c *core) restoreParticipant(env node.Env, tx TxID, r record) *partTx {
	pt := &partTx{state: r.State}
	c.part[tx] = pt
	if r.State != Uncertain {
		return nil
	}
	pt.locked = true
	env.Emit(Locked{Tx: tx})
	return pt
}
