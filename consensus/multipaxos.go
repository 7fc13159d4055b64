package consensus

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// MultiPaxosStateMachine is what Multi-Paxos replicates: the embedder's
// application. It is called on the process's own event loop.
type MultiPaxosStateMachine interface {
	// Apply executes the command chosen for slot, which the replica holds
	// from ballot. Slots are executed in order, no gaps (no-ops are not
	// passed on); after a restart they are executed again on top of the
	// last snapshot, so Apply must be deterministic.
	Apply(slot, ballot uint64, command []byte)
	// Snapshot returns the whole state, reflecting every slot executed.
	Snapshot() []byte
	// Restore replaces the state with one taken by Snapshot.
	Restore(snapshot []byte) error
}

// MultiPaxosLeaderObserver is an optional interface of a
// MultiPaxosStateMachine: LeaderChanged is called whenever the node's idea
// of the leader or its ballot changes, so that the embedder can fail what it
// was holding as leader.
type MultiPaxosLeaderObserver interface {
	LeaderChanged(leader node.ID, ballot uint64)
}

// MultiPaxosBroken selects deliberately broken variants, which the checkers
// must catch. The zero value is correct Multi-Paxos.
type MultiPaxosBroken struct {
	// NoAdopt makes a new leader ignore the values reported in the
	// promises: it proposes fresh commands in slots where a value may
	// already be chosen.
	NoAdopt bool
	// UnsyncedAcceptor makes acceptors answer prepares and accepts before
	// their promise and accepted values are synced to storage: a crash can
	// take back what a majority was counted on.
	UnsyncedAcceptor bool
	// ExecuteGaps makes replicas execute a chosen slot at once, before the
	// slots below it are chosen and executed.
	ExecuteGaps bool
}

// MultiPaxosConfig configures a Multi-Paxos node. The zero value of every
// field but Members and StateMachine is a sensible default.
type MultiPaxosConfig struct {
	// Members are the acceptors (and replicas); a majority of them decides.
	Members []node.ID
	// StateMachine is the replicated application.
	StateMachine MultiPaxosStateMachine
	// ElectionTimeoutMin and ElectionTimeoutMax bound the randomized time a
	// follower waits without hearing from a leader before it runs phase 1
	// (default 150 ms and 300 ms).
	ElectionTimeoutMin, ElectionTimeoutMax time.Duration
	// HeartbeatInterval is how often an idle leader sends an empty accept
	// (default ElectionTimeoutMin/3).
	HeartbeatInterval time.Duration
	// MaxBatch bounds the slots in one accept and the chosen values in one
	// catch-up answer (default 256).
	MaxBatch int
	// SnapshotThreshold is how many executed slots past the last snapshot
	// trigger a new snapshot, after which the log below it is truncated
	// (default 4096; negative: never).
	SnapshotThreshold int
	// Broken selects a deliberately broken variant.
	Broken MultiPaxosBroken
}

func (c *MultiPaxosConfig) defaults() {
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
	if c.MaxBatch <= 0 {
		c.MaxBatch = 256
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 4096
	}
	c.Members = slices.Clone(c.Members)
	slices.Sort(c.Members)
	c.Members = slices.Compact(c.Members)
}

// MultiPaxosBallot is a ballot number. Lamport's proposal numbers must come
// "from disjoint sets" for different proposers (§2.3); a ballot is the pair
// (round, leader), ordered by round then leader, as van Renesse and
// Altinbuken have it, packed into one integer that orders the same way:
// round·2²⁰ + leader. Ballot 0 is no ballot; rounds start at 1.
type MultiPaxosBallot uint64

const ballotIDBits = 20

func ballot(round uint64, leader node.ID) MultiPaxosBallot {
	return MultiPaxosBallot(round<<ballotIDBits | uint64(leader)&(1<<ballotIDBits-1))
}

// Round is the ballot's round.
func (b MultiPaxosBallot) Round() uint64 { return uint64(b) >> ballotIDBits }

// Leader is the node that owns the ballot (node.None for ballot 0).
func (b MultiPaxosBallot) Leader() node.ID {
	if b == 0 {
		return node.None
	}
	return node.ID(b & (1<<ballotIDBits - 1))
}

