package kv

import (
	"bytes"
	"slices"
	"testing"
)

// cmd encodes a command of session (client, seq), failing the test on error.
func cmd(t *testing.T, client, seq uint64, op any) []byte {
	t.Helper()
	b, err := Command{Client: client, Seq: seq, Op: AnyOp{op}}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// step is one command applied to a state machine and the result expected.
type smStep struct {
	client, seq uint64
	op          any
	want        Result
}

// applySteps applies steps at indexes 1, 2, ... and checks every result.
func applySteps(t *testing.T, sm *StateMachine, steps []smStep) {
	t.Helper()
	for i, s := range steps {
		got := sm.apply(uint64(i+1), cmd(t, s.client, s.seq, s.op))
		if !resultEqual(got, s.want) {
			t.Errorf("step %d %+v: got %+v, want %+v", i+1, s.op, got, s.want)
		}
	}
}

func resultEqual(a, b Result) bool {
	return a.Code == b.Code && a.Found == b.Found && a.Value == b.Value && a.OK == b.OK &&
		slices.Equal(a.KVs, b.KVs) && (a.Code == CodeOK || a.Err != "")
}

func TestStateMachineOperations(t *testing.T) {
	tests := []struct {
		name  string
		steps []smStep
		want  []KV // the data afterwards
	}{
		{"put reports the previous value", []smStep{
			{0, 0, Put{"k", "v1"}, Result{}},
			{0, 0, Put{"k", "v2"}, Result{Found: true, Value: "v1"}},
		}, []KV{{"k", "v2"}}},
		{"delete reports what it removed, absent is no error", []smStep{
			{0, 0, Put{"k", "v1"}, Result{}},
			{0, 0, Delete{"k"}, Result{Found: true, Value: "v1"}},
			{0, 0, Delete{"k"}, Result{}},
		}, nil},
		{"cas swaps only on the expected value", []smStep{
			{0, 0, CAS{Key: "k", Old: "x", New: "v1"}, Result{OK: false}},
			{0, 0, CAS{Key: "k", New: "v1", Absent: true}, Result{OK: true}},
			{0, 0, CAS{Key: "k", New: "v2", Absent: true}, Result{OK: false, Found: true, Value: "v1"}},
			{0, 0, CAS{Key: "k", Old: "zz", New: "v2"}, Result{OK: false, Found: true, Value: "v1"}},
			{0, 0, CAS{Key: "k", Old: "v1", New: "v2"}, Result{OK: true, Found: true, Value: "v1"}},
		}, []KV{{"k", "v2"}}},
		{"sessions: a retried put is answered from the session, not applied again", []smStep{
			{7, 1, Put{"k", "a"}, Result{}},
			{8, 1, Put{"k", "b"}, Result{Found: true, Value: "a"}},
			{7, 1, Put{"k", "a"}, Result{}}, // the retry: same result, and k stays "b"
		}, []KV{{"k", "b"}}},
		{"sessions: a retried cas is not applied twice", []smStep{
			{7, 1, CAS{Key: "n", New: "1", Absent: true}, Result{OK: true}},
			{8, 1, Delete{"n"}, Result{Found: true, Value: "1"}},
			{7, 1, CAS{Key: "n", New: "1", Absent: true}, Result{OK: true}}, // would swap again if re-applied
		}, nil},
		{"sessions: an older request is refused as stale", []smStep{
			{7, 2, Put{"k", "new"}, Result{}},
			{7, 1, Put{"k", "old"}, Result{Code: CodeStale}},
			{7, 3, Put{"k", "newer"}, Result{Found: true, Value: "new"}},
		}, []KV{{"k", "newer"}}},
		{"no session: every copy is applied", []smStep{
			{0, 0, CAS{Key: "n", New: "1", Absent: true}, Result{OK: true}},
			{0, 0, CAS{Key: "n", New: "1", Absent: true}, Result{OK: false, Found: true, Value: "1"}},
		}, []KV{{"n", "1"}}},
		{"invalid operations change nothing", []smStep{
			{0, 0, Put{"", "v"}, Result{Code: CodeInvalid}},
			{0, 0, StatusOp{}, Result{Code: CodeInvalid}},
			{0, 0, nil, Result{Code: CodeInvalid}},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := NewStateMachine()
			applySteps(t, sm, tt.steps)
			if got := sm.Range("", 0); !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("data %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStateMachineRange(t *testing.T) {
	sm := NewStateMachine()
	// Inserted out of order: a range must list them sorted, whatever the
	// order of arrival.
	for i, k := range []string{"b/2", "a", "b/10", "c", "b/1", "b", "ba"} {
		sm.apply(uint64(i+1), cmd(t, 0, 0, Put{k, "v" + k}))
	}
	tests := []struct {
		prefix string
		limit  int
		want   []string
	}{
		{"", 0, []string{"a", "b", "b/1", "b/10", "b/2", "ba", "c"}},
		{"b/", 0, []string{"b/1", "b/10", "b/2"}},
		{"b/", 2, []string{"b/1", "b/10"}},
		{"b", 0, []string{"b", "b/1", "b/10", "b/2", "ba"}},
		{"b/1", 0, []string{"b/1", "b/10"}},
		{"", 1, []string{"a"}},
		{"d", 0, nil},
		{"0", 0, nil},
	}
	for _, tt := range tests {
		res := sm.read(Range{Prefix: tt.prefix, Limit: tt.limit})
		var keys []string
		for _, kv := range res.KVs {
			keys = append(keys, kv.Key)
			if kv.Value != "v"+kv.Key {
				t.Errorf("range(%q): %s has value %q", tt.prefix, kv.Key, kv.Value)
			}
		}
		if !slices.Equal(keys, tt.want) {
			t.Errorf("range(%q, %d) = %v, want %v", tt.prefix, tt.limit, keys, tt.want)
		}
		if res.KVs == nil {
			t.Errorf("range(%q, %d): nil list, want an empty one", tt.prefix, tt.limit)
		}
	}
}

func TestStateMachineSnapshotRoundTrip(t *testing.T) {
	sm := NewStateMachine()
	applySteps(t, sm, []smStep{
		{7, 1, Put{"x", "1"}, Result{}},
		{9, 4, CAS{Key: "y", New: "2", Absent: true}, Result{OK: true}},
		{0, 0, Put{"z", "3"}, Result{}},
		{7, 2, Delete{"z"}, Result{Found: true, Value: "3"}},
	})
	snap := sm.Snapshot()

	restored := NewStateMachine()
	restored.apply(1, cmd(t, 0, 0, Put{"junk", "gone after restore"}))
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if got, want := restored.Range("", 0), sm.Range("", 0); !slices.Equal(got, want) {
		t.Errorf("restored data %v, want %v", got, want)
	}
	if restored.Applied() != 4 {
		t.Errorf("restored applied index %d, want 4", restored.Applied())
	}
	if !bytes.Equal(restored.Snapshot(), snap) {
		t.Errorf("a restored state machine snapshots to different bytes")
	}
	// The sessions came along: client 9's CAS retried after the restore is
	// answered from its session, not applied again (it would now fail).
	restored.apply(5, cmd(t, 0, 0, Delete{"y"}))
	if got := restored.apply(6, cmd(t, 9, 4, CAS{Key: "y", New: "2", Absent: true})); !got.OK {
		t.Errorf("retried cas after restore: %+v, want the saved OK result", got)
	}
	if _, found := restored.Get("y"); found {
		t.Errorf("retried cas after restore was applied again")
	}
}

func TestStateMachineDeterministic(t *testing.T) {
	// Two replicas applying the same commands write the same snapshot
	// bytes, whatever Go's map order (sessions live in a map).
	var snaps [][]byte
	for range 2 {
		sm := NewStateMachine()
		for i := range 50 {
			client := uint64(i%7 + 1)
			sm.apply(uint64(i+1), cmd(t, client, uint64(i+1), Put{string(rune('a' + i%5)), string(rune('A' + i))}))
		}
		snaps = append(snaps, sm.Snapshot())
	}
	if !bytes.Equal(snaps[0], snaps[1]) {
		t.Errorf("same commands, different snapshots")
	}
}

func TestStateMachineRejectsGarbage(t *testing.T) {
	sm := NewStateMachine()
	sm.apply(1, cmd(t, 0, 0, Put{"k", "v"}))
	before := sm.Snapshot()
	for _, b := range [][]byte{nil, {0xff}, []byte("not cbor at all"), {0x82, 0x61}} {
		if res := sm.apply(2, b); res.Code != CodeInvalid || res.Err == "" {
			t.Errorf("apply(%x) = %+v, want CodeInvalid with a reason", b, res)
		}
	}
	for _, b := range [][]byte{{0xff}, []byte("garbage"), mustEncodeSnapshot(t, snapshotData{KVs: []KV{{"b", "1"}, {"a", "2"}}})} {
		if err := sm.Restore(b); err == nil {
			t.Errorf("Restore(%x) accepted", b)
		}
	}
	if sm.Applied() != 2 {
		t.Errorf("applied index %d, want 2 (garbage still consumes its index)", sm.Applied())
	}
	if v, _ := sm.Get("k"); v != "v" || len(before) == 0 {
		t.Errorf("garbage changed the data: k = %q", v)
	}
}

func mustEncodeSnapshot(t *testing.T, d snapshotData) []byte {
	t.Helper()
	b, err := cmdEnc.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSessionsEvictOldest(t *testing.T) {
	sm := NewStateMachine()
	for i := range MaxSessions + 2 {
		sm.apply(uint64(i+1), cmd(t, uint64(i+1), 1, Put{"k", "v"}))
	}
	if len(sm.sessions) != MaxSessions {
		t.Fatalf("%d sessions, want %d", len(sm.sessions), MaxSessions)
	}
	for _, gone := range []uint64{1, 2} {
		if sm.sessions[gone] != nil {
			t.Errorf("session %d (the oldest) kept", gone)
		}
	}
	if sm.sessions[MaxSessions+2] == nil {
		t.Errorf("the newest session was evicted")
	}
}
