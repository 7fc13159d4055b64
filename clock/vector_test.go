package clock

import (
	"encoding/json"
	randv1 "math/rand"
	"math/rand/v2"
	"reflect"
	"testing"
	"testing/quick"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b Vector
		want Order
	}{
		{nil, nil, Equal},
		{Vector{}, Vector{0, 0}, Equal},
		{Vector{1, 2, 3}, Vector{1, 2, 3}, Equal},
		{Vector{1, 0}, Vector{1}, Equal},
		{Vector{1, 2, 3}, Vector{1, 2, 4}, Before},
		{Vector{0, 0}, Vector{0, 1}, Before},
		{Vector{1}, Vector{1, 1}, Before},
		{nil, Vector{0, 0, 1}, Before},
		{Vector{2, 2}, Vector{1, 2}, After},
		{Vector{1, 0, 1}, Vector{1}, After},
		{Vector{1, 0}, Vector{0, 1}, Concurrent},
		{Vector{2}, Vector{1, 1}, Concurrent},
		{Vector{3, 1, 0}, Vector{2, 2, 0}, Concurrent},
	}
	for _, tt := range tests {
		if got := Compare(tt.a, tt.b); got != tt.want {
			t.Errorf("Compare(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestOrderString(t *testing.T) {
	for o, want := range map[Order]string{Equal: "equal", Before: "before", After: "after", Concurrent: "concurrent", 9: "order(9)"} {
		if got := o.String(); got != want {
			t.Errorf("Order(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}

func TestVectorOperations(t *testing.T) {
	tests := []struct {
		name string
		op   func(v *Vector) Vector // returns what the op hands out, if anything
		v    Vector
		want Vector // v afterwards
		out  Vector
	}{
		{"tick", func(v *Vector) Vector { v.Tick(1); return nil }, Vector{1, 1, 1}, Vector{1, 2, 1}, nil},
		{"tick grows", func(v *Vector) Vector { v.Tick(2); return nil }, Vector{1}, Vector{1, 0, 1}, nil},
		{"tick nil", func(v *Vector) Vector { v.Tick(0); return nil }, nil, Vector{1}, nil},
		{"send", func(v *Vector) Vector { return v.Send(0) }, Vector{0, 4}, Vector{1, 4}, Vector{1, 4}},
		{"merge", func(v *Vector) Vector { v.Merge(Vector{0, 5, 1}); return nil }, Vector{3, 1, 2}, Vector{3, 5, 2}, nil},
		{"merge longer", func(v *Vector) Vector { v.Merge(Vector{0, 0, 7}); return nil }, Vector{2}, Vector{2, 0, 7}, nil},
		{"merge shorter", func(v *Vector) Vector { v.Merge(Vector{9}); return nil }, Vector{2, 3}, Vector{9, 3}, nil},
		{"receive merges then ticks", func(v *Vector) Vector { v.Receive(1, Vector{2, 5, 0}); return nil }, Vector{1, 1, 3}, Vector{2, 6, 3}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.v.Clone()
			out := tt.op(&v)
			if !reflect.DeepEqual(v, tt.want) {
				t.Errorf("vector = %v, want %v", v, tt.want)
			}
			if !reflect.DeepEqual(out, tt.out) {
				t.Errorf("returned %v, want %v", out, tt.out)
			}
		})
	}
}

// A vector handed out by Send, or cloned, must not change with the clock.
func TestVectorSendIsACopy(t *testing.T) {
	v := NewVector(2)
	m := v.Send(0)
	c := v.Clone()
	v.Tick(0)
	v.Receive(1, Vector{5, 5})
	if !reflect.DeepEqual(m, Vector{1, 0}) || !reflect.DeepEqual(c, Vector{1, 0}) {
		t.Fatalf("copies changed with the clock: sent %v, clone %v", m, c)
	}
	if Vector(nil).Clone() != nil {
		t.Fatal("Clone(nil) != nil")
	}
}

func TestVectorString(t *testing.T) {
	if got := (Vector{1, 0, 3}).String(); got != "[1 0 3]" {
		t.Errorf("String() = %q", got)
	}
	if got := Vector(nil).String(); got != "[]" {
		t.Errorf("nil String() = %q", got)
	}
}

// Vectors travel in messages: they must encode as plain arrays.
func TestVectorJSON(t *testing.T) {
	b, err := json.Marshal(struct{ V Vector }{Vector{1, 2}})
	if err != nil || string(b) != `{"V":[1,2]}` {
		t.Fatalf("json = %s, %v", b, err)
	}
	var got struct{ V Vector }
	if err := json.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(got.V, Vector{1, 2}) {
		t.Fatalf("decoded %v, %v", got.V, err)
	}
}

// smallVector draws short vectors with small entries, so that equal and
// ordered pairs are common, not only concurrent ones.
func smallVector(r *rand.Rand) Vector {
	v := make(Vector, r.IntN(5))
	for i := range v {
		v[i] = r.Uint64N(3)
	}
	return v
}

// quickConfig makes testing/quick deterministic (it takes a math/rand v1
// source).
var quickConfig = &quick.Config{MaxCount: 2000, Rand: randv1.New(randv1.NewSource(1))}

func inverse(o Order) Order {
	switch o {
	case Before:
		return After
	case After:
		return Before
	}
	return o
}

func TestCompareProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		a, b, c := smallVector(r), smallVector(r), smallVector(r)
		ab, ba := Compare(a, b), Compare(b, a)
		if ba != inverse(ab) {
			t.Fatalf("#%d: not antisymmetric: Compare(%v, %v) = %v but Compare(b, a) = %v", i, a, b, ab, ba)
		}
		if Compare(a, a) != Equal {
			t.Fatalf("#%d: Compare(%v, itself) = %v", i, a, Compare(a, a))
		}
		if ab == Before && Compare(b, c) == Before && Compare(a, c) != Before {
			t.Fatalf("#%d: not transitive: %v < %v < %v but Compare(a, c) = %v", i, a, b, c, Compare(a, c))
		}
	}
}

func TestMergeProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	merge := func(a, b Vector) Vector {
		m := a.Clone()
		m.Merge(b)
		return m
	}
	for i := range 20000 {
		a, b, c := smallVector(r), smallVector(r), smallVector(r)
		ab, ba := merge(a, b), merge(b, a)
		if Compare(ab, ba) != Equal {
			t.Fatalf("#%d: not commutative: %v ⊔ %v = %v, but %v the other way", i, a, b, ab, ba)
		}
		if aa := merge(a, a); Compare(aa, a) != Equal {
			t.Fatalf("#%d: not idempotent: %v ⊔ itself = %v", i, a, aa)
		}
		if x, y := merge(ab, c), merge(a, merge(b, c)); Compare(x, y) != Equal {
			t.Fatalf("#%d: not associative: %v vs %v", i, x, y)
		}
		// The merge is the least upper bound: above both, and equal to
		// one of them exactly when that one is above the other.
		if o := Compare(a, ab); o != Before && o != Equal {
			t.Fatalf("#%d: %v ⊔ %v = %v is not above a", i, a, b, ab)
		}
		if o := Compare(a, b); (o == After || o == Equal) != (Compare(ab, a) == Equal) {
			t.Fatalf("#%d: %v ⊔ %v = %v but Compare(a, b) = %v", i, a, b, ab, o)
		}
	}
}

// TestReceiveOrdersAfter checks the heart of the algorithm with
// testing/quick: after Receive, the receiver is strictly after both the
// message and its own previous state.
func TestReceiveOrdersAfter(t *testing.T) {
	f := func(own, msg Vector, self uint8) bool {
		v := own.Clone()
		v.Receive(int(self%4), msg)
		return Compare(own, v) == Before && Compare(msg, v) == Before
	}
	if err := quick.Check(f, quickConfig); err != nil {
		t.Error(err)
	}
}
