package detector

import (
	"math"
	"time"

	"github.com/synod-dev/synod/node"
)

// deadline is the φ detector's timer for process Q: it fires when φ for Q
// reaches the threshold Φ, unless a heartbeat from Q came first.
type deadline struct {
	Q node.ID
}

// PhiMessages returns one zero value of every message, emitted event and
// timer of the φ accrual detector, for node.NewRegistry.
func PhiMessages() []any {
	return []any{heartbeat{}, Suspect{}, Restore{}, tick{}, deadline{}}
}

// Thresholds Φ for PhiConfig.Threshold.
const (
	// DefaultThreshold is Φ = 8, Akka's default: suspect once a heartbeat
	// this late would happen by chance less than once in 10⁸ times.
	DefaultThreshold = 8.0
	// LowThreshold is Φ = 1, a deliberately broken setting: suspect as soon
	// as the chance that the heartbeat is merely late falls under 10%. On
	// a process with recurrent long pauses it goes on suspecting it at many
	// of them, however many it has seen, and Check's eventual accuracy
	// fails.
	LowThreshold = 1.0
)

// PhiConfig configures NewPhi. A zero field takes its default (see
// DefaultPhiConfig).
type PhiConfig struct {
	// Period is the heartbeat interval Δi. Default DefaultPeriod, 100 ms.
	Period time.Duration
	// Threshold is Φ: a process is suspected while φ > Φ. Default
	// DefaultThreshold, 8.
	Threshold float64
	// WindowSize is how many inter-arrival times the sliding window keeps
	// per process. Default 1000, as in the paper and in Akka and Cassandra.
	WindowSize int
	// MinStdDev is the smallest standard deviation the normal distribution
	// is given (Akka's min-std-deviation), so that a perfectly regular
	// history does not make the slightest delay look fatal. Default a tenth
	// of the period, Akka's ratio (100 ms for 1 s heartbeats).
	MinStdDev time.Duration
	// AcceptablePause is added to the window's mean (Akka's
	// acceptable-heartbeat-pause): the silence a few lost or delayed
	// heartbeats make, which the normal distribution alone, fitted to
	// mostly regular intervals, would take for a crash. DefaultPhiConfig
	// sets three periods, Akka's ratio (3 s for 1 s heartbeats); unlike
	// the other fields, zero means none.
	AcceptablePause time.Duration
	// MaxInterval is the longest inter-arrival time added to the window;
	// longer silences are outages, not samples of the heartbeat rhythm,
	// and are left out as Cassandra does (its fd_max_interval). Default ten
	// periods.
	MaxInterval time.Duration
}

// DefaultPhiConfig returns the correct φ detector's defaults, Akka's scaled
// to its period: heartbeats every 100 ms, Φ = 8, a window of 1000, σ of at
// least 10 ms, an acceptable pause of 300 ms, intervals over 1 s left out.
// On a steady network a crash is then suspected about 100 + 300 + 5.6·10 =
// 456 ms after the last heartbeat.
func DefaultPhiConfig() PhiConfig {
	return PhiConfig{Period: DefaultPeriod, Threshold: DefaultThreshold, WindowSize: 1000,
		MinStdDev: DefaultPeriod / 10, AcceptablePause: 3 * DefaultPeriod, MaxInterval: 10 * DefaultPeriod}
}

// withDefaults fills the zero (or impossible) fields of c.
func (c PhiConfig) withDefaults() PhiConfig {
	if c.Period <= 0 {
		c.Period = DefaultPeriod
	}
	if !(c.Threshold > 0) { // also NaN
		c.Threshold = DefaultThreshold
	}
	if c.WindowSize <= 0 {
		c.WindowSize = 1000
	}
	if c.MinStdDev <= 0 {
		c.MinStdDev = c.Period / 10
	}
	c.AcceptablePause = max(c.AcceptablePause, 0)
	if c.MaxInterval <= 0 {
		c.MaxInterval = 10 * c.Period
	}
	return c
}