// String prints the ballot as "round.leader" ("3.n1"), "-" for none.
func (b MultiPaxosBallot) String() string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%d.%v", b.Round(), b.Leader())
}

// MultiPaxosStatus is a snapshot of a node's state, for operators.
type MultiPaxosStatus struct {
	ID   node.ID
	Role MultiPaxosRole
	// Ballot is the highest ballot this node promised (a leader's own).
	Ballot MultiPaxosBallot
	Leader node.ID // node.None when unknown
	// Commit is the end of the chosen prefix: every slot up to it is
	// chosen (as far as this node knows). Executed is the last slot
	// executed; NextSlot, on a leader, the next slot it will propose in,
	// and on others one past the highest slot holding a value.
	Commit, Executed, NextSlot uint64
	// SnapshotSlot is the last slot covered by the snapshot; the log below
	// it is truncated.
	SnapshotSlot uint64
	Members      []node.ID
}

// MultiPaxosNotLeaderError is returned to a call only the leader serves.
// Leader is the leader this node knows of (node.None if none).
type MultiPaxosNotLeaderError struct {
	Leader node.ID
	Ballot MultiPaxosBallot
}

// Error says that this node does not lead, and who does.
func (e *MultiPaxosNotLeaderError) Error() string {
	if e.Leader == node.None {
		return "multipaxos: not the leader, and no leader is known"
	}
	return fmt.Sprintf("multipaxos: not the leader; the leader is %v (ballot %s)", e.Leader, e.Ballot)
}

// ErrMultiPaxosReadLost is given to a read whose slot was chosen from
// another ballot, or compacted into a snapshot before this leader executed
// it: retry.
var ErrMultiPaxosReadLost = errors.New("multipaxos: the read's slot was not chosen in this leader's ballot; retry")

// MultiPaxos is one node of Multi-Paxos: Lamport's "Paxos Made Simple"
// (2001), §3 "Implementing a State Machine", where a sequence of separate
// Paxos instances chooses the commands of a replicated state machine, with
// the ballots, leaders and replicas of van Renesse and Altinbuken's "Paxos
// Made Moderately Complex" (2015). Every node is acceptor, learner and
// replica; one of them is the leader.
//
//   - Leader election through ballots: a node that hears from no leader
//     within a randomized timeout becomes a candidate and runs phase 1 once,
//     for every slot from its first unchosen one on, with a ballot
//     (round, id) above any it has seen (§3: "the leader ... executes phase 1
//     for infinitely many instances").
//   - With promises from a majority it leads: for each slot it adopts the
//     value accepted in the highest ballot (§2.2, phase 2a) and fills the
//     holes with no-ops (§3: "it fills the gaps ... by proposing a special
//     'no-op' command"), then runs phase 2 per command, batching the
//     commands that arrive together into one accept.
//   - Acceptors keep their promise and every accepted (ballot, value) in
//     node.Store, synced before a promise or an accepted leaves.
//   - The leader tells the learners which prefix of slots is chosen, in its
//     accepts and in decide messages; replicas execute slots strictly in
//     order, never past a gap (the prefix invariant).
//   - A lagging or restarted replica pulls the chosen values it missed from
//     the leader (catch-up), or its snapshot when the leader has truncated
//     its log; every replica snapshots its state machine every
//     SnapshotThreshold slots and truncates the log below (the garbage
//     collection van Renesse and Altinbuken discuss among the optimizations
//     that make the protocol practical).
//   - Linearizable reads go through the log: a read waits for a slot the
//     leader proposes after it arrived (the next command's, or a no-op's) to
//     be chosen in the leader's ballot and executed.
//
// MultiPaxos implements Start, Receive and Timeout of node.Process; an
// embedder's Process forwards them (see IsMessage and IsTimer) and calls
// Propose and Read from its Request handler. Package kv runs its key-value
// service on it. All methods must be called on the process's event loop.
type MultiPaxos struct {
	cfg MultiPaxosConfig
	sm  MultiPaxosStateMachine
	env node.Env

	// Acceptor state, mirrored in env.Store: the highest ballot promised,
	// and per slot the accepted (ballot, value) (and whether it is known
	// to be chosen). log[k] is slot snapSlot+1+k.
	promised MultiPaxosBallot
	log      []mpSlot
	snapSlot uint64

	// Replica state. Invariant: snapSlot <= executed <= commit, and every
	// slot up to commit is chosen (decided) here.
	commit   uint64
	executed uint64
	// gapExecuted are the slots past executed that the ExecuteGaps variant
	// executed early.
	gapExecuted map[uint64]bool

	role   MultiPaxosRole
	leader node.ID
	// ballot is the ballot this node campaigns or leads in; seenRound the
	// highest round of any ballot it has met.
	ballot    MultiPaxosBallot
	seenRound uint64
	emitted   MultiPaxosStepped

	// Candidate: the promises so far.
	promises   map[node.ID]mpPromise
	selfPrep   bool   // the own promise waits for the next sync
	prepareFor uint64 // the From of the own prepare

	// Leader state (van Renesse and Altinbuken's leader and commanders).
	nextSlot uint64
	// votes are the acceptors that accepted each undecided slot of this
	// ballot; own is added once the own write is synced.
	votes    map[uint64][]node.ID
	ownVotes []uint64 // own accepts waiting for the sync
	batch    []mpEntry
	// committed is the Commit the followers were last told.
	committed uint64
	// resendBelow is nextSlot at the last heartbeat: the slots below it
	// that are still undecided at the next one are sent again.
	resendBelow uint64
	// active are the peers heard from since quorumCheck was armed
	// (CheckQuorum: a leader cut off from a majority steps down).
	active      map[node.ID]bool
	quorumCheck time.Time
	// reads wait for their slot; newReads for the next flush to get one.
	reads    []mpRead
	newReads []func(error)

	// knownCommit is the highest chosen prefix any message announced:
	// while commit is below it, the replica pulls from aheadOf.
	knownCommit uint64
	aheadOf     node.ID
	askedAt     time.Time
	asked       bool

	// lastContact is when a leader was last heard from (or, for a leader,
	// when it took office): within ElectionTimeoutMin a follower does not
	// help a candidate depose it.
	lastContact time.Time

	// Durability: messages that depend on writes of acceptor state wait in
	// out for one Sync covering them all.
	out           node.Outbox
	electionEpoch uint64
	electionTimer node.TimerID
}

