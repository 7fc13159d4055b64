package raft

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// StateMachine is what Raft replicates: the embedder's application. Raft
// calls it on the process's own event loop, one call at a time.
type StateMachine interface {
	// Apply applies a committed command (§5.3: "apply log[lastApplied] to
	// state machine"). Entries are applied in index order, exactly once per
	// process lifetime; after a restart they are applied again on top of the
	// last snapshot, so Apply must be deterministic.
	Apply(index, term uint64, command []byte)
	// Snapshot returns the state machine's whole state, to compact the log
	// (§7). It reflects every entry applied so far.
	Snapshot() []byte
	// Restore replaces the state machine's state with a snapshot taken by
	// Snapshot (on this server or, through InstallSnapshot, on the leader).
	Restore(snapshot []byte) error
}

// LeaderObserver is an optional interface of a StateMachine: Raft calls
// LeaderChanged whenever this server's idea of the leader or the term
// changes, so the embedder can fail requests it was holding as leader.
type LeaderObserver interface {
	LeaderChanged(leader node.ID, term uint64)
}

// Role is a server's state in Figure 4 of the paper.
type Role uint8

// The roles.
const (
	Follower Role = iota
	PreCandidate
	Candidate
	Leader
)

func (r Role) String() string {
	return [...]string{"follower", "pre-candidate", "candidate", "leader"}[r]
}

// Configuration is the cluster membership (diss. §4): the voters, whose
// majority decides, and the learners, which receive the log but do not vote
// (new servers catching up, diss. §4.2.1). Both are sorted.
type Configuration struct {
	Voters   []node.ID
	Learners []node.ID
}

// IsVoter reports whether id votes in c.
func (c Configuration) IsVoter(id node.ID) bool {
	_, ok := slices.BinarySearch(c.Voters, id)
	return ok
}

// IsLearner reports whether id is a learner in c.
func (c Configuration) IsLearner(id node.ID) bool {
	_, ok := slices.BinarySearch(c.Learners, id)
	return ok
}

// Members returns voters and learners, sorted.
func (c Configuration) Members() []node.ID {
	m := slices.Concat(c.Voters, c.Learners)
	slices.Sort(m)
	return m
}

func (c Configuration) String() string {
	if len(c.Learners) == 0 {
		return fmt.Sprint(c.Voters)
	}
	return fmt.Sprintf("%v learners %v", c.Voters, c.Learners)
}

func (c Configuration) clone() Configuration {
	return Configuration{Voters: slices.Clone(c.Voters), Learners: slices.Clone(c.Learners)}
}

// Status is a snapshot of a server's state, for operators and embedders.
type Status struct {
	ID          node.ID
	Role        Role
	Term        uint64
	Leader      node.ID // node.None when unknown
	CommitIndex uint64
	LastApplied uint64
	LastIndex   uint64
	// SnapshotIndex is the last index covered by the latest snapshot.
	SnapshotIndex uint64
	Config        Configuration
}

// NotLeaderError is returned to a call that only the leader can serve. Leader
// is the leader this server knows of (node.None if it knows none): the
// place to retry.
type NotLeaderError struct {
	Leader node.ID
	Term   uint64
}

func (e *NotLeaderError) Error() string {
	if e.Leader == node.None {
		return "raft: not the leader, and no leader is known"
	}
	return fmt.Sprintf("raft: not the leader; the leader is %v (term %d)", e.Leader, e.Term)
}

// Errors returned by the embedding API.
var (
	// ErrChangeInProgress: a membership change is already under way (diss.
	// §4.1 allows one at a time), or the leader has not yet committed an
	// entry of its own term.
	ErrChangeInProgress = errors.New("raft: a membership change is already in progress")
	// ErrTransferring: the leader is handing leadership over and takes no
	// proposals meanwhile (diss. §3.10).
	ErrTransferring = errors.New("raft: leadership transfer in progress")
	// ErrUnknownMember: the server named is not a voter of the cluster.
	ErrUnknownMember = errors.New("raft: no such voter in the configuration")
	// ErrNoChange: the membership change asked for changes nothing.
	ErrNoChange = errors.New("raft: the configuration already is so")
	// ErrLeadershipLost: the server stopped being leader before the call
	// completed; its outcome is unknown.
	ErrLeadershipLost = errors.New("raft: leadership lost before completion")
)

