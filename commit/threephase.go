package commit

import (
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// The messages only three-phase commit uses (BHG §7.5 names).
type (
	// preCommit is PRE-COMMIT: every participant voted YES; the receiver
	// becomes committable and acknowledges with ACK.
	preCommit struct{ Tx TxID }
	// urElected is UR-ELECTED: a participant that timed out on its
	// coordinator tells the process it elected to take over.
	urElected struct{ Tx TxID }
	// stateReq is STATE-REQ: the backup coordinator asks for a state.
	stateReq struct{ Tx TxID }
	// stateReport answers STATE-REQ with the sender's state.
	stateReport struct {
		Tx    TxID
		State State
	}
)

func (m preCommit) txID() TxID   { return m.Tx }
func (m urElected) txID() TxID   { return m.Tx }
func (m stateReq) txID() TxID    { return m.Tx }
func (m stateReport) txID() TxID { return m.Tx }

// The three-phase commit protocol's timers (with voteTimeout, core.go,
// shared with two-phase commit).
type (
	// ackTimeout fires at the coordinator, or at a backup coordinator
	// applying rule TR4, when an ACK has not come.
	ackTimeout struct{ Tx TxID }
	// leaderTimeout fires at a participant that has waited too long on its
	// coordinator (the original one or a backup).
	leaderTimeout struct{ Tx TxID }
	// reportTimeout fires at a backup coordinator when a STATE-REPORT has
	// not come.
	reportTimeout struct{ Tx TxID }
	// askTimeout fires at a recovering process: it asks for the outcome
	// again.
	askTimeout struct{ Tx TxID }
)

// Elected is emitted by a participant when it becomes the backup
// coordinator of a transaction in the termination protocol.
type Elected struct {
	Tx TxID
}

// Terminated is emitted by a backup coordinator when it applies a
// termination rule: Rule is "TR1" to "TR4" with the states it saw.
type Terminated struct {
	Tx   TxID
	Rule string
}

// ThreePhaseMessages returns one zero value of every message, emitted event,
// request op, reply and timer of three-phase commit, for node.NewRegistry.
func ThreePhaseMessages() []any {
	return []any{voteReq{}, yes{}, no{}, preCommit{}, ack{}, commitMsg{}, abortMsg{}, decisionReq{},
		urElected{}, stateReq{}, stateReport{},
		Transaction{}, Result{}, Status{}, StatusReply{},
		Began{}, Voted{}, Decided{}, Locked{}, Unlocked{}, Recovered{}, Elected{}, Terminated{},
		voteTimeout{}, ackTimeout{}, leaderTimeout{}, reportTimeout{}, askTimeout{}}
}

// ThreePhaseConfig configures NewThreePhase. Use DefaultThreePhaseConfig and
// change what you need: the timeouts are multiples of Delta, and the
// protocol is only correct if every message arrives within Delta.
type ThreePhaseConfig struct {
	// Coordinator is the process that coordinates every transaction; the
	// others are its participants.
	Coordinator node.ID
	// NoProbability is the chance that a participant votes NO.
	NoProbability float64
	// Delta is the bound on message delay that the protocol assumes: the
	// network is synchronous, so that a timeout means a crash.
	Delta time.Duration
	// VoteTimeout and AckTimeout are how long the coordinator waits for the
	// votes (then it aborts) and for the ACKs of PRE-COMMIT (then it
	// commits, taking the silent participants for crashed).
	VoteTimeout, AckTimeout time.Duration
	// UncertainTimeout is how long a participant that voted YES waits for
	// PRE-COMMIT or ABORT, and CommittableTimeout how long one that
	// acknowledged PRE-COMMIT waits for COMMIT, before it takes the
	// coordinator for crashed and starts the termination protocol.
	UncertainTimeout, CommittableTimeout time.Duration
	// ElectionTimeout is how long a participant that sent UR-ELECTED waits
	// for the STATE-REQ of the process it elected.
	ElectionTimeout time.Duration
	// ReportTimeout is how long a backup coordinator waits for the
	// STATE-REPORTs, and for the ACKs of its own PRE-COMMIT (rule TR4).
	ReportTimeout time.Duration
	// TerminationTimeout is how long a participant waits for the next
	// message of the backup coordinator it reported to.
	TerminationTimeout time.Duration
	// AskInterval is how often a recovering process asks for the outcome.
	AskInterval time.Duration
	// Broken selects deliberately broken variants.
	Broken ThreePhaseBroken
}

// ThreePhaseBroken lists the deliberately broken variants of three-phase
// commit. The zero value is the correct protocol.
type ThreePhaseBroken struct {
	// NoPreCommit drops the third phase: the coordinator commits as soon as
	// every vote is YES, as in 2PC, while the participants keep 3PC's
	// termination rules. A participant can then be uncertain while another
	// process has committed, and if the coordinator crashes in the middle of
	// sending COMMIT, the participants it has not reached abort by rule TR3
	// (all uncertain): agreement is violated.
	NoPreCommit bool
	// NoTermination replaces 3PC's termination protocol with 2PC's: a
	// participant that times out on the coordinator asks the others for the
	// outcome and waits. When the coordinator crashes, the participants
	// block as in 2PC: the non-blocking check catches it.
	NoTermination bool
}

// DefaultThreePhaseConfig returns the defaults for the simulator's default
// network (1–5 ms per message): Delta 5 ms, the coordinator waits 4Δ for
// votes and ACKs, a participant 2Δ more than that, an election 3Δ, a backup
// coordinator 3Δ for reports, a participant 6Δ on a backup; node 0
// coordinates; a participant votes NO with probability 0.05.
func DefaultThreePhaseConfig() ThreePhaseConfig {
	const delta = 5 * time.Millisecond
	return ThreePhaseConfig{
		Coordinator:        0,
		NoProbability:      0.05,
		Delta:              delta,
		VoteTimeout:        4 * delta,
		AckTimeout:         4 * delta,
		UncertainTimeout:   6 * delta,
		CommittableTimeout: 6 * delta,
		ElectionTimeout:    3 * delta,
		ReportTimeout:      3 * delta,
		TerminationTimeout: 6 * delta,
		AskInterval:        6 * delta,
	}
}

// TerminationBound is how long, at most, a participant of a group of n that
// stays up waits from its YES vote to the decision when failures are
// crash-stop and every message arrives within Delta: the wait for PRE-COMMIT
// and for COMMIT, then a termination protocol for every process that can
// fail in turn (an election, the reports, the backup's PRE-COMMIT and its
// COMMIT). It is the bound the non-blocking check holds 3PC to.
func (c ThreePhaseConfig) TerminationBound(n int) time.Duration {
	round := c.ElectionTimeout + c.ReportTimeout + 2*c.TerminationTimeout
	return c.UncertainTimeout + c.CommittableTimeout + time.Duration(max(n, 1))*round
}

// ThreePhase is one process of three-phase commit, the coordinator or a
// participant (D. Skeen, "Nonblocking Commit Protocols", SIGMOD 1981, the
// central-site protocol; in the form of P. Bernstein, V. Hadzilacos and
// N. Goodman, "Concurrency Control and Recovery in Database Systems", 1987,
// §7.5, with its election and termination protocols).
//
// 3PC removes 2PC's blocking when failures are crash-stop and the network is
// synchronous (a timeout then means a crash). Its rule: no process commits
// while another operational process is uncertain. So between the votes and
// the decision comes a third message, PRE-COMMIT, after which a participant
// is no longer uncertain but committable (Skeen's states: q initial, w
// uncertain, p committable, c committed, a aborted). For one transaction:
//
//  1. The coordinator forces its start record and sends VOTE-REQ to every
//     participant.
//  2. A participant that votes NO aborts and sends NO. One that votes YES
//     forces its prepared record, takes the locks and sends YES (state w).
//  3. On a NO, or when a vote does not come within VoteTimeout, the
//     coordinator decides Abort and sends ABORT. If every vote is YES, it
//     forces a pre-commit record and sends PRE-COMMIT.
//  4. A participant receiving PRE-COMMIT becomes committable (p) and sends
//     ACK.
//  5. Once every ACK has come, or AckTimeout has passed (a silent
//     participant has crashed), the coordinator decides Commit, forces it
//     and sends COMMIT. A participant receiving COMMIT decides Commit.
//
// Steps 1 and 2 are two-phase commit's first phase, written once for both
// (core.go); this file holds steps 3 to 5 and the termination protocol.
//
// The termination protocol (BHG §7.5). A participant that times out on its
// coordinator (in w or p) removes it from UP, the processes it believes
// operational, and elects the lowest process left in UP. If it elected
// itself, it becomes the backup coordinator; otherwise it sends UR-ELECTED
// to the elected process, which becomes the backup coordinator on receiving
// it (and is in turn removed from UP if nothing comes from it). The backup
// coordinator sends STATE-REQ to every process in UP; each adopts it as its
// coordinator and answers with its state; then it applies the termination
// rules to the states it has (its own included):
//
//	TR1: if some process is aborted, decide Abort and send ABORT;
//	TR2: if some process is committed, decide Commit and send COMMIT;
//	TR3: if every process is uncertain, decide Abort and send ABORT;
//	TR4: if some process is committable but none committed, send
//	     PRE-COMMIT to the uncertain ones, wait for their ACKs, then
//	     decide Commit and send COMMIT.
//
// Any failure during termination (the backup crashes) makes the processes
// that wait on it time out and elect the next one.
//
// The recovery protocol (BHG §7.5). A restarted participant with no YES
// record aborts; with a decision, it knows it; with a YES record and no
// decision, it is recovering: it takes its locks again and asks every
// other process for the outcome (DECISION-REQ) until one that knows
// answers, taking no part in the termination protocol meanwhile. A
// restarted coordinator that never sent PRE-COMMIT aborts (no process can
// have committed: nobody is committable without its PRE-COMMIT); one that
// did recovers like a participant. After a total failure the recovering
// processes wait for one that knows: 3PC is non-blocking only while some
// process stays up.
//
// What breaks it: a timeout that lies. If a message can take longer than
// Delta, or a partition separates the processes, a participant takes a live
// coordinator for crashed, and the two sides decide differently (the
// catalog's --variant partition shows it).
//
// Messages per committed transaction: VOTE-REQ, YES, PRE-COMMIT, ACK and
// COMMIT, each N−1 times: 5(N−1) for N processes, in five message delays;
// an aborted one takes VOTE-REQ, the vote and ABORT, 3(N−1).
type ThreePhase struct {
	// core is steps 1 and 2 (2PC's first phase), recovery from the DT log,
	// and the answers to DECISION-REQ, shared with two-phase commit
	// (core.go).
	core
	cfg ThreePhaseConfig
}

// NewThreePhase returns a process of three-phase commit: the coordinator if
// its ID is cfg.Coordinator, a participant otherwise.
func NewThreePhase(cfg ThreePhaseConfig) node.Process {
	p := &ThreePhase{cfg: cfg}
	p.core = newCore("3pc", p, cfg.Coordinator, cfg.NoProbability, cfg.VoteTimeout)
	return p
}

// Start implements node.Process: the recovery protocol.
func (p *ThreePhase) Start(env node.Env) {
	p.recover(env, p.recoverCoordinator, p.recoverParticipant)
}

// recoverCoordinator restores one transaction of a restarted coordinator.
// One that never sent PRE-COMMIT aborts, as nobody can have committed
// (restoreCoordinator); one that sent it recovers like a participant, as
// the participants may have committed.
func (p *ThreePhase) recoverCoordinator(env node.Env, tx TxID, r record) {
	if ct := p.restoreCoordinator(env, tx, r); ct != nil && r.State == Committable {
		ct.state = Recovering
		p.ask(env, tx, &ct.timer)
	}
}

// recoverParticipant restores one transaction of a restarted participant:
// one with a YES record and no decision takes its locks again
// (restoreParticipant) and is recovering: it asks for the outcome.
func (p *ThreePhase) recoverParticipant(env node.Env, tx TxID, r record) {
	if t := p.restoreParticipant(env, tx, r); t != nil {
		t.state = Recovering
		p.ask(env, tx, &t.timer)
	}
}

// ask sends DECISION-REQ to every other process and arms the next try.
func (p *ThreePhase) ask(env node.Env, tx TxID, tm *timer) {
	for _, q := range others(env, node.None) {
		env.Send(q, decisionReq{Tx: tx})
	}
	tm.set(env, p.cfg.AskInterval, askTimeout{Tx: tx})
}

// Request implements node.Process: a Transaction to commit (step 1,
// core.onTransaction), or a Status question.
func (p *ThreePhase) Request(env node.Env, req node.Request) { p.request(env, req) }

// Receive implements node.Process, dispatching to one handler per message.
func (p *ThreePhase) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case voteReq:
		p.onVoteReq(env, from, m)
	case yes:
		p.onYes(env, from, m)
	case no:
		p.onNo(env, m)
	case preCommit:
		p.onPreCommit(env, from, m)
	case ack:
		p.onAck(env, from, m)
	case commitMsg:
		p.onDecision(env, from, m.Tx, Commit)
	case abortMsg:
		p.onDecision(env, from, m.Tx, Abort)
	case decisionReq:
		p.onDecisionReq(env, from, m)
	case urElected:
		p.onURElected(env, from, m)
	case stateReq:
		p.onStateReq(env, from, m)
	case stateReport:
		p.onStateReport(env, from, m)
	default:
		env.Log().Warn("3pc: unknown message", "from", from, "type", node.TypeName(msg))
	}
}

