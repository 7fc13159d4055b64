package consensus

import (
	"fmt"

	"github.com/synod-dev/synod/node"
)

// The messages of Multi-Paxos. The names are Lamport's ("Paxos Made Simple",
// §2.2: prepare, promise, accept, accepted; §2.4: learning a chosen value),
// with the "mp" prefix that keeps them apart from single-decree Paxos in
// this package. Every message carries a ballot number (see ballot).

// mpPrepare is phase 1a for every slot from From on at once (§3: "the
// leader ... executes phase 1 for infinitely many instances"): From is the
// first slot the candidate does not know to be chosen.
type mpPrepare struct {
	Ballot MultiPaxosBallot
	From   uint64
}

// mpPromise is phase 1b: the acceptor promises never again to accept a
// proposal numbered below Ballot, and reports what it accepted in slots
// From and above. Slots up to Snapshot (when at least From) are chosen and
// executed here, their values compacted into a snapshot: the new leader
// must not propose in them.
type mpPromise struct {
	Ballot   MultiPaxosBallot
	From     uint64
	Snapshot uint64    `cbor:",omitempty"`
	Accepted []mpEntry `cbor:",omitempty"`
}

// mpNack tells a proposer that its Ballot (in a prepare or an accept) was
// refused because the acceptor promised the higher ballot Promised (§2.3:
// "the acceptor ... should inform the proposer, who should then abandon
// its proposal"; van Renesse and Altinbuken's "preempted").
type mpNack struct {
	Ballot   MultiPaxosBallot
	Promised MultiPaxosBallot
}

// mpAccept is phase 2a for a run of consecutive slots (a batch of commands
// proposed together; none is a heartbeat). Commit piggybacks the decisions:
// every slot up to Commit is chosen, with the value this leader proposed in
// it under Ballot.
type mpAccept struct {
	Ballot  MultiPaxosBallot
	Entries []mpEntry `cbor:",omitempty"`
	Commit  uint64    `cbor:",omitempty"`
}

// mpAccepted is phase 2b: the acceptor accepted slots First..Last of an
// accept in Ballot (First 0: a heartbeat, nothing to accept).
type mpAccepted struct {
	Ballot      MultiPaxosBallot
	First, Last uint64 `cbor:",omitempty"`
}

// mpDecide tells the learners that every slot up to Commit is chosen with
// the value the leader of Ballot proposed in it (§2.4: the distinguished
// learner informs the others).
type mpDecide struct {
	Ballot MultiPaxosBallot
	Commit uint64
}

// mpCatchUp asks a replica for the chosen values from slot From on: a
// lagging or restarted replica pulls what it missed.
type mpCatchUp struct {
	From uint64
}

// mpDecisions answers mpCatchUp with chosen values, in slot order.
type mpDecisions struct {
	Entries []mpEntry
}

// mpSnapshot answers mpCatchUp when the slots asked for are compacted away:
// the state machine as of slot Slot.
type mpSnapshot struct {
	Slot uint64
	Data []byte
}

// mpEntry is one slot's value in a message: a command, or a no-op (the
// value a new leader proposes to fill a hole, §3). Ballot, in a promise,
// is the ballot the acceptor accepted it in, and Decided says it is known
// to be chosen.
type mpEntry struct {
	Slot    uint64
	Ballot  MultiPaxosBallot `cbor:",omitempty"`
	Noop    bool             `cbor:",omitempty"`
	Command []byte           `cbor:",omitempty"`
	Decided bool             `cbor:",omitempty"`
}

// Timers.
type (
	mpElectionTimer  struct{ Epoch uint64 }
	mpHeartbeatTimer struct{ Ballot MultiPaxosBallot }
	mpFlushTimer     struct{}
)

// MultiPaxosRole is what a Multi-Paxos node is doing.
type MultiPaxosRole uint8

// The roles.
const (
	// MultiPaxosFollower accepts and learns for a leader it knows of, or
	// waits for one.
	MultiPaxosFollower MultiPaxosRole = iota
	// MultiPaxosCandidate runs phase 1 with its own ballot.
	MultiPaxosCandidate
	// MultiPaxosLeader holds promises from a majority and runs phase 2.
	MultiPaxosLeader
)

// String names the role ("leader").
func (r MultiPaxosRole) String() string {
	switch r {
	case MultiPaxosFollower:
		return "follower"
	case MultiPaxosCandidate:
		return "candidate"
	case MultiPaxosLeader:
		return "leader"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// MultiPaxosElected is emitted when a candidate completes phase 1 with a
// majority of promises and leads Ballot: it re-proposes Adopted values
// accepted in earlier ballots and fills Holes with no-ops, in slots From
// to From+Adopted+Holes-1.
type MultiPaxosElected struct {
	Ballot  MultiPaxosBallot
	From    uint64
	Adopted int `cbor:",omitempty"`
	Holes   int `cbor:",omitempty"`
}

// MultiPaxosExecuted is emitted when a replica executes the chosen value of
// Slot (§3: "execute ... commands 1–135"): Digest names the value (equal
// digests, equal values), Ballot is the ballot the replica holds it from.
type MultiPaxosExecuted struct {
	Slot   uint64
	Ballot MultiPaxosBallot
	Noop   bool `cbor:",omitempty"`
	Digest uint64
}

// MultiPaxosRestored is emitted when a replica's state machine is the
// snapshot through Slot (0: the empty state): at every start, and when it
// installs a snapshot from another replica. The next slot it executes is
// Slot+1.
type MultiPaxosRestored struct {
	Slot uint64
}

// MultiPaxosStepped is emitted when a node's role, ballot or known leader
// changes.
type MultiPaxosStepped struct {
	Role   MultiPaxosRole
	Ballot MultiPaxosBallot
	Leader node.ID
}

// MultiPaxosMessages returns one zero value of every message, timer and
// emitted event of Multi-Paxos, for node.NewRegistry.
func MultiPaxosMessages() []any {
	return []any{
		mpPrepare{}, mpPromise{}, mpNack{}, mpAccept{}, mpAccepted{}, mpDecide{},
		mpCatchUp{}, mpDecisions{}, mpSnapshot{},
		mpElectionTimer{}, mpHeartbeatTimer{}, mpFlushTimer{},
		MultiPaxosElected{}, MultiPaxosExecuted{}, MultiPaxosRestored{}, MultiPaxosStepped{},
	}
}

// MultiPaxosMessageKind names what a Multi-Paxos message does, for
// measurements: "prepare", "promise", "nack", "accept" (an accept carrying
// values), "accepted" (its answer), "heartbeat" (an empty accept, or the
// answer to one), "decide", or "catch-up" (a pull, its answer, a
// snapshot); "" for a message that is not Multi-Paxos'.
func MultiPaxosMessageKind(msg node.Message) string {
	switch m := msg.(type) {
	case mpPrepare:
		return "prepare"
	case mpPromise:
		return "promise"
	case mpNack:
		return "nack"
	case mpAccept:
		if len(m.Entries) > 0 {
			return "accept"
		}
		return "heartbeat"
	case mpAccepted:
		if m.First > 0 {
			return "accepted"
		}
		return "heartbeat"
	case mpDecide:
		return "decide"
	case mpCatchUp, mpDecisions, mpSnapshot:
		return "catch-up"
	}
	return ""
}
