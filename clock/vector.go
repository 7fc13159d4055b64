package clock

import (
	"strconv"
	"strings"
)

// Vector is a vector clock over process ranks 0..n-1 (Fidge 1988,
// "Timestamps in Message-Passing Systems That Preserve the Partial Ordering";
// Mattern 1989, "Virtual Time and Global States of Distributed Systems", §4).
// Entry i counts the events of process i that the owner knows of.
//
// A process ticks its own entry at each event, attaches a copy of its vector
// to every message, and on receipt merges the message's vector (entry-wise
// maximum) before ticking. Then a → b if and only if V(a) < V(b) (see
// Compare): unlike a Lamport clock, a vector clock detects concurrency.
//
// Vector is a plain slice, so it encodes as a CBOR or JSON array in messages.
// Vectors of different lengths can be merged and compared: a missing entry
// counts as 0, and the methods that change a vector grow it as needed.
type Vector []uint64

// NewVector returns a vector clock for n processes, all entries 0.
func NewVector(n int) Vector {
	return make(Vector, n)
}

// Tick records a local event at process self: V[self]++. The vector grows if
// self is beyond its end. It panics if self is negative.
func (v *Vector) Tick(self int) {
	v.grow(self + 1)
	(*v)[self]++
}

// Send records a send event at process self and returns a copy of the clock
// to attach to the message, so that later events do not change what the
// receiver gets.
func (v *Vector) Send(self int) Vector {
	v.Tick(self)
	return v.Clone()
}

// Receive records at process self the receipt of a message stamped other:
// first merge, V := max(V, other), then tick, V[self]++ (Mattern 1989, §4).
func (v *Vector) Receive(self int, other Vector) {
	v.Merge(other)
	v.Tick(self)
}

// Merge sets v to the entry-wise maximum of v and other, growing v if other
// is longer. It does not tick.
func (v *Vector) Merge(other Vector) {
	v.grow(len(other))
	for i, x := range other {
		if x > (*v)[i] {
			(*v)[i] = x
		}
	}
}

// grow extends v with zero entries to length at least n.
func (v *Vector) grow(n int) {
	for len(*v) < n {
		*v = append(*v, 0)
	}
}

// Clone returns a copy of v that shares no memory with it. The clone of nil
// is nil.
func (v Vector) Clone() Vector {
	if v == nil {
		return nil
	}
	c := make(Vector, len(v))
	copy(c, v)
	return c
}

// String formats v as "[1 0 3]".
func (v Vector) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(x, 10))
	}
	b.WriteByte(']')
	return b.String()
}

// Order is how two vector clocks, and so the events they stamp, relate.
type Order int

// The four outcomes of Compare(a, b).
const (
	Equal      Order = iota // a == b: the same event (or the same knowledge)
	Before                  // a < b: a happens before b
	After                   // a > b: b happens before a
	Concurrent              // neither: a ∥ b, no causal path either way
)

// String returns "equal", "before", "after" or "concurrent".
func (o Order) String() string {
	switch o {
	case Equal:
		return "equal"
	case Before:
		return "before"
	case After:
		return "after"
	case Concurrent:
		return "concurrent"
	}
	return "order(" + strconv.Itoa(int(o)) + ")"
}

// Compare orders two vector clocks (Mattern 1989, Definition 4): a < b when
// a[i] <= b[i] for every i and a != b; a ∥ b when neither a <= b nor b <= a.
// Entries missing from the shorter vector count as 0, so [1 0] and [1] are
// Equal.
func Compare(a, b Vector) Order {
	less, greater := false, false // some a[i] < b[i]; some a[i] > b[i]
	for i := range max(len(a), len(b)) {
		var x, y uint64
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		switch {
		case x < y:
			less = true
		case x > y:
			greater = true
		}
		if less && greater {
			return Concurrent
		}
	}
	switch {
	case less:
		return Before
	case greater:
		return After
	}
	return Equal
}
