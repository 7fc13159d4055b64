package node

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

type vote struct {
	Term      uint64
	Candidate ID
	Log       []string
}

type ack struct{ OK bool }

func TestIDString(t *testing.T) {
	if ID(3).String() != "n3" || None.String() != "none" {
		t.Fatalf("got %v %v", ID(3), None)
	}
}

func TestMemStoreCountsWritesOnlyAfterSync(t *testing.T) {
	s := NewMemStore()
	s.Set("a", []byte("1"))
	s.Set("b", []byte("2"))
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	s.Set("a", []byte("changed"))
	s.Delete("b")
	s.Set("c", []byte{})
	if v, _ := s.Get("a"); string(v) != "changed" {
		t.Fatalf("unsynced write not visible before a crash: %q", v)
	}
	if _, ok := s.Get("b"); ok {
		t.Fatal("unsynced delete not visible before a crash")
	}
	if v, ok := s.Get("c"); !ok || len(v) != 0 {
		t.Fatalf("empty value: %q %v", v, ok)
	}
	if got := s.Keys(""); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("Keys before crash = %v", got)
	}
	if s.Unsynced() != 3 {
		t.Fatalf("Unsynced = %d, want 3", s.Unsynced())
	}
	s.Crash()
	if v, _ := s.Get("a"); string(v) != "1" {
		t.Fatalf("after crash a = %q, want the synced 1", v)
	}
	if v, ok := s.Get("b"); !ok || string(v) != "2" {
		t.Fatal("an unsynced delete survived a crash")
	}
	if _, ok := s.Get("c"); ok {
		t.Fatal("an unsynced write survived a crash")
	}
	if got := s.Keys(""); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Keys after crash = %v", got)
	}
}

func TestMemStoreCopiesValues(t *testing.T) {
	s := NewMemStore()
	v := []byte("abc")
	s.Set("k", v)
	v[0] = 'X'
	got, _ := s.Get("k")
	got[1] = 'Y'
	if again, _ := s.Get("k"); string(again) != "abc" {
		t.Fatalf("store shares memory with callers: %q", again)
	}
}

func TestMemStoreKeysPrefixSorted(t *testing.T) {
	s := NewMemStore()
	for _, k := range []string{"log/3", "log/1", "meta", "log/2"} {
		s.Set(k, []byte(k))
	}
	_ = s.Sync()
	s.Delete("log/2")
	if got := s.Keys("log/"); !slices.Equal(got, []string{"log/1", "log/3"}) {
		t.Fatalf("Keys(log/) = %v", got)
	}
}

func TestRegistryRoundTrip(t *testing.T) {
	r := NewRegistry(vote{}, ack{})
	in := vote{Term: 7, Candidate: 2, Log: []string{"x", "y"}}
	data, err := r.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip: %#v != %#v", out, in)
	}
	if name, _ := r.Name(in); name != "node.vote" {
		t.Fatalf("name %q", name)
	}
	if !slices.Equal(r.Names(), []string{"node.ack", "node.vote"}) {
		t.Fatalf("Names = %v", r.Names())
	}
	// Deterministic: the same value gives the same bytes.
	again, _ := r.Encode(in)
	if string(again) != string(data) {
		t.Fatal("encoding is not deterministic")
	}
	j, err := r.DecodeJSON("node.vote", []byte(`{"Term":7,"Candidate":2,"Log":["x","y"]}`))
	if err != nil || !reflect.DeepEqual(j, in) {
		t.Fatalf("DecodeJSON = %#v, %v", j, err)
	}
}

func TestRegistryRejectsUnknownAndMalformed(t *testing.T) {
	r := NewRegistry(vote{})
	if _, err := r.Encode(ack{}); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("encode unregistered: %v", err)
	}
	other := NewRegistry(ack{})
	data, _ := other.Encode(ack{OK: true})
	if _, err := r.Decode(data); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("decode unknown name: %v", err)
	}
	good, _ := r.Encode(vote{Term: 1, Log: []string{"a"}})
	for i := range len(good) {
		if _, err := r.Decode(good[:i]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", i)
		}
	}
	if _, err := r.Decode(make([]byte, MaxMessageSize+1)); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized: %v", err)
	}
}

// Random bytes never panic the decoder.
func TestRegistryDecodeRandomBytes(t *testing.T) {
	r := NewRegistry(vote{}, ack{})
	rng := rand.New(rand.NewPCG(1, 2))
	good, _ := r.Encode(vote{Term: 3, Candidate: 1, Log: []string{"a", "b"}})
	for range 20000 {
		b := slices.Clone(good)
		for range 1 + rng.IntN(4) {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		junk := make([]byte, rng.IntN(64))
		for i := range junk {
			junk[i] = byte(rng.IntN(256))
		}
		for _, in := range [][]byte{b, junk} {
			// No panic, and whatever decodes is a value of a registered type.
			if v, err := r.Decode(in); err == nil {
				if _, ok := r.Name(v); !ok {
					t.Fatalf("%x decoded to %T, which is not registered", in, v)
				}
			}
		}
	}
}

func FuzzRegistryDecode(f *testing.F) {
	r := NewRegistry(vote{}, ack{})
	seed, _ := r.Encode(vote{Term: 3, Log: []string{"a"}})
	f.Add(seed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := r.Decode(data)
		if err == nil {
			if _, again := r.Encode(v); again != nil {
				t.Fatalf("decoded %#v does not encode: %v", v, again)
			}
		}
	})
}

func TestRegisterConflictingNamesPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("two types with one name were accepted")
		}
	}()
	type vote struct{ X int } // same package and name as the package-level vote
	NewRegistry(packageVote{}, vote{})
}

type packageVote = vote

func TestShortName(t *testing.T) {
	if ShortName("broadcast.ack") != "ack" || ShortName("ack") != "ack" {
		t.Fatal(ShortName("broadcast.ack"))
	}
	if TypeName(&ack{}) != "node.ack" || TypeName(nil) != "nil" {
		t.Fatal(TypeName(&ack{}))
	}
}

func TestRegistryKeepsTimePrecision(t *testing.T) {
	type stamp struct{ At time.Time }
	r := NewRegistry(stamp{})
	in := stamp{At: time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC)}
	data, err := r.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(stamp).At; !got.Equal(in.At) {
		t.Fatalf("time came back as %v, want %v", got, in.At)
	}
}
