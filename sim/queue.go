package sim

import (
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// itemKind says what a queued item does when its time comes.
type itemKind uint8

const (
	itemDeliver itemKind = iota // a message arrives at a node
	itemTimer                   // a node's timer fires
	itemRequest                 // a client request arrives at a node
	itemAction                  // a nemesis action takes effect
	itemRound                   // a synchronous round starts
	itemFunc                    // harness code runs (At with a func)
)

// Items with the same time run in priority order: every delivery due at a
// round boundary happens before the round's ticks.
const (
	prioDeliver = 0
	prioOther   = 1
	prioRound   = 2
)

// item is one entry of the event queue. Items are stored by value in the
// heap to keep the hot path free of allocation.
type item struct {
	at   time.Duration
	seq  uint64 // insertion order: breaks ties, so equal times run FIFO
	prio uint8
	kind itemKind
	// to is the node concerned; from is the sender of a delivery.
	to, from node.ID
	// incarnation is the node's incarnation when a timer was set; a timer
	// from before a crash never fires.
	incarnation uint32
	// id is the message ID, timer ID or request ID.
	id   uint64
	size int32
	// payload is the message (or its encoded bytes), the timer value, the
	// request op, the Action, or the func.
	payload any
	// vc is the sender's vector clock at the send, merged on delivery.
	vc trace.VC
}

func (a *item) less(b *item) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.prio != b.prio {
		return a.prio < b.prio
	}
	return a.seq < b.seq
}

// queue is a binary min-heap of items ordered by (at, prio, seq). It is
// written out rather than built on container/heap so that pushing and popping
// neither box items in interfaces nor make indirect calls.
type queue struct {
	items []item
	seq   uint64
}

func (q *queue) len() int { return len(q.items) }

func (q *queue) push(it item) {
	it.seq = q.seq
	q.seq++
	q.items = append(q.items, it)
	// sift up
	h := q.items
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !h[i].less(&h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

// peek returns the earliest item without removing it.
func (q *queue) peek() *item { return &q.items[0] }

func (q *queue) pop() item {
	h := q.items
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = item{} // drop references for the garbage collector
	h = h[:last]
	q.items = h
	// sift down
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r].less(&h[l]) {
			m = r
		}
		if !h[m].less(&h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return top
}
