package raft

import (
	"encoding/binary"
	"hash/fnv"
)

// raftLog is the in-memory copy of the log (Figure 2's log[]) after the
// latest snapshot. The entry with index i is entries[i-snapIndex-1].
//
// Invariant: entries[k].Index == snapIndex+1+k.
// Invariant: chains[k] is the chained digest of the prefix ending at
// entries[k]; snapChain that of the prefix ending at snapIndex.
type raftLog struct {
	snapIndex, snapTerm uint64
	snapChain           uint64
	entries             []Entry
	chains              []uint64
}

func (l *raftLog) lastIndex() uint64 { return l.snapIndex + uint64(len(l.entries)) }

func (l *raftLog) lastTerm() uint64 {
	if len(l.entries) == 0 {
		return l.snapTerm
	}
	return l.entries[len(l.entries)-1].Term
}

// term returns the term of entry i; ok is false when i is compacted away
// (below the snapshot) or past the end.
func (l *raftLog) term(i uint64) (uint64, bool) {
	switch {
	case i == l.snapIndex:
		return l.snapTerm, true
	case i < l.snapIndex || i > l.lastIndex():
		return 0, false
	}
	return l.entries[i-l.snapIndex-1].Term, true
}

// entry returns entry i, which must be in memory (snapIndex < i <= lastIndex).
func (l *raftLog) entry(i uint64) *Entry { return &l.entries[i-l.snapIndex-1] }

// chain returns the digest of the prefix ending at i (snapIndex <= i <= lastIndex).
func (l *raftLog) chain(i uint64) uint64 {
	if i == l.snapIndex {
		return l.snapChain
	}
	return l.chains[i-l.snapIndex-1]
}

// slice returns up to max entries from lo (inclusive) to hi (inclusive),
// sharing memory with the log: callers must not modify them.
func (l *raftLog) slice(lo, hi uint64, max int) []Entry {
	if lo > hi {
		return nil
	}
	if hi-lo+1 > uint64(max) {
		hi = lo + uint64(max) - 1
	}
	return l.entries[lo-l.snapIndex-1 : hi-l.snapIndex]
}

// append adds e at the end; e.Index must be lastIndex+1.
func (l *raftLog) append(e Entry) {
	l.chains = append(l.chains, chainNext(l.chain(l.lastIndex()), &e))
	l.entries = append(l.entries, e)
}

// truncate deletes entries from i on (i > snapIndex).
func (l *raftLog) truncate(i uint64) {
	k := i - l.snapIndex - 1
	clear(l.entries[k:])
	l.entries = l.entries[:k]
	l.chains = l.chains[:k]
}

// compact drops entries up to and including i, which becomes the snapshot
// point (snapIndex < i <= lastIndex).
func (l *raftLog) compact(i uint64) {
	term, _ := l.term(i)
	chain := l.chain(i)
	k := i - l.snapIndex
	l.entries = append([]Entry(nil), l.entries[k:]...)
	l.chains = append([]uint64(nil), l.chains[k:]...)
	l.snapIndex, l.snapTerm, l.snapChain = i, term, chain
}

// reset empties the log and starts it after a snapshot.
func (l *raftLog) reset(index, term, chain uint64) {
	*l = raftLog{snapIndex: index, snapTerm: term, snapChain: chain}
}

// firstIndexOfTerm returns the first index at or before i whose entry has
// the same term as entry i (the ConflictIndex hint of §5.3).
func (l *raftLog) firstIndexOfTerm(i uint64) uint64 {
	t, _ := l.term(i)
	for i > l.snapIndex+1 {
		if pt, _ := l.term(i - 1); pt != t {
			break
		}
		i--
	}
	return i
}

// lastIndexOfTerm returns the last index holding term t, or 0 if the log
// (after the snapshot) has none.
func (l *raftLog) lastIndexOfTerm(t uint64) uint64 {
	for k := len(l.entries) - 1; k >= 0; k-- {
		switch et := l.entries[k].Term; {
		case et == t:
			return l.entries[k].Index
		case et < t:
			return 0
		}
	}
	return 0
}

// chainNext digests entry e on top of the prefix digest prev (FNV-1a).
func chainNext(prev uint64, e *Entry) uint64 {
	h := fnv.New64a()
	var b [25]byte
	binary.LittleEndian.PutUint64(b[0:], prev)
	binary.LittleEndian.PutUint64(b[8:], e.Index)
	binary.LittleEndian.PutUint64(b[16:], e.Term)
	b[24] = byte(e.Type)
	h.Write(b[:])
	h.Write(e.Command)
	if e.Config != nil {
		for _, id := range e.Config.Voters {
			binary.LittleEndian.PutUint64(b[:8], uint64(id))
			h.Write(b[:8])
		}
		h.Write([]byte{0xff})
		for _, id := range e.Config.Learners {
			binary.LittleEndian.PutUint64(b[:8], uint64(id))
			h.Write(b[:8])
		}
	}
	return h.Sum64()
}
