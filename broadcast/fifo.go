package broadcast

import "github.com/synod-dev/synod/node"

// FIFODescription is the one-line summary of FIFO-order reliable broadcast.
const FIFODescription = "FIFO reliable broadcast (Cachin et al. Alg. 3.12): sequence numbers per sender over eager reliable broadcast; deliver each sender's messages in order; N(N−1) messages"

// fifoData is Alg. 3.12's [DATA, p, m, lsn], rb-broadcast by p: its message
// m and its sequence number, from 1.
type fifoData struct {
	Sender  node.ID
	LSN     uint64
	Payload string
}

// FIFOMessages returns one zero value of every message, emitted event,
// request op and reply type of FIFO reliable broadcast, for node.NewRegistry.
func FIFOMessages() []any {
	return []any{fifoData{}, Broadcast{}, Sent{}, Delivered{}}
}

// FIFOConfig configures NewFIFO.
type FIFOConfig struct {
	// NoOrder selects a deliberately broken variant that delivers every
	// message as soon as reliable broadcast delivers it, without waiting
	// for the sender's earlier ones: a relay that overtakes the original
	// breaks FIFO order.
	NoOrder bool
}

// FIFO is one process of FIFO-order reliable broadcast: Cachin, Guerraoui
// and Rodrigues, "Introduction to Reliable and Secure Distributed
// Programming" (2nd ed., 2011), §3.9, Algorithm 3.12 "Broadcast with Sequence
// Number", over eager reliable broadcast (Alg. 3.3, the eager layer).
//
// Each process numbers its broadcasts lsn = 1, 2, ... and rb-broadcasts
// [DATA, self, m, lsn]. A receiver keeps what reliable broadcast delivers in
// pending and delivers the messages of sender s strictly in the order
// next[s], next[s]+1, ...
//
// On top of reliable broadcast's validity, no duplication, no creation and
// agreement it promises FIFO delivery: if some process broadcasts m1 before
// m2, no process delivers m2 unless it has already delivered m1. (The book
// states it for correct processes; the waiting gives it to every process.)
// Same assumptions as Reliable: perfect links, crash-stop processes. The
// links need not be FIFO: reliable broadcast's relays reorder anyway.
type FIFO struct {
	cfg FIFOConfig
	rb  eager
	// lsn is the sequence number of this process's last broadcast.
	lsn uint64
	// pending holds, by sender and then sequence number, the messages
	// rb-delivered but not yet delivered.
	// Invariant: between steps every key of pending[s] exceeds next[s].
	pending map[node.ID]map[uint64]fifoData
	// next[s] is the sequence number of the next message to deliver from
	// sender s (the book's next); a sender missing from it is at 1.
	next     map[node.ID]uint64
	requests replies
}

// NewFIFO returns a process of FIFO reliable broadcast (Cachin et al.
// Alg. 3.12 over Alg. 3.3), or with cfg.NoOrder its deliberately broken
// variant.
func NewFIFO(cfg FIFOConfig) node.Process {
	return &FIFO{cfg: cfg, rb: newEager(false), pending: map[node.ID]map[uint64]fifoData{},
		next: map[node.ID]uint64{}, requests: replies{}}
}

// Start implements node.Process; the algorithm keeps no durable state.
func (p *FIFO) Start(env node.Env) {}

// Timeout implements node.Process; the algorithm sets no timers.
func (p *FIFO) Timeout(env node.Env, timer any) {}

// Request implements node.Process: a Broadcast op is ⟨frb, Broadcast | m⟩:
// lsn := lsn + 1; rb-broadcast [DATA, self, m, lsn].
func (p *FIFO) Request(env node.Env, req node.Request) {
	op, ok := req.Op.(Broadcast)
	if !ok {
		env.Log().Warn("fifo: unknown request op", "op", node.TypeName(req.Op))
		return
	}
	p.lsn++
	m := fifoData{Sender: env.Self(), LSN: p.lsn, Payload: op.Payload}
	id := msgID{TS: m.LSN, Sender: m.Sender}
	p.requests[id] = req.ID
	env.Emit(Sent{Sender: id.Sender, TS: id.TS, Payload: m.Payload})
	p.rb.broadcast(env, id, m)
	p.rbDeliver(env, m)
}

// Receive implements node.Process: [DATA, p, m, lsn] is the one message.
func (p *FIFO) Receive(env node.Env, from node.ID, msg node.Message) {
	m, ok := msg.(fifoData)
	if !ok {
		env.Log().Warn("fifo: unknown message", "from", from, "type", node.TypeName(msg))
		return
	}
	p.onData(env, m)
}

// onData is eager reliable broadcast's beb-Deliver handler: the first time
// m arrives, rb-deliver it and relay it.
func (p *FIFO) onData(env node.Env, m fifoData) {
	if !p.rb.first(msgID{TS: m.LSN, Sender: m.Sender}) {
		return
	}
	p.rbDeliver(env, m)
	p.rb.relay(env, m)
}

// rbDeliver handles ⟨rb, Deliver | p, [DATA, s, m, sn]⟩: add m to pending,
// then while pending holds the message numbered next[s], deliver it and
// move next[s] on.
func (p *FIFO) rbDeliver(env node.Env, m fifoData) {
	if p.cfg.NoOrder {
		p.requests.deliver(env, msgID{TS: m.LSN, Sender: m.Sender}, m.Payload)
		return
	}
	s := m.Sender
	if p.pending[s] == nil {
		p.pending[s] = map[uint64]fifoData{}
	}
	p.pending[s][m.LSN] = m
	for {
		next := max(p.next[s], 1)
		head, ok := p.pending[s][next]
		if !ok {
			return
		}
		delete(p.pending[s], next)
		p.next[s] = next + 1
		p.requests.deliver(env, msgID{TS: head.LSN, Sender: s}, head.Payload)
	}
}
