package consensus

import (
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/synod-dev/synod/node"
)

// PaxosBallot is a ballot ("proposal number" in Paxos Made Simple): a round
// and the proposer that owns it, ordered by round, then by proposer.
// Proposers thus draw their numbers from disjoint sets, as §2.5 requires,
// without any clock. The zero ballot is lower than every real one and
// means "none".
type PaxosBallot struct {
	Round    uint64
	Proposer node.ID
}

// Less reports whether b is lower than c.
func (b PaxosBallot) Less(c PaxosBallot) bool {
	if b.Round != c.Round {
		return b.Round < c.Round
	}
	return b.Proposer < c.Proposer
}

// IsZero reports whether b is the zero ballot, lower than every real one.
func (b PaxosBallot) IsZero() bool { return b.Round == 0 }

// String formats the ballot as "round.proposer" ("3.n1"), or "0" for none.
func (b PaxosBallot) String() string {
	if b.IsZero() {
		return "0"
	}
	return fmt.Sprintf("%d.%v", b.Round, b.Proposer)
}

// PaxosPropose is the request that asks a process to propose Value. The
// process replies with PaxosDecided once it knows the decision.
type PaxosPropose struct{ Value string }

// PaxosPrepare is phase 1a: a proposer asks the acceptors to promise to
// accept no proposal with a lower ballot than Ballot.
type PaxosPrepare struct{ Ballot PaxosBallot }

// PaxosPromise is phase 1b: the acceptor promises Ballot and reports the
// proposal with the highest ballot it has accepted (Accepted zero: none).
type PaxosPromise struct {
	Ballot   PaxosBallot
	Accepted PaxosBallot
	Value    string
}

// PaxosAccept is phase 2a: a proposer asks the acceptors to accept Value
// in Ballot.
type PaxosAccept struct {
	Ballot PaxosBallot
	Value  string
}

// PaxosAccepted is phase 2b, sent by an acceptor to every learner: it has
// accepted Value in Ballot.
type PaxosAccepted struct {
	Ballot PaxosBallot
	Value  string
}

// PaxosNack tells a proposer that an acceptor ignored its prepare or accept
// for Ballot because it has promised the higher ballot Promised: the
// proposer abandons Ballot (the optimization of Paxos Made Simple §2.2).
type PaxosNack struct {
	Ballot   PaxosBallot
	Promised PaxosBallot
}

// PaxosLearn is a learner that has not heard of a decision asking the
// others: those that know the decision answer PaxosDecision, the acceptors
// that accepted a proposal answer PaxosAccepted with it (§2.3: a learner
// can ask the acceptors what they have accepted).
type PaxosLearn struct{}

// PaxosDecision tells a learner that asked what was decided.
type PaxosDecision struct{ Value string }

// PaxosDecided is emitted by a learner when it learns the decision, and is
// the reply to PaxosPropose.
type PaxosDecided struct{ Value string }

// PaxosVoted is emitted by an acceptor when it accepts a proposal, once
// that is durable: the checker counts these votes to find what was chosen.
type PaxosVoted struct {
	Ballot PaxosBallot
	Value  string
}

// PaxosMessages lists the types Paxos sends, emits, takes as requests and
// replies with, for a node.Registry.
func PaxosMessages() []any {
	return []any{PaxosPropose{}, PaxosPrepare{}, PaxosPromise{}, PaxosAccept{}, PaxosAccepted{}, PaxosNack{},
		PaxosLearn{}, PaxosDecision{}, PaxosDecided{}, PaxosVoted{}}
}

// PaxosConfig configures Paxos.
type PaxosConfig struct {
	// PhaseTimeout is how long a proposer waits for a majority of promises,
	// then for the decision after sending its accepts, before it gives
	// its ballot up and tries a higher one.
	PhaseTimeout time.Duration
	// Backoff is the base of the randomized back-off: a proposer that lost
	// a ballot (a nack or a timeout) waits a random time in
	// [0, Backoff·2^k) before its k-th new try (k at most 6), so that
	// duelling proposers end up taking turns.
	Backoff time.Duration
	// LearnInterval is how often an undecided learner asks the others.
	LearnInterval time.Duration
	// Broken selects deliberately broken variants, for the checker's tests.
	Broken PaxosBroken
}

