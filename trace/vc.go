package trace

import (
	"strconv"
	"strings"
)

// VC is a vector clock over nodes 0..len-1, as kept by a runtime for ground
// truth. (Algorithms use clock.Vector instead.)
type VC []uint64

// Clone returns a copy of v.
func (v VC) Clone() VC {
	if v == nil {
		return nil
	}
	c := make(VC, len(v))
	copy(c, v)
	return c
}

// LessEq reports whether v[i] <= w[i] for every i.
func (v VC) LessEq(w VC) bool {
	if len(v) != len(w) {
		return false
	}
	for i := range v {
		if v[i] > w[i] {
			return false
		}
	}
	return true
}

// Before reports whether v < w: v <= w and v != w, the happens-before relation.
func (v VC) Before(w VC) bool {
	if len(v) == 0 || !v.LessEq(w) {
		return false
	}
	for i := range v {
		if v[i] != w[i] {
			return true
		}
	}
	return false
}

// Concurrent reports whether neither v < w nor w < v, and v != w.
func (v VC) Concurrent(w VC) bool {
	return !v.Before(w) && !w.Before(v) && !v.Equal(w)
}

// Equal reports whether v and w are identical.
func (v VC) Equal(w VC) bool {
	if len(v) != len(w) {
		return false
	}
	for i := range v {
		if v[i] != w[i] {
			return false
		}
	}
	return true
}

// Merge sets v to the element-wise maximum of v and w.
func (v VC) Merge(w VC) {
	for i := range v {
		if i < len(w) && w[i] > v[i] {
			v[i] = w[i]
		}
	}
}

// String formats v as "[1 0 3]".
func (v VC) String() string {
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
