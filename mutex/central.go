package mutex

import (
	"slices"

	"github.com/synod-dev/synod/node"
)

// CentralDescription is the one-line summary of the algorithm in central.go,
// for catalogs and reports.
const CentralDescription = "Centralized coordinator with a FIFO queue (van Steen & Tanenbaum §5.3.2): REQUEST, GRANT, RELEASE; 3 messages and 2 message delays per entry"

// TextbookCentralMessages is the textbook message cost of one entry with a
// central coordinator (van Steen & Tanenbaum §5.3.2, and the comparison of the
// four algorithms at the end of §5.3): a REQUEST,
// a GRANT and a RELEASE.
const TextbookCentralMessages = 3

// centralRequest asks the coordinator for the critical section. Seq is the
// requester's request number (1, 2, ...), so that a duplicate can be told
// from a new request and a grant matched with the request it answers.
type centralRequest struct {
	Seq uint64
}

// centralGrant gives the critical section to the request Seq of its
// receiver (the coordinator's "OK" in van Steen & Tanenbaum's figure).
type centralGrant struct {
	Seq uint64
}

// centralRelease gives the critical section back to the coordinator after
// the request Seq.
type centralRelease struct {
	Seq uint64
}

// CentralMessages returns one zero value of every message, emitted event,
// request op, reply and timer of the centralized algorithm, for
// node.NewRegistry.
func CentralMessages() []any {
	return append(sharedMessages(), centralRequest{}, centralGrant{}, centralRelease{})
}

// CentralConfig configures NewCentral.
type CentralConfig struct {
	// Hold is the time spent inside the critical section (zero: DefaultHold).
	Hold HoldTime
	// GrantEarly selects a deliberately broken coordinator that grants every
	// request at once instead of queueing it until the holder's RELEASE.
	// Two processes are then inside together, which CheckCentral catches.
	GrantEarly bool
}

// requester names one request at the coordinator: who asked, and its
// request number.
type requester struct {
	Proc node.ID
	Seq  uint64
}

// Central is one process of the centralized mutual-exclusion algorithm (van
// Steen & Tanenbaum, Distributed Systems, 4th ed., §5.3.2 "A centralized
// algorithm"). One process is the coordinator, here the lowest-ranked
// member of the group. To enter the critical section a process sends a
// REQUEST to the coordinator and waits for its GRANT; the coordinator grants
// at once if nobody holds the section, and otherwise queues the request. On
// leaving, the process sends a RELEASE, and the coordinator grants the
// section to the head of its queue. Requests are therefore granted in the
// order they arrive at the coordinator; an entry costs three messages and
// two message delays.
//
// The coordinator takes part as a client too: it sends its own REQUEST and
// RELEASE to itself, through the same path as everyone else's, so every
// entry costs exactly three messages.
//
// The algorithm assumes reliable links and no crashes. Its coordinator is a
// single point of failure: its queue and the identity of the holder are kept
// in memory, as in the textbook, so if it crashes every waiting process
// waits for good, and if it restarts it may grant the section to a second
// process while the first is still inside. A holder that crashes blocks
// everyone too. Duplicated messages are harmless (requests and releases are
// matched by request number), and a process that receives a grant it is not
// waiting for — a duplicate, or one meant for its previous incarnation —
// releases it at once so that the coordinator is not left waiting.
type Central struct {
	cfg CentralConfig
	cs  section

	// seq is the number of this process's latest REQUEST.
	seq uint64
	// asked is true from this process's REQUEST to the GRANT that answers it.
	asked bool

	// The coordinator's state, used only by the coordinator.

	// holder is the request that holds the critical section (Proc None if
	// nobody does).
	holder requester
	// queue holds the requests waiting for the section, in arrival order.
	// Invariant: no requester appears twice, nor is both holder and queued.
	queue []requester
}

// NewCentral returns a process of the centralized algorithm (van Steen &
// Tanenbaum §5.3.2), or with cfg.GrantEarly its deliberately broken variant.
func NewCentral(cfg CentralConfig) node.Process {
	return &Central{cfg: cfg, cs: section{hold: cfg.Hold}, holder: requester{Proc: node.None}}
}

// coordinator is the process that arbitrates: the lowest-ranked member.
func coordinator(env node.Env) node.ID { return env.Group()[0] }

// Start implements node.Process. The algorithm keeps no durable state.
func (p *Central) Start(env node.Env) {}

// Request implements node.Process: an Acquire joins this process's queue,
// and if the process was idle it asks the coordinator.
func (p *Central) Request(env node.Env, req node.Request) {
	if _, ok := req.Op.(Acquire); !ok {
		unknownOp(env, "central", req.Op)
		return
	}
	if p.cs.add(req.ID) {
		p.ask(env)
	}
}

// Timeout implements node.Process: when the hold time is over the process
// leaves, sends its RELEASE and asks again if more requests are waiting.
func (p *Central) Timeout(env node.Env, timer any) {
	t, ok := timer.(leaveCS)
	if !ok || !p.cs.leave(env, t) {
		return
	}
	env.Send(coordinator(env), centralRelease{Seq: p.seq})
	if p.cs.wants() {
		p.ask(env)
	}
}

// Receive implements node.Process, dispatching to one handler per message.
func (p *Central) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case centralRequest:
		p.onRequest(env, from, m)
	case centralGrant:
		p.onGrant(env, from, m)
	case centralRelease:
		p.onRelease(env, from, m)
	default:
		unknownMessage(env, "central", from, msg)
	}
}

// ask sends a REQUEST for the request at the head of the local queue.
func (p *Central) ask(env node.Env) {
	p.seq++
	p.asked = true
	env.Send(coordinator(env), centralRequest{Seq: p.seq})
}

// onGrant enters the critical section if the grant answers the outstanding
// REQUEST. Any other grant is released at once: holding it would block the
// coordinator forever.
func (p *Central) onGrant(env node.Env, from node.ID, g centralGrant) {
	switch {
	case p.asked && g.Seq == p.seq:
		p.asked = false
		p.cs.enter(env, p.seq)
	case g.Seq == p.seq && p.cs.inside:
		// A duplicate of the grant in use.
	default:
		env.Send(from, centralRelease{Seq: g.Seq})
	}
}

// onRequest is the coordinator's handling of a REQUEST: grant the section if
// nobody holds it, otherwise queue the request (the textbook's step (b): "the
// coordinator ... refrains from replying ... and queues the request"). A
// duplicate of a request already held or queued is ignored.
func (p *Central) onRequest(env node.Env, from node.ID, m centralRequest) {
	r := requester{Proc: from, Seq: m.Seq}
	if r == p.holder || slices.Contains(p.queue, r) {
		return
	}
	if p.holder.Proc == node.None || p.cfg.GrantEarly {
		p.grant(env, r)
		return
	}
	p.queue = append(p.queue, r)
}

// onRelease is the coordinator's handling of a RELEASE from the holder: the
// section goes to the head of the queue, if any (step (c)). A release
// from anyone but the holder (a duplicate, or one the broken variant
// receives from a second holder) changes nothing.
func (p *Central) onRelease(env node.Env, from node.ID, m centralRelease) {
	if (requester{Proc: from, Seq: m.Seq}) != p.holder {
		return
	}
	p.holder = requester{Proc: node.None}
	if len(p.queue) > 0 {
		next := p.queue[0]
		p.queue = p.queue[1:]
		p.grant(env, next)
	}
}

// grant makes r the holder and sends it the GRANT.
func (p *Central) grant(env node.Env, r requester) {
	p.holder = r
	env.Send(r.Proc, centralGrant{Seq: r.Seq})
}