// PaxosBroken lists Paxos's deliberately broken variants.
type PaxosBroken struct {
	// ForgetAccepted: an acceptor promises without reporting the proposal
	// it accepted, so a new proposer may propose another value.
	ForgetAccepted bool
	// IgnoreAccepted: a proposer proposes its own value even when a
	// promise reports an accepted proposal.
	IgnoreAccepted bool
	// UnsyncedAcceptor: an acceptor writes its promise and vote but
	// answers before syncing them, so a crash can make it forget both.
	UnsyncedAcceptor bool
}

// DefaultPaxosConfig suits the simulator's default network (1–5 ms links).
func DefaultPaxosConfig() PaxosConfig {
	return PaxosConfig{PhaseTimeout: 50 * time.Millisecond, Backoff: 10 * time.Millisecond, LearnInterval: 200 * time.Millisecond}
}

// The Store keys of Paxos's durable state.
const (
	paxosKeyAcceptor = "paxos/acceptor"
	paxosKeyProposer = "paxos/proposer"
	paxosKeyDecision = "paxos/decision"
)

// paxosAcceptorState is what an acceptor must not forget (§2.2: "an
// acceptor must remember this information even if it fails and then
// restarts"; §2.5: it "records its intended response in stable storage
// before actually sending the response"): the highest ballot it promised
// and the proposal it accepted.
type paxosAcceptorState struct {
	Promised PaxosBallot
	Accepted PaxosBallot
	Value    string
}

// paxosProposerState is what a proposer keeps across crashes: the value it
// was asked to propose, the requests to answer, and the highest round it
// has tried (§2.5: "each proposer remembers (in stable storage) the
// highest-numbered proposal it has tried to issue"), so it never reuses a
// ballot.
type paxosProposerState struct {
	Value     string
	Has       bool
	Requests  []node.RequestID
	LastRound uint64
}

// Timers.
type (
	paxosPhaseTimeout struct{ Ballot PaxosBallot }
	paxosRetry        struct{ Attempt int }
	paxosLearnTick    struct{}
)

// Paxos is single-decree Paxos as Lamport gives it in "Paxos Made Simple"
// (2001): every process is a proposer, an acceptor and a learner.
//
// A proposer (§2.2) picks a ballot higher than any it has seen, sends
// prepare to every acceptor, and once a majority has promised, sends accept
// with the value of the highest-ballot proposal the promises report, or its
// own value if they report none. An acceptor promises a ballot unless it
// has promised a higher one, and accepts a proposal unless it has promised
// a higher ballot; it writes its state to storage and syncs before it
// answers (§2.5), and reads it back when it restarts. Learners (§2.3, the
// first form: every acceptor tells every learner) decide once a majority
// of acceptors accepted the same ballot, and emit PaxosDecided exactly
// once: the decision is synced before it is emitted and survives restarts.
//
// A proposer that loses (a nack, or no progress within PhaseTimeout) backs
// off for a random time and tries a higher ballot, so that duelling
// proposers stop pre-empting each other (§2.4: progress needs a single
// proposer running long enough). A learner that missed the decision asks
// the others every LearnInterval.
//
// Messages to self are handled locally, without the network.
type Paxos struct {
	cfg   PaxosConfig
	env   node.Env
	local []node.Message // messages to self, handled after the current step

	// Acceptor; durable.
	acceptor paxosAcceptorState

	// Proposer. proposal is durable; the rest is the ballot in progress.
	proposal paxosProposerState
	ballot   PaxosBallot // zero: idle
	phase    int         // 0 idle, 1 collecting promises, 2 accepts sent
	promises map[node.ID]bool
	// highest is the highest-ballot proposal the promises reported.
	highest      PaxosBallot
	highestValue string
	attempt      int
	timer        node.TimerID
	// maxRound is the highest round of any ballot heard of, so that the
	// next try outbids it.
	maxRound uint64

	// Learner. decision is durable.
	votes    map[PaxosBallot]map[node.ID]bool
	decided  bool
	decision string
}

