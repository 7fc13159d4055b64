package mutex

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
)

// TokenRingDescription is the one-line summary of the algorithm in
// token_ring.go, for catalogs and reports.
const TokenRingDescription = "Token ring (Le Lann 1977; van Steen & Tanenbaum §5.3.4): one token circulates n0→n1→…→n0 over stubborn links; 0 to N−1 message delays to enter"

// token is the token. Seq numbers its passes: the k-th time the token moves
// on it carries Seq k, so a receiver tells a retransmission (Seq no higher
// than the last it accepted) from the token's next visit.
type token struct {
	Seq uint64
}

// tokenAck acknowledges the token pass Seq to its sender: the stubborn
// link's acknowledgement, which stops the retransmissions.
type tokenAck struct {
	Seq uint64
}

// retransmit is the timer of the stubborn link: when it fires and the pass
// Seq is still unacknowledged, the token is sent again.
type retransmit struct {
	Seq uint64
}

// TokenRingMessages returns one zero value of every message, emitted event,
// request op, reply and timer of the token ring, for node.NewRegistry.
func TokenRingMessages() []any {
	return append(sharedMessages(), token{}, tokenAck{}, retransmit{})
}

// DefaultRetransmit is the stubborn link's retransmission interval when
// TokenRingConfig leaves it zero: 8 ms, a little under the simulator's
// default worst round trip (2 × 5 ms), as a timeout tuned to the common
// case is on a real network. About one pass in eight is therefore
// retransmitted although nothing was lost, and deduplication must discard
// the copy.
const DefaultRetransmit = 8 * time.Millisecond

// TokenRingConfig configures NewTokenRing.
type TokenRingConfig struct {
	// Hold is the time spent inside the critical section (zero: DefaultHold).
	Hold HoldTime
	// Retransmit is the stubborn link's retransmission interval (zero:
	// DefaultRetransmit).
	Retransmit time.Duration
	// NoDedup selects a deliberately broken variant that does not compare
	// sequence numbers: it knows a copy of the token for what it is only
	// while it has the token in hand (inside, or passing it on), and takes
	// one that arrives later — a retransmission whose first copy was merely
	// slow to be acknowledged — for a new token. That puts a second token on
	// the ring, and two processes enter at once, which CheckTokenRing
	// catches. (Tokens that catch up with each other at a process merge, so
	// their number stays small.)
	NoDedup bool
}

// TokenRing is one process of the token-ring algorithm (G. Le Lann,
// "Distributed Systems — Towards a Formal Approach", IFIP 1977; van Steen &
// Tanenbaum, Distributed Systems, 4th ed., §5.3.4 "A token-ring
// algorithm"). The processes form a logical ring in rank order, n0 → n1 →
// … → n(N−1) → n0, and a single token circulates on it, starting at n0. A
// process that receives the token enters the critical section if it has a
// request to serve, leaves, and passes the token to its successor; one that
// does not passes it on at once. Each process enters at most once per
// rotation, so nobody waits longer than one rotation: 0 to N−1 message
// delays. The token keeps moving when nobody wants it, so an entry costs
// from 1 to an unbounded number of messages, N per rotation.
//
// The token is not lost to a single message drop because the links it
// travels are stubborn (Cachin, Guerraoui & Rodrigues, "Introduction to
// Reliable and Secure Distributed Programming", §2.4): a pass is
// retransmitted every Retransmit until the successor acknowledges it, and
// the successor discards copies by sequence number, which makes the link
// perfect. The token also survives crash-recovery: a process syncs the
// token to storage before it acknowledges it, and syncs a pass before it
// sends it, so a restarted process resumes holding or passing it. What the
// ring does not survive is a process that stays down: the token waits at
// its predecessor for good (the textbook's remedy, reconfiguring the ring
// around the dead process, is not implemented).
type TokenRing struct {
	cfg TokenRingConfig
	cs  section

	// The durable state, synced as described above.

	// received is the Seq of the latest token pass this process accepted
	// (0: none yet).
	received uint64
	// holding is true while this process has the token and has not yet
	// passed it on: while it is inside, or for the whole run if it is alone.
	holding bool
	// passing is the Seq of the pass in flight to the successor, sent again
	// until acknowledged (0: none).
	// Invariant: !(holding && passing != 0).
	passing uint64
}

// NewTokenRing returns a process of the token ring, or with cfg.NoDedup its
// deliberately broken variant.
func NewTokenRing(cfg TokenRingConfig) node.Process {
	if cfg.Retransmit <= 0 {
		cfg.Retransmit = DefaultRetransmit
	}
	return &TokenRing{cfg: cfg, cs: section{hold: cfg.Hold}}
}

// tokenKey is where a process keeps its token state.
const tokenKey = "mutex/token-ring"

