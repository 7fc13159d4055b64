package election

import (
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// ringElection is the ring algorithm's ELECTION message: it travels round
// the ring collecting the IDs of the live processes it passes in Members,
// starting with its initiator's. Hop names this one transmission, for the
// acknowledgement.
type ringElection struct {
	Epoch   Epoch
	Members []node.ID
	Hop     uint64
}

// ringCoordinator is the ring algorithm's COORDINATOR message: it circulates
// once to tell everyone who the coordinator is and who the members of the
// new ring are.
type ringCoordinator struct {
	Epoch       Epoch
	Coordinator node.ID
	Members     []node.ID
	Hop         uint64
}

// ack acknowledges the ELECTION or COORDINATOR transmission Hop: the
// successor is alive. A sender that gets no ack skips over the successor.
type ack struct {
	Hop uint64
}

// The ring algorithm's timers.
type (
	// ackTimeout fires when transmission Hop has not been acknowledged.
	ackTimeout struct{ Hop uint64 }
	// electionTimeout fires when this process's ELECTION has not come back.
	electionTimeout struct{}
	// participation fires when this process has forwarded an ELECTION long
	// enough ago to stop counting on its result.
	participation struct{}
)

// RingMessages returns one zero value of every message, emitted event,
// request op and timer of the ring algorithm, for node.NewRegistry.
func RingMessages() []any {
	return []any{ringElection{}, ringCoordinator{}, ack{}, heartbeat{},
		ElectionStarted{}, Leader{}, Elect{},
		beat{}, suspect{}, ackTimeout{}, electionTimeout{}, participation{}}
}

// RingConfig configures NewRing. Use DefaultRingConfig and change what you
// need.
type RingConfig struct {
	// Heartbeats is the failure detector that notices a dead coordinator.
	Heartbeats Heartbeats
	// AckTimeout is how long a process waits for its successor to
	// acknowledge a message before it skips it and tries the next one. It
	// must exceed the longest round trip, or live processes get skipped.
	AckTimeout time.Duration
	// ElectionTimeout is how long, per member of the group, an initiator
	// waits for its ELECTION to come back before it starts over.
	ElectionTimeout time.Duration
	// NoSkip selects a deliberately broken variant that never skips a
	// successor: it sends to the same one again and again. Once a process
	// has crashed, no election can get past it, and Check reports that no
	// leader is ever agreed on.
	NoSkip bool
	// PickInitiator selects a deliberately broken variant in which the
	// ELECTION, back at its initiator, names the initiator coordinator
	// instead of the highest ID on the list.
	PickInitiator bool
}

// DefaultRingConfig returns the ring algorithm's defaults: the default
// heartbeats, 30 ms for an acknowledgement (far above the simulator's
// default round trip of 2–10 ms), and an initiator waits 60 ms per member for
// its ELECTION: enough to skip every other member.
func DefaultRingConfig() RingConfig {
	return RingConfig{
		Heartbeats:      DefaultHeartbeats(),
		AckTimeout:      30 * time.Millisecond,
		ElectionTimeout: 60 * time.Millisecond,
	}
}

// hop is a transmission waiting for its acknowledgement.
type hop struct {
	msg   any       // ringElection or ringCoordinator, Hop set
	to    node.ID   // the successor it was sent to
	ring  []node.ID // the processes it may go to, self included, ascending
	timer node.TimerID
}

// Ring is one process of the ring election algorithm (G. LeLann, 1977;
// E. Chang and R. Roberts, "An Improved Algorithm for Decentralized
// Extrema-Finding in Circular Configurations of Processes", CACM 22(5), 1979;
// in the form of van Steen and Tanenbaum, Distributed Systems, §5.4.1, "A
// ring algorithm").
//
// The processes are ordered on a logical ring by ID, each knowing who its
// successor is. "When any process notices that the coordinator is not
// functioning, it builds an ELECTION message containing its own process
// identifier and sends the message to its successor. If the successor is
// down, the sender skips over the successor and goes to the next member
// along the ring, or the one after that, until a running process is located.
// At each step along the way, the sender adds its own identifier to the list
// in the message, effectively making itself a candidate to be elected as
// coordinator. Eventually, the message gets back to the process that started
// it all. [...] At that point, the message type is changed to COORDINATOR and
// circulated once again, this time to inform everyone else who the
// coordinator is (the list member with the highest identifier) and who the
// members of the new ring are."
//
// A process knows its successor is down when it does not acknowledge a
// message within AckTimeout (every ELECTION and COORDINATOR transmission is
// acknowledged with an ack). The COORDINATOR message goes round the members
// of the new ring only. Steps the textbook leaves open are settled as
// follows. A process that comes up holds an election, as in the bully
// algorithm, so that a restarted higher process becomes coordinator again.
// An ELECTION that comes round to a process already on its list has lost its
// initiator (crashed or skipped): that process completes it in the
// initiator's place. A process forwards each election and each COORDINATOR
// once, which removes duplicates and the copies made when an ack is lost and
// the sender moves on. A process that has forwarded an ELECTION does not
// start one of its own for a while, whether it suspects the coordinator or
// hears from a higher one (Chang and Roberts's "participant"): the election
// under way will bring news. An initiator whose
// ELECTION does not come back within ElectionTimeout per member starts over,
// and one that adopts a COORDINATOR before then abandons its own. A
// heartbeat from a coordinator higher than the one a process follows means
// the ring is divided (a healed partition): it holds an election.
//
// Several processes may start elections at once; each message goes round
// and they all name the same coordinator, at the price of more messages.
type Ring struct {
	cfg RingConfig

	// leader is the coordinator this process follows, itself included, or
	// node.None; epoch is the election that made it coordinator.
	leader node.ID
	epoch  Epoch
	// electing is set while this process waits for its own ELECTION, own,
	// to come back.
	electing bool
	own      Epoch
	// participant is set for a while after this process forwards an
	// ELECTION.
	participant bool
	// forwarded[q] and announced[q] are the highest election of q's
	// (Epoch.Seq) whose ELECTION, and whose COORDINATOR, this process has
	// passed on or completed; older and repeated copies are dropped.
	forwarded map[node.ID]uint64
	announced map[node.ID]uint64
	// hops are the transmissions not yet acknowledged, by Hop.
	hops map[uint64]*hop

	watch         watch // suspects a silent coordinator
	pulse         pulse // sends the coordinator's heartbeats
	timeout       timer // electionTimeout
	participating timer // participation
}

// NewRing returns a process of the ring algorithm, or with cfg.NoSkip or
// cfg.PickInitiator a deliberately broken variant.
func NewRing(cfg RingConfig) node.Process {
	return &Ring{
		cfg:       cfg,
		leader:    node.None,
		forwarded: map[node.ID]uint64{},
		announced: map[node.ID]uint64{},
		hops:      map[uint64]*hop{},
		watch:     watch{cfg: cfg.Heartbeats},
		pulse:     pulse{cfg: cfg.Heartbeats},
	}
}

// Start implements node.Process: a process that comes up holds an election.
func (p *Ring) Start(env node.Env) { p.startElection(env) }

// Request implements node.Process: an Elect op starts an election, unless
// this process is already waiting for one of its own.
func (p *Ring) Request(env node.Env, req node.Request) {
	switch req.Op.(type) {
	case Elect:
		if !p.electing {
			p.startElection(env)
		}
		env.Reply(req.ID, ElectionStarted{Epoch: p.own})
	default:
		env.Log().Warn("ring: unknown request op", "op", node.TypeName(req.Op))
	}
}

// Receive implements node.Process, dispatching to one handler per message.
func (p *Ring) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case ringElection:
		p.onElection(env, from, m)
	case ringCoordinator:
		p.onCoordinator(env, from, m)
	case ack:
		p.onAck(env, from, m)
	case heartbeat:
		p.onHeartbeat(env, from)
	default:
		env.Log().Warn("ring: unknown message", "from", from, "type", node.TypeName(msg))
	}
}