// NewPaxos returns a Paxos process.
func NewPaxos(cfg PaxosConfig) *Paxos { return &Paxos{cfg: cfg} }

func (p *Paxos) majority() int { return len(p.env.Group())/2 + 1 }

// Start implements node.Process: restore the acceptor's promise and vote,
// the proposer's value and the decision from storage, resume proposing
// after a random back-off if undecided, and start asking for the decision.
func (p *Paxos) Start(env node.Env) {
	p.env = env
	p.votes = map[PaxosBallot]map[node.ID]bool{}
	p.load(paxosKeyAcceptor, &p.acceptor)
	p.load(paxosKeyProposer, &p.proposal)
	p.load(paxosKeyDecision, &p.decision)
	_, p.decided = env.Store().Get(paxosKeyDecision)
	if p.decided {
		return
	}
	if p.proposal.Has {
		p.backOff()
	}
	env.After(p.cfg.LearnInterval, paxosLearnTick{})
}

// Request implements node.Process: a PaxosPropose makes this process a
// proposer of the value (the first it is asked to propose).
func (p *Paxos) Request(env node.Env, req node.Request) {
	p.env = env
	op, ok := req.Op.(PaxosPropose)
	if !ok {
		env.Log().Warn("paxos: unknown request", "op", req.Op)
		return
	}
	if p.decided {
		env.Reply(req.ID, PaxosDecided{Value: p.decision})
		return
	}
	p.proposal.Requests = append(p.proposal.Requests, req.ID)
	idle := !p.proposal.Has
	if idle {
		p.proposal.Value, p.proposal.Has = op.Value, true
	}
	if !p.save(paxosKeyProposer, p.proposal, true) {
		return
	}
	if idle {
		p.startBallot()
	}
	p.drain()
}

// Receive implements node.Process: one handler per message type.
func (p *Paxos) Receive(env node.Env, from node.ID, msg node.Message) {
	p.env = env
	p.handle(from, msg)
	p.drain()
}

func (p *Paxos) handle(from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case PaxosPrepare:
		p.onPrepare(from, m)
	case PaxosPromise:
		p.onPromise(from, m)
	case PaxosAccept:
		p.onAccept(from, m)
	case PaxosAccepted:
		p.onAccepted(from, m)
	case PaxosNack:
		p.onNack(m)
	case PaxosLearn:
		p.onLearn(from)
	case PaxosDecision:
		p.decide(m.Value)
	default:
		p.env.Log().Warn("paxos: unknown message", "from", from, "msg", msg)
	}
}

// Timeout implements node.Process.
func (p *Paxos) Timeout(env node.Env, timer any) {
	p.env = env
	switch t := timer.(type) {
	case paxosPhaseTimeout:
		if t.Ballot == p.ballot && p.phase != 0 && !p.decided {
			p.backOff()
		}
	case paxosRetry:
		if t.Attempt == p.attempt && p.phase == 0 && p.proposal.Has && !p.decided {
			p.startBallot()
		}
	case paxosLearnTick:
		if p.decided {
			return
		}
		p.broadcastOthers(PaxosLearn{})
		env.After(p.cfg.LearnInterval, paxosLearnTick{})
	}
	p.drain()
}

// Proposer.

