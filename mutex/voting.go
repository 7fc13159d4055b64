package mutex

import (
	"time"

	"github.com/synod-dev/synod/node"
)

// VotingDescription is the one-line summary of the algorithm in voting.go,
// for catalogs and reports.
const VotingDescription = "Decentralized voting (Lin et al. 2004; van Steen & Tanenbaum §5.3.5): m > N/2 votes from N coordinators, back off and retry when denied; coordinators forget their votes when they reset"

// voteRequest asks a coordinator for its vote on behalf of the sender's
// attempt Attempt (the sender numbers its attempts 1, 2, ...).
type voteRequest struct {
	Attempt uint64
}

// vote is a coordinator's answer to the attempt Attempt: its permission, or
// a denial when it has given its vote to another process (van Steen &
// Tanenbaum: "when a coordinator does not give permission ... it will tell
// the requester").
type vote struct {
	Attempt uint64
	Granted bool
}

// voteRelease gives back the vote a coordinator granted to the attempt
// Attempt.
type voteRelease struct {
	Attempt uint64
}

// attemptTimeout is the timer that ends an attempt still short of votes.
type attemptTimeout struct {
	Attempt uint64
}

// retry is the timer that ends a back-off: time to try again.
type retry struct {
	Attempt uint64
}

// Votes is emitted by a process as it enters the critical section, just
// before EnterCS: the coordinators whose votes it holds, the m that made
// its quorum. MeasureVotingRisk reads it to tell which resets put an entry
// at risk.
type Votes struct {
	Attempt uint64
	Voters  []node.ID
}

// VotingMessages returns one zero value of every message, emitted event,
// request op, reply and timer of the voting algorithm, for node.NewRegistry.
func VotingMessages() []any {
	return append(sharedMessages(), voteRequest{}, vote{}, voteRelease{}, attemptTimeout{}, retry{}, Votes{})
}

// The voting algorithm's default timing: DefaultVoteTimeout ends an attempt
// whose votes have not all come (a request or answer lost, a coordinator
// down); DefaultBackoff is the first back-off after a failed attempt, doubled
// after each further failure up to 32 times, and drawn at random from its
// upper half so that competing processes drift apart.
const (
	DefaultVoteTimeout = 25 * time.Millisecond
	DefaultBackoff     = 4 * time.Millisecond
)

// VotingConfig configures NewVoting.
type VotingConfig struct {
	// Hold is the time spent inside the critical section (zero: DefaultHold).
	Hold HoldTime
	// Coordinators is the number N of coordinators, one per replica of the
	// resource: the first N members of the group (zero: the whole group).
	// Every member, coordinator or not, can request the critical section.
	Coordinators int
	// Quorum is the number m of votes needed to enter (zero: a majority,
	// ⌊N/2⌋+1). It must exceed N/2; see ResetRisk for what resets cost.
	Quorum int
	// HalfQuorum selects a deliberately broken variant that needs only
	// m = ⌊N/2⌋ votes: two processes can each collect m votes from disjoint
	// halves of the coordinators and enter together, with no reset at all.
	// CheckVoting catches it.
	HalfQuorum bool
	// VoteTimeout and Backoff are the timing above (zero: the defaults).
	VoteTimeout, Backoff time.Duration
}

// Voting is one process of the decentralized voting algorithm (S.-D. Lin,
// Q. Lian, M. Chen and Z. Zhang, "A Practical Distributed Mutual Exclusion
// Protocol in Dynamic Peer-to-Peer Systems", IPTPS 2004; van Steen &
// Tanenbaum, Distributed Systems, 4th ed., §5.3.5 "A decentralized
// algorithm").
//
// The resource is replicated N times, and each replica has a coordinator
// that controls access to it. A process that wants the resource asks every
// coordinator for its vote and enters once m > N/2 have granted it. A
// coordinator votes for one process at a time: it grants its vote if it has
// none outstanding, and otherwise tells the requester it is denied. A
// process that can no longer reach m votes (too many denials) or whose
// votes do not all come in time gives back the votes it got, backs off for
// a random, growing time and tries again; on leaving it gives its votes
// back. Since any two sets of m > N/2 coordinators intersect, two processes
// cannot both hold m votes — as long as no coordinator forgets the vote it
// gave.
//
// A coordinator keeps its vote in memory only, as in Lin et al.: when it
// resets (here, crashes and restarts) it has forgotten whom it voted for,
// and may vote again. That is on purpose: syncing every vote to disk before
// answering would make resets harmless, at the cost of a disk write per
// request, and the protocol's premise is that resets are rare enough for
// the risk to be negligible. That risk is what ResetRisk computes and
// MeasureVotingRisk measures. Voting promises no order: a process can lose
// every round and starve, though random back-off makes that unlikely. An
// uncontended entry costs 3N messages (N requests, N votes, N releases) and
// two message delays.
type Voting struct {
	cfg VotingConfig
	cs  section

	// The process's side.

	// attempt numbers this process's latest attempt.
	attempt uint64
	// phase is where the current request stands.
	phase votingPhase
	// granted holds the coordinators that granted their vote to the current
	// attempt; denied counts those that refused it.
	granted map[node.ID]bool
	denied  int
	// failures counts the consecutive failed attempts, for the back-off.
	failures int

	// The coordinator's side, kept in memory only (see above).

	// votedFor is the attempt this coordinator has given its vote to (Proc
	// None if its vote is free).
	votedFor requester
}

// votingPhase is where a process's current request stands.
type votingPhase int

const (
	voteIdle       votingPhase = iota // no request to serve
	voteAsking                        // collecting votes
	voteInside                        // in the critical section
	voteBackingOff                    // waiting to try again
)

