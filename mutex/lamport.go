package mutex

import (
	"slices"

	"github.com/synod-dev/synod/clock"
	"github.com/synod-dev/synod/node"
)

// LamportDescription is the one-line summary of the algorithm in lamport.go,
// for catalogs and reports.
const LamportDescription = "Lamport's mutual exclusion (1978): timestamped REQUEST, ACK, RELEASE to all, request queues ordered by ⇒, FIFO links; 3(N−1) messages per entry"

// TextbookLamportMessages is the message cost of one entry in a group of n
// processes (Lamport 1978, as Ricart & Agrawala 1981 count it): n−1 REQUESTs, n−1
// acknowledgments and n−1 RELEASEs.
func TextbookLamportMessages(n int) float64 { return 3 * float64(n-1) }

// lamportRequest is the message "Tm:Pi requests resource" of rule 1: the
// request's timestamp Tm; the requester Pi is the sender.
type lamportRequest struct {
	TS uint64
}

// lamportAck is the timestamped acknowledgment of rule 2.
type lamportAck struct {
	TS uint64
}

// lamportRelease is the timestamped message "Pi releases resource" of rule
// 3. RequestTS is the timestamp Tm of the request it removes, so that only
// that request leaves the receivers' queues.
type lamportRelease struct {
	TS        uint64
	RequestTS uint64
}

// LamportMessages returns one zero value of every message, emitted event,
// request op, reply and timer of Lamport's algorithm, for node.NewRegistry.
func LamportMessages() []any {
	return append(sharedMessages(), lamportRequest{}, lamportAck{}, lamportRelease{})
}

// LamportConfig configures NewLamport.
type LamportConfig struct {
	// Hold is the time spent inside the critical section (zero: DefaultHold).
	Hold HoldTime
	// NoAckWait selects a deliberately broken variant that enters as soon as
	// its request heads its own queue, without condition (ii) of rule 5 (a
	// later-timestamped message from every other process): an earlier
	// request still on its way is overlooked. CheckLamport catches it.
	NoAckWait bool
	// NoHeadCheck selects a deliberately broken variant that enters once it
	// has heard from everyone, without condition (i) of rule 5 (its request
	// first in its queue): two concurrent requesters both enter.
	// CheckLamport catches it.
	NoHeadCheck bool
}

// Lamport is one process of Lamport's mutual-exclusion algorithm (L.
// Lamport, "Time, Clocks, and the Ordering of Events in a Distributed
// System", CACM 21(7), 1978, the five rules of the section "Ordering the
// Events Totally"). Every process keeps a Lamport clock and a queue of
// requests ordered by ⇒ (timestamp, then process id):
//
//  1. To request the resource, Pi sends Tm:Pi requests resource to every
//     other process and puts it on its own request queue.
//  2. When Pj receives Tm:Pi requests resource, it places it on its request
//     queue and sends a (timestamped) acknowledgment to Pi.
//  3. To release the resource, Pi removes Tm:Pi from its queue and sends a
//     (timestamped) Pi releases resource message to every other process.
//  4. When Pj receives Pi releases resource, it removes Tm:Pi from its queue.
//  5. Pi is granted the resource when (i) Tm:Pi is ordered before every other
//     request in its queue by ⇒, and (ii) Pi has received a message from
//     every other process timestamped later than Tm.
//
// The resource is granted in ⇒ order, at 3(N−1) messages per entry. The
// algorithm assumes reliable FIFO links (condition (ii) relies on no earlier
// request from Pj being still on its way when a later message from Pj has
// arrived) and no crashes: every process must hear from every other, so a
// crashed process blocks every entry. Duplicates are harmless on FIFO links.
type Lamport struct {
	cfg LamportConfig
	cs  section

	// clock is the process's Lamport clock (IR1, IR2).
	clock clock.Lamport
	// requestQueue holds the requests this process knows of, at most one per
	// process. Invariant: sorted by ⇒.
	requestQueue []stamp
	// lastHeard holds, by process, the timestamp of the latest message
	// received from it: condition (ii) of rule 5 compares it with Tm.
	lastHeard map[node.ID]uint64
	// ours is this process's pending request, if requesting.
	ours       stamp
	requesting bool
}

// NewLamport returns a process of Lamport's algorithm, or one of its
// deliberately broken variants.
func NewLamport(cfg LamportConfig) node.Process {
	return &Lamport{cfg: cfg, cs: section{hold: cfg.Hold}, lastHeard: map[node.ID]uint64{}}
}