// Timeout implements node.Process.
func (p *Ring) Timeout(env node.Env, t any) {
	switch t := t.(type) {
	case ackTimeout:
		p.onAckTimeout(env, t.Hop)
	case electionTimeout:
		p.timeout.fired()
		if p.electing {
			p.startElection(env) // the ELECTION was lost on the way
		}
	case participation:
		p.participating.fired()
		p.participant = false
	case suspect:
		p.watch.fired()
		switch {
		case p.electing || p.leader == env.Self():
		case p.participant:
			p.watch.heard(env) // the election passing by will bring news
		default:
			p.startElection(env) // the coordinator is not functioning
		}
	case beat:
		p.pulse.fired()
		if p.leader == env.Self() {
			p.pulse.beat(env, p.epoch)
		}
	}
}

// startElection builds an ELECTION message holding this process's own ID and
// sends it to its successor.
func (p *Ring) startElection(env node.Env) {
	p.own, p.electing, p.participant = nextEpoch(env), true, false
	p.participating.stop(env)
	p.watch.stop(env)
	env.Emit(ElectionStarted{Epoch: p.own})
	wait := p.cfg.ElectionTimeout * time.Duration(len(env.Group()))
	p.timeout.set(env, wait, electionTimeout{})
	p.forwarded[env.Self()] = p.own.Seq
	p.pass(env, ringElection{Epoch: p.own, Members: []node.ID{env.Self()}}, env.Group())
}

