package broadcast

import "github.com/synod-dev/synod/node"

// SequencerDescription is the one-line summary of fixed-sequencer total-order
// broadcast.
const SequencerDescription = "Fixed-sequencer total-order broadcast (Défago, Schiper, Urbán 2004 §4.1, UB form; Amoeba's PB method): the sender unicasts to the sequencer n0, which numbers and sends to all; deliver in number order; N messages"

// TextbookSequencerMessages is the mean cost of one fixed-sequencer broadcast
// in a group of n when every process broadcasts equally often: one unicast to
// the sequencer and n−1 messages from it, n in all, except that the
// sequencer's own broadcasts (one in n) need no unicast: n − 1/n.
func TextbookSequencerMessages(n int) float64 { return float64(n) - 1/float64(n) }

// toSequencer carries a broadcast from its sender to the sequencer: the
// "m" of Défago et al.'s Figure 5(a). (Sender, Seq) is m's identity.
type toSequencer struct {
	Sender  node.ID
	Seq     uint64
	Payload string
}

// sequenced is the sequencer's broadcast of m with the sequence number SN
// it gave m: Défago et al.'s "(m, seq#)".
type sequenced struct {
	SN      uint64
	Sender  node.ID
	Seq     uint64
	Payload string
}

// SequencerMessages returns one zero value of every message, emitted event,
// request op and reply type of fixed-sequencer total-order broadcast, for
// node.NewRegistry.
func SequencerMessages() []any {
	return []any{toSequencer{}, sequenced{}, Broadcast{}, Sent{}, Delivered{}}
}

// SequencerConfig configures NewSequencer.
type SequencerConfig struct {
	// Sequencer is the fixed sequencer's rank (n0 by default).
	Sequencer node.ID
	// LocalFirst selects a deliberately broken variant in which the sender
	// delivers its own message at once instead of waiting for the
	// sequencer's number: when the sequencer orders another process's
	// message first, the sender delivers the two in the opposite order to
	// everyone else, which breaks total order.
	LocalFirst bool
}

// Sequencer is one process of total-order (atomic) broadcast by a fixed
// sequencer: Défago, Schiper and Urbán, "Total Order Broadcast and Multicast
// Algorithms: Taxonomy and Survey" (ACM Computing Surveys 36(4), 2004), §4.1
// "Fixed sequencer", in its unicast-broadcast (UB) form, which is the
// point-to-point-then-broadcast ("PB") method of Kaashoek and Tanenbaum's
// Amoeba (1989).
//
// One process, the sequencer, orders everything. A sender unicasts its
// message to the sequencer; the sequencer gives it the next sequence number
// SN and sends (m, SN) to every other process; every process delivers the
// messages in SN order, holding back any that arrive early.
//
// It promises validity, no duplication, no creation, agreement and total
// order (every process delivers the same sequence, a process that stops
// early delivering a prefix of it), on reliable links (in any order) as
// long as the sequencer does not crash; any other process may crash. The
// sequencer is a single point of failure and a bottleneck: the price of
// total order in N messages per broadcast and two communication steps.
type Sequencer struct {
	cfg SequencerConfig
	// lsn counts this process's broadcasts.
	lsn uint64
	// sn is the last sequence number the sequencer gave (sequencer only).
	sn uint64
	// ordered holds the messages the sequencer has numbered, so that a
	// duplicated unicast is not numbered twice (sequencer only).
	ordered map[msgID]bool
	// next is the sequence number of the next message to deliver, from 1.
	next uint64
	// pending holds the numbered messages that arrived before their turn.
	// Invariant: between steps every key exceeds next.
	pending map[uint64]sequenced
	// early holds this process's own messages it delivered ahead of their
	// number (the broken LocalFirst variant only), so as not to deliver
	// them again.
	early    map[msgID]bool
	requests replies
}

// NewSequencer returns a process of fixed-sequencer total-order broadcast
// (Défago et al. 2004 §4.1), or with cfg.LocalFirst its deliberately broken
// variant.
func NewSequencer(cfg SequencerConfig) node.Process {
	return &Sequencer{cfg: cfg, ordered: map[msgID]bool{}, next: 1, pending: map[uint64]sequenced{},
		early: map[msgID]bool{}, requests: replies{}}
}

// Start implements node.Process; the algorithm keeps no durable state.
func (p *Sequencer) Start(env node.Env) {}

// Timeout implements node.Process; the algorithm sets no timers.
func (p *Sequencer) Timeout(env node.Env, timer any) {}

// Request implements node.Process: a Broadcast op is TO-broadcast(m): send
// m to the sequencer (or, at the sequencer, number it at once).
func (p *Sequencer) Request(env node.Env, req node.Request) {
	op, ok := req.Op.(Broadcast)
	if !ok {
		env.Log().Warn("sequencer: unknown request op", "op", node.TypeName(req.Op))
		return
	}
	p.lsn++
	m := toSequencer{Sender: env.Self(), Seq: p.lsn, Payload: op.Payload}
	id := msgID{TS: m.Seq, Sender: m.Sender}
	p.requests[id] = req.ID
	env.Emit(Sent{Sender: id.Sender, TS: id.TS, Payload: m.Payload})
	if p.cfg.LocalFirst {
		p.early[id] = true
		p.requests.deliver(env, id, m.Payload)
	}
	if env.Self() == p.cfg.Sequencer {
		p.onToSequencer(env, m)
	} else {
		env.Send(p.cfg.Sequencer, m)
	}
}

// Receive implements node.Process, dispatching to one handler per message.
func (p *Sequencer) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case toSequencer:
		p.onToSequencer(env, m)
	case sequenced:
		p.onSequenced(env, m)
	default:
		env.Log().Warn("sequencer: unknown message", "from", from, "type", node.TypeName(msg))
	}
}

// onToSequencer runs at the sequencer when m reaches it: give m the next
// sequence number and send (m, SN) to every other process and to itself.
// Elsewhere the message is out of place and ignored.
func (p *Sequencer) onToSequencer(env node.Env, m toSequencer) {
	id := msgID{TS: m.Seq, Sender: m.Sender}
	if env.Self() != p.cfg.Sequencer || p.ordered[id] {
		return
	}
	p.ordered[id] = true
	p.sn++
	s := sequenced{SN: p.sn, Sender: m.Sender, Seq: m.Seq, Payload: m.Payload}
	bebBroadcast(env, s)
	p.onSequenced(env, s)
}

// onSequenced handles (m, SN): keep it until every lower number has been
// delivered, then deliver it and any that waited for it, in number order.
func (p *Sequencer) onSequenced(env node.Env, s sequenced) {
	if s.SN < p.next {
		return // a duplicate of one already delivered
	}
	p.pending[s.SN] = s
	for {
		head, ok := p.pending[p.next]
		if !ok {
			return
		}
		delete(p.pending, p.next)
		p.next++
		id := msgID{TS: head.Seq, Sender: head.Sender}
		if p.early[id] {
			delete(p.early, id)
			continue
		}
		p.requests.deliver(env, id, head.Payload)
	}
}