// Timeout implements node.Process.
func (p *ThreePhase) Timeout(env node.Env, tm any) {
	switch tm := tm.(type) {
	case voteTimeout:
		if ct, ok := p.coord[tm.Tx]; ok {
			ct.timer.fired()
			if ct.state == Uncertain {
				p.decide(env, tm.Tx, ct, Abort) // a vote is missing
			}
		}
	case ackTimeout:
		p.onAckTimeout(env, tm.Tx)
	case leaderTimeout:
		if t, ok := p.part[tm.Tx]; ok {
			t.timer.fired()
			p.onLeaderTimeout(env, tm.Tx, t)
		}
	case reportTimeout:
		if t, ok := p.part[tm.Tx]; ok && t.backup && t.acks == nil && !t.state.Decided() {
			t.timer.fired()
			p.terminate(env, tm.Tx, t)
		}
	case askTimeout:
		if ct, ok := p.coord[tm.Tx]; ok && ct.state == Recovering {
			p.ask(env, tm.Tx, &ct.timer)
		} else if t, ok := p.part[tm.Tx]; ok && (t.state == Recovering || p.cfg.Broken.NoTermination && !t.state.Decided()) {
			p.ask(env, tm.Tx, &t.timer)
		}
	}
}

// onVoteReq is step 2 at a participant: vote (core.vote), and having voted
// YES, wait UncertainTimeout on the coordinator, with UP every process.
func (p *ThreePhase) onVoteReq(env node.Env, from node.ID, m voteReq) {
	t := p.vote(env, from, m, true)
	if t == nil {
		return
	}
	t.leader, t.up = from, map[node.ID]bool{}
	for _, q := range env.Group() {
		t.up[q] = true
	}
	p.wait(env, m.Tx, t, p.cfg.UncertainTimeout)
}

