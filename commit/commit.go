// Package commit holds the atomic commitment protocols, each a node.Process:
// two-phase commit (twophase.go; Gray, "Notes on Data Base Operating
// Systems", 1978, §5.8.3.3, in the form of Bernstein, Hadzilacos and
// Goodman, "Concurrency Control and Recovery in Database Systems", 1987,
// §7.4, with its termination and recovery protocols) and three-phase commit
// (threephase.go; Skeen, "Nonblocking Commit Protocols", SIGMOD 1981, in the
// form of BHG §7.5, with its election and termination protocols). What the
// two share is written once (core.go): 3PC's first phase is 2PC's, and so
// are the DT log, the recovery of an undecided coordinator or participant,
// and the answers to DECISION-REQ.
//
// # Roles and transactions
//
// Node 0 is the coordinator and every other process is a participant
// (TwoPhaseConfig.Coordinator and ThreePhaseConfig.Coordinator choose
// another); the coordinator does not vote itself, so a group of N processes
// has N−1 participants and the message counts below are in that N. A client
// (in the simulator, Workload) submits a Transaction request naming a
// transaction ID to the coordinator, which runs the protocol for it and
// answers with its Result. Transactions run concurrently: the coordinator
// starts each as soon as it arrives, and the processes keep one record per
// transaction ID. Every participant takes part in every transaction.
//
// Each participant votes YES or NO on its own: NO with probability
// NoProbability, drawn from env.Rand(), so that some transactions abort. A
// participant that votes YES holds the transaction's locks (Locked) from its
// vote until it learns the outcome (Unlocked): that is its uncertainty
// period. The locks are notional (transactions do not conflict with each
// other here); what matters, and what the checker measures, is how long they
// are held, above all while the coordinator is down.
//
// # Durability
//
// Every process keeps a DT log (BHG's name) in env.Store, one record per
// transaction holding its latest state. A record that a message depends on
// is forced (written and synced) before the message is sent: a participant
// forces its prepared (YES) record before voting YES and its outcome before
// acknowledging it; the coordinator forces its start record before the first
// VOTE-REQ and its decision before announcing it. A process decides (emits
// Decided) only once the decision is durable. On restart each process reads
// its log back, says what it found (Recovered), and carries on from there:
// see the recovery rules on TwoPhase and ThreePhase.
//
// # What is checked
//
// The properties are judged from the events the processes emit (check.go):
// Began (the coordinator started a transaction), Voted, Locked, Unlocked,
// Decided and Recovered. Check2PC and Check3PC verify agreement (all
// processes that decide a transaction decide the same), commit validity
// (commit only if every participant voted YES), abort validity (a
// transaction in which every participant voted YES and nothing failed
// commits), durability (a decision or a YES vote survives a crash: the
// process recovers it from its log and never decides otherwise), and
// termination: for 2PC, every participant learns the outcome once its
// coordinator is up, the windows in which prepared participants waited for
// a crashed coordinator being reported as blocking, not as a violation; for
// 3PC, every participant that stays up decides within a bound even if the
// coordinator has crashed (non-blocking).
//
// # Costs
//
// The costs (cost.go) are read from the trace by transaction: messages per
// committed transaction beside the textbook's 4(N−1) for 2PC with
// acknowledgements (3(N−1) without) and 5(N−1) for 3PC, message delays per
// transaction (2PC: 3 to the participants' decisions, 4 with the
// acknowledgements; 3PC: 5), the uncertainty period, and the blocking
// windows.
//
// # Broken variants
//
// Each protocol has deliberately broken variants that the checker catches:
// see the Broken fields of TwoPhaseConfig and ThreePhaseConfig. Timeouts
// shorter than the network's delays break them too: a 2PC VoteTimeout below
// the round trip aborts transactions with nothing wrong (abort validity),
// and 3PC participants that time out before their coordinator can answer
// decide against it (agreement).
package commit

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
)

// TxID names a transaction. The client chooses it (Workload numbers them
// from 1); every message of the protocol carries it.
type TxID uint64

// String formats the ID as "T7".
func (t TxID) String() string { return "T" + strconv.FormatUint(uint64(t), 10) }

// Outcome is the decision on a transaction: Commit or Abort.
type Outcome string

// The two outcomes.
const (
	Commit Outcome = "commit"
	Abort  Outcome = "abort"
)