// Start implements node.Process. The algorithm keeps no durable state.
func (p *Lamport) Start(env node.Env) {}

// Request implements node.Process: an Acquire joins this process's queue,
// and if the process was idle it requests the resource.
func (p *Lamport) Request(env node.Env, req node.Request) {
	if _, ok := req.Op.(Acquire); !ok {
		unknownOp(env, "lamport", req.Op)
		return
	}
	if p.cs.add(req.ID) {
		p.requestResource(env)
	}
}

// Timeout implements node.Process: when the hold time is over the process
// leaves, releases the resource and requests it again if more requests wait.
func (p *Lamport) Timeout(env node.Env, timer any) {
	t, ok := timer.(leaveCS)
	if !ok || !p.cs.leave(env, t) {
		return
	}
	p.releaseResource(env)
	if p.cs.wants() {
		p.requestResource(env)
	}
}

// Receive implements node.Process, dispatching to one handler per message.
func (p *Lamport) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case lamportRequest:
		p.onRequest(env, from, m)
	case lamportAck:
		p.onAck(env, from, m)
	case lamportRelease:
		p.onRelease(env, from, m)
	default:
		unknownMessage(env, "lamport", from, msg)
	}
}

// requestResource is rule 1.
func (p *Lamport) requestResource(env node.Env) {
	p.ours = stamp{TS: p.clock.Send(), Proc: env.Self()}
	p.requesting = true
	for _, j := range env.Group() {
		if j != env.Self() {
			env.Send(j, lamportRequest{TS: p.ours.TS})
		}
	}
	p.enqueue(p.ours)
	p.tryEnter(env)
}

// onRequest is rule 2.
func (p *Lamport) onRequest(env node.Env, from node.ID, m lamportRequest) {
	p.heard(from, m.TS)
	p.enqueue(stamp{TS: m.TS, Proc: from})
	env.Send(from, lamportAck{TS: p.clock.Send()})
	p.tryEnter(env)
}

// onAck records the acknowledgment for condition (ii) of rule 5.
func (p *Lamport) onAck(env node.Env, from node.ID, m lamportAck) {
	p.heard(from, m.TS)
	p.tryEnter(env)
}

// releaseResource is rule 3.
func (p *Lamport) releaseResource(env node.Env) {
	p.dequeue(p.ours)
	p.requesting = false
	ts := p.clock.Send()
	for _, j := range env.Group() {
		if j != env.Self() {
			env.Send(j, lamportRelease{TS: ts, RequestTS: p.ours.TS})
		}
	}
}

// onRelease is rule 4.
func (p *Lamport) onRelease(env node.Env, from node.ID, m lamportRelease) {
	p.heard(from, m.TS)
	p.dequeue(stamp{TS: m.RequestTS, Proc: from})
	p.tryEnter(env)
}

// tryEnter is rule 5: enter when (i) our request heads the queue and (ii)
// every other process has sent a message timestamped later than it. The
// broken variants skip one condition each.
func (p *Lamport) tryEnter(env node.Env) {
	if !p.requesting || p.cs.inside {
		return
	}
	first := len(p.requestQueue) > 0 && p.requestQueue[0] == p.ours
	if !first && !p.cfg.NoHeadCheck {
		return
	}
	for _, j := range env.Group() {
		if j != env.Self() && p.lastHeard[j] <= p.ours.TS && !p.cfg.NoAckWait {
			return
		}
	}
	p.cs.enter(env, p.ours.TS)
}

// heard advances the clock past a received timestamp (IR2) and records it
// as the latest heard from its sender.
func (p *Lamport) heard(from node.ID, ts uint64) {
	p.clock.Receive(ts)
	p.lastHeard[from] = max(p.lastHeard[from], ts)
}

// enqueue inserts a request in ⇒ order; a duplicate is ignored.
func (p *Lamport) enqueue(s stamp) {
	i, found := slices.BinarySearchFunc(p.requestQueue, s, stamp.compare)
	if !found {
		p.requestQueue = slices.Insert(p.requestQueue, i, s)
	}
}

// dequeue removes a request from the queue, if present.
func (p *Lamport) dequeue(s stamp) {
	if i, found := slices.BinarySearchFunc(p.requestQueue, s, stamp.compare); found {
		p.requestQueue = slices.Delete(p.requestQueue, i, i+1)
	}
}
