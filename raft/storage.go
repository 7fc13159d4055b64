package raft

import (
	"fmt"
	"strconv"

	"github.com/fxamacker/cbor/v2"
	"github.com/synod-dev/synod/node"
)

// The Store keys of Raft's persistent state (Figure 2: currentTerm, votedFor,
// log[]; §7: the snapshot).
const (
	keyHardState = "raft/hard"
	keySnapshot  = "raft/snapshot"
	keyLogPrefix = "raft/log/"
)

// keyEntry names entry i; fixed-width hex sorts in index order. (Built by
// hand: it runs for every entry written, and fmt costs more than the rest.)
func keyEntry(i uint64) string {
	const digits = "0123456789abcdef"
	var b [len(keyLogPrefix) + 16]byte
	copy(b[:], keyLogPrefix)
	for j := len(b) - 1; j >= len(keyLogPrefix); j-- {
		b[j] = digits[i&15]
		i >>= 4
	}
	return string(b[:])
}

type hardState struct {
	Term     uint64
	VotedFor node.ID
}

// snapshot is what Raft keeps of the latest snapshot (Figure 13's last
// included index and term, the configuration as of that index, and the state
// machine's data).
type snapshot struct {
	Index, Term, Chain uint64
	Config             Configuration
	Data               []byte
}

var (
	encMode, _ = cbor.CanonicalEncOptions().EncMode()
	decMode, _ = cbor.DecOptions{}.DecMode()
)

func encode(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("raft: encode %T: %v", v, err)) // our own types always encode
	}
	return b
}

// persistHardState writes currentTerm and votedFor; the next flush syncs them.
func (r *Raft) persistHardState() {
	r.env.Store().Set(keyHardState, encode(hardState{Term: r.currentTerm, VotedFor: r.votedFor}))
	r.out.Wrote(r.env)
}

func (r *Raft) persistEntry(e *Entry) {
	r.env.Store().Set(keyEntry(e.Index), encode(e))
	r.out.Wrote(r.env)
}

// deleteEntries removes entries from..to (inclusive) from the store.
func (r *Raft) deleteEntries(from, to uint64) {
	st := r.env.Store()
	for i := from; i <= to && i != 0; i++ {
		st.Delete(keyEntry(i))
	}
	r.out.Wrote(r.env)
}

// load reads the persistent state back: hard state, snapshot, then the log
// entries after the snapshot, which must be contiguous.
func (r *Raft) load() error {
	st := r.env.Store()
	if b, ok := st.Get(keyHardState); ok {
		var hs hardState
		if err := decMode.Unmarshal(b, &hs); err != nil {
			return fmt.Errorf("raft: load hard state: %w", err)
		}
		r.currentTerm, r.votedFor = hs.Term, hs.VotedFor
	}
	r.snapConfig = Configuration{Voters: r.cfg.Members}
	if b, ok := st.Get(keySnapshot); ok {
		var s snapshot
		if err := decMode.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("raft: load snapshot: %w", err)
		}
		if err := r.sm.Restore(s.Data); err != nil {
			return fmt.Errorf("raft: restore snapshot at %d: %w", s.Index, err)
		}
		r.log.reset(s.Index, s.Term, s.Chain)
		r.snapConfig = s.Config
	}
	r.config, r.configIndex = r.snapConfig.clone(), 0
	for _, k := range st.Keys(keyLogPrefix) {
		i, err := strconv.ParseUint(k[len(keyLogPrefix):], 16, 64)
		if err != nil {
			return fmt.Errorf("raft: load log: bad key %q", k)
		}
		if i <= r.log.snapIndex {
			st.Delete(k) // compacted; the delete was not synced before a crash
			continue
		}
		if i != r.log.lastIndex()+1 {
			return fmt.Errorf("raft: load log: entry %d follows %d", i, r.log.lastIndex())
		}
		b, _ := st.Get(k)
		var e Entry
		if err := decMode.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("raft: load log entry %d: %w", i, err)
		}
		if e.Index != i {
			return fmt.Errorf("raft: load log: key %d holds entry %d", i, e.Index)
		}
		r.log.append(e)
		if e.Type == EntryConfig && e.Config != nil {
			r.config, r.configIndex = e.Config.clone(), e.Index
		}
	}
	r.commitIndex, r.lastApplied = r.log.snapIndex, r.log.snapIndex
	r.durableIndex = r.log.lastIndex()
	return nil
}