// mpSlot is what a node keeps of one slot.
type mpSlot struct {
	Ballot  MultiPaxosBallot `cbor:",omitempty"` // accepted in (0: nothing accepted)
	Noop    bool             `cbor:",omitempty"`
	Command []byte           `cbor:",omitempty"`
	Decided bool             `cbor:",omitempty"`
}

func (s *mpSlot) entry(slot uint64) mpEntry {
	return mpEntry{Slot: slot, Ballot: s.Ballot, Noop: s.Noop, Command: s.Command, Decided: s.Decided}
}

type mpRead struct {
	slot uint64
	done func(error)
}

// NewMultiPaxos returns a Multi-Paxos node; its durable state is read from
// env.Store in Start.
func NewMultiPaxos(cfg MultiPaxosConfig) *MultiPaxos {
	cfg.defaults()
	return &MultiPaxos{cfg: cfg, sm: cfg.StateMachine, leader: node.None, aheadOf: node.None,
		out: node.Outbox{Timer: mpFlushTimer{}, Retry: cfg.HeartbeatInterval}}
}

// IsMessage reports whether msg is one of Multi-Paxos' messages, so that an
// embedder can route its Receive calls.
func (m *MultiPaxos) IsMessage(msg node.Message) bool {
	switch msg.(type) {
	case mpPrepare, mpPromise, mpNack, mpAccept, mpAccepted, mpDecide, mpCatchUp, mpDecisions, mpSnapshot:
		return true
	}
	return false
}

// IsTimer reports whether timer is one of Multi-Paxos' timers.
func (m *MultiPaxos) IsTimer(timer any) bool {
	switch timer.(type) {
	case mpElectionTimer, mpHeartbeatTimer, mpFlushTimer:
		return true
	}
	return false
}

