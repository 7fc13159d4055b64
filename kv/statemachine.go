package kv

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// MaxSessions bounds the client sessions a StateMachine keeps. Beyond it the
// session applied longest ago (lowest log index) is dropped, the same way on
// every replica, as the dissertation suggests (diss. §6.3: "servers must
// eventually discard information about clients... using a deterministic
// policy"). A client whose session was dropped is served as a new one, so a
// retry of its last write could then be applied twice: the bound must exceed
// the number of clients active at once.
const MaxSessions = 10000

// StateMachine is the replicated key-value state: a map from string keys to
// string values kept sorted by key, and the client sessions of diss. §6.3.
// It implements raft.StateMachine. It is deterministic: the same commands in
// the same order give the same state and the same snapshot bytes on every
// replica; no decision depends on map iteration order, time or randomness.
//
// Writes cost O(n) in the number of keys (an insertion into a sorted slice),
// reads O(log n), a Range O(log n + k): the right trade for the small to
// medium data sets a simulation holds.
type StateMachine struct {
	// kvs is the data. Invariant: strictly ascending keys.
	kvs []KV
	// sessions holds, per client, the last write applied and its result.
	sessions map[uint64]*session
	// applied is the index of the last command applied.
	applied uint64
}

// session is what a StateMachine remembers of one client (diss. §6.3): the
// sequence number of its latest write and that write's result, so that a
// retry is answered without applying it again.
type session struct {
	Client uint64
	Seq    uint64
	Result Result
	// Index is the log index of the write, for eviction.
	Index uint64
}

// NewStateMachine returns an empty state machine.
func NewStateMachine() *StateMachine {
	return &StateMachine{sessions: map[uint64]*session{}}
}

// Apply implements raft.StateMachine: it applies the write at log index
// index. A command that cannot be decoded changes nothing.
func (sm *StateMachine) Apply(index, term uint64, command []byte) {
	sm.apply(index, command)
}

// apply applies one command and returns its result. A write whose session
// already holds its sequence number is not applied again: the saved result
// is returned (diss. §6.3: "if it receives a command whose serial number has
// already been executed, it responds immediately without re-executing the
// request").
func (sm *StateMachine) apply(index uint64, command []byte) Result {
	sm.applied = max(sm.applied, index)
	c, err := DecodeCommand(command)
	if err != nil {
		return Result{Code: CodeInvalid, Err: err.Error()}
	}
	if c.Client != 0 {
		if s := sm.sessions[c.Client]; s != nil {
			switch {
			case c.Seq == s.Seq:
				return s.Result
			case c.Seq < s.Seq:
				return staleResult(c.Seq, s.Seq)
			}
		}
	}
	res := sm.execute(c.Op.V)
	if c.Client != 0 {
		sm.sessions[c.Client] = &session{Client: c.Client, Seq: c.Seq, Result: res, Index: index}
		sm.evict()
	}
	return res
}

func staleResult(seq, last uint64) Result {
	return Result{Code: CodeStale, Err: fmt.Sprintf("kv: request %d of this client is stale: request %d was already applied", seq, last)}
}

// session returns the saved result of a client's write seq, if the session
// already holds it (ok), or a stale result if it holds a later one.
func (sm *StateMachine) session(client, seq uint64) (Result, bool) {
	s := sm.sessions[client]
	switch {
	case client == 0 || s == nil || seq > s.Seq:
		return Result{}, false
	case seq == s.Seq:
		return s.Result, true
	}
	return staleResult(seq, s.Seq), true
}

// evict drops the oldest sessions beyond MaxSessions.
func (sm *StateMachine) evict() {
	for len(sm.sessions) > MaxSessions {
		var oldest *session
		for _, s := range sm.sessions {
			if oldest == nil || s.Index < oldest.Index || (s.Index == oldest.Index && s.Client < oldest.Client) {
				oldest = s
			}
		}
		delete(sm.sessions, oldest.Client)
	}
}

// execute applies one validated operation to the data.
func (sm *StateMachine) execute(op any) Result {
	if err := validate(op); err != nil {
		return Result{Code: CodeInvalid, Err: err.Error()}
	}
	switch op := op.(type) {
	case Put:
		prev, found := sm.Get(op.Key)
		sm.set(op.Key, op.Value)
		return Result{Found: found, Value: prev}
	case Delete:
		prev, found := sm.Get(op.Key)
		sm.delete(op.Key)
		return Result{Found: found, Value: prev}
	case CAS:
		prev, found := sm.Get(op.Key)
		swap := (op.Absent && !found) || (!op.Absent && found && prev == op.Old)
		if swap {
			sm.set(op.Key, op.New)
		}
		return Result{OK: swap, Found: found, Value: prev}
	case Get, Range:
		return sm.read(op)
	}
	return Result{Code: CodeInvalid, Err: fmt.Sprintf("kv: %T is not a key-value operation", op)}
}