// Phi is one process of the φ accrual failure detector: Hayashibara,
// Défago, Yared and Katayama, "The φ Accrual Failure Detector" (SRDS 2004),
// the detector of its section on implementation.
//
// Every process sends a heartbeat to every other process once a period (the
// same heartbeats as Heartbeat). For each process q, p keeps a sliding window
// of the last WindowSize inter-arrival times of q's heartbeats and the
// arrival time T_last of the latest. Instead of a yes/no verdict, the
// detector outputs a suspicion level
//
//	φ(t_now) = −log10(P_later(t_now − T_last))
//
// where P_later(t) is the probability that a heartbeat arrives more than t
// after the previous one. Like the paper, and like Akka, P_later is taken
// from a normal distribution with the window's mean μ and standard deviation
// σ (at least MinStdDev), and, as in Akka, μ lengthened by an acceptable
// pause: P_later(t) = ½·erfc((t − μ)/(σ√2)). (Akka computes
// the normal CDF with a logistic approximation, here it is exact; Cassandra
// uses an exponential distribution instead, φ = t/(μ·ln 10).) The window
// starts, as Akka's does, with the two samples period ± period/4.
//
// An application that wants a binary detector suspects q while φ > Φ. Since
// φ only grows as the silence lasts, the process computes when φ will reach
// Φ, t = T_last + μ + z·σ with z the normal quantile for 10^−Φ, and sets a
// timer for then: it emits Suspect when it fires and Restore when a heartbeat
// from a suspected process arrives. Every heartbeat restarts the timer with a
// new μ and σ, so a detector on a jittery or pausing network learns to wait
// longer, and one on a steady network detects a crash sooner. Nothing bounds
// its mistakes, though: the accrual detector is as accurate as its window
// says, and with recurrent pauses as long as the window's rare outliers it
// keeps suspecting (that is what a low Φ does).
//
// A heartbeat that is not newer than the latest one from the same sender (a
// duplicate, or a copy overtaken by a later one) is ignored; the first one
// after the sender (or this process) started adds no sample, nor does a gap
// longer than MaxInterval.
type Phi struct {
	cfg   PhiConfig
	pulse pulse
	// z is how many standard deviations past the mean φ reaches Φ.
	z float64
	// peers is p's history of every other process's heartbeats.
	peers map[node.ID]*arrivals
}

// arrivals is what the φ detector knows of one other process.
type arrivals struct {
	window window
	// last is T_last, the arrival time of the latest heartbeat on this
	// process's clock (the start time before any arrived).
	last time.Time
	// boot and seq identify the latest heartbeat (zero before any).
	boot, seq uint64
	suspected bool
	// silence is how long after last φ reaches Φ, from the window as of the
	// latest heartbeat.
	silence time.Duration
	timer   node.TimerID
}

// NewPhi returns a process of the φ accrual failure detector (Hayashibara et
// al. 2004). cfg.Threshold = LowThreshold is its deliberately broken setting.
func NewPhi(cfg PhiConfig) node.Process {
	cfg = cfg.withDefaults()
	return &Phi{cfg: cfg, pulse: pulse{period: cfg.Period}, z: quantile(cfg.Threshold), peers: map[node.ID]*arrivals{}}
}

// Start implements node.Process: seed every process's window with period ±
// period/4, start waiting for its first heartbeat as if one had just arrived,
// and start sending heartbeats.
func (d *Phi) Start(env node.Env) {
	now := env.Now()
	p := float64(d.cfg.Period) / float64(time.Millisecond)
	for _, q := range env.Group() {
		if q == env.Self() {
			continue
		}
		a := &arrivals{window: newWindow(d.cfg.WindowSize), last: now}
		a.window.add(p - p/4)
		a.window.add(p + p/4)
		d.peers[q] = a
		d.arm(env, q)
	}
	d.pulse.start(env)
}

// Receive implements node.Process: a heartbeat is the only message.
func (d *Phi) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case heartbeat:
		d.onHeartbeat(env, from, m)
	default:
		env.Log().Warn("phi detector: unknown message", "from", from, "type", node.TypeName(msg))
	}
}

// Timeout implements node.Process: time to send heartbeats, or φ for some
// process reached Φ.
func (d *Phi) Timeout(env node.Env, timer any) {
	switch t := timer.(type) {
	case tick:
		d.pulse.beat(env)
	case deadline:
		d.onDeadline(env, t.Q)
	}
}

// Request implements node.Process; the detector takes no requests.
func (d *Phi) Request(node.Env, node.Request) {}

// onHeartbeat records an arrival (the inter-arrival time since T_last enters
// the window, the oldest leaves it), restarts the wait with the new
// mean and deviation, and trusts q again if it was suspected.
func (d *Phi) onHeartbeat(env node.Env, q node.ID, m heartbeat) {
	a := d.peers[q]
	if a == nil {
		return // not in the group
	}
	if m.Boot < a.boot || m.Boot == a.boot && m.Seq <= a.seq {
		return // a duplicate, or overtaken by a later heartbeat: no news
	}
	now := env.Now()
	if m.Boot == a.boot {
		if gap := now.Sub(a.last); gap >= 0 && gap <= d.cfg.MaxInterval {
			a.window.add(float64(gap) / float64(time.Millisecond))
		}
	} // else q (re)started: the gap spans its boot, not a heartbeat interval
	a.boot, a.seq, a.last = m.Boot, m.Seq, now
	d.arm(env, q)
	if a.suspected {
		a.suspected = false
		env.Emit(Restore{Process: q, Timeout: a.silence})
	}
}

