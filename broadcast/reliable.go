package broadcast

import "github.com/synod-dev/synod/node"

// ReliableDescription is the one-line summary of eager reliable broadcast.
const ReliableDescription = "Eager reliable broadcast (Cachin et al. Alg. 3.3): every process relays a message to all when it first delivers it; N(N−1) messages"

// TextbookReliableMessages is the cost of one eager reliable broadcast in a
// group of n that loses nobody: the broadcaster's best-effort broadcast, n−1
// messages, and each of the n−1 others relaying it once to the n−1 processes
// other than itself, n(n−1) in all (Cachin et al. §3.3: O(N²)). FIFO and
// causal broadcast, built on it, cost the same.
func TextbookReliableMessages(n int) float64 { return float64(n) * float64(n-1) }

// rbData is Alg. 3.3's [DATA, s, m]: the message m of the original
// broadcaster s, whoever relays it. (Sender, Seq) is m's identity.
type rbData struct {
	Sender  node.ID
	Seq     uint64
	Payload string
}

// ReliableMessages returns one zero value of every message, emitted event,
// request op and reply type of eager reliable broadcast, for
// node.NewRegistry.
func ReliableMessages() []any {
	return []any{rbData{}, Broadcast{}, Sent{}, Delivered{}}
}

// ReliableConfig configures NewReliable.
type ReliableConfig struct {
	// NoRelay selects a deliberately broken variant that delivers a message
	// without relaying it: it is then only best-effort broadcast, and when
	// the broadcaster crashes having reached some processes but not others,
	// agreement fails.
	NoRelay bool
}

// eager is Algorithm 3.3's bookkeeping and relaying, as a layer that FIFO
// and causal broadcast build on, as the book's algorithms use an instance
// rb. The messages it relays are the layer above's, sent as they are (each
// its own [DATA, s, m]).
type eager struct {
	noRelay bool
	// delivered holds the messages rb-delivered here (Alg. 3.3's delivered).
	delivered map[msgID]bool
}

func newEager(noRelay bool) eager { return eager{noRelay: noRelay, delivered: map[msgID]bool{}} }

// broadcast is ⟨rb, Broadcast | m⟩: beb-broadcast [DATA, self, m]; the
// caller rb-delivers m to itself at once. (In the book the broadcaster then
// beb-delivers its own message and relays it a second time; here its own
// beb-broadcast stands for that relay.)
func (rb *eager) broadcast(env node.Env, id msgID, m node.Message) {
	rb.delivered[id] = true
	bebBroadcast(env, m)
}

// first is the test of Alg. 3.3's beb-Deliver handler, "if m ∉ delivered",
// and its first step, "delivered := delivered ∪ {m}": it reports whether m
// is new here, which obliges the caller to rb-deliver it and then relay it.
func (rb *eager) first(id msgID) bool {
	if rb.delivered[id] {
		return false
	}
	rb.delivered[id] = true
	return true
}

// relay is the handler's last step: beb-broadcast [DATA, s, m] again.
func (rb *eager) relay(env node.Env, m node.Message) {
	if !rb.noRelay {
		bebBroadcast(env, m)
	}
}

// Reliable is one process of (regular) reliable broadcast, eager form:
// Cachin, Guerraoui and Rodrigues, "Introduction to Reliable and Secure
// Distributed Programming" (2nd ed., 2011), §3.3, Algorithm 3.3 "Eager
// Reliable Broadcast". A process that delivers a message for the first time
// relays it to everyone before anything else, so if any correct process
// delivers m, every correct process does, even when the broadcaster crashed
// halfway through sending it.
//
// It promises validity, no duplication, no creation and (regular, not
// uniform) agreement: if a correct process delivers m, every correct process
// eventually delivers m. A process that delivers m and crashes before its
// relays leave may be the only one to have delivered it; uniform agreement
// (Alg. 3.4) would need the majority-ack scheme this algorithm does without.
// It needs no failure detector, on perfect links and crash-stop processes;
// the relays make the cost N(N−1) messages per broadcast where best-effort
// broadcast pays N−1, and delivery takes one communication step.
type Reliable struct {
	rb       eager
	lsn      uint64 // numbers this process's broadcasts
	requests replies
}

// NewReliable returns a process of eager reliable broadcast (Cachin et al.
// Alg. 3.3), or with cfg.NoRelay its deliberately broken variant.
func NewReliable(cfg ReliableConfig) node.Process {
	return &Reliable{rb: newEager(cfg.NoRelay), requests: replies{}}
}

// Start implements node.Process; the algorithm keeps no durable state.
func (p *Reliable) Start(env node.Env) {}

// Timeout implements node.Process; the algorithm sets no timers.
func (p *Reliable) Timeout(env node.Env, timer any) {}

// Request implements node.Process: a Broadcast op is ⟨rb, Broadcast | m⟩.
func (p *Reliable) Request(env node.Env, req node.Request) {
	op, ok := req.Op.(Broadcast)
	if !ok {
		env.Log().Warn("reliable: unknown request op", "op", node.TypeName(req.Op))
		return
	}
	p.lsn++
	id := msgID{TS: p.lsn, Sender: env.Self()}
	p.requests[id] = req.ID
	env.Emit(Sent{Sender: id.Sender, TS: id.TS, Payload: op.Payload})
	p.rb.broadcast(env, id, rbData{Sender: id.Sender, Seq: id.TS, Payload: op.Payload})
	p.requests.deliver(env, id, op.Payload)
}

// Receive implements node.Process: [DATA, s, m] is the one message.
func (p *Reliable) Receive(env node.Env, from node.ID, msg node.Message) {
	m, ok := msg.(rbData)
	if !ok {
		env.Log().Warn("reliable: unknown message", "from", from, "type", node.TypeName(msg))
		return
	}
	p.onData(env, m)
}

// onData handles ⟨beb, Deliver | p, [DATA, s, m]⟩: the first time m
// arrives, trigger ⟨rb, Deliver | s, m⟩ and relay it.
func (p *Reliable) onData(env node.Env, m rbData) {
	id := msgID{TS: m.Seq, Sender: m.Sender}
	if !p.rb.first(id) {
		return
	}
	p.requests.deliver(env, id, m.Payload)
	p.rb.relay(env, m)
}