// wait arms a participant's timeout on its coordinator. A participant of
// the broken variant without a termination protocol asks for the outcome
// instead when it fires.
func (p *ThreePhase) wait(env node.Env, tx TxID, t *partTx, d time.Duration) {
	if p.cfg.Broken.NoTermination {
		t.timer.set(env, d, askTimeout{Tx: tx})
		return
	}
	t.timer.set(env, d, leaderTimeout{Tx: tx})
}

// onYes counts a YES at the coordinator: with the last one it sends
// PRE-COMMIT (step 3), or in the broken variant commits at once.
func (p *ThreePhase) onYes(env node.Env, from node.ID, m yes) {
	ct := p.countYes(env, from, m)
	if ct == nil {
		return
	}
	if p.cfg.Broken.NoPreCommit {
		p.decide(env, m.Tx, ct, Commit)
		return
	}
	ct.state = Committable
	writeRecord(env, m.Tx, record{State: Committable}, true)
	for _, q := range p.participants(env) {
		env.Send(q, preCommit{Tx: m.Tx})
	}
	ct.timer.set(env, p.cfg.AckTimeout, ackTimeout{Tx: m.Tx})
}

// onPreCommit is step 4 at a participant: it becomes committable and
// acknowledges, if the PRE-COMMIT comes from the coordinator it waits on.
func (p *ThreePhase) onPreCommit(env node.Env, from node.ID, m preCommit) {
	t, ok := p.part[m.Tx]
	if !ok || from != t.leader || (t.state != Uncertain && t.state != Committable) {
		return
	}
	t.state = Committable
	env.Send(from, ack{Tx: m.Tx})
	d := p.cfg.TerminationTimeout
	if from == p.cfg.Coordinator {
		d = p.cfg.CommittableTimeout
	}
	p.wait(env, m.Tx, t, d)
}