// read serves a validated Get or Range from the current state.
func (sm *StateMachine) read(op any) Result {
	switch op := op.(type) {
	case Get:
		v, found := sm.Get(op.Key)
		return Result{Found: found, Value: v}
	case Range:
		return Result{KVs: sm.Range(op.Prefix, op.Limit)}
	}
	return Result{Code: CodeInvalid, Err: fmt.Sprintf("kv: %T is not a read", op)}
}

// search finds key's position in kvs.
func (sm *StateMachine) search(key string) (int, bool) {
	return slices.BinarySearchFunc(sm.kvs, key, func(kv KV, k string) int { return strings.Compare(kv.Key, k) })
}

// Get returns key's value and whether it exists.
func (sm *StateMachine) Get(key string) (string, bool) {
	if i, ok := sm.search(key); ok {
		return sm.kvs[i].Value, true
	}
	return "", false
}

func (sm *StateMachine) set(key, value string) {
	i, ok := sm.search(key)
	if ok {
		sm.kvs[i].Value = value
		return
	}
	sm.kvs = slices.Insert(sm.kvs, i, KV{Key: key, Value: value})
}

func (sm *StateMachine) delete(key string) {
	if i, ok := sm.search(key); ok {
		sm.kvs = slices.Delete(sm.kvs, i, i+1)
	}
}

// Range returns the pairs whose key starts with prefix, in ascending key
// order, at most limit of them (limit <= 0: all). The slice is a copy.
func (sm *StateMachine) Range(prefix string, limit int) []KV {
	i, _ := sm.search(prefix)
	out := []KV{}
	for ; i < len(sm.kvs) && strings.HasPrefix(sm.kvs[i].Key, prefix); i++ {
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, sm.kvs[i])
	}
	return out
}

// Len returns the number of keys.
func (sm *StateMachine) Len() int { return len(sm.kvs) }

// Applied returns the log index of the last command applied (0 if none).
func (sm *StateMachine) Applied() uint64 { return sm.applied }

// snapshotData is the snapshot's encoded form. Sessions are sorted by
// client, so equal states give equal bytes.
type snapshotData struct {
	KVs      []KV      `cbor:",omitempty"`
	Sessions []session `cbor:",omitempty"`
	Applied  uint64    `cbor:",omitempty"`
}

// Snapshot implements raft.StateMachine: the data and the sessions (which
// must survive compaction, or a retried write could be applied twice after
// a snapshot), deterministically encoded.
func (sm *StateMachine) Snapshot() []byte {
	d := snapshotData{KVs: sm.kvs, Applied: sm.applied}
	for _, s := range sm.sessions {
		d.Sessions = append(d.Sessions, *s)
	}
	slices.SortFunc(d.Sessions, func(a, b session) int { return cmp.Compare(a.Client, b.Client) })
	b, err := cmdEnc.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("kv: encode snapshot: %v", err)) // our own types always encode
	}
	return b
}

// Restore implements raft.StateMachine: it replaces the whole state with a
// snapshot taken by Snapshot. A snapshot that does not parse or breaks the
// invariants (unsorted or duplicate keys, duplicate sessions) is refused
// and the state is left as it was.
func (sm *StateMachine) Restore(snapshot []byte) error {
	var d snapshotData
	if err := cmdDec.Unmarshal(snapshot, &d); err != nil {
		return fmt.Errorf("kv: restore snapshot: %w", err)
	}
	for i := 1; i < len(d.KVs); i++ {
		if d.KVs[i-1].Key >= d.KVs[i].Key {
			return fmt.Errorf("kv: restore snapshot: keys out of order at %q", d.KVs[i].Key)
		}
	}
	sessions := make(map[uint64]*session, len(d.Sessions))
	for i := range d.Sessions {
		s := &d.Sessions[i]
		if s.Client == 0 || sessions[s.Client] != nil {
			return fmt.Errorf("kv: restore snapshot: bad or duplicate session %d", s.Client)
		}
		sessions[s.Client] = s
	}
	sm.kvs, sm.sessions, sm.applied = d.KVs, sessions, d.Applied
	return nil
}
