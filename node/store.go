package node

import (
	"slices"
	"strings"
)

// Store is a process's durable key-value storage.
//
// Writes (Set, Delete) are visible to Get at once but survive a crash only
// once Sync has returned, exactly as with a file and fsync. An algorithm that
// answers a message before syncing what it promised can lose that promise in a
// crash, and the simulator will make it happen.
type Store interface {
	// Get returns the value stored under key.
	Get(key string) (value []byte, ok bool)
	// Set stores a copy of value under key.
	Set(key string, value []byte)
	// Delete removes key.
	Delete(key string)
	// Keys returns the keys that start with prefix, in ascending order.
	Keys(prefix string) []string
	// Sync makes every earlier write durable.
	Sync() error
}

// MemStore is an in-memory Store that models a disk with a write cache:
// Crash forgets every write made since the last Sync. The simulator gives each
// node one.
type MemStore struct {
	durable map[string][]byte
	// pending holds writes since the last Sync; a nil value is a delete.
	pending map[string][]byte
	// Syncs counts calls to Sync.
	Syncs int
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{durable: map[string][]byte{}}
}

// Get implements Store.
func (s *MemStore) Get(key string) ([]byte, bool) {
	if v, ok := s.pending[key]; ok {
		if v == nil {
			return nil, false
		}
		return slices.Clone(v), true
	}
	v, ok := s.durable[key]
	return slices.Clone(v), ok
}

// Set implements Store.
func (s *MemStore) Set(key string, value []byte) {
	if s.pending == nil {
		s.pending = map[string][]byte{}
	}
	v := make([]byte, len(value)) // non-nil even when empty: nil marks a delete
	copy(v, value)
	s.pending[key] = v
}

// Delete implements Store.
func (s *MemStore) Delete(key string) {
	if s.pending == nil {
		s.pending = map[string][]byte{}
	}
	s.pending[key] = nil
}

// Keys implements Store.
func (s *MemStore) Keys(prefix string) []string {
	var keys []string
	for k := range s.durable {
		if _, shadowed := s.pending[k]; !shadowed && strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	for k, v := range s.pending {
		if v != nil && strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Sync implements Store: every pending write becomes durable.
func (s *MemStore) Sync() error {
	s.Syncs++
	for k, v := range s.pending {
		if v == nil {
			delete(s.durable, k)
		} else {
			s.durable[k] = v
		}
	}
	s.pending = nil
	return nil
}

// Crash discards every write made since the last Sync, as a power failure
// would.
func (s *MemStore) Crash() { s.pending = nil }

// Unsynced reports how many keys have writes that a crash would lose.
func (s *MemStore) Unsynced() int { return len(s.pending) }