// State is where a process stands on a transaction: Skeen's local states
// q, w, p, c and a, and Recovering for a process that restarted in w or p
// and must learn the outcome from others.
type State string

// The states of a process on a transaction.
const (
	// Initial (q): the process knows nothing of the transaction, or has
	// not voted; it may still abort it unilaterally.
	Initial State = "initial"
	// Uncertain (w): a participant that voted YES and has not learned the
	// outcome, or a coordinator collecting votes.
	Uncertain State = "uncertain"
	// Committable (p, 3PC only): a participant that received PRE-COMMIT, or
	// a coordinator that sent it: everyone voted YES.
	Committable State = "committable"
	// Committed (c) and Aborted (a): the decision is durable.
	Committed State = "committed"
	Aborted   State = "aborted"
	// Recovering: a process that restarted while uncertain or committable
	// (or a 3PC coordinator that restarted after sending PRE-COMMIT). It
	// holds its locks and asks the others until one tells it the outcome;
	// it takes no part in 3PC's termination protocol.
	Recovering State = "recovering"
)

// Decided reports whether the state is a decision.
func (s State) Decided() bool { return s == Committed || s == Aborted }

// outcomeState is the state of a process that decided o.
func outcomeState(o Outcome) State {
	if o == Commit {
		return Committed
	}
	return Aborted
}

// stateOutcome is the decision of a decided state.
func stateOutcome(s State) Outcome {
	if s == Committed {
		return Commit
	}
	return Abort
}

// Transaction is the request op that asks the coordinator to commit
// transaction ID. The reply is a Result, sent once the coordinator has
// decided; asking again about the same ID gets the same Result.
type Transaction struct {
	ID TxID
}

// Result is the reply to a Transaction request: the outcome, or Err when the
// request went to a process that is not the coordinator.
type Result struct {
	Tx      TxID
	Outcome Outcome `json:",omitempty"`
	Err     string  `json:",omitempty"`
}

// Status is the request op that asks any process what it knows of a
// transaction; the reply is a StatusReply. A process that decided answers
// with its decision, before and after any crash: the durability check
// judges the answers.
type Status struct {
	Tx TxID
}

// StatusReply answers a Status request.
type StatusReply struct {
	Tx    TxID
	State State
}

// Began is emitted by the coordinator when it starts the protocol for a
// transaction, its start record forced: Participants are the processes it
// sends VOTE-REQ to.
type Began struct {
	Tx           TxID
	Participants []node.ID
}

// Voted is emitted by a participant when it votes on a transaction (after
// forcing its prepared record, for a YES).
type Voted struct {
	Tx  TxID
	Yes bool
}

// Decided is emitted by a process (coordinator, participant, or 3PC backup
// coordinator) when its decision on a transaction is durable. A process
// decides a transaction once; after a restart it finds the decision in its
// log (Recovered) and does not emit it again.
type Decided struct {
	Tx      TxID
	Outcome Outcome
}

// Locked is emitted by a participant when it starts holding a transaction's
// locks: when it votes YES, and again when it restarts uncertain (it
// re-acquires them from its prepared record). Unlocked is emitted when it
// releases them, having learned the outcome. A crash releases them too.
type Locked struct {
	Tx TxID
}

// Unlocked is emitted by a participant when it releases a transaction's
// locks, having learned the outcome.
type Unlocked struct {
	Tx TxID
}

// Recovered is emitted by a process that starts with a non-empty DT log
// (after a crash): the state of every transaction it found, in ID order.
type Recovered struct {
	Log []TxState
}

// TxState is a transaction's state in a DT log.
type TxState struct {
	Tx    TxID
	State State
}

// String formats the entry as "T3:committed".
func (s TxState) String() string { return fmt.Sprintf("%v:%s", s.Tx, s.State) }

// The messages both protocols use (BHG §7.4 and §7.5 names). Each carries
// the transaction it is about.
type (
	// voteReq is VOTE-REQ: the coordinator asks a participant to vote.
	voteReq struct{ Tx TxID }
	// yes and no are the votes.
	yes struct{ Tx TxID }
	no  struct{ Tx TxID }
	// commitMsg and abortMsg are the decision, COMMIT and ABORT, sent by a
	// coordinator, or by any process that knows it to one that asks.
	commitMsg struct{ Tx TxID }
	abortMsg  struct{ Tx TxID }
	// ack is ACK: in 2PC a participant has recorded the decision, in 3PC it
	// has received PRE-COMMIT.
	ack struct{ Tx TxID }
	// decisionReq is DECISION-REQ: an uncertain (or recovering) process
	// asks another for the outcome (BHG §7.4, cooperative termination).
	decisionReq struct{ Tx TxID }
)