// onElection handles an ELECTION: back at its initiator it is complete;
// otherwise the process adds its own ID and passes it on.
func (p *Ring) onElection(env node.Env, from node.ID, m ringElection) {
	p.acknowledge(env, from, m.Hop)
	self := env.Self()
	switch {
	case m.Epoch.Initiator == self:
		if p.electing && m.Epoch == p.own {
			p.electing = false
			p.timeout.stop(env)
			p.complete(env, m)
		}
		// Otherwise it is an older election of this process's: drop it.
	case slices.Contains(m.Members, self):
		// Round the ring without meeting its initiator, who has crashed
		// or was skipped: complete it in the initiator's place, once.
		if p.announced[m.Epoch.Initiator] < m.Epoch.Seq {
			p.complete(env, m)
		}
	case p.forwarded[m.Epoch.Initiator] >= m.Epoch.Seq:
		// A copy of an election already passed on: drop it.
	default:
		p.forwarded[m.Epoch.Initiator] = m.Epoch.Seq
		p.participant = true
		p.participating.set(env, p.cfg.ElectionTimeout*time.Duration(len(env.Group())), participation{})
		members := append(slices.Clone(m.Members), self)
		p.pass(env, ringElection{Epoch: m.Epoch, Members: members}, env.Group())
	}
}

// complete turns a finished ELECTION into a COORDINATOR message naming the
// list member with the highest ID (the broken variant: the initiator),
// adopts it, and sends it round the members of the new ring.
func (p *Ring) complete(env node.Env, m ringElection) {
	c := slices.Max(m.Members)
	if p.cfg.PickInitiator {
		c = m.Epoch.Initiator
	}
	p.announced[m.Epoch.Initiator] = m.Epoch.Seq
	p.adopt(env, c, m.Epoch)
	p.pass(env, ringCoordinator{Epoch: m.Epoch, Coordinator: c, Members: m.Members}, withSelf(m.Members, env.Self()))
}

// onCoordinator adopts the coordinator a COORDINATOR message names and passes
// the message on, unless it has already been here: then it has circulated
// once and is removed.
func (p *Ring) onCoordinator(env node.Env, from node.ID, m ringCoordinator) {
	p.acknowledge(env, from, m.Hop)
	if p.announced[m.Epoch.Initiator] >= m.Epoch.Seq {
		return
	}
	p.announced[m.Epoch.Initiator] = m.Epoch.Seq
	p.adopt(env, m.Coordinator, m.Epoch)
	p.pass(env, ringCoordinator{Epoch: m.Epoch, Coordinator: m.Coordinator, Members: m.Members}, withSelf(m.Members, env.Self()))
}