// onAck counts an ACK at the coordinator (step 5) or at a backup
// coordinator applying TR4: with the last one it commits.
func (p *ThreePhase) onAck(env node.Env, from node.ID, m ack) {
	if ct, ok := p.coord[m.Tx]; ok {
		if ct.state != Committable || !slices.Contains(p.participants(env), from) {
			return
		}
		ct.acked[from] = true
		if len(ct.acked) == len(p.participants(env)) {
			p.decide(env, m.Tx, ct, Commit)
		}
		return
	}
	t, ok := p.part[m.Tx]
	if !ok || !t.backup || t.acks == nil || t.state.Decided() {
		return
	}
	if _, asked := t.acks[from]; asked {
		t.acks[from] = true
	}
	for _, acked := range t.acks {
		if !acked {
			return
		}
	}
	p.decideAsBackup(env, m.Tx, t, Commit)
}

// onAckTimeout: the ACKs that have not come are from crashed processes, so
// the coordinator (or the backup in TR4) commits.
func (p *ThreePhase) onAckTimeout(env node.Env, tx TxID) {
	if ct, ok := p.coord[tx]; ok {
		ct.timer.fired()
		if ct.state == Committable {
			p.decide(env, tx, ct, Commit)
		}
		return
	}
	if t, ok := p.part[tx]; ok && t.backup && t.acks != nil && !t.state.Decided() {
		t.timer.fired()
		p.decideAsBackup(env, tx, t, Commit)
	}
}

