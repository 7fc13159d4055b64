package mutex

import (
	"github.com/synod-dev/synod/node"
)

// RicartAgrawalaDescription is the one-line summary of the algorithm in
// ricart_agrawala.go, for catalogs and reports.
const RicartAgrawalaDescription = "Ricart–Agrawala (1981): timestamped REQUEST to all, REPLY unless inside or asking with a smaller (timestamp, id); 2(N−1) messages per entry"

// TextbookRicartAgrawalaMessages is the message cost of one entry in a group
// of n processes (Ricart & Agrawala 1981): n−1 REQUESTs and n−1 REPLYs.
func TextbookRicartAgrawalaMessages(n int) float64 { return 2 * float64(n-1) }

// raRequest is the paper's REQUEST(Our_Sequence_Number, me): the requester
// is the message's sender.
type raRequest struct {
	SequenceNumber uint64
}

// raReply is the paper's REPLY. It names the sequence number of the REQUEST
// it answers, which the paper's REPLY does not: with it a requester can tell
// a duplicated or stale reply from the one it waits for.
type raReply struct {
	SequenceNumber uint64
}

// RicartAgrawalaMessages returns one zero value of every message, emitted
// event, request op, reply and timer of Ricart–Agrawala, for
// node.NewRegistry.
func RicartAgrawalaMessages() []any {
	return append(sharedMessages(), raRequest{}, raReply{})
}

// RicartAgrawalaConfig configures NewRicartAgrawala.
type RicartAgrawalaConfig struct {
	// Hold is the time spent inside the critical section (zero: DefaultHold).
	Hold HoldTime
	// ReplyInCS selects a deliberately broken variant that defers a REPLY
	// only while it is waiting to enter, not while it is inside: a REQUEST
	// that arrives while it holds the section is answered at once, so the
	// requester enters too. CheckRicartAgrawala catches it.
	ReplyInCS bool
}

// RicartAgrawala is one process of the Ricart–Agrawala algorithm (G. Ricart
// and A. K. Agrawala, "An Optimal Algorithm for Mutual Exclusion in Computer
// Networks", CACM 24(1), 1981, the algorithm as the paper lists it; van Steen
// & Tanenbaum, Distributed Systems, 4th ed., §5.3.3 "A distributed
// algorithm").
//
// A process that wants the critical section picks a sequence number one
// above the highest it has seen (a Lamport clock), sends REQUEST(number, me)
// to every other process and enters once all of them have sent a REPLY. A
// process receiving a REQUEST replies at once unless it is inside, or is
// itself requesting with a smaller (number, id); then it defers the REPLY
// until it leaves. The critical section is granted in (number, id) order,
// with 2(N−1) messages and one round trip per entry.
//
// The algorithm assumes reliable links and no crashes: every process must
// answer every request, so a single crashed process blocks every entry for
// good, and one that restarts has forgotten the replies it deferred.
// Duplicated messages are harmless.
type RicartAgrawala struct {
	cfg RicartAgrawalaConfig
	cs  section

	// ourSequenceNumber is the sequence number of this process's latest
	// REQUEST.
	ourSequenceNumber uint64
	// highestSequenceNumber is the highest sequence number in any REQUEST
	// sent or received.
	highestSequenceNumber uint64
	// requestingCriticalSection is true from the REQUEST until the exit:
	// while waiting and while inside.
	requestingCriticalSection bool
	// replyDeferred holds, by requester, the sequence number of a REQUEST
	// whose REPLY waits for this process to leave (the paper's boolean
	// Reply_Deferred array, with the number the reply will carry).
	replyDeferred map[node.ID]uint64
	// outstanding holds the processes whose REPLY this process still waits
	// for: the paper's Outstanding_Reply_Count is its size. A set rather
	// than a count, so that a duplicated REPLY cannot count twice.
	outstanding map[node.ID]bool
}

// NewRicartAgrawala returns a process of the Ricart–Agrawala algorithm, or
// with cfg.ReplyInCS its deliberately broken variant.
func NewRicartAgrawala(cfg RicartAgrawalaConfig) node.Process {
	return &RicartAgrawala{cfg: cfg, cs: section{hold: cfg.Hold}, replyDeferred: map[node.ID]uint64{}, outstanding: map[node.ID]bool{}}
}