// txMessage is a protocol message: every one names its transaction.
type txMessage interface{ txID() TxID }

func (m voteReq) txID() TxID     { return m.Tx }
func (m yes) txID() TxID         { return m.Tx }
func (m no) txID() TxID          { return m.Tx }
func (m commitMsg) txID() TxID   { return m.Tx }
func (m abortMsg) txID() TxID    { return m.Tx }
func (m ack) txID() TxID         { return m.Tx }
func (m decisionReq) txID() TxID { return m.Tx }

// decisionMessage is the COMMIT or ABORT message for o.
func decisionMessage(tx TxID, o Outcome) node.Message {
	if o == Commit {
		return commitMsg{Tx: tx}
	}
	return abortMsg{Tx: tx}
}

// record is a transaction's entry in a DT log: its latest state, and for a
// coordinator the client request waiting for the result and whether every
// participant has acknowledged the decision (2PC's end record).
type record struct {
	State State
	Req   node.RequestID `json:",omitempty"`
	Ended bool           `json:",omitempty"`
}

// logPrefix is where the DT log lives in the Store.
const logPrefix = "commit/"

func logKey(tx TxID) string { return fmt.Sprintf("%s%020d", logPrefix, uint64(tx)) }

// writeRecord writes tx's record, and syncs it when force is set (a forced
// write, in BHG's terms). A failed sync is logged: the simulator's never
// fails, and a live node whose disk fails has worse problems.
func writeRecord(env node.Env, tx TxID, r record, force bool) {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // a fixed struct of strings and numbers: cannot fail
	}
	env.Store().Set(logKey(tx), b)
	if force {
		if err := env.Store().Sync(); err != nil {
			env.Log().Error("commit: force the DT log", "tx", tx, "err", err)
		}
	}
}

// readLog reads the DT log back, in transaction order. Records that do not
// parse are logged and skipped.
func readLog(env node.Env) ([]TxID, map[TxID]record) {
	var ids []TxID
	recs := map[TxID]record{}
	for _, k := range env.Store().Keys(logPrefix) {
		id, err := strconv.ParseUint(strings.TrimPrefix(k, logPrefix), 10, 64)
		b, ok := env.Store().Get(k)
		var r record
		if err == nil && ok {
			err = json.Unmarshal(b, &r)
		}
		if err != nil || !ok {
			env.Log().Error("commit: unreadable DT log record", "key", k, "err", err)
			continue
		}
		ids = append(ids, TxID(id))
		recs[TxID(id)] = r
	}
	return ids, recs
}

// emitRecovered reports what a restarted process found in its log.
func emitRecovered(env node.Env, ids []TxID, states func(TxID) State) {
	if len(ids) == 0 {
		return
	}
	log := make([]TxState, len(ids))
	for i, id := range ids {
		log[i] = TxState{Tx: id, State: states(id)}
	}
	env.Emit(Recovered{Log: log})
}

// others returns the group without self and, if set, without skip.
func others(env node.Env, skip node.ID) []node.ID {
	var ids []node.ID
	for _, q := range env.Group() {
		if q != env.Self() && q != skip {
			ids = append(ids, q)
		}
	}
	return ids
}

// participantsOf returns the participants of a group with coordinator c.
func participantsOf(group []node.ID, c node.ID) []node.ID {
	return slices.DeleteFunc(slices.Clone(group), func(q node.ID) bool { return q == c })
}

// voteNo draws a participant's vote: NO with probability p.
func voteNo(env node.Env, p float64) bool { return p > 0 && env.Rand().Float64() < p }

// timer is a one-shot timer that can be re-armed: setting it cancels the
// pending one, so at most one of its timeouts is pending.
type timer struct {
	id    node.TimerID
	armed bool
}

// set arms the timer to deliver value after d, cancelling any pending one.
func (t *timer) set(env node.Env, d time.Duration, value any) {
	t.stop(env)
	t.id = env.After(d, value)
	t.armed = true
}

// stop cancels the pending timeout, if any.
func (t *timer) stop(env node.Env) {
	if t.armed {
		env.Cancel(t.id)
		t.armed = false
	}
}

// fired records that the pending timeout was delivered.
func (t *timer) fired() { t.armed = false }