// onHeartbeat hears from a coordinator: its own resets the watch; a higher
// one than it follows means the ring is divided, and it holds an election,
// unless it is holding one or has just passed one on. A lower one will hear
// from the higher coordinator and sort itself out.
func (p *Ring) onHeartbeat(env node.Env, from node.ID) {
	switch {
	case p.electing:
	case from == p.leader:
		p.watch.heard(env)
	case from > p.leader && !p.participant:
		p.startElection(env)
	}
}

// adopt makes c, elected in epoch, this process's coordinator: it ends any
// election of this process's and any participation, and either sends the
// heartbeats (c is this process) or watches c.
func (p *Ring) adopt(env node.Env, c node.ID, epoch Epoch) {
	if p.electing {
		p.electing = false
		p.timeout.stop(env)
	}
	p.participant = false
	p.participating.stop(env)
	changed := p.leader != c || p.epoch != epoch
	p.leader, p.epoch = c, epoch
	if c == env.Self() {
		p.watch.stop(env)
		if !p.pulse.running() {
			p.pulse.start(env)
		}
	} else {
		p.pulse.stop(env)
		p.watch.heard(env)
	}
	if changed {
		env.Emit(Leader{ID: c, Epoch: epoch})
	}
}

// pass sends msg to this process's successor among ring (the processes msg
// may visit, self included, in ascending order).
func (p *Ring) pass(env node.Env, msg any, ring []node.ID) {
	p.transmit(env, msg, ring, successor(ring, env.Self()))
}

// transmit sends msg to process to and waits for its ack. Sending to this
// process itself means the message has come all the way round: every other
// process on the ring was skipped.
func (p *Ring) transmit(env node.Env, msg any, ring []node.ID, to node.ID) {
	if to == env.Self() {
		switch m := msg.(type) {
		case ringElection:
			p.onElection(env, to, m)
		case ringCoordinator:
			p.onCoordinator(env, to, m)
		}
		return
	}
	id := env.Rand().Uint64()
	switch m := msg.(type) {
	case ringElection:
		m.Hop = id
		msg = m
	case ringCoordinator:
		m.Hop = id
		msg = m
	}
	env.Send(to, msg)
	p.hops[id] = &hop{msg: msg, to: to, ring: ring, timer: env.After(p.cfg.AckTimeout, ackTimeout{Hop: id})}
}

// acknowledge tells the sender of a transmission that it arrived.
func (p *Ring) acknowledge(env node.Env, from node.ID, h uint64) {
	if from != env.Self() {
		env.Send(from, ack{Hop: h})
	}
}

// onAck settles a transmission: the successor is alive.
func (p *Ring) onAck(env node.Env, from node.ID, m ack) {
	if h, ok := p.hops[m.Hop]; ok && h.to == from {
		env.Cancel(h.timer)
		delete(p.hops, m.Hop)
	}
}

// onAckTimeout skips a successor that did not acknowledge and sends to the
// next one along the ring. The broken variant sends to the same one again.
func (p *Ring) onAckTimeout(env node.Env, id uint64) {
	h, ok := p.hops[id]
	if !ok {
		return
	}
	delete(p.hops, id)
	next := successor(h.ring, h.to)
	if p.cfg.NoSkip {
		next = h.to
	}
	p.transmit(env, h.msg, h.ring, next)
}

// successor returns the member of ring that follows after on the ring: the
// smallest ID above after, or, wrapping round, the smallest of all.
func successor(ring []node.ID, after node.ID) node.ID {
	for _, q := range ring {
		if q > after {
			return q
		}
	}
	return ring[0]
}

// withSelf returns members with self added, in ascending order.
func withSelf(members []node.ID, self node.ID) []node.ID {
	ring := slices.Clone(members)
	if !slices.Contains(ring, self) {
		ring = append(ring, self)
	}
	slices.Sort(ring)
	return ring
}
