package clock

import (
	"math/rand/v2"
	"testing"
)

func TestLamport(t *testing.T) {
	type step struct {
		op    string // "tick", "send" or "recv"
		stamp uint64 // the message stamp for "recv"
		want  uint64
	}
	tests := []struct {
		name  string
		start Lamport
		steps []step
	}{
		{"zero value ticks from 0", 0, []step{{"tick", 0, 1}, {"tick", 0, 2}}},
		{"send ticks", 5, []step{{"send", 0, 6}, {"send", 0, 7}}},
		{"receive from behind", 10, []step{{"recv", 3, 11}}},
		{"receive from ahead", 2, []step{{"recv", 9, 10}}},
		{"receive equal stamp", 4, []step{{"recv", 4, 5}}},
		{"mixed", 0, []step{{"tick", 0, 1}, {"recv", 7, 8}, {"send", 0, 9}, {"recv", 2, 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.start
			for i, s := range tt.steps {
				var got uint64
				switch s.op {
				case "tick":
					got = c.Tick()
				case "send":
					got = c.Send()
				case "recv":
					got = c.Receive(s.stamp)
				}
				if got != s.want || c.Time() != s.want {
					t.Fatalf("step %d %s(%d): returned %d, Time() %d; want %d", i, s.op, s.stamp, got, c.Time(), s.want)
				}
			}
		})
	}
}

// TestLamportProperties checks IR1 and IR2 on random runs: every event's
// timestamp exceeds the previous one at the same process, and a receive's
// exceeds the message's.
func TestLamportProperties(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 0))
		var c Lamport
		for range 100 {
			before := c.Time()
			var got uint64
			switch r.IntN(3) {
			case 0:
				got = c.Tick()
			case 1:
				got = c.Send()
			default:
				m := r.Uint64N(before + 50)
				got = c.Receive(m)
				if got <= m {
					t.Fatalf("seed %d: Receive(%d) = %d, not past the message stamp", seed, m, got)
				}
			}
			if got <= before || got != c.Time() {
				t.Fatalf("seed %d: event stamped %d after %d (Time %d)", seed, got, before, c.Time())
			}
		}
	}
}
