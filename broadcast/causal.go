package broadcast

import (
	"slices"

	"github.com/synod-dev/synod/node"
)

// CausalDescription is the one-line summary of waiting causal broadcast.
const CausalDescription = "Waiting causal broadcast (Cachin et al. Alg. 3.15): each message carries a vector W of what its sender had delivered; deliver once W ≤ V; N(N−1) messages of N counters each"

// crbData is Alg. 3.15's [DATA, W, m], rb-broadcast by Sender: W[r] counts
// the messages of the process of rank r that the sender had delivered when
// it broadcast m, and W[Sender] the sender's own earlier broadcasts.
type crbData struct {
	Sender  node.ID
	W       []uint64
	Payload string
}

// id is the message's identity: its sender and its number at the sender,
// one more than the sender's earlier broadcasts.
func (m crbData) id() msgID { return msgID{TS: m.W[m.Sender] + 1, Sender: m.Sender} }

// CausalMessages returns one zero value of every message, emitted event,
// request op and reply type of causal broadcast, for node.NewRegistry.
func CausalMessages() []any {
	return []any{crbData{}, Broadcast{}, Sent{}, Delivered{}}
}

// CausalConfig configures NewCausal.
type CausalConfig struct {
	// NoWait selects a deliberately broken variant that delivers every
	// message as soon as reliable broadcast delivers it, without waiting
	// for W ≤ V: a message that overtakes one of its causal predecessors
	// is delivered before it.
	NoWait bool
}

// Causal is one process of causal-order broadcast: Cachin, Guerraoui and
// Rodrigues, "Introduction to Reliable and Secure Distributed Programming"
// (2nd ed., 2011), §3.9, Algorithm 3.15 "Waiting Causal Broadcast", over
// eager reliable broadcast (Alg. 3.3, the eager layer), with vector clocks
// in the manner of Birman, Schiper and Stephenson's CBCAST (1991).
//
// V[r] counts the messages from the process of rank r delivered here. To
// broadcast m a process sends [DATA, W, m] with W = V and W[self] = the
// number of its own earlier broadcasts. A receiver keeps the message in
// pending until W ≤ V, that is until it has delivered everything the sender
// had delivered (and broadcast) before m, then delivers it and counts it in
// V[sender].
//
// On top of reliable broadcast's validity, no duplication, no creation and
// agreement it promises causal delivery: if the broadcast of m1 causally
// precedes that of m2 (the same process broadcast m1 first, or the
// broadcaster of m2 had delivered m1, or a chain of these), no process
// delivers m2 unless it has already delivered m1. FIFO order is the special
// case of one sender. Same assumptions as Reliable: perfect links, crash-stop
// processes, links in any order. Each message carries N counters.
type Causal struct {
	cfg CausalConfig
	rb  eager
	// V[r] counts the messages of the process of rank r delivered here.
	V []uint64
	// lsn counts this process's broadcasts.
	lsn uint64
	// pending holds the messages rb-delivered but not yet delivered, in
	// the order they arrived.
	pending  []crbData
	requests replies
}

// NewCausal returns a process of waiting causal broadcast (Cachin et al.
// Alg. 3.15 over Alg. 3.3), or with cfg.NoWait its deliberately broken
// variant.
func NewCausal(cfg CausalConfig) node.Process {
	return &Causal{cfg: cfg, rb: newEager(false), requests: replies{}}
}

// Start implements node.Process: V := [0]^N.
func (p *Causal) Start(env node.Env) { p.V = make([]uint64, len(env.Group())) }

// Timeout implements node.Process; the algorithm sets no timers.
func (p *Causal) Timeout(env node.Env, timer any) {}

// Request implements node.Process: a Broadcast op is ⟨crb, Broadcast | m⟩:
// W := V; W[rank(self)] := lsn; lsn := lsn + 1; rb-broadcast [DATA, W, m].
func (p *Causal) Request(env node.Env, req node.Request) {
	op, ok := req.Op.(Broadcast)
	if !ok {
		env.Log().Warn("causal: unknown request op", "op", node.TypeName(req.Op))
		return
	}
	W := slices.Clone(p.V)
	W[env.Self()] = p.lsn
	p.lsn++
	m := crbData{Sender: env.Self(), W: W, Payload: op.Payload}
	id := m.id()
	p.requests[id] = req.ID
	env.Emit(Sent{Sender: id.Sender, TS: id.TS, Payload: m.Payload})
	p.rb.broadcast(env, id, m)
	p.rbDeliver(env, m)
}

// Receive implements node.Process: [DATA, W, m] is the one message.
func (p *Causal) Receive(env node.Env, from node.ID, msg node.Message) {
	m, ok := msg.(crbData)
	if !ok || len(m.W) != len(p.V) || int(m.Sender) < 0 || int(m.Sender) >= len(p.V) {
		env.Log().Warn("causal: unknown or malformed message", "from", from, "type", node.TypeName(msg))
		return
	}
	p.onData(env, m)
}

// onData is eager reliable broadcast's beb-Deliver handler: the first time
// m arrives, rb-deliver it and relay it.
func (p *Causal) onData(env node.Env, m crbData) {
	if !p.rb.first(m.id()) {
		return
	}
	p.rbDeliver(env, m)
	p.rb.relay(env, m)
}

// rbDeliver handles ⟨rb, Deliver | p, [DATA, W, m]⟩: add m to pending, then
// while some pending message has W ≤ V, remove it, count it in V and
// deliver it.
func (p *Causal) rbDeliver(env node.Env, m crbData) {
	if p.cfg.NoWait {
		p.V[m.Sender]++
		p.requests.deliver(env, m.id(), m.Payload)
		return
	}
	p.pending = append(p.pending, m)
	for {
		i := slices.IndexFunc(p.pending, func(m crbData) bool { return leq(m.W, p.V) })
		if i < 0 {
			return
		}
		m := p.pending[i]
		p.pending = slices.Delete(p.pending, i, i+1)
		p.V[m.Sender]++
		p.requests.deliver(env, m.id(), m.Payload)
	}
}

// leq reports whether W ≤ V entry by entry.
func leq(W, V []uint64) bool {
	for r := range W {
		if W[r] > V[r] {
			return false
		}
	}
	return true
}
