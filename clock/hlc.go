package clock

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"time"
)

// Timestamp is a hybrid logical clock timestamp (Kulkarni et al. 2014,
// "Logical Physical Clocks", §3): L is the largest physical time, in
// nanoseconds, the clock has heard of (the paper's l), and C counts events
// that share that L (the paper's c). Timestamps are ordered
// lexicographically, by L and then by C.
type Timestamp struct {
	L int64  // l: wall time in nanoseconds, the maximum physical time known
	C uint32 // c: logical counter, breaking ties among events with equal l
}

// Compare returns -1 if t < u, 0 if t == u and +1 if t > u, ordering by L
// then C (Kulkarni et al. 2014, §3: the HLC order is lexicographic).
func (t Timestamp) Compare(u Timestamp) int {
	if c := cmp.Compare(t.L, u.L); c != 0 {
		return c
	}
	return cmp.Compare(t.C, u.C)
}

// Less reports whether t < u. If event e happens before f, then
// ts(e).Less(ts(f)) (Kulkarni et al. 2014, Theorem 1).
func (t Timestamp) Less(u Timestamp) bool {
	return t.Compare(u) < 0
}

// String formats t as "l,c", for example "1700000000000000000,2".
func (t Timestamp) String() string {
	return fmt.Sprintf("%d,%d", t.L, t.C)
}

// ErrMaxOffset is returned, wrapped, by HLC.Update when a remote timestamp is
// further ahead of the local physical clock than the configured maximum
// offset.
var ErrMaxOffset = errors.New("remote timestamp is ahead of physical time by more than the maximum offset")

// HLC is a hybrid logical clock (Kulkarni et al. 2014, "Logical Physical
// Clocks", Fig. 5): its timestamps respect happens-before like a Lamport
// clock, while l stays within the clock-synchronization error of physical
// time and c stays small.
//
// The caller reads physical time and passes it in as pt (nanoseconds), so the
// clock itself never reads a clock: in a process, pt comes from Env.Now.
//
// The zero value is a clock at (0, 0) with no offset guard. NewHLC adds the
// guard CockroachDB uses: Update refuses a remote timestamp whose l is more
// than maxOffset ahead of pt, since a clock that far off is faulty, and
// accepting its timestamp would drag this clock (and everyone it talks to)
// ahead of physical time for good.
type HLC struct {
	maxOffset time.Duration // 0: no guard
	last      Timestamp     // (l.j, c.j): the timestamp of the latest event
}

// NewHLC returns a hybrid logical clock at (0, 0). If maxOffset is positive,
// Update returns an error for a remote timestamp more than maxOffset ahead of
// physical time; zero disables the guard.
func NewHLC(maxOffset time.Duration) *HLC {
	return &HLC{maxOffset: maxOffset}
}

// Now records a local or send event at physical time pt (Kulkarni et al.
// 2014, Fig. 5, "Send or local event") and returns its timestamp:
//
//	l' := l;  l := max(l', pt)
//	if l = l' then c := c + 1 else c := 0
func (h *HLC) Now(pt int64) Timestamp {
	l0 := h.last.L
	l := max(l0, pt)
	if l == l0 {
		h.last = bump(l, h.last.C)
	} else {
		h.last = Timestamp{L: l, C: 0}
	}
	return h.last
}

// Update records at physical time pt the receipt of a message stamped m
// (Kulkarni et al. 2014, Fig. 5, "Receive event of message m") and returns
// the receive event's timestamp, which is greater than both the clock's
// previous timestamp and m:
//
//	l' := l;  l := max(l', l.m, pt)
//	if l = l' = l.m then c := max(c, c.m) + 1
//	else if l = l'  then c := c + 1
//	else if l = l.m then c := c.m + 1
//	else c := 0
//
// If the clock has a maximum offset and m.L is more than that ahead of pt,
// Update leaves the clock unchanged and returns an error wrapping
// ErrMaxOffset.
func (h *HLC) Update(pt int64, m Timestamp) (Timestamp, error) {
	// uint64 arithmetic: m.L-pt cannot overflow when m.L > pt.
	if h.maxOffset > 0 && m.L > pt && uint64(m.L)-uint64(pt) > uint64(h.maxOffset) {
		return h.last, fmt.Errorf("clock: hlc update: remote l=%d is ahead of physical time %d by more than %v: %w",
			m.L, pt, h.maxOffset, ErrMaxOffset)
	}
	l0, c0 := h.last.L, h.last.C
	l := max(l0, m.L, pt)
	switch {
	case l == l0 && l == m.L:
		h.last = bump(l, max(c0, m.C))
	case l == l0:
		h.last = bump(l, c0)
	case l == m.L:
		h.last = bump(l, m.C)
	default:
		h.last = Timestamp{L: l, C: 0}
	}
	return h.last, nil
}

// Last returns the timestamp of the latest event without recording a new one.
func (h *HLC) Last() Timestamp {
	return h.last
}

// bump returns the timestamp (l, c+1). The paper bounds c by the number of
// processes and events within one clock-synchronization interval, far below
// 2³²; should c nevertheless be exhausted, bump moves to (l+1, 0), which is
// still greater than (l, c), rather than wrapping around.
func bump(l int64, c uint32) Timestamp {
	if c == math.MaxUint32 {
		return Timestamp{L: l + 1, C: 0}
	}
	return Timestamp{L: l, C: c + 1}
}