// startBallot begins phase 1 with a ballot higher than any this process
// has tried, promised or heard of; the round is synced before the prepare
// leaves, so that a restart never reuses it.
func (p *Paxos) startBallot() {
	round := max(p.proposal.LastRound, p.acceptor.Promised.Round, p.maxRound) + 1
	p.proposal.LastRound = round
	if !p.save(paxosKeyProposer, p.proposal, true) {
		p.backOff()
		return
	}
	p.ballot = PaxosBallot{Round: round, Proposer: p.env.Self()}
	p.phase = 1
	p.promises = map[node.ID]bool{}
	p.highest, p.highestValue = PaxosBallot{}, ""
	p.broadcast(PaxosPrepare{Ballot: p.ballot})
	p.env.Cancel(p.timer)
	p.timer = p.env.After(p.cfg.PhaseTimeout, paxosPhaseTimeout{Ballot: p.ballot})
}

// onPromise collects promises for the current ballot; with a majority it
// sends accept with the value of the highest-ballot proposal reported, or
// its own value if none was (§2.2, phase 2a).
func (p *Paxos) onPromise(from node.ID, m PaxosPromise) {
	if p.phase != 1 || m.Ballot != p.ballot {
		return
	}
	p.promises[from] = true
	if !m.Accepted.IsZero() && p.highest.Less(m.Accepted) {
		p.highest, p.highestValue = m.Accepted, m.Value
	}
	if len(p.promises) < p.majority() {
		return
	}
	value := p.proposal.Value
	if !p.highest.IsZero() && !p.cfg.Broken.IgnoreAccepted {
		value = p.highestValue
	}
	p.phase = 2
	p.broadcast(PaxosAccept{Ballot: p.ballot, Value: value})
	p.env.Cancel(p.timer)
	p.timer = p.env.After(p.cfg.PhaseTimeout, paxosPhaseTimeout{Ballot: p.ballot})
}

// onNack abandons the current ballot if an acceptor has promised a higher
// one.
func (p *Paxos) onNack(m PaxosNack) {
	p.maxRound = max(p.maxRound, m.Promised.Round)
	if p.phase != 0 && m.Ballot == p.ballot && !p.decided {
		p.backOff()
	}
}

// backOff gives up the ballot in progress (if any) and schedules the next
// try after a random wait that doubles, on average, with every try.
func (p *Paxos) backOff() {
	p.phase = 0
	p.attempt++
	limit := p.cfg.Backoff << min(p.attempt, 6)
	wait := time.Duration(p.env.Rand().Int64N(int64(max(limit, 1))))
	p.env.Cancel(p.timer)
	p.timer = p.env.After(wait, paxosRetry{Attempt: p.attempt})
}

// Acceptor.

// onPrepare promises the ballot unless a higher one was promised (phase
// 1b), reporting the proposal accepted so far; the promise is durable
// before it leaves.
func (p *Paxos) onPrepare(from node.ID, m PaxosPrepare) {
	p.maxRound = max(p.maxRound, m.Ballot.Round)
	if m.Ballot.Less(p.acceptor.Promised) {
		p.send(from, PaxosNack{Ballot: m.Ballot, Promised: p.acceptor.Promised})
		return
	}
	if m.Ballot != p.acceptor.Promised {
		p.acceptor.Promised = m.Ballot
		if !p.save(paxosKeyAcceptor, p.acceptor, !p.cfg.Broken.UnsyncedAcceptor) {
			return
		}
	}
	promise := PaxosPromise{Ballot: m.Ballot, Accepted: p.acceptor.Accepted, Value: p.acceptor.Value}
	if p.cfg.Broken.ForgetAccepted {
		promise.Accepted, promise.Value = PaxosBallot{}, ""
	}
	p.send(from, promise)
}

// onAccept accepts the proposal unless a higher ballot was promised
// (phase 2b), durably, then tells every learner.
func (p *Paxos) onAccept(from node.ID, m PaxosAccept) {
	p.maxRound = max(p.maxRound, m.Ballot.Round)
	if m.Ballot.Less(p.acceptor.Promised) {
		p.send(from, PaxosNack{Ballot: m.Ballot, Promised: p.acceptor.Promised})
		return
	}
	if m.Ballot == p.acceptor.Accepted {
		return // a duplicate: already accepted, and the learners told
	}
	p.acceptor = paxosAcceptorState{Promised: m.Ballot, Accepted: m.Ballot, Value: m.Value}
	if !p.save(paxosKeyAcceptor, p.acceptor, !p.cfg.Broken.UnsyncedAcceptor) {
		return
	}
	p.env.Emit(PaxosVoted{Ballot: m.Ballot, Value: m.Value})
	p.broadcast(PaxosAccepted{Ballot: m.Ballot, Value: m.Value})
}