// Start restores the durable state (the snapshot, the promise and the
// accepted values), executes the chosen prefix again on top of the snapshot,
// and waits for a leader as a follower.
func (m *MultiPaxos) Start(env node.Env) {
	m.env = env
	if err := m.load(); err != nil {
		// Damaged storage: take no part rather than promise or accept on
		// forgotten state.
		env.Log().Error("multipaxos: cannot load state; this node stays silent", "err", err)
		m.cfg.Members = nil
		return
	}
	env.Emit(MultiPaxosRestored{Slot: m.snapSlot})
	m.advance()
	m.becomeFollower(node.None)
}

// Receive handles a Multi-Paxos message: one handler per message type.
func (m *MultiPaxos) Receive(env node.Env, from node.ID, msg node.Message) {
	m.env = env
	if !slices.Contains(m.cfg.Members, env.Self()) {
		return // silent: not a member, or damaged storage
	}
	switch msg := msg.(type) {
	case mpPrepare:
		m.handlePrepare(from, msg)
	case mpPromise:
		m.handlePromise(from, msg)
	case mpNack:
		m.handleNack(from, msg)
	case mpAccept:
		m.handleAccept(from, msg)
	case mpAccepted:
		m.handleAccepted(from, msg)
	case mpDecide:
		m.handleDecide(from, msg)
	case mpCatchUp:
		m.handleCatchUp(from, msg)
	case mpDecisions:
		m.handleDecisions(from, msg)
	case mpSnapshot:
		m.handleSnapshot(from, msg)
	}
}

// Timeout handles Multi-Paxos' timers; others are ignored.
func (m *MultiPaxos) Timeout(env node.Env, timer any) {
	m.env = env
	if !slices.Contains(m.cfg.Members, env.Self()) {
		return
	}
	switch t := timer.(type) {
	case mpElectionTimer:
		if t.Epoch == m.electionEpoch {
			m.startPhase1()
		}
	case mpHeartbeatTimer:
		if m.role == MultiPaxosLeader && t.Ballot == m.ballot {
			m.heartbeat()
			m.env.After(m.cfg.HeartbeatInterval, mpHeartbeatTimer{Ballot: m.ballot})
		}
	case mpFlushTimer:
		m.out.Fired()
		m.flush()
	}
}

// Propose assigns command the leader's next slot and proposes it in the
// leader's ballot (phase 2a, sent with whatever else arrives before the
// next flush). It returns the slot and the ballot: the command is chosen if
// the state machine is given that slot from that ballot; given it from
// another, the proposal was lost with this leadership. A node that does not
// lead returns a *MultiPaxosNotLeaderError.
func (m *MultiPaxos) Propose(env node.Env, command []byte) (slot, ballot uint64, err error) {
	m.env = env
	if m.role != MultiPaxosLeader {
		return 0, 0, m.notLeader()
	}
	slot = m.propose(mpEntry{Command: command})
	return slot, uint64(m.ballot), nil
}

// Read serves a linearizable read through the log: done(nil) is called once
// a slot this leader proposed after the read arrived is chosen in its
// ballot and executed, so that the state machine reflects every command
// chosen before the read arrived; done gets an error if this node does not
// lead (or stops leading, or the slot was lost).
func (m *MultiPaxos) Read(env node.Env, done func(error)) {
	m.env = env
	if m.role != MultiPaxosLeader {
		done(m.notLeader())
		return
	}
	m.newReads = append(m.newReads, done)
	m.scheduleFlush()
}

// Leader returns the leader this node knows of (node.None if none).
func (m *MultiPaxos) Leader() node.ID { return m.leader }

// Status returns the node's current state.
func (m *MultiPaxos) Status() MultiPaxosStatus {
	next := m.nextSlot
	if m.role != MultiPaxosLeader {
		next = m.lastSlot() + 1
	}
	id := node.None
	if m.env != nil {
		id = m.env.Self()
	}
	return MultiPaxosStatus{ID: id, Role: m.role, Ballot: m.promised, Leader: m.leader,
		Commit: m.commit, Executed: m.executed, NextSlot: next, SnapshotSlot: m.snapSlot,
		Members: slices.Clone(m.cfg.Members)}
}

func (m *MultiPaxos) notLeader() error {
	return &MultiPaxosNotLeaderError{Leader: m.leader, Ballot: m.promised}
}

// majority is the quorum size.
func (m *MultiPaxos) majority() int { return len(m.cfg.Members)/2 + 1 }

