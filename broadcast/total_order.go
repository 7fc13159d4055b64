package broadcast

import (
	"slices"

	"github.com/synod-dev/synod/clock"
	"github.com/synod-dev/synod/node"
)

// TotalOrderDescription is the one-line summary of the algorithm in
// total_order.go, for catalogs and reports.
const TotalOrderDescription = "Lamport's totally ordered multicast (1978): timestamped messages queued in (timestamp, sender) order, delivered once every process has acknowledged; N(N−1) messages per multicast"

// TextbookMessagesPerMulticast is the textbook message cost of one multicast
// in a group of n processes (van Steen & Tanenbaum §5.2): the sender sends
// the message to the n−1 others, and each of those n−1 receivers sends an
// acknowledgement to the n−1 processes other than itself, n(n−1) in all.
func TextbookMessagesPerMulticast(n int) float64 {
	return float64(n) * float64(n-1)
}

// Multicast is the request op that asks a process to multicast Payload to the
// whole group in total order. The request is answered with the Delivered
// event of the message once the originating process itself delivers it.
type Multicast struct {
	Payload string
}

// message is the multicast itself: Lamport's "T_m:P_i" with its payload. The
// sender sends it to every other process (van Steen & Tanenbaum §5.2: "each
// message is always timestamped with the current (logical) time of its
// sender").
type message struct {
	TS      uint64
	Sender  node.ID
	Payload string
}

// ack acknowledges the message (MsgTS, MsgSender) to every process but the
// acknowledger, timestamped with the acknowledger's clock TS. With FIFO links
// its timestamp, later than the message's, is what tells the receiver that no
// earlier message from the acknowledger is still on its way (Lamport 1978,
// condition (ii) of rule 5).
type ack struct {
	TS        uint64
	MsgTS     uint64
	MsgSender node.ID
}

// TotalOrderMessages returns one zero value of every message, emitted event, request op
// and reply type of the total-order multicast, for node.NewRegistry.
func TotalOrderMessages() []any {
	return []any{message{}, ack{}, Multicast{}, Sent{}, Delivered{}}
}

// TotalOrderConfig configures NewTotalOrder.
type TotalOrderConfig struct {
	// EarlyDeliver selects a deliberately broken variant that delivers the
	// head of the queue at once, without waiting for every process to
	// acknowledge it. Processes then deliver concurrent multicasts in
	// different orders, which CheckTotalOrder must catch.
	EarlyDeliver bool
}

// pending is a multicast a process knows of (from the message itself or from
// an acknowledgement that overtook it) and has not delivered yet.
type pending struct {
	id      msgID
	payload string
	queued  bool             // the message itself has arrived (or was sent here)
	acked   map[node.ID]bool // processes known to have acknowledged it
}

// TotalOrder is one process of Lamport's totally ordered multicast (Lamport
// 1978, "Time, Clocks, and the Ordering of Events in a Distributed System",
// section "Ordering the Events Totally", the request queue of the
// mutual-exclusion example; van Steen & Tanenbaum, Distributed Systems, 4th
// ed., §5.2 "Totally ordered multicasting").
//
// Every process keeps a Lamport clock and a queue of messages ordered by
// (timestamp, sender). A multicast is timestamped and sent to everyone;
// every receiver queues it and acknowledges it to everyone; a process
// delivers the head of its queue once every process has acknowledged it.
// With FIFO links this is Lamport's condition, and every process delivers
// the same messages in the same order, which also respects happens-before.
//
// The algorithm assumes reliable FIFO links and no crashes. Reordering links
// can make processes deliver in different orders. A lost message or
// acknowledgement, or a crashed process, blocks delivery for good; the
// order of what is delivered survives loss, but causal order does not (a
// process that lost m1 can deliver its sender's later m2). Duplicated
// messages and acknowledgements are harmless: both are idempotent.
type TotalOrder struct {
	cfg TotalOrderConfig

	// clock is the Lamport clock (rules IR1 and IR2 of the 1978 paper).
	clock clock.Lamport
	// queue holds the received, undelivered messages.
	// Invariant: sorted by msgID, every element has queued set.
	queue []*pending
	// known maps every undelivered multicast this process has heard of to
	// its state; a message enters when it or an ack of it first arrives.
	known map[msgID]*pending
	// delivered holds the multicasts already delivered here, so that a
	// duplicate message or a late acknowledgement cannot bring one back.
	delivered map[msgID]bool
	// requests maps this process's own multicasts to the requests that
	// asked for them, to be answered on delivery.
	requests map[msgID]node.RequestID
}

// NewTotalOrder returns a process of Lamport's totally ordered multicast
// (Lamport 1978; van Steen & Tanenbaum §5.2), or with cfg.EarlyDeliver its
// deliberately broken variant.
func NewTotalOrder(cfg TotalOrderConfig) node.Process {
	return &TotalOrder{
		cfg:       cfg,
		known:     map[msgID]*pending{},
		delivered: map[msgID]bool{},
		requests:  map[msgID]node.RequestID{},
	}
}