// decide is the coordinator's decision: forced, reported
// (core.forceDecision), sent to every participant.
func (p *ThreePhase) decide(env node.Env, tx TxID, ct *coordTx, o Outcome) {
	p.forceDecision(env, tx, ct, o, true)
	for _, q := range p.participants(env) {
		env.Send(q, decisionMessage(tx, o))
	}
}

// onDecision takes a COMMIT or ABORT from whoever sends it: a recovering
// coordinator learns the outcome; a participant learns it
// (core.onDecision).
func (p *ThreePhase) onDecision(env node.Env, from node.ID, tx TxID, o Outcome) {
	if ct, ok := p.coord[tx]; ok {
		if ct.state == Recovering {
			ct.state = outcomeState(o)
			ct.timer.stop(env)
			writeRecord(env, tx, record{State: ct.state}, true)
			env.Emit(Decided{Tx: tx, Outcome: o})
		}
		return
	}
	if p.isCoordinator(env) {
		return
	}
	p.core.onDecision(env, from, tx, o)
}

// onLeaderTimeout is where the termination protocol starts: the
// coordinator this participant waited on is taken for crashed, removed from
// UP, and the lowest process left is elected.
func (p *ThreePhase) onLeaderTimeout(env node.Env, tx TxID, t *partTx) {
	if t.state.Decided() || t.state == Recovering || t.backup {
		return
	}
	delete(t.up, t.leader)
	elected := node.None
	for q := range t.up {
		if elected == node.None || q < elected {
			elected = q
		}
	}
	if elected == env.Self() || elected == node.None {
		p.becomeBackup(env, tx, t)
		return
	}
	t.leader = elected
	env.Send(elected, urElected{Tx: tx})
	t.timer.set(env, p.cfg.ElectionTimeout, leaderTimeout{Tx: tx})
}

// onURElected: another participant elected this one; it takes over as
// backup coordinator, or answers at once if it has decided.
func (p *ThreePhase) onURElected(env node.Env, from node.ID, m urElected) {
	if p.isCoordinator(env) {
		return
	}
	switch t, ok := p.part[m.Tx]; {
	case !ok:
		p.learn(env, m.Tx, Abort) // it never voted: a unilateral abort
		env.Send(from, abortMsg{Tx: m.Tx})
	case t.state.Decided():
		env.Send(from, decisionMessage(m.Tx, stateOutcome(t.state)))
	case t.state == Recovering || t.backup || p.cfg.Broken.NoTermination:
	default:
		p.becomeBackup(env, m.Tx, t)
	}
}

// becomeBackup makes this participant the backup coordinator: it asks every
// process in UP for its state.
func (p *ThreePhase) becomeBackup(env node.Env, tx TxID, t *partTx) {
	t.backup, t.leader = true, env.Self()
	t.reports = map[node.ID]State{env.Self(): t.state}
	t.acks = nil
	env.Emit(Elected{Tx: tx})
	asked := false
	for _, q := range p.upOthers(env, t) {
		env.Send(q, stateReq{Tx: tx})
		asked = true
	}
	if !asked {
		p.terminate(env, tx, t)
		return
	}
	t.timer.set(env, p.cfg.ReportTimeout, reportTimeout{Tx: tx})
}