// peers returns every member but self.
func (m *MultiPaxos) peers() []node.ID {
	var ps []node.ID
	for _, id := range m.cfg.Members {
		if id != m.env.Self() {
			ps = append(ps, id)
		}
	}
	return ps
}

// observe notes a ballot met in a message, so that the next own ballot is
// higher.
func (m *MultiPaxos) observe(b MultiPaxosBallot) { m.seenRound = max(m.seenRound, b.Round()) }

// setRole changes role and known leader, telling the trace and the
// embedder.
func (m *MultiPaxos) setRole(role MultiPaxosRole, leader node.ID) {
	m.role, m.leader = role, leader
	st := MultiPaxosStepped{Role: role, Ballot: m.promised, Leader: leader}
	if st == m.emitted {
		return
	}
	m.emitted = st
	m.env.Emit(st)
	if o, ok := m.sm.(MultiPaxosLeaderObserver); ok {
		o.LeaderChanged(leader, uint64(m.promised))
	}
}

// becomeFollower follows leader (node.None: unknown), giving up whatever it
// held as candidate or leader.
func (m *MultiPaxos) becomeFollower(leader node.ID) {
	was := m.role
	m.setRole(MultiPaxosFollower, leader)
	if was == MultiPaxosLeader {
		m.stopLeading()
	}
	m.promises = nil
	m.resetElectionTimer()
}

// stopLeading drops the leader's volatile state: proposals not yet sent are
// lost (the embedder learns it through LeaderChanged), reads fail.
func (m *MultiPaxos) stopLeading() {
	m.batch, m.votes, m.ownVotes, m.active = nil, nil, nil, nil
	reads, newReads := m.reads, m.newReads
	m.reads, m.newReads = nil, nil
	for _, r := range reads {
		r.done(m.notLeader())
	}
	for _, done := range newReads {
		done(m.notLeader())
	}
}

// resetElectionTimer arms a fresh randomized timeout.
func (m *MultiPaxos) resetElectionTimer() {
	if m.electionTimer != 0 {
		m.env.Cancel(m.electionTimer)
	}
	m.electionEpoch++
	d := m.cfg.ElectionTimeoutMin
	if spread := m.cfg.ElectionTimeoutMax - m.cfg.ElectionTimeoutMin; spread > 0 {
		d += time.Duration(m.env.Rand().Int64N(int64(spread) + 1))
	}
	m.electionTimer = m.env.After(d, mpElectionTimer{Epoch: m.electionEpoch})
}

func (m *MultiPaxos) stopElectionTimer() {
	if m.electionTimer != 0 {
		m.env.Cancel(m.electionTimer)
		m.electionTimer = 0
	}
	m.electionEpoch++
}

// send sends msg once every write made so far is synced: a promise or an
// accepted must never rest on state a crash could take back.
func (m *MultiPaxos) send(to node.ID, msg node.Message) { m.out.Send(m.env, to, msg) }

// scheduleFlush arranges one flush after the inputs already queued, so that
// the commands and writes that arrive together share one accept and one
// Sync.
func (m *MultiPaxos) scheduleFlush() { m.out.Schedule(m.env) }

// flush sends the leader's batch (before its own sync, so that acceptors
// write while it writes), syncs, sends what waited for the sync, counts
// the own promise and accepts, and tells the learners what became chosen.
func (m *MultiPaxos) flush() {
	if m.role == MultiPaxosLeader {
		m.attachReads()
		m.sendBatch()
	}
	if _, ok := m.out.Sync(m.env); !ok {
		return
	}
	m.out.Release(m.env)
	switch m.role {
	case MultiPaxosCandidate:
		if m.selfPrep {
			m.selfPrep = false
			m.handlePromise(m.env.Self(), m.promise(m.prepareFor))
		}
	case MultiPaxosLeader:
		own := m.ownVotes
		m.ownVotes = nil
		for _, s := range own {
			m.vote(s, m.env.Self())
		}
		m.advance()
		m.announce()
	}
}

// String summarizes the node's state for logs.
func (m *MultiPaxos) String() string {
	id := node.None
	if m.env != nil {
		id = m.env.Self()
	}
	return fmt.Sprintf("%v %v ballot %s commit %d executed %d", id, m.role, m.promised, m.commit, m.executed)
}