// onLearn answers a learner that asks: with the decision if this process
// knows it, else with the proposal its acceptor accepted, if any.
func (p *Paxos) onLearn(from node.ID) {
	switch {
	case p.decided:
		p.send(from, PaxosDecision{Value: p.decision})
	case !p.acceptor.Accepted.IsZero():
		p.send(from, PaxosAccepted{Ballot: p.acceptor.Accepted, Value: p.acceptor.Value})
	}
}

// Learner.

// onAccepted counts a vote; a majority of acceptors accepting the same
// ballot means its value is chosen (§2.3).
func (p *Paxos) onAccepted(from node.ID, m PaxosAccepted) {
	p.maxRound = max(p.maxRound, m.Ballot.Round)
	if p.decided {
		return
	}
	voters := p.votes[m.Ballot]
	if voters == nil {
		voters = map[node.ID]bool{}
		p.votes[m.Ballot] = voters
	}
	voters[from] = true
	if len(voters) >= p.majority() {
		p.decide(m.Value)
	}
}

// decide records the decision durably, emits it once, answers the
// proposer's requests and stops proposing.
func (p *Paxos) decide(v string) {
	if p.decided {
		return
	}
	if !p.save(paxosKeyDecision, v, true) {
		return
	}
	p.decided, p.decision = true, v
	p.env.Emit(PaxosDecided{Value: v})
	for _, req := range p.proposal.Requests {
		p.env.Reply(req, PaxosDecided{Value: v})
	}
	p.phase = 0
	p.env.Cancel(p.timer)
}

// Messaging and storage.

// send sends msg, or queues it for local handling if it is to self.
func (p *Paxos) send(to node.ID, msg node.Message) {
	if to == p.env.Self() {
		p.local = append(p.local, msg)
		return
	}
	p.env.Send(to, msg)
}

// broadcast sends msg to every process, self included.
func (p *Paxos) broadcast(msg node.Message) {
	for _, q := range p.env.Group() {
		p.send(q, msg)
	}
}

// broadcastOthers sends msg to every other process.
func (p *Paxos) broadcastOthers(msg node.Message) {
	for _, q := range p.env.Group() {
		if q != p.env.Self() {
			p.env.Send(q, msg)
		}
	}
}

// drain handles the messages to self, in order, including those that
// handling them sends.
func (p *Paxos) drain() {
	for len(p.local) > 0 {
		msg := p.local[0]
		p.local = p.local[1:]
		p.handle(p.env.Self(), msg)
	}
}

var (
	paxosEnc, _ = cbor.CanonicalEncOptions().EncMode()
	paxosDec, _ = cbor.DecOptions{}.DecMode()
)

// save writes v under key and, unless told not to, syncs; it reports
// false if the sync failed, and then the caller must not answer.
func (p *Paxos) save(key string, v any, sync bool) bool {
	b, err := paxosEnc.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("paxos: encode %T: %v", v, err)) // our own types always encode
	}
	st := p.env.Store()
	st.Set(key, b)
	if !sync {
		return true
	}
	if err := st.Sync(); err != nil {
		p.env.Log().Error("paxos: sync failed", "key", key, "err", err)
		return false
	}
	return true
}

// load reads key into v, if it was written.
func (p *Paxos) load(key string, v any) {
	b, ok := p.env.Store().Get(key)
	if !ok {
		return
	}
	if err := paxosDec.Unmarshal(b, v); err != nil {
		p.env.Log().Error("paxos: unreadable state", "key", key, "err", err)
	}
}