// onDeadline handles φ reaching Φ: suspect q.
func (d *Phi) onDeadline(env node.Env, q node.ID) {
	if a := d.peers[q]; a != nil && !a.suspected {
		a.suspected = true
		env.Emit(Suspect{Process: q, Timeout: a.silence})
	}
}

// arm computes, from q's window, the silence after which φ exceeds Φ, and
// sets the timer for it.
func (d *Phi) arm(env node.Env, q node.ID) {
	a := d.peers[q]
	mean, sd := d.distribution(a)
	a.silence = max(0, mean+time.Duration(d.z*float64(sd)))
	env.Cancel(a.timer)
	a.timer = env.After(a.silence, deadline{Q: q})
}

// Level returns φ for process q at time now on this process's clock: the
// suspicion level the paper's detector outputs, −log10 P_later(now −
// T_last). It is +Inf for a process outside the group.
func (d *Phi) Level(q node.ID, now time.Time) float64 {
	a := d.peers[q]
	if a == nil {
		return math.Inf(1)
	}
	mean, sd := d.distribution(a)
	return PhiOf(now.Sub(a.last), mean, sd)
}

// distribution is the normal distribution of q's inter-arrival times: the
// window's mean plus the acceptable pause, and its standard deviation but at
// least MinStdDev.
func (d *Phi) distribution(a *arrivals) (mean, stddev time.Duration) {
	return msDuration(a.window.mean()) + d.cfg.AcceptablePause, max(msDuration(a.window.stddev()), d.cfg.MinStdDev)
}

// PhiOf is φ after a silence of t, for inter-arrival times distributed
// normally with the given mean and standard deviation (Hayashibara et al.
// 2004): −log10 of the probability ½·erfc((t − μ)/(σ√2))
// that a heartbeat comes later than t. It is near 0 for silences well short
// of the mean, and +Inf once that probability underflows. A standard
// deviation of zero or less is treated as a step: φ is 0 up to the mean and
// +Inf after.
func PhiOf(t, mean, stddev time.Duration) float64 {
	if stddev <= 0 {
		if t <= mean {
			return 0
		}
		return math.Inf(1)
	}
	return phiOfZ(float64(t-mean) / float64(stddev))
}

// phiOfZ is φ for a silence z standard deviations past the mean.
func phiOfZ(z float64) float64 {
	return -math.Log10(0.5 * math.Erfc(z/math.Sqrt2))
}

// quantile is the z at which phiOfZ(z) = phi, found by bisection: φ grows
// with z, and erfc is accurate far into the tail where 1−erfc is not (so
// math.Erfcinv would be, for large Φ).
func quantile(phi float64) float64 {
	lo, hi := -40.0, 40.0
	for range 200 {
		mid := (lo + hi) / 2
		if phiOfZ(mid) < phi {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// window is the sliding window of the last size inter-arrival times, in
// milliseconds, with running sums for the mean and variance (as Akka's
// HeartbeatHistory keeps them).
type window struct {
	samples    []float64 // a ring once full
	next       int       // where the next sample goes once full
	size       int
	sum, sumSq float64
}

func newWindow(size int) window { return window{size: size} }

// add puts x in the window, evicting the oldest sample once it is full.
func (w *window) add(x float64) {
	if len(w.samples) < w.size {
		w.samples = append(w.samples, x)
	} else {
		old := w.samples[w.next]
		w.sum -= old
		w.sumSq -= old * old
		w.samples[w.next] = x
		w.next = (w.next + 1) % w.size
	}
	w.sum += x
	w.sumSq += x * x
}

// mean is the samples' mean μ (0 for no samples).
func (w *window) mean() float64 {
	if len(w.samples) == 0 {
		return 0
	}
	return w.sum / float64(len(w.samples))
}

// stddev is the samples' (population) standard deviation σ.
func (w *window) stddev() float64 {
	n := float64(len(w.samples))
	if n == 0 {
		return 0
	}
	m := w.sum / n
	return math.Sqrt(max(0, w.sumSq/n-m*m))
}