// upOthers is UP without this process, in ascending order.
func (p *ThreePhase) upOthers(env node.Env, t *partTx) []node.ID {
	var ids []node.ID
	for q := range t.up {
		if q != env.Self() {
			ids = append(ids, q)
		}
	}
	slices.Sort(ids)
	return ids
}

// onStateReq: a backup coordinator asks for this process's state. A
// participant adopts it as its coordinator (the processes below it are taken
// for crashed) unless it is itself a backup with a lower ID.
func (p *ThreePhase) onStateReq(env node.Env, from node.ID, m stateReq) {
	if p.isCoordinator(env) {
		return
	}
	t, ok := p.part[m.Tx]
	switch {
	case !ok:
		t = p.learn(env, m.Tx, Abort) // it never voted: a unilateral abort
	case t.state.Decided() || t.state == Recovering:
	case t.backup && from > env.Self():
		return
	default:
		t.backup, t.leader, t.reports, t.acks = false, from, nil, nil
		for q := range t.up {
			if q < from && q != env.Self() {
				delete(t.up, q)
			}
		}
		p.wait(env, m.Tx, t, p.cfg.TerminationTimeout)
	}
	env.Send(from, stateReport{Tx: m.Tx, State: t.state})
}

// onStateReport collects a state at the backup coordinator; with the last
// one it applies the termination rules.
func (p *ThreePhase) onStateReport(env node.Env, from node.ID, m stateReport) {
	t, ok := p.part[m.Tx]
	if !ok || !t.backup || t.acks != nil || t.state.Decided() || !t.up[from] {
		return
	}
	t.reports[from] = m.State
	for _, q := range p.upOthers(env, t) {
		if _, ok := t.reports[q]; !ok {
			return
		}
	}
	t.timer.stop(env)
	p.terminate(env, m.Tx, t)
}

// terminate applies the termination rules TR1–TR4 to the states the backup
// coordinator collected. Processes that did not report are taken for
// crashed; recovering ones know nothing and are left out.
func (p *ThreePhase) terminate(env node.Env, tx TxID, t *partTx) {
	var uncertain []node.ID
	aborted, committed, committable := false, false, false
	for _, q := range p.upOthers(env, t) {
		if _, ok := t.reports[q]; !ok {
			delete(t.up, q)
		}
	}
	ids := make([]node.ID, 0, len(t.reports))
	for q := range t.reports {
		ids = append(ids, q)
	}
	slices.Sort(ids)
	for _, q := range ids {
		switch t.reports[q] {
		case Aborted:
			aborted = true
		case Committed:
			committed = true
		case Committable:
			committable = true
		case Uncertain:
			uncertain = append(uncertain, q)
		}
	}
	seen := describeReports(ids, t.reports)
	switch {
	case aborted:
		env.Emit(Terminated{Tx: tx, Rule: "TR1: " + seen + ": some process aborted → abort"})
		p.decideAsBackup(env, tx, t, Abort)
	case committed:
		env.Emit(Terminated{Tx: tx, Rule: "TR2: " + seen + ": some process committed → commit"})
		p.decideAsBackup(env, tx, t, Commit)
	case !committable:
		env.Emit(Terminated{Tx: tx, Rule: "TR3: " + seen + ": all uncertain → abort"})
		p.decideAsBackup(env, tx, t, Abort)
	default:
		env.Emit(Terminated{Tx: tx, Rule: "TR4: " + seen + ": some committable → pre-commit the uncertain, then commit"})
		t.state = Committable
		t.acks = map[node.ID]bool{}
		for _, q := range uncertain {
			if q != env.Self() {
				t.acks[q] = false
				env.Send(q, preCommit{Tx: tx})
			}
		}
		if len(t.acks) == 0 {
			p.decideAsBackup(env, tx, t, Commit)
			return
		}
		t.timer.set(env, p.cfg.ReportTimeout, ackTimeout{Tx: tx})
	}
}

// describeReports formats the collected states: "n1 uncertain, n2 committable".
func describeReports(ids []node.ID, reports map[node.ID]State) string {
	s := ""
	for i, q := range ids {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%v %s", q, reports[q])
	}
	return s
}

// decideAsBackup is the backup coordinator's decision: its own, then sent
// to every process in UP.
func (p *ThreePhase) decideAsBackup(env node.Env, tx TxID, t *partTx, o Outcome) {
	p.learn(env, tx, o)
	for _, q := range p.upOthers(env, t) {
		env.Send(q, decisionMessage(tx, o))
	}
}
