package clocksync

import (
	"testing"
	"time"
)

const msec = time.Millisecond

// exchange runs one NTP exchange between client p (on the fake env's clock)
// and a server whose clock is ahead of the client's by ahead, with the given one-way delays, and
// returns the client's new target offset and the bound it now claims.
func exchange(t *testing.T, p *NTP, env *fakeEnv, ahead, out, back time.Duration) (time.Duration, time.Duration) {
	t.Helper()
	env.Sent = nil
	p.Timeout(env, ntpPoll{})
	if len(env.Sent) != 1 {
		t.Fatalf("a poll sent %d messages", len(env.Sent))
	}
	req := env.Sent[0].Msg.(ntpRequest)
	t2 := stamp(env.Clock.Add(out + ahead))
	env.Clock = env.Clock.Add(out + back)
	p.Receive(env, 0, ntpReply{T1: req.T1, T2: t2, T3: t2})
	r := p.clock.reading(env.Clock)
	return p.clock.target(), r.Bound - abs(p.clock.remaining(env.Clock))
}

// TestNTPOnWire is RFC 5905 §8's arithmetic on one exchange: the server is
// 10 ms ahead; the request takes 1 ms, the reply 5 ms. Then t2 − t1 = 11 ms,
// t3 − t4 = 5 ms, so θ = 8 ms (off by (5−1)/2 = 2 ms) and δ = 6 ms: the
// client claims ±δ/2 = ±3 ms, and the true offset is within it.
func TestNTPOnWire(t *testing.T) {
	env := newFakeEnv(1, 2)
	p := NewNTP(NTPConfig{})
	p.Start(env)
	offset, bound := exchange(t, p, env, 10*msec, 1*msec, 5*msec)
	if offset != 8*msec {
		t.Fatalf("θ = %v, want 8ms", offset)
	}
	if want := 3*msec + p.cfg.sampleError(6*msec); bound != want {
		t.Fatalf("bound %v, want δ/2 = 3ms plus the clocks' share, %v", bound, want)
	}
	// A duplicate of the reply is bogus: it must not count twice.
	p.Receive(env, 0, ntpReply{T1: stamp(env.Clock.Add(-6 * msec)), T2: stamp(env.Clock), T3: stamp(env.Clock)})
	if len(p.samples) != 1 {
		t.Fatalf("%d samples after a bogus reply, want 1", len(p.samples))
	}
}

// TestNTPClockFilter: the filter selects the sample of least delay among the
// last eight (on samples of about the same age), and keeps it until it
// leaves the register; the broken LatestSample variant takes the latest
// sample's offset but claims the selected one's bound.
func TestNTPClockFilter(t *testing.T) {
	// The server is 10 ms ahead; each exchange's delays (out, back) bias
	// its θ by (out − back)/2.
	delays := [][2]time.Duration{
		{5 * msec, 1 * msec}, // θ = 12 ms, δ = 6 ms
		{1 * msec, 1 * msec}, // θ = 10 ms, δ = 2 ms: the best
		{1 * msec, 9 * msec}, // θ = 6 ms, δ = 10 ms
		{3 * msec, 1 * msec}, // θ = 11 ms, δ = 4 ms
	}
	tests := []struct {
		name   string
		latest bool
		want   []time.Duration // θ the client adopts after each exchange
	}{
		{"min delay", false, []time.Duration{12 * msec, 10 * msec, 10 * msec, 10 * msec}},
		{"broken: latest", true, []time.Duration{12 * msec, 10 * msec, 6 * msec, 11 * msec}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(1, 2)
			p := NewNTP(NTPConfig{LatestSample: tt.latest})
			p.Start(env)
			for i, d := range delays {
				env.Clock = env.Clock.Add(time.Millisecond) // samples of about the same age
				offset, bound := exchange(t, p, env, 10*msec, d[0], d[1])
				if offset != tt.want[i] {
					t.Errorf("exchange %d: θ = %v, want %v", i, offset, tt.want[i])
				}
				if i >= 1 && (bound < 1*msec || bound > 1*msec+50*time.Microsecond) {
					t.Errorf("exchange %d: claims ±%v, want the best sample's δ/2 = 1ms (plus a little)", i, bound)
				}
			}
		})
	}
	// The register keeps Filter samples: after eight more, the best one is
	// gone.
	env := newFakeEnv(1, 2)
	p := NewNTP(NTPConfig{})
	p.Start(env)
	exchange(t, p, env, 10*msec, 1*msec, 1*msec)
	for range 8 {
		exchange(t, p, env, 10*msec, 3*msec, 1*msec)
	}
	if offset, _ := exchange(t, p, env, 10*msec, 3*msec, 1*msec); len(p.samples) != 8 || offset != 11*msec {
		t.Fatalf("%d samples, θ = %v; want 8 and 11ms", len(p.samples), offset)
	}
}