// Broken selects deliberately broken variants, which the checkers must catch.
// The zero value is correct Raft.
type Broken struct {
	// CommitOldTerm commits an entry of an earlier term by counting replicas,
	// which §5.4.2 forbids (the paper's Figure 8).
	CommitOldTerm bool
	// UnsyncedVote grants a vote without writing votedFor to stable
	// storage, so a crash and restart can make a server vote twice in one
	// term.
	UnsyncedVote bool
	// KeepConflicts makes a follower keep its own entries that conflict
	// with the leader's instead of deleting them (§5.3, step 3).
	KeepConflicts bool
	// ReadWithoutIndex serves reads from the leader's state at once,
	// without confirming leadership (no ReadIndex round): a deposed leader
	// in a minority partition serves stale data.
	ReadWithoutIndex bool
}

// Config configures a Raft server. The zero value of every field but
// StateMachine and Members is a sensible default.
type Config struct {
	// Members is the initial configuration's voters (the bootstrap
	// configuration, in force before any configuration entry). A server
	// that joins a running cluster later leaves it empty: it waits to be
	// contacted by the leader.
	Members []node.ID
	// StateMachine is the replicated application.
	StateMachine StateMachine

	// ElectionTimeoutMin and ElectionTimeoutMax bound the randomized
	// election timeout (§5.2, §9.3); default 150 ms and 300 ms.
	ElectionTimeoutMin, ElectionTimeoutMax time.Duration
	// HeartbeatInterval is how often an idle leader sends AppendEntries;
	// default ElectionTimeoutMin/3.
	HeartbeatInterval time.Duration
	// MaxEntries bounds the entries in one AppendEntries (default 256) and
	// MaxInflight the AppendEntries in flight to one follower while
	// pipelining (default 16).
	MaxEntries, MaxInflight int
	// SnapshotThreshold is how many applied entries past the last snapshot
	// trigger a new snapshot and log compaction (§7); default 4096; negative
	// disables snapshots.
	SnapshotThreshold int
	// NoPreVote and NoCheckQuorum turn off PreVote and CheckQuorum (diss.
	// §9.6, §6.2), which are on by default.
	NoPreVote, NoCheckQuorum bool
	// LeaseRead serves reads from the leader without a round of messages
	// while its lease holds (diss. §6.4.1). The lease is only safe when no
	// server's clock runs faster than another's by more than ClockDrift (a
	// rate, e.g. 0.01 for 1%): the lease lasts ElectionTimeoutMin·(1 −
	// ClockDrift) from the start of the last heartbeat round a majority
	// acknowledged. Requires CheckQuorum.
	LeaseRead  bool
	ClockDrift float64

	// Broken selects a deliberately broken variant.
	Broken Broken
}

func (c *Config) defaults() {
	if c.ElectionTimeoutMin <= 0 {
		c.ElectionTimeoutMin = 150 * time.Millisecond
	}
	if c.ElectionTimeoutMax == 0 {
		c.ElectionTimeoutMax = 2 * c.ElectionTimeoutMin
	}
	c.ElectionTimeoutMax = max(c.ElectionTimeoutMax, c.ElectionTimeoutMin)
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = c.ElectionTimeoutMin / 3
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 256
	}
	if c.MaxInflight <= 0 {
		c.MaxInflight = 16
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 4096
	}
	c.Members = slices.Clone(c.Members)
	slices.Sort(c.Members)
	c.Members = slices.Compact(c.Members)
}

// Messages returns one zero value of every message, timer and emitted event
// of Raft, for node.NewRegistry.
func Messages() []any {
	return []any{
		RequestVote{}, RequestVoteReply{}, AppendEntries{}, AppendEntriesReply{},
		InstallSnapshot{}, InstallSnapshotReply{}, TimeoutNow{},
		Elected{}, Applied{}, Stepped{}, ConfigChanged{},
		electionTimer{}, heartbeatTimer{}, flushTimer{},
	}
}
