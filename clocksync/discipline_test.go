package clocksync

import (
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

// fakeEnv is a hand-driven node.Env: the test sets the clock and reads what
// the process emitted and sent.
type fakeEnv struct {
	id    node.ID
	group []node.ID
	now   time.Time
	emits []any
	sent  []sentMsg
	store *node.MemStore
	rng   *rand.Rand
}

type sentMsg struct {
	to  node.ID
	msg any
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newFakeEnv(id node.ID, n int) *fakeEnv {
	e := &fakeEnv{id: id, now: epoch, store: node.NewMemStore(), rng: rand.New(rand.NewPCG(1, 2))}
	for i := range n {
		e.group = append(e.group, node.ID(i))
	}
	return e
}

func (e *fakeEnv) Self() node.ID                         { return e.id }
func (e *fakeEnv) Group() []node.ID                      { return e.group }
func (e *fakeEnv) Now() time.Time                        { return e.now }
func (e *fakeEnv) Send(to node.ID, m node.Message)       { e.sent = append(e.sent, sentMsg{to, m}) }
func (e *fakeEnv) After(time.Duration, any) node.TimerID { return 0 }
func (e *fakeEnv) Cancel(node.TimerID)                   {}
func (e *fakeEnv) Rand() *rand.Rand                      { return e.rng }
func (e *fakeEnv) Store() node.Store                     { return e.store }
func (e *fakeEnv) Emit(v any)                            { e.emits = append(e.emits, v) }
func (e *fakeEnv) Reply(node.RequestID, any)             {}
func (e *fakeEnv) Log() *slog.Logger                     { return slog.New(slog.DiscardHandler) }

// readings returns the Readings emitted so far and forgets them.
func (e *fakeEnv) readings() []Reading {
	var rs []Reading
	for _, v := range e.emits {
		if r, ok := v.(Reading); ok {
			rs = append(rs, r)
		}
	}
	e.emits = nil
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
				env.now = epoch.Add(s.after)
				if s.correct != 0 {
					since = env.now
					c.correct(env, s.correct, estimate{reference: "n0", bound: ms, since: since})
				}
				r := c.reading(env.now)
				if got := r.Adjusted.Sub(r.Local); got != s.want {
					t.Errorf("step %d: adjusted − local = %v, want %v", i, got, s.want)
				}
				if got := c.remaining(env.now); got != s.rem {
					t.Errorf("step %d: remaining %v, want %v", i, got, s.rem)
				}
				if want := ms + abs(s.rem) + c.d.drift(env.now.Sub(since)); r.Bound != want {
					t.Errorf("step %d: bound %v, want 1ms + |remaining| %v + drift = %v", i, r.Bound, abs(s.rem), want)
				}
				for _, e := range env.readings() {
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
	if r := c.reading(env.now); r.Synced || r.Bound != 0 || r.Reference != "" {
		t.Fatalf("before any synchronization: %+v", r)
	}
	c.correct(env, 0, estimate{reference: "n0", bound: time.Millisecond, since: env.now})
	env.now = env.now.Add(10 * time.Second)
	r := c.reading(env.now)
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
