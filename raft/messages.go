package raft

import "github.com/synod-dev/synod/node"

// EntryType says what a log entry holds.
type EntryType uint8

// The kinds of log entry.
const (
	// EntryCommand is a command for the state machine.
	EntryCommand EntryType = iota
	// EntryNoop is the blank entry a new leader appends to commit the
	// entries of earlier terms (§8) and to learn the commit index for reads
	// (diss. §6.4).
	EntryNoop
	// EntryConfig holds a new configuration (diss. §4.1), in force on each
	// server as soon as it is in its log.
	EntryConfig
)

// Entry is one log entry (Figure 2: "each entry contains command for state
// machine, and term when entry was received by leader").
type Entry struct {
	Index   uint64
	Term    uint64
	Type    EntryType
	Command []byte         `cbor:",omitempty"`
	Config  *Configuration `cbor:",omitempty"`
}

// RequestVote is the RequestVote RPC of Figure 2, invoked by candidates to
// gather votes (§5.2). With PreVote set it is the pre-vote of diss. §9.6:
// Term is the term the sender would campaign in, and no receiver changes
// state on its account. Transfer marks a campaign started by TimeoutNow,
// which voters honour even while they hear from a leader (diss. §3.10).
type RequestVote struct {
	Term         uint64
	LastLogIndex uint64
	LastLogTerm  uint64
	PreVote      bool `cbor:",omitempty"`
	Transfer     bool `cbor:",omitempty"`
}

// RequestVoteReply answers RequestVote: "currentTerm, for candidate to update
// itself; voteGranted true means candidate received vote".
type RequestVoteReply struct {
	Term        uint64
	VoteGranted bool
	PreVote     bool `cbor:",omitempty"`
}

// AppendEntries is the AppendEntries RPC of Figure 2, "invoked by leader to
// replicate log entries (§5.3); also used as heartbeat (§5.2)". ReadCtx tags
// heartbeat rounds that confirm leadership for ReadIndex (diss. §6.4).
type AppendEntries struct {
	Term         uint64
	PrevLogIndex uint64
	PrevLogTerm  uint64
	Entries      []Entry `cbor:",omitempty"`
	LeaderCommit uint64
	ReadCtx      uint64 `cbor:",omitempty"`
}

// AppendEntriesReply answers AppendEntries. On success MatchIndex is the
// index of the last entry the follower now holds from this request. On a
// failed consistency check, ConflictTerm and ConflictIndex are the hint of
// §5.3's closing paragraphs: the term of the follower's conflicting entry and
// the first index it stores for that term (ConflictTerm 0: the follower's
// log ends before PrevLogIndex, and ConflictIndex is its length + 1).
// RejectIndex is the PrevLogIndex that failed.
type AppendEntriesReply struct {
	Term          uint64
	Success       bool
	MatchIndex    uint64 `cbor:",omitempty"`
	RejectIndex   uint64 `cbor:",omitempty"`
	ConflictTerm  uint64 `cbor:",omitempty"`
	ConflictIndex uint64 `cbor:",omitempty"`
	ReadCtx       uint64 `cbor:",omitempty"`
}

// InstallSnapshot is the InstallSnapshot RPC of Figure 13, sent whole (one
// chunk: the offset and done fields of the figure are not needed when the
// transport carries large messages).
type InstallSnapshot struct {
	Term              uint64
	LastIncludedIndex uint64
	LastIncludedTerm  uint64
	// Chain is the log digest at LastIncludedIndex (see Applied).
	Chain  uint64
	Config Configuration
	Data   []byte
}

// InstallSnapshotReply answers InstallSnapshot; MatchIndex is the snapshot's
// last included index once installed (0 if refused).
type InstallSnapshotReply struct {
	Term       uint64
	MatchIndex uint64
}

// TimeoutNow tells its receiver to start an election at once: the last step
// of a leadership transfer (diss. §3.10).
type TimeoutNow struct {
	Term uint64
}

// Timers.
type (
	electionTimer  struct{ Epoch uint64 }
	heartbeatTimer struct{}
	flushTimer     struct{}
)

// Elected is emitted by a server that becomes leader. It carries the
// leader's log as it stands at that moment (entries after its snapshot, as
// chained digests) so that checkers can verify Leader Completeness (§5.4):
// Chains[k] is the digest of the log prefix ending at FirstIndex+k.
type Elected struct {
	Term       uint64
	LastIndex  uint64
	LastTerm   uint64
	FirstIndex uint64
	Chains     []uint64
}

// Applied is emitted when a server applies a committed entry to its state
// machine (§5.3). Chain is the digest of the whole log prefix ending at the
// entry (its index, term, type and data, and Chain of the entry before), so
// equal Chains mean equal logs up to Index: the checkers' view of Log
// Matching and State Machine Safety.
type Applied struct {
	Index uint64
	Term  uint64
	Chain uint64
}

// Stepped is emitted when a server's role, term or known leader changes.
type Stepped struct {
	Role   Role
	Term   uint64
	Leader node.ID
}

// ConfigChanged is emitted when a server adopts a new configuration (diss.
// §4.1: as soon as the entry is in its log, or from a snapshot).
type ConfigChanged struct {
	Index  uint64
	Config Configuration
}