// Start implements node.Process. At the first boot the first process of the
// group creates the token; after a restart a process reads back whether it
// held or was passing the token, and carries on.
func (p *TokenRing) Start(env node.Env) {
	found, err := p.load(env.Store())
	if err != nil {
		env.Log().Error("token ring: starting without the token", "err", err)
	}
	if !found && env.Self() == env.Group()[0] {
		p.holding = true
		p.save(env, true)
	}
	switch {
	case p.holding:
		p.use(env)
	case p.passing != 0:
		p.send(env)
	}
}

// Request implements node.Process: an Acquire joins this process's queue;
// if the process holds the token (it is alone on the ring) it enters at once.
func (p *TokenRing) Request(env node.Env, req node.Request) {
	if _, ok := req.Op.(Acquire); !ok {
		unknownOp(env, "token ring", req.Op)
		return
	}
	if p.cs.add(req.ID) && p.holding {
		p.use(env)
	}
}

// Timeout implements node.Process: the end of a stay in the critical
// section passes the token on; a retransmission timer resends an
// unacknowledged pass.
func (p *TokenRing) Timeout(env node.Env, timer any) {
	switch t := timer.(type) {
	case leaveCS:
		if p.cs.leave(env, t) {
			p.pass(env)
		}
	case retransmit:
		if t.Seq == p.passing {
			p.send(env)
		}
	}
}

// Receive implements node.Process, dispatching to one handler per message.
func (p *TokenRing) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case token:
		p.onToken(env, from, m)
	case tokenAck:
		p.onAck(env, m)
	default:
		unknownMessage(env, "token ring", from, msg)
	}
}

// onToken accepts the token, unless this copy is one already accepted, and
// acknowledges it either way once it is durable. A token that comes back
// while this process still retransmits its last pass proves that pass
// arrived: the retransmissions stop.
func (p *TokenRing) onToken(env node.Env, from node.ID, m token) {
	if m.Seq <= p.received && (!p.cfg.NoDedup || p.holding || p.passing != 0) {
		env.Send(from, tokenAck{Seq: m.Seq}) // a copy: its ack may have been lost
		return
	}
	p.received, p.holding, p.passing = m.Seq, true, 0
	p.save(env, true)
	env.Send(from, tokenAck{Seq: m.Seq})
	p.use(env)
}

// use spends a token just received: enter the critical section if a request
// waits, else pass the token on.
func (p *TokenRing) use(env node.Env) {
	switch {
	case p.cs.inside:
	case p.cs.wants():
		p.cs.enter(env, p.received)
	default:
		p.pass(env)
	}
}

// pass hands the token to the successor on the ring, durably first. A
// process alone on the ring keeps it.
func (p *TokenRing) pass(env node.Env) {
	if successor(env) == env.Self() {
		if p.cs.wants() {
			p.cs.enter(env, p.received)
		}
		return
	}
	p.holding, p.passing = false, p.received+1
	p.save(env, true)
	p.send(env)
}

// send sends the pass in flight and arms its retransmission.
func (p *TokenRing) send(env node.Env) {
	env.Send(successor(env), token{Seq: p.passing})
	env.After(p.cfg.Retransmit, retransmit{Seq: p.passing})
}

// onAck stops the retransmissions of an acknowledged pass. There is no need
// to sync: after a crash the pass is sent again and the successor discards
// the copy.
func (p *TokenRing) onAck(env node.Env, m tokenAck) {
	if m.Seq == p.passing {
		p.passing = 0
		p.save(env, false)
	}
}

// successor is the next process on the ring.
func successor(env node.Env) node.ID {
	g := env.Group()
	for i, id := range g {
		if id == env.Self() {
			return g[(i+1)%len(g)]
		}
	}
	return g[0]
}

// save writes the durable state, and syncs it if sync is set.
func (p *TokenRing) save(env node.Env, sync bool) {
	holding := uint64(0)
	if p.holding {
		holding = 1
	}
	var b []byte
	for _, x := range []uint64{p.received, holding, p.passing} {
		b = binary.AppendUvarint(b, x)
	}
	st := env.Store()
	st.Set(tokenKey, b)
	if sync {
		if err := st.Sync(); err != nil {
			env.Log().Error("token ring: sync", "err", err)
		}
	}
}

var errCorrupt = errors.New("corrupt record")

// load reads back what save wrote, and reports whether there was anything.
func (p *TokenRing) load(st node.Store) (bool, error) {
	b, ok := st.Get(tokenKey)
	if !ok {
		return false, nil
	}
	var xs [3]uint64
	for i := range xs {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			return true, fmt.Errorf("token ring: load %s: %w", tokenKey, errCorrupt)
		}
		xs[i], b = x, b[n:]
	}
	p.received, p.holding, p.passing = xs[0], xs[1] == 1, xs[2]
	return true, nil
}
