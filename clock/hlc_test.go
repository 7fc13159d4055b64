package clock

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestTimestampCompare(t *testing.T) {
	tests := []struct {
		a, b Timestamp
		want int
	}{
		{Timestamp{5, 0}, Timestamp{5, 0}, 0},
		{Timestamp{5, 1}, Timestamp{5, 2}, -1},
		{Timestamp{5, 9}, Timestamp{6, 0}, -1},
		{Timestamp{7, 0}, Timestamp{6, 9}, 1},
		{Timestamp{-1, 3}, Timestamp{0, 0}, -1},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := tt.a.Less(tt.b); got != (tt.want < 0) {
			t.Errorf("%v.Less(%v) = %v", tt.a, tt.b, got)
		}
	}
}

// TestHLCFig5 walks through every branch of Kulkarni et al. 2014, Fig. 5.
func TestHLCFig5(t *testing.T) {
	tests := []struct {
		name string
		last Timestamp // (l.j, c.j) before the event
		pt   int64
		recv bool
		m    Timestamp
		want Timestamp
	}{
		{"local: pt ahead resets c", Timestamp{10, 4}, 20, false, Timestamp{}, Timestamp{20, 0}},
		{"local: pt behind counts in c", Timestamp{10, 4}, 7, false, Timestamp{}, Timestamp{10, 5}},
		{"local: pt equal counts in c", Timestamp{10, 4}, 10, false, Timestamp{}, Timestamp{10, 5}},
		{"recv: l = l' = l.m", Timestamp{10, 4}, 3, true, Timestamp{10, 8}, Timestamp{10, 9}},
		{"recv: l = l' = l.m, own c larger", Timestamp{10, 8}, 3, true, Timestamp{10, 2}, Timestamp{10, 9}},
		{"recv: l = l' only", Timestamp{10, 4}, 3, true, Timestamp{8, 8}, Timestamp{10, 5}},
		{"recv: l = l.m only", Timestamp{10, 4}, 3, true, Timestamp{12, 6}, Timestamp{12, 7}},
		{"recv: l = pt", Timestamp{10, 4}, 15, true, Timestamp{12, 6}, Timestamp{15, 0}},
		{"recv: pt ties with l.m", Timestamp{10, 4}, 12, true, Timestamp{12, 6}, Timestamp{12, 7}},
		{"local: c exhausted moves l on", Timestamp{10, math.MaxUint32}, 3, false, Timestamp{}, Timestamp{11, 0}},
		{"recv: c exhausted moves l on", Timestamp{10, 1}, 3, true, Timestamp{10, math.MaxUint32}, Timestamp{11, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := HLC{last: tt.last}
			var got Timestamp
			if tt.recv {
				var err error
				if got, err = h.Update(tt.pt, tt.m); err != nil {
					t.Fatal(err)
				}
			} else {
				got = h.Now(tt.pt)
			}
			if got != tt.want || h.Last() != tt.want {
				t.Fatalf("got %v (Last %v), want %v", got, h.Last(), tt.want)
			}
		})
	}
}

func TestHLCMaxOffset(t *testing.T) {
	const pt = int64(100 * time.Second)
	tests := []struct {
		name    string
		max     time.Duration
		ahead   time.Duration
		wantErr bool
	}{
		{"no guard", 0, time.Hour, false},
		{"within", time.Second, 999 * time.Millisecond, false},
		{"exactly at the bound", time.Second, time.Second, false},
		{"beyond", time.Second, time.Second + 1, true},
		{"behind is always fine", time.Second, -time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHLC(tt.max)
			before := h.Now(pt)
			m := Timestamp{L: pt + int64(tt.ahead), C: 3}
			got, err := h.Update(pt, m)
			if tt.wantErr {
				if !errors.Is(err, ErrMaxOffset) {
					t.Fatalf("err = %v, want ErrMaxOffset", err)
				}
				if got != before || h.Last() != before {
					t.Fatalf("clock moved on a refused update: %v -> %v", before, h.Last())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !m.Less(got) || !before.Less(got) {
				t.Fatalf("Update = %v, not after message %v and previous %v", got, m, before)
			}
		})
	}
	// The guard must not overflow on extreme inputs.
	h := NewHLC(time.Second)
	if _, err := h.Update(math.MinInt64, Timestamp{L: math.MaxInt64}); !errors.Is(err, ErrMaxOffset) {
		t.Fatalf("extreme offset: err = %v", err)
	}
}

// TestHLCProperties runs random message exchanges between nodes whose
// physical clocks are offset by up to eps and checks the paper's guarantees:
// l >= pt at every event; timestamps grow at every node and from send to
// receive (Theorem 1, so e → f ⇒ ts(e) < ts(f)); l - pt <= eps (Theorem 2);
// and c counts only events that share the same l (Theorem 3), so it stays
// below the number of events.
func TestHLCProperties(t *testing.T) {
	const eps = int64(5 * time.Millisecond)
	type msg struct {
		to int
		ts Timestamp
	}
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 7))
		n := 2 + r.IntN(4)
		clocks := make([]HLC, n)
		last := make([]Timestamp, n) // each node's latest timestamp
		for i := range last {
			last[i] = Timestamp{L: math.MinInt64}
		}
		offset := make([]int64, n) // each node's physical clock error, in [0, eps]
		for i := range offset {
			offset[i] = r.Int64N(eps + 1)
		}
		var inflight []msg
		now := int64(time.Second) // true time
		const events = 500
		for e := range events {
			now += r.Int64N(int64(time.Millisecond)) // often less than the clock error
			j := r.IntN(n)
			pt := now + offset[j]
			var ts Timestamp
			if len(inflight) > 0 && r.IntN(2) == 0 {
				k := r.IntN(len(inflight))
				m := inflight[k]
				inflight = append(inflight[:k], inflight[k+1:]...)
				j, pt = m.to, now+offset[m.to]
				var err error
				if ts, err = clocks[j].Update(pt, m.ts); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if !m.ts.Less(ts) {
					t.Fatalf("seed %d event %d: receive %v not after send %v", seed, e, ts, m.ts)
				}
			} else {
				ts = clocks[j].Now(pt)
				if to := r.IntN(n); to != j && r.IntN(2) == 0 {
					inflight = append(inflight, msg{to, ts})
				}
			}
			if !last[j].Less(ts) {
				t.Fatalf("seed %d event %d: n%d went from %v to %v", seed, e, j, last[j], ts)
			}
			last[j] = ts
			if ts.L < pt {
				t.Fatalf("seed %d event %d: l = %d < pt = %d", seed, e, ts.L, pt)
			}
			if ts.L-pt > eps {
				t.Fatalf("seed %d event %d: l - pt = %v > eps = %v", seed, e, time.Duration(ts.L-pt), time.Duration(eps))
			}
			if int(ts.C) >= events {
				t.Fatalf("seed %d event %d: c = %d is unbounded", seed, e, ts.C)
			}
		}
	}
}
