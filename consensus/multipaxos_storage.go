package consensus

import (
	"fmt"
	"strconv"

	"github.com/fxamacker/cbor/v2"
)

// The Store keys of a Multi-Paxos node: the acceptor's promise, one record
// per slot (what was accepted in it, and whether it is known chosen), and
// the snapshot that replaces the slots up to its own.
const (
	mpKeyPromised = "multipaxos/promised"
	mpKeySnapshot = "multipaxos/snapshot"
	mpKeySlot     = "multipaxos/slot/"
)

// mpKey names slot s's record; fixed-width hex sorts in slot order.
func mpKey(s uint64) string { return fmt.Sprintf("%s%016x", mpKeySlot, s) }

// mpSnap is a stored snapshot: the state machine after executing every
// slot up to Slot.
type mpSnap struct {
	Slot uint64
	Data []byte
}

var (
	mpEnc, _ = cbor.CanonicalEncOptions().EncMode()
	mpDec, _ = cbor.DecOptions{}.DecMode()
)

func mpEncode(v any) []byte {
	b, err := mpEnc.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("multipaxos: encode %T: %v", v, err)) // our own types always encode
	}
	return b
}

// slot returns slot s's record (s > snapSlot), growing the log to hold it.
func (m *MultiPaxos) slot(s uint64) *mpSlot {
	k := s - m.snapSlot - 1
	for uint64(len(m.log)) <= k {
		m.log = append(m.log, mpSlot{})
	}
	return &m.log[k]
}

// peek returns slot s's record if the log holds one (nil below the
// snapshot or past the end).
func (m *MultiPaxos) peek(s uint64) *mpSlot {
	if s <= m.snapSlot || s > m.lastSlot() {
		return nil
	}
	return &m.log[s-m.snapSlot-1]
}

// lastSlot is the highest slot the log has room for.
func (m *MultiPaxos) lastSlot() uint64 { return m.snapSlot + uint64(len(m.log)) }

// acceptorWrite notes a write of acceptor state: the next message waits for
// the Sync that makes it durable (unless the broken variant skips it).
func (m *MultiPaxos) acceptorWrite() {
	if m.cfg.Broken.UnsyncedAcceptor {
		return
	}
	m.out.Wrote(m.env)
}

// persistPromised writes the promise.
func (m *MultiPaxos) persistPromised() {
	m.env.Store().Set(mpKeyPromised, mpEncode(m.promised))
	m.acceptorWrite()
}

// persistAccepted writes slot s's record after an accept.
func (m *MultiPaxos) persistAccepted(s uint64) {
	m.env.Store().Set(mpKey(s), mpEncode(m.slot(s)))
	m.acceptorWrite()
}

// persistDecided writes slot s's record after it became known chosen. No
// sync is needed: a chosen value can be learned again from the others.
func (m *MultiPaxos) persistDecided(s uint64) {
	m.env.Store().Set(mpKey(s), mpEncode(m.slot(s)))
}

// load reads the durable state back: the promise, the snapshot (restored
// into the state machine) and the slot records after it. The chosen prefix
// is recomputed; nothing is executed yet.
func (m *MultiPaxos) load() error {
	st := m.env.Store()
	if b, ok := st.Get(mpKeyPromised); ok {
		if err := mpDec.Unmarshal(b, &m.promised); err != nil {
			return fmt.Errorf("multipaxos: load promise: %w", err)
		}
	}
	m.observe(m.promised)
	if b, ok := st.Get(mpKeySnapshot); ok {
		var s mpSnap
		if err := mpDec.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("multipaxos: load snapshot: %w", err)
		}
		if err := m.sm.Restore(s.Data); err != nil {
			return fmt.Errorf("multipaxos: restore snapshot at slot %d: %w", s.Slot, err)
		}
		m.snapSlot = s.Slot
	}
	m.commit, m.executed = m.snapSlot, m.snapSlot
	for _, k := range st.Keys(mpKeySlot) {
		s, err := strconv.ParseUint(k[len(mpKeySlot):], 16, 64)
		if err != nil {
			return fmt.Errorf("multipaxos: load log: bad key %q", k)
		}
		if s <= m.snapSlot {
			st.Delete(k) // truncated; the delete was not synced before a crash
			continue
		}
		b, _ := st.Get(k)
		var rec mpSlot
		if err := mpDec.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("multipaxos: load slot %d: %w", s, err)
		}
		*m.slot(s) = rec
	}
	for p := m.peek(m.commit + 1); p != nil && p.Decided; p = m.peek(m.commit + 1) {
		m.commit++
	}
	return nil
}

// maybeSnapshot takes a snapshot once SnapshotThreshold slots were executed
// since the last one, and truncates the log below it: those slots are
// chosen, and a replica that needs them gets the snapshot.
func (m *MultiPaxos) maybeSnapshot() {
	if m.cfg.SnapshotThreshold < 0 || m.executed-m.snapSlot < uint64(m.cfg.SnapshotThreshold) {
		return
	}
	m.env.Store().Set(mpKeySnapshot, mpEncode(mpSnap{Slot: m.executed, Data: m.sm.Snapshot()}))
	m.truncate(m.executed)
}

// truncate drops the records of slots up to s (> snapSlot), which a
// snapshot now covers.
func (m *MultiPaxos) truncate(s uint64) {
	st := m.env.Store()
	for i := m.snapSlot + 1; i <= min(s, m.lastSlot()); i++ {
		st.Delete(mpKey(i))
	}
	for i := range m.votes {
		if i <= s {
			delete(m.votes, i)
		}
	}
	for i := range m.gapExecuted {
		if i <= s {
			delete(m.gapExecuted, i)
		}
	}
	k := min(s-m.snapSlot, uint64(len(m.log)))
	m.log = append([]mpSlot(nil), m.log[k:]...)
	m.snapSlot = s
	// The snapshot and the deletes need not be synced at once: until they
	// are, a crash brings back the log they replace.
}

// storedSnapshot reads the snapshot back from the store.
func (m *MultiPaxos) storedSnapshot() (mpSnap, bool) {
	b, ok := m.env.Store().Get(mpKeySnapshot)
	if !ok {
		return mpSnap{}, false
	}
	var s mpSnap
	if err := mpDec.Unmarshal(b, &s); err != nil {
		m.env.Log().Error("multipaxos: snapshot unreadable", "err", err)
		return mpSnap{}, false
	}
	return s, true
}
