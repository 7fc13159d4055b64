package raft

import (
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// Raft is one Raft server. It implements Start, Receive and Timeout of
// node.Process; an embedder's own Process forwards those calls to it and
// uses Propose, ReadIndex, AddServer, RemoveServer, TransferLeadership and
// Status from its Request handler. All methods must be called from the
// process's event loop (the runtime guarantees one call at a time).
type Raft struct {
	cfg Config
	sm  StateMachine
	env node.Env

	// Persistent state on all servers (Figure 2), mirrored in env.Store.
	currentTerm uint64
	votedFor    node.ID
	log         raftLog

	// Volatile state on all servers (Figure 2).
	// Invariant: log.snapIndex <= lastApplied <= commitIndex <= log.lastIndex().
	commitIndex uint64
	lastApplied uint64

	role        Role
	leader      node.ID
	emittedTerm uint64 // the term of the last Stepped event

	// config is the latest configuration in the log (or the snapshot, or
	// the bootstrap Members): diss. §4.1 has a server use it as soon as it
	// is in its log. configIndex is its entry's index (0: bootstrap or
	// snapshot).
	config      Configuration
	configIndex uint64
	snapConfig  Configuration // the configuration as of log.snapIndex

	// Volatile state on leaders (Figure 2), reinitialized after election.
	progress map[node.ID]*progress
	// termStart is the index of the leader's first entry of its term (its
	// no-op); the leader serves reads and membership changes only once it
	// is committed.
	termStart uint64
	// Leader extras: transfer target, pending membership change, reads.
	transferee   node.ID
	transferFrom time.Time
	change       *pendingChange
	reads        readState
	quorumCheck  time.Time // when CheckQuorum next counts recentActive

	// Candidates and pre-candidates: the votes granted so far.
	votes map[node.ID]bool

	// lastContact is when this server last heard from a current leader:
	// within ElectionTimeoutMin it refuses to help depose it (diss. §4.2.3).
	lastContact time.Time

	// Durability (diss. §10.2.1): messages that depend on writes wait in
	// out until one Sync covers them all.
	out          node.Outbox
	durableIndex uint64 // the log is synced up to here

	electionTimer node.TimerID
	electionEpoch uint64
	heartbeat     node.TimerID
}

// progress is the leader's view of one follower (Figure 2's nextIndex and
// matchIndex, plus flow control for pipelining).
type progress struct {
	next, match uint64
	// probing: the follower's log position is unknown; one AppendEntries at
	// a time until one succeeds. Otherwise entries are pipelined, up to
	// MaxInflight requests ahead of the replies.
	probing  bool
	inflight int
	// snapshot: an InstallSnapshot is outstanding; idle counts heartbeat
	// ticks without a reply, to resend.
	snapshot bool
	idle     int
	// recentActive: a reply arrived since the last CheckQuorum.
	recentActive bool
	// readAck is the highest ReadCtx the follower has echoed this term.
	readAck uint64
}

// New returns a Raft server with configuration cfg. Its state is read from
// env.Store in Start.
func New(cfg Config) *Raft {
	cfg.defaults()
	return &Raft{cfg: cfg, sm: cfg.StateMachine, votedFor: node.None, leader: node.None, transferee: node.None,
		out: node.Outbox{Timer: flushTimer{}, Retry: cfg.HeartbeatInterval}}
}

// IsMessage reports whether msg is one of Raft's messages, so that an
// embedder can route its Receive calls.
func IsMessage(msg node.Message) bool {
	switch msg.(type) {
	case RequestVote, RequestVoteReply, AppendEntries, AppendEntriesReply,
		InstallSnapshot, InstallSnapshotReply, TimeoutNow:
		return true
	}
	return false
}

// IsTimer reports whether timer is one of Raft's timers.
func IsTimer(timer any) bool {
	switch timer.(type) {
	case electionTimer, heartbeatTimer, flushTimer:
		return true
	}
	return false
}

// Start restores the persistent state from env.Store (after a crash, what
// was synced) and starts as a follower (§5.2: "when servers start up, they
// begin as followers").
func (r *Raft) Start(env node.Env) {
	r.env = env
	if err := r.load(); err != nil {
		// The store is damaged: refuse to take part rather than vote or
		// acknowledge on forgotten state.
		env.Log().Error("raft: cannot load state; this server stays silent", "err", err)
		r.role = Follower
		r.config = Configuration{}
		return
	}
	r.becomeFollower(r.currentTerm, node.None)
}

// Receive handles a Raft message. Every message carries a term; §5.1: "if
// one server's current term is smaller than the other's, then it updates its
// current term to the larger value."
func (r *Raft) Receive(env node.Env, from node.ID, msg node.Message) {
	r.env = env
	switch m := msg.(type) {
	case RequestVote:
		r.handleRequestVote(from, m)
	case RequestVoteReply:
		r.handleRequestVoteReply(from, m)
	case AppendEntries:
		r.handleAppendEntries(from, m)
	case AppendEntriesReply:
		r.handleAppendEntriesReply(from, m)
	case InstallSnapshot:
		r.handleInstallSnapshot(from, m)
	case InstallSnapshotReply:
		r.handleInstallSnapshotReply(from, m)
	case TimeoutNow:
		r.handleTimeoutNow(from, m)
	}
}

// Timeout handles Raft's timers; others are ignored.
func (r *Raft) Timeout(env node.Env, timer any) {
	r.env = env
	switch t := timer.(type) {
	case electionTimer:
		if t.Epoch == r.electionEpoch {
			r.electionTimeout()
		}
	case heartbeatTimer:
		r.heartbeatTick()
	case flushTimer:
		r.out.Fired()
		r.flush()
	}
}

// Status returns the server's current state.
func (r *Raft) Status() Status {
	return Status{
		ID: r.selfID(), Role: r.role, Term: r.currentTerm, Leader: r.leader,
		CommitIndex: r.commitIndex, LastApplied: r.lastApplied,
		LastIndex: r.log.lastIndex(), SnapshotIndex: r.log.snapIndex,
		Config: r.config.clone(),
	}
}

func (r *Raft) selfID() node.ID {
	if r.env == nil {
		return node.None
	}
	return r.env.Self()
}

// Propose appends command to the leader's log (§5.3: "the leader appends the
// command to its log as a new entry, then issues AppendEntries RPCs in
// parallel") and returns the index and term it will have if committed. The
// embedder learns the outcome when its StateMachine applies that index: with
// that term the command was committed; with another, it was lost with the
// leader's term. A server that is not the leader returns a NotLeaderError
// naming the leader it knows.
func (r *Raft) Propose(env node.Env, command []byte) (index, term uint64, err error) {
	r.env = env
	if r.role != Leader {
		return 0, 0, r.notLeader()
	}
	if r.transferee != node.None {
		return 0, 0, ErrTransferring
	}
	e := r.appendEntry(Entry{Type: EntryCommand, Command: command})
	return e.Index, e.Term, nil
}

func (r *Raft) notLeader() error {
	return &NotLeaderError{Leader: r.leader, Term: r.currentTerm}
}

// appendEntry appends e to the leader's own log in its current term and
// persists it; replication follows when the write is synced.
func (r *Raft) appendEntry(e Entry) Entry {
	e.Index, e.Term = r.log.lastIndex()+1, r.currentTerm
	r.log.append(e)
	r.persistEntry(&e)
	if e.Type == EntryConfig {
		r.setConfig(*e.Config, e.Index)
	}
	return e
}

// becomeFollower moves to the follower state in term (§5.1), knowing leader
// (node.None: unknown).
//
// The election timer restarts only for a server that was not already a
// follower (or had none running): Figure 2 restarts a follower's timer on
// AppendEntries from the current leader and on granting a vote, never on
// merely seeing a higher term, or a server that cannot win would keep
// resetting the timers of those that could (as LogCabin's stepDown does).
func (r *Raft) becomeFollower(term uint64, leader node.ID) {
	was := r.role
	if term > r.currentTerm {
		r.currentTerm, r.votedFor = term, node.None
		r.persistHardState()
	}
	r.setRole(Follower, leader)
	if was == Leader {
		r.stopLeading()
	}
	if was != Follower || r.electionTimer == 0 {
		r.resetElectionTimer()
	}
}

// setRole changes the role and the known leader, telling the trace and the
// embedder.
func (r *Raft) setRole(role Role, leader node.ID) {
	if r.role == role && r.leader == leader && r.emittedTerm == r.currentTerm {
		return
	}
	r.role, r.leader, r.emittedTerm = role, leader, r.currentTerm
	r.env.Emit(Stepped{Role: role, Term: r.currentTerm, Leader: leader})
	if o, ok := r.sm.(LeaderObserver); ok {
		o.LeaderChanged(leader, r.currentTerm)
	}
}

// resetElectionTimer arms a fresh randomized election timeout (§5.2:
// "election timeouts are chosen randomly from a fixed interval").
func (r *Raft) resetElectionTimer() {
	if r.electionTimer != 0 {
		r.env.Cancel(r.electionTimer)
	}
	r.electionEpoch++
	d := r.cfg.ElectionTimeoutMin
	if spread := r.cfg.ElectionTimeoutMax - r.cfg.ElectionTimeoutMin; spread > 0 {
		d += time.Duration(r.env.Rand().Int64N(int64(spread) + 1))
	}
	r.electionTimer = r.env.After(d, electionTimer{Epoch: r.electionEpoch})
}

func (r *Raft) stopElectionTimer() {
	if r.electionTimer != 0 {
		r.env.Cancel(r.electionTimer)
		r.electionTimer = 0
	}
	r.electionEpoch++
}

// send sends msg to a peer once every write made so far is synced: a vote,
// an acknowledgement or a leader's own count must never rest on state a
// crash could take back (Figure 2: "updated on stable storage before
// responding to RPCs").
func (r *Raft) send(to node.ID, msg node.Message) { r.out.Send(r.env, to, msg) }

// flush syncs the store, then sends what waited for it. A leader first sends
// its new entries to the followers, so that they write them to their disks
// while it writes to its own (diss. §10.2.1), and counts its own log only
// once synced.
func (r *Raft) flush() {
	if r.role == Leader {
		r.broadcastAppend()
	}
	synced, ok := r.out.Sync(r.env)
	if !ok {
		return
	}
	if synced {
		r.durableIndex = r.log.lastIndex()
	}
	r.out.Release(r.env)
	if r.role == Leader {
		r.maybeCommit()
		r.startReadRound()
	}
}

// majority is the quorum size of the current configuration's voters.
func (r *Raft) majority() int { return len(r.config.Voters)/2 + 1 }

// peers returns every member but self, sorted.
func (r *Raft) peers() []node.ID {
	self := r.env.Self()
	var ps []node.ID
	for _, id := range r.config.Members() {
		if id != self {
			ps = append(ps, id)
		}
	}
	return ps
}

// setConfig adopts configuration c from entry index (diss. §4.1: "a server
// always uses the latest configuration in its log").
func (r *Raft) setConfig(c Configuration, index uint64) {
	r.config, r.configIndex = c.clone(), index
	r.env.Emit(ConfigChanged{Index: index, Config: c.clone()})
	if r.role == Leader {
		r.syncProgress()
	}
}

// recomputeConfig finds the latest configuration after the log was
// truncated or replaced.
func (r *Raft) recomputeConfig() {
	for i := r.log.lastIndex(); i > r.log.snapIndex; i-- {
		if e := r.log.entry(i); e.Type == EntryConfig {
			if r.configIndex != i {
				r.setConfig(*e.Config, i)
			}
			return
		}
	}
	if r.configIndex != 0 || !slices.Equal(r.config.Voters, r.snapConfig.Voters) || !slices.Equal(r.config.Learners, r.snapConfig.Learners) {
		r.setConfig(r.snapConfig, 0)
	}
}

// configAt returns the configuration in force at index i (>= snapIndex).
func (r *Raft) configAt(i uint64) Configuration {
	for j := min(i, r.log.lastIndex()); j > r.log.snapIndex; j-- {
		if e := r.log.entry(j); e.Type == EntryConfig {
			return e.Config.clone()
		}
	}
	return r.snapConfig.clone()
}

// applyCommitted applies entries up to commitIndex (Figure 2: "if
// commitIndex > lastApplied: increment lastApplied, apply log[lastApplied]
// to state machine").
func (r *Raft) applyCommitted() {
	for r.lastApplied < r.commitIndex {
		r.lastApplied++
		e := r.log.entry(r.lastApplied)
		if e.Type == EntryCommand {
			r.sm.Apply(e.Index, e.Term, e.Command)
		}
		r.env.Emit(Applied{Index: e.Index, Term: e.Term, Chain: r.log.chain(e.Index)})
	}
	r.serveReads()
	r.maybeSnapshot()
}

func (r *Raft) String() string {
	return fmt.Sprintf("%v %v term %d commit %d last %d", r.selfID(), r.role, r.currentTerm, r.commitIndex, r.log.lastIndex())
}
