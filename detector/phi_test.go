package detector

import (
	"math"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

// φ is −log10 of the normal tail: the textbook values.
func TestPhiOf(t *testing.T) {
	const mean, sd = 100 * ms, 10 * ms
	tests := []struct {
		name   string
		t      time.Duration
		mean   time.Duration
		stddev time.Duration
		want   float64
	}{
		{"at the mean, P_later = 1/2", mean, mean, sd, math.Log10(2)},
		{"one σ late, P_later = 0.1587", mean + sd, mean, sd, -math.Log10(0.15865525393145707)},
		{"two σ late, P_later = 0.02275", mean + 2*sd, mean, sd, -math.Log10(0.022750131948179195)},
		{"one σ early, P_later = 0.8413", mean - sd, mean, sd, -math.Log10(0.8413447460685429)},
		{"5.612σ late is Φ = 8", mean + time.Duration(5.612001*float64(sd)), mean, sd, 8},
		{"no deviation, before the mean", 99 * ms, mean, 0, 0},
		{"no deviation, after the mean", 101 * ms, mean, 0, math.Inf(1)},
		{"far in the tail", mean + 100*sd, mean, sd, math.Inf(1)},
	}
	for _, tc := range tests {
		got := PhiOf(tc.t, tc.mean, tc.stddev)
		if !(got == tc.want || math.Abs(got-tc.want) < 1e-5) {
			t.Errorf("%s: PhiOf(%v, %v, %v) = %v, want %v", tc.name, tc.t, tc.mean, tc.stddev, got, tc.want)
		}
	}
	prev := -1.0
	for d := time.Duration(0); d < 300*ms; d += ms {
		got := PhiOf(d, mean, sd)
		if got < prev {
			t.Fatalf("φ decreases from %v to %v at %v: it must grow with the silence", prev, got, d)
		}
		prev = got
	}
}

// quantile inverts φ: it is the normal quantile for 10^−Φ.
func TestQuantile(t *testing.T) {
	for _, tc := range []struct{ phi, z float64 }{
		{math.Log10(2), 0},
		{1, 1.2815515655446004},
		{2, 2.3263478740408408},
		{3, 3.090232306167813},
		{8, 5.612001244174789},
		{16, 8.222082216130435},
	} {
		if got := quantile(tc.phi); math.Abs(got-tc.z) > 1e-6 {
			t.Errorf("quantile(%v) = %v, want %v", tc.phi, got, tc.z)
		}
		if got := phiOfZ(quantile(tc.phi)); math.Abs(got-tc.phi) > 1e-6 {
			t.Errorf("phiOfZ(quantile(%v)) = %v", tc.phi, got)
		}
	}
}

// The sliding window's running mean and deviation are those of its last
// size samples, before and after it wraps around.
func TestWindow(t *testing.T) {
	w := newWindow(5)
	xs := []float64{100, 120, 80, 300, 95, 101, 99, 250, 100, 100, 103, 97}
	for i, x := range xs {
		w.add(x)
		last := xs[max(0, i-4) : i+1]
		var sum float64
		for _, v := range last {
			sum += v
		}
		mean := sum / float64(len(last))
		var sq float64
		for _, v := range last {
			sq += (v - mean) * (v - mean)
		}
		sd := math.Sqrt(sq / float64(len(last)))
		if math.Abs(w.mean()-mean) > 1e-9 || math.Abs(w.stddev()-sd) > 1e-6 {
			t.Errorf("after %d samples: mean %v, σ %v; want %v, %v", i+1, w.mean(), w.stddev(), mean, sd)
		}
	}
	if (&window{size: 3}).stddev() != 0 || (&window{size: 3}).mean() != 0 {
		t.Errorf("an empty window has mean and σ 0")
	}
}

// The φ detector suspects exactly when φ reaches Φ: it computes the moment
// from the window, and Level there reads Φ.
func TestPhiSuspectsWhenPhiReachesThreshold(t *testing.T) {
	for _, threshold := range []float64{1, 3, 8, 12} {
		cfg := DefaultPhiConfig()
		cfg.Threshold = threshold
		d := NewPhi(cfg).(*Phi)
		env := newFakeEnv(n0, 2)
		d.Start(env)
		// Heartbeats from n1 every 100 ms give or take a few, then silence.
		at := time.Duration(0)
		for i, jitter := range []time.Duration{0, 3, -2, 7, -5, 1, 0, 12, -9, 4} {
			at += 100*ms + jitter*ms
			env.Advance(d, epoch.Add(at))
			d.Receive(env, n1, heartbeat{Boot: 1, Seq: uint64(i + 1)})
		}
		last := env.Clock
		due := dueAt(t, env, deadline{Q: n1})
		env.Advance(d, due.Add(-time.Microsecond))
		if got := env.TakeEmitted(); len(got) != 0 {
			t.Fatalf("Φ=%v: emitted %v before the deadline", threshold, got)
		}
		if phi := d.Level(n1, env.Clock); phi >= threshold {
			t.Errorf("Φ=%v: φ = %v just before the deadline", threshold, phi)
		}
		env.Advance(d, due)
		got := env.TakeEmitted()
		if len(got) != 1 || got[0] != (Suspect{Process: n1, Timeout: due.Sub(last)}) {
			t.Fatalf("Φ=%v: at the deadline emitted %v, want Suspect{n1, %v}", threshold, got, due.Sub(last))
		}
		if phi := d.Level(n1, due); math.Abs(phi-threshold) > 1e-3 {
			t.Errorf("Φ=%v: φ at the suspicion = %v", threshold, phi)
		}
		// The deadline is mean + acceptable pause + z·σ of the window.
		a := d.peers[n1]
		mean, sd := d.distribution(a)
		if want := mean + time.Duration(quantile(threshold)*float64(sd)); (due.Sub(last) - want).Abs() > time.Microsecond {
			t.Errorf("Φ=%v: suspected %v after the last heartbeat, want μ + z·σ = %v", threshold, due.Sub(last), want)
		}
		// A heartbeat restores n1, with a new deadline.
		d.Receive(env, n1, heartbeat{Boot: 1, Seq: 11})
		if got := env.TakeEmitted(); len(got) != 1 || got[0].(Restore).Process != n1 {
			t.Errorf("Φ=%v: a heartbeat from the suspect emitted %v, want Restore", threshold, got)
		}
	}
}

// Only news counts: a duplicate or overtaken heartbeat adds no sample, nor
// does the first heartbeat of a (re)started sender or a gap longer than
// MaxInterval; a heartbeat from an older boot is ignored altogether.
func TestPhiSamples(t *testing.T) {
	d := NewPhi(PhiConfig{}).(*Phi)
	env := newFakeEnv(n0, 2)
	d.Start(env)
	samples := func() int { return len(d.peers[n1].window.samples) - 2 } // less the two seeds
	tests := []struct {
		at      time.Duration
		hb      heartbeat
		samples int
	}{
		{100 * ms, heartbeat{Boot: 3, Seq: 1}, 0},        // first heard: no interval yet
		{200 * ms, heartbeat{Boot: 3, Seq: 2}, 1},        // 100 ms
		{210 * ms, heartbeat{Boot: 3, Seq: 2}, 1},        // duplicate
		{220 * ms, heartbeat{Boot: 3, Seq: 1}, 1},        // overtaken
		{300 * ms, heartbeat{Boot: 2, Seq: 9}, 1},        // an older incarnation
		{310 * ms, heartbeat{Boot: 3, Seq: 4}, 2},        // 110 ms (seq 3 was lost)
		{2 * time.Second, heartbeat{Boot: 3, Seq: 5}, 2}, // 1.69 s: an outage, not a sample
		{2100 * ms, heartbeat{Boot: 4, Seq: 1}, 2},       // restarted
		{2200 * ms, heartbeat{Boot: 4, Seq: 2}, 3},
	}
	for i, tc := range tests {
		env.Advance(d, epoch.Add(tc.at))
		d.Receive(env, n1, tc.hb)
		if got := samples(); got != tc.samples {
			t.Errorf("heartbeat %d (%+v at %v): %d samples, want %d", i, tc.hb, tc.at, got, tc.samples)
		}
	}
	want := []float64{75, 125, 100, 110, 100}
	for i, x := range want {
		if math.Abs(d.peers[n1].window.samples[i]-x) > 1e-9 {
			t.Errorf("window = %v, want %v", d.peers[n1].window.samples, want)
			break
		}
	}
	if got := d.Level(node.ID(7), env.Clock); !math.IsInf(got, 1) {
		t.Errorf("φ of a process outside the group = %v, want +Inf", got)
	}
}

// The defaults are Akka's, scaled to a 100 ms period; a zero config takes
// them, except the acceptable pause, for which zero means none.
func TestPhiDefaults(t *testing.T) {
	want := PhiConfig{Period: 100 * ms, Threshold: 8, WindowSize: 1000, MinStdDev: 10 * ms, AcceptablePause: 300 * ms, MaxInterval: time.Second}
	if got := DefaultPhiConfig(); got != want {
		t.Errorf("DefaultPhiConfig() = %+v, want %+v", got, want)
	}
	zero := (PhiConfig{}).withDefaults()
	want.AcceptablePause = 0
	if zero != want {
		t.Errorf("zero config with defaults = %+v, want %+v", zero, want)
	}
	if got := (PhiConfig{Threshold: math.NaN(), AcceptablePause: -ms}).withDefaults(); got.Threshold != 8 || got.AcceptablePause != 0 {
		t.Errorf("impossible settings are not corrected: %+v", got)
	}
	// On a steady network the first suspicion comes after μ + pause + z·σ:
	// the seeds' σ is 25 ms, so 100 + 300 + 5.612·25 ms.
	d := NewPhi(DefaultPhiConfig()).(*Phi)
	env := newFakeEnv(n0, 2)
	d.Start(env)
	z := 5.612001244174789
	if got, want := dueAt(t, env, deadline{Q: n1}).Sub(epoch), 400*ms+time.Duration(z*25*float64(ms)); (got - want).Abs() > time.Microsecond {
		t.Errorf("first deadline %v, want %v", got, want)
	}
}
