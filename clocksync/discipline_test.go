package clocksync

import (
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

// fakeEnv is the hand-driven Env: the test sets the clock and reads what
// the process emitted and sent.
type fakeEnv = nodetest.Env

var epoch = nodetest.Epoch

func newFakeEnv(id node.ID, n int) *fakeEnv { return nodetest.New(id, n) }

// readings returns the Readings emitted so far and forgets them.
func readings(env *fakeEnv) []Reading {
	var rs []Reading
	for _, v := range env.TakeEmitted() {
		if r, ok := v.(Reading); ok {
			rs = append(rs, r)
		}
	}
	return rs
}

// TestSlewing follows the adjusted clock through corrections, as adjtime(2)
// applies them: spread over time at the slew rate, never backward, while a
// broken StepBackward clock jumps.
func TestSlewing(t *testing.T) {
	ms := time.Millisecond
	type step struct {
		after   time.Duration // local time since the start
		correct time.Duration // a correction to make then (0: just read)
		want    time.Duration // Adjusted − Local after it
		rem     time.Duration // correction still to slew in
	}
	tests := []struct {
		name  string
		d     Discipline
		steps []step
	}{
		{"forward at 10%", Discipline{SlewRate: 0.1}, []step{
			{0, 10 * ms, 0, 10 * ms},
			{50 * ms, 0, 5 * ms, 5 * ms},
			{100 * ms, 0, 10 * ms, 0},
			{1000 * ms, 0, 10 * ms, 0},
		}},
		{"backward at 10%", Discipline{SlewRate: 0.1}, []step{
			{0, -10 * ms, 0, -10 * ms},
			{30 * ms, 0, -3 * ms, -7 * ms},
			{200 * ms, 0, -10 * ms, 0},
		}},
		{"a correction replaces the rest of the slew", Discipline{SlewRate: 0.1}, []step{
			{0, 10 * ms, 0, 10 * ms},
			{50 * ms, -8 * ms, 5 * ms, -3 * ms}, // target 10−8 = 2 ms; 5 ms already in
			{80 * ms, 0, 2 * ms, 0},
		}},
		{"step backward jumps at once", Discipline{SlewRate: 0.1, StepBackward: true}, []step{
			{0, -10 * ms, -10 * ms, 0},
			{10 * ms, 4 * ms, -10 * ms, 4 * ms}, // forward is still slewed
			{60 * ms, 0, -6 * ms, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(1, 2)
			c := newDisciplined(tt.d)
			var last, since time.Time
			for i, s := range tt.steps {
				env.Clock = epoch.Add(s.after)
				if s.correct != 0 {
					since = env.Clock
					c.correct(env, s.correct, estimate{reference: "n0", bound: ms, since: since})
				}
				r := c.reading(env.Clock)
				if got := r.Adjusted.Sub(r.Local); got != s.want {
					t.Errorf("step %d: adjusted − local = %v, want %v", i, got, s.want)
				}
				if got := c.remaining(env.Clock); got != s.rem {
					t.Errorf("step %d: remaining %v, want %v", i, got, s.rem)
				}
				if want := ms + abs(s.rem) + c.d.drift(env.Clock.Sub(since)); r.Bound != want {
					t.Errorf("step %d: bound %v, want 1ms + |remaining| %v + drift = %v", i, r.Bound, abs(s.rem), want)
				}
				for _, e := range readings(env) {
					if e.Adjusted.Before(last) && !tt.d.StepBackward {
						t.Errorf("step %d: the adjusted clock ran back from %v to %v", i, last, e.Adjusted)
					}
					last = e.Adjusted
				}
			}
		})
	}
}

// TestBoundGrowsWithDrift: a synchronized clock's bound grows by 2ρ per
// unit of time since the synchronization, the drift of two clocks each
// within ρ of true time.
func TestBoundGrowsWithDrift(t *testing.T) {
	env := newFakeEnv(1, 2)
	c := newDisciplined(Discipline{MaxDrift: 1e-4})
	if r := c.reading(env.Clock); r.Synced || r.Bound != 0 || r.Reference != "" {
		t.Fatalf("before any synchronization: %+v", r)
	}
	c.correct(env, 0, estimate{reference: "n0", bound: time.Millisecond, since: env.Clock})
	env.Clock = env.Clock.Add(10 * time.Second)
	r := c.reading(env.Clock)
	// 2ρ·10 s/(1−ρ) = 2.0002 ms: true time elapsed may be a little longer
	// than the 10 s the clock measured.
	want := time.Millisecond + 2000201*time.Nanosecond
	if !r.Synced || r.Reference != "n0" || r.Bound != want {
		t.Fatalf("10 s after a ±1ms sync: %+v, want bound about %v", r, want)
	}
}

func TestWireTimeKeepsNanoseconds(t *testing.T) {
	at := epoch.Add(1234567891 * time.Nanosecond)
	if got := stamp(at).time(); !got.Equal(at) {
		t.Fatalf("round trip: %v, want %v", got, at)
	}
	reg := node.NewRegistry(timeReply{})
	data, err := reg.Encode(timeReply{T0: stamp(at), T: stamp(at.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	v, err := reg.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if m := v.(timeReply); !m.T0.time().Equal(at) || m.T.time().Sub(at) != 1 {
		t.Fatalf("decoded %+v", m)
	}
}