// NewVoting returns a process of the voting algorithm, or with
// cfg.HalfQuorum its deliberately broken variant.
func NewVoting(cfg VotingConfig) node.Process {
	if cfg.VoteTimeout <= 0 {
		cfg.VoteTimeout = DefaultVoteTimeout
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	return &Voting{cfg: cfg, cs: section{hold: cfg.Hold}, granted: map[node.ID]bool{}, votedFor: requester{Proc: node.None}}
}

// coordinators returns the coordinators: the first N members of the group.
func (p *Voting) coordinators(env node.Env) []node.ID {
	g := env.Group()
	if n := p.cfg.Coordinators; n > 0 && n < len(g) {
		return g[:n]
	}
	return g
}

// quorum is m, the number of votes needed to enter.
func (p *Voting) quorum(env node.Env) int {
	n := len(p.coordinators(env))
	switch {
	case p.cfg.HalfQuorum:
		return max(n/2, 1)
	case p.cfg.Quorum > 0:
		return min(p.cfg.Quorum, n)
	}
	return n/2 + 1
}

// Start implements node.Process. Nothing is durable: a restarted
// coordinator has forgotten its vote (see Voting).
func (p *Voting) Start(env node.Env) {}

// Request implements node.Process: an Acquire joins this process's queue,
// and if the process was idle it starts an attempt.
func (p *Voting) Request(env node.Env, req node.Request) {
	if _, ok := req.Op.(Acquire); !ok {
		unknownOp(env, "voting", req.Op)
		return
	}
	if p.cs.add(req.ID) {
		p.ask(env)
	}
}

// Timeout implements node.Process: the end of a stay releases the votes;
// an attempt timeout gives up an attempt still short of votes; the end of a
// back-off starts a new attempt.
func (p *Voting) Timeout(env node.Env, timer any) {
	switch t := timer.(type) {
	case leaveCS:
		if p.cs.leave(env, t) {
			p.releaseVotes(env)
			p.phase, p.failures = voteIdle, 0
			if p.cs.wants() {
				p.ask(env)
			}
		}
	case attemptTimeout:
		if t.Attempt == p.attempt && p.phase == voteAsking {
			p.giveUp(env)
		}
	case retry:
		if t.Attempt == p.attempt && p.phase == voteBackingOff {
			p.ask(env)
		}
	}
}

// Receive implements node.Process, dispatching to one handler per message.
func (p *Voting) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case voteRequest:
		p.onVoteRequest(env, from, m)
	case vote:
		p.onVote(env, from, m)
	case voteRelease:
		p.onVoteRelease(env, from, m)
	default:
		unknownMessage(env, "voting", from, msg)
	}
}

// ask starts an attempt: a vote request to every coordinator, and a timer
// in case some answers never come.
func (p *Voting) ask(env node.Env) {
	p.attempt++
	p.phase = voteAsking
	clear(p.granted)
	p.denied = 0
	for _, c := range p.coordinators(env) {
		env.Send(c, voteRequest{Attempt: p.attempt})
	}
	env.After(p.cfg.VoteTimeout, attemptTimeout{Attempt: p.attempt})
}

// onVote counts a coordinator's answer. A vote granted to an attempt that is
// over (given up, or already left) is handed straight back; a grant that
// arrives while inside is kept, and given back on leaving. Once m votes are
// in, the process enters; once more than N − m coordinators have refused,
// m is out of reach and the attempt is given up.
func (p *Voting) onVote(env node.Env, from node.ID, m vote) {
	current := m.Attempt == p.attempt && (p.phase == voteAsking || p.phase == voteInside)
	if !current {
		if m.Granted {
			env.Send(from, voteRelease{Attempt: m.Attempt})
		}
		return
	}
	if !m.Granted {
		p.denied++
		if p.phase == voteAsking && p.denied > len(p.coordinators(env))-p.quorum(env) {
			p.giveUp(env)
		}
		return
	}
	p.granted[from] = true
	if p.phase == voteAsking && len(p.granted) >= p.quorum(env) {
		p.phase = voteInside
		env.Emit(Votes{Attempt: p.attempt, Voters: sortedKeys(p.granted)})
		p.cs.enter(env, p.attempt)
	}
}

// giveUp ends a failed attempt: the votes obtained go back, and the process
// backs off for a random time that doubles with every consecutive failure.
func (p *Voting) giveUp(env node.Env) {
	p.releaseVotes(env)
	p.phase = voteBackingOff
	p.failures++
	limit := p.cfg.Backoff << min(p.failures-1, 5)
	wait := limit/2 + time.Duration(env.Rand().Int64N(int64(limit/2)+1))
	env.After(wait, retry{Attempt: p.attempt})
}

// releaseVotes gives every vote of the current attempt back.
func (p *Voting) releaseVotes(env node.Env) {
	for _, c := range sortedKeys(p.granted) {
		env.Send(c, voteRelease{Attempt: p.attempt})
	}
	clear(p.granted)
}

// onVoteRequest is the coordinator's rule: grant the vote if it is free (or
// already the requester's: a new attempt of the same process, whose release
// of an older one is still to come), deny it otherwise.
func (p *Voting) onVoteRequest(env node.Env, from node.ID, m voteRequest) {
	if p.votedFor.Proc != node.None && p.votedFor.Proc != from {
		env.Send(from, vote{Attempt: m.Attempt, Granted: false})
		return
	}
	p.votedFor = requester{Proc: from, Seq: m.Attempt}
	env.Send(from, vote{Attempt: m.Attempt, Granted: true})
}

// onVoteRelease frees the coordinator's vote if it was given to that very
// attempt; a stale release changes nothing.
func (p *Voting) onVoteRelease(env node.Env, from node.ID, m voteRelease) {
	if p.votedFor == (requester{Proc: from, Seq: m.Attempt}) {
		p.votedFor = requester{Proc: node.None}
	}
}