// Start implements node.Process. The algorithm keeps no durable state.
func (p *RicartAgrawala) Start(env node.Env) {}

// Request implements node.Process: an Acquire joins this process's queue,
// and if the process was idle it asks for the critical section.
func (p *RicartAgrawala) Request(env node.Env, req node.Request) {
	if _, ok := req.Op.(Acquire); !ok {
		unknownOp(env, "ricart-agrawala", req.Op)
		return
	}
	if p.cs.add(req.ID) {
		p.requestEntry(env)
	}
}

// Timeout implements node.Process: when the hold time is over the process
// leaves, sends the deferred REPLYs and asks again if more requests wait.
func (p *RicartAgrawala) Timeout(env node.Env, timer any) {
	t, ok := timer.(leaveCS)
	if !ok || !p.cs.leave(env, t) {
		return
	}
	p.releaseEntry(env)
	if p.cs.wants() {
		p.requestEntry(env)
	}
}

// Receive implements node.Process, dispatching to one handler per message.
func (p *RicartAgrawala) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case raRequest:
		p.onRequest(env, from, m)
	case raReply:
		p.onReply(env, from, m)
	default:
		unknownMessage(env, "ricart-agrawala", from, msg)
	}
}

// requestEntry is the paper's "request entry to the critical section":
// choose a sequence number one above the highest seen, and send a REQUEST
// to every other process. The number chosen counts as seen, so that this
// process's successive requests get increasing numbers even when it hears
// nothing in between (the paper lets them repeat, harmlessly, since they
// never coexist; increasing numbers make the grant order checkable).
func (p *RicartAgrawala) requestEntry(env node.Env) {
	p.requestingCriticalSection = true
	p.ourSequenceNumber = p.highestSequenceNumber + 1
	p.highestSequenceNumber = p.ourSequenceNumber
	clear(p.outstanding)
	for _, j := range env.Group() {
		if j != env.Self() {
			p.outstanding[j] = true
			env.Send(j, raRequest{SequenceNumber: p.ourSequenceNumber})
		}
	}
	p.tryEnter(env)
}

// onReply counts a REPLY to the current REQUEST.
func (p *RicartAgrawala) onReply(env node.Env, from node.ID, m raReply) {
	if !p.requestingCriticalSection || p.cs.inside || m.SequenceNumber != p.ourSequenceNumber {
		return // stale or duplicated
	}
	delete(p.outstanding, from)
	p.tryEnter(env)
}

// tryEnter enters the critical section once every other process has replied.
func (p *RicartAgrawala) tryEnter(env node.Env) {
	if len(p.outstanding) == 0 && !p.cs.inside {
		p.cs.enter(env, p.ourSequenceNumber)
	}
}

// onRequest is the paper's REQUEST handler: note the highest sequence
// number, then defer the REPLY if this process is inside or asking with
// priority — a smaller sequence number, or the same and a smaller id — and
// reply at once otherwise.
func (p *RicartAgrawala) onRequest(env node.Env, from node.ID, m raRequest) {
	k := m.SequenceNumber
	p.highestSequenceNumber = max(p.highestSequenceNumber, k)
	deferIt := p.requestingCriticalSection &&
		(k > p.ourSequenceNumber || (k == p.ourSequenceNumber && from > env.Self()))
	if p.cfg.ReplyInCS && p.cs.inside {
		deferIt = false // broken: answers while holding the section
	}
	if deferIt {
		p.replyDeferred[from] = max(p.replyDeferred[from], k)
		return
	}
	env.Send(from, raReply{SequenceNumber: k})
}

// releaseEntry is the paper's "release the critical section": stop
// requesting, and send every deferred REPLY, in rank order.
func (p *RicartAgrawala) releaseEntry(env node.Env) {
	p.requestingCriticalSection = false
	for _, j := range sortedKeys(p.replyDeferred) {
		env.Send(j, raReply{SequenceNumber: p.replyDeferred[j]})
	}
	clear(p.replyDeferred)
}