// Start implements node.Process. The algorithm keeps no durable state: it
// assumes processes do not crash.
func (p *TotalOrder) Start(env node.Env) {}

// Timeout implements node.Process. The algorithm sets no timers.
func (p *TotalOrder) Timeout(env node.Env, timer any) {}

// Request implements node.Process: a Multicast op starts a multicast.
func (p *TotalOrder) Request(env node.Env, req node.Request) {
	switch op := req.Op.(type) {
	case Multicast:
		p.multicast(env, req.ID, op.Payload)
	default:
		env.Log().Warn("total order: unknown request op", "op", node.TypeName(req.Op))
	}
}

// Receive implements node.Process, dispatching to one handler per message.
func (p *TotalOrder) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case message:
		p.onMessage(env, m)
	case ack:
		p.onAck(env, from, m)
	default:
		env.Log().Warn("total order: unknown message", "from", from, "type", node.TypeName(msg))
	}
}

// multicast timestamps the payload with the Lamport clock (IR2(a): the send
// is an event, so the clock ticks first), sends it to every other process and queues it locally. The
// sender's own message counts as its acknowledgement.
func (p *TotalOrder) multicast(env node.Env, req node.RequestID, payload string) {
	id := msgID{TS: p.clock.Send(), Sender: env.Self()}
	p.requests[id] = req
	env.Emit(Sent{Sender: id.Sender, TS: id.TS, Payload: payload})
	for _, q := range env.Group() {
		if q != env.Self() {
			env.Send(q, message{TS: id.TS, Sender: id.Sender, Payload: payload})
		}
	}
	p.enqueue(env, id, payload)
	p.deliver(env)
}

// onMessage handles the arrival of a multicast: advance the clock past the
// message's timestamp (IR2), put the message in the queue, and acknowledge
// it to every other process. A duplicate is ignored.
func (p *TotalOrder) onMessage(env node.Env, m message) {
	id := msgID{TS: m.TS, Sender: m.Sender}
	p.clock.Receive(m.TS)
	if p.delivered[id] || (p.known[id] != nil && p.known[id].queued) {
		return
	}
	p.enqueue(env, id, m.Payload)
	ts := p.clock.Send()
	for _, q := range env.Group() {
		if q != env.Self() {
			env.Send(q, ack{TS: ts, MsgTS: id.TS, MsgSender: id.Sender})
		}
	}
	p.deliver(env)
}

// onAck handles an acknowledgement: advance the clock (IR2) and record that
// from has acknowledged the message, which may not have arrived yet.
func (p *TotalOrder) onAck(env node.Env, from node.ID, a ack) {
	p.clock.Receive(a.TS)
	id := msgID{TS: a.MsgTS, Sender: a.MsgSender}
	if p.delivered[id] {
		return
	}
	p.lookup(id).acked[from] = true
	p.deliver(env)
}

// deliver delivers messages from the head of the queue for as long as the
// head has been acknowledged by every process in the group (Lamport's rule
// 5; van Steen & Tanenbaum: "a process can deliver a queued message to the
// application it is running only when that message is at the head of the
// queue and has been acknowledged by each other process"). The broken
// EarlyDeliver variant skips the acknowledgement test.
func (p *TotalOrder) deliver(env node.Env) {
	for len(p.queue) > 0 {
		head := p.queue[0]
		if !p.cfg.EarlyDeliver && !p.allAcked(env, head) {
			return
		}
		p.queue = p.queue[1:]
		delete(p.known, head.id)
		p.delivered[head.id] = true
		d := Delivered{Sender: head.id.Sender, TS: head.id.TS, Payload: head.payload}
		env.Emit(d)
		if req, ok := p.requests[head.id]; ok {
			delete(p.requests, head.id)
			env.Reply(req, d)
		}
	}
}

func (p *TotalOrder) allAcked(env node.Env, m *pending) bool {
	for _, q := range env.Group() {
		if !m.acked[q] {
			return false
		}
	}
	return true
}

// enqueue inserts a newly arrived message into the queue in (timestamp,
// sender) order. The sender and this process count as having acknowledged it.
func (p *TotalOrder) enqueue(env node.Env, id msgID, payload string) {
	m := p.lookup(id)
	m.payload = payload
	m.queued = true
	m.acked[id.Sender] = true
	m.acked[env.Self()] = true
	i, _ := slices.BinarySearchFunc(p.queue, id, func(e *pending, id msgID) int { return e.id.compare(id) })
	p.queue = slices.Insert(p.queue, i, m)
}

// lookup returns the state of an undelivered multicast, creating it when
// this is the first this process hears of it.
func (p *TotalOrder) lookup(id msgID) *pending {
	m, ok := p.known[id]
	if !ok {
		m = &pending{id: id, acked: map[node.ID]bool{}}
		p.known[id] = m
	}
	return m
}
