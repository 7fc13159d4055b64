package clocksync

import (
	"math"
	"time"

	"github.com/synod-dev/synod/node"
)

// Reading is a process's answer to "what time is it?": its own clock, its
// adjusted (synchronized) clock, and how far the algorithm itself says the
// adjusted clock may be from the reference clock. A process emits a Reading
// when it gets a Sample request (and replies with it), and just before and
// just after every correction it makes.
type Reading struct {
	// Local is the node's own clock, env.Now().
	Local time.Time
	// Adjusted is the synchronized clock: Local plus the part of the
	// corrections slewed in so far.
	Adjusted time.Time
	// Bound is the algorithm's own bound on |Adjusted − R| at this instant,
	// R being the reference clock named by Reference: the error of the
	// last synchronization, plus the drift since then (2ρ per unit of time,
	// ρ = Discipline.MaxDrift), plus the correction still to be slewed in.
	// For the reference clock itself it is just the correction still to be
	// slewed in (0 for a time server, which never corrects). 0 when not
	// Synced.
	Bound time.Duration
	// Synced is false until the process has synchronized at least once
	// since it (re)started.
	Synced bool
	// Reference names R: the time server ("n0"), the Berkeley master's
	// clock as of one round ("n0@1.7", epoch 1, round 7), or the mean of
	// the clocks of a set of RBS receivers ("mean(n1,n2,n3)"). Two readings
	// taken at the same instant with the same Reference must satisfy
	// |Adjusted_i − Adjusted_j| ≤ Bound_i + Bound_j.
	Reference string
}

// Sample is the request op that asks a process to read its clocks now. The
// process emits the Reading and replies with it. SampleWorkload sends one to
// every process at the same instants, so the checker can compare clocks at
// the same true time.
type Sample struct{}

// Discipline says how a process corrects its adjusted clock; the four
// algorithms share it.
type Discipline struct {
	// SlewRate is how fast a correction is applied: until it is in, the
	// adjusted clock runs at 1 ± SlewRate times the node's own clock. It
	// must be below 1 so the adjusted clock never runs backward. Default
	// 0.05: a 50 ms correction takes a second (adjtime(2)'s 500 ppm would
	// take 100 s, longer than a demonstration run).
	SlewRate float64
	// MaxDrift is ρ, the assumed bound on each clock's rate error: two
	// clocks drift apart by at most 2ρ per second. Default 1e-4 (100 ppm,
	// an ordinary quartz oscillator). The computed bounds are only as good
	// as this assumption: with clocks drifting faster they may be violated.
	MaxDrift float64
	// Precision is the resolution of a clock reading, added to the bound of
	// every sample for each of the two clocks read, as NTP adds the
	// precision of both peers to a sample's dispersion (RFC 5905 §8).
	// Default 1µs.
	Precision time.Duration
	// StepBackward is a deliberately broken variant: a negative correction
	// is applied at once, stepping the adjusted clock backward (positive
	// ones are still slewed). The checker's monotonicity property catches
	// it.
	StepBackward bool
}

// Defaults of Discipline.
const (
	DefaultSlewRate  = 0.05
	DefaultMaxDrift  = 1e-4
	DefaultPrecision = time.Microsecond
)

func (d Discipline) withDefaults() Discipline {
	if d.SlewRate <= 0 || d.SlewRate >= 1 {
		d.SlewRate = DefaultSlewRate
	}
	if d.MaxDrift <= 0 || d.MaxDrift >= 1 {
		d.MaxDrift = DefaultMaxDrift
	}
	if d.Precision <= 0 {
		d.Precision = DefaultPrecision
	}
	return d
}

// drift bounds how far two clocks, each within MaxDrift of true time, drift
// apart while one of them measures d: 2ρ·d/(1−ρ), rounded up.
func (d Discipline) drift(elapsed time.Duration) time.Duration {
	if elapsed <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(float64(elapsed) * 2 * d.MaxDrift / (1 - d.MaxDrift)))
}

// sampleError bounds the error a sample taken over a round trip of rtt owes
// to the clocks themselves rather than to the network: their rate errors
// while the messages travel (4ρ·rtt covers both clocks, generously) and the
// precision of the two clocks read.
func (d Discipline) sampleError(rtt time.Duration) time.Duration {
	return d.drift(2*rtt) + 2*d.Precision
}

// wireTime is a clock reading in a message: nanoseconds since the Unix
// epoch. (The wire codec keeps a time.Time only to the second.)
type wireTime int64

func stamp(t time.Time) wireTime { return wireTime(t.UnixNano()) }

func (w wireTime) time() time.Time { return time.Unix(0, int64(w)).UTC() }

// estimate is what a synchronization established: the reference clock it is
// relative to, and how far off the new target clock may be as of local time
// since.
type estimate struct {
	reference string
	bound     time.Duration
	since     time.Time
	// exact marks the reference clock itself: its bound does not grow with
	// drift.
	exact bool
}

// disciplined is a process's adjusted clock: the node's own clock plus a
// correction that is slewed in over time.
//
// The target clock is local + offset + pending: where the adjusted clock is
// heading. The adjusted clock at local time l is local + offset + the part
// of pending slewed in since local time at, at SlewRate.
//
// Invariant: the adjusted clock never decreases while the node's own clock
// runs forward, unless StepBackward.
type disciplined struct {
	d       Discipline
	offset  time.Duration // correction applied as of local time at
	at      time.Time
	pending time.Duration // correction still to be slewed in from at on
	synced  bool
	est     estimate
}

func newDisciplined(d Discipline) disciplined { return disciplined{d: d.withDefaults()} }

// slewed is the part of pending applied by local time l.
func (c *disciplined) slewed(l time.Time) time.Duration {
	e := l.Sub(c.at)
	if c.pending == 0 || e <= 0 {
		return 0
	}
	s := time.Duration(float64(e) * c.d.SlewRate)
	if c.pending > 0 {
		return min(s, c.pending)
	}
	return max(-s, c.pending)
}

// now is the adjusted clock at local time l.
func (c *disciplined) now(l time.Time) time.Time { return l.Add(c.offset + c.slewed(l)) }

// remaining is the correction still to be slewed in at local time l.
func (c *disciplined) remaining(l time.Time) time.Duration { return c.pending - c.slewed(l) }

// target is the target clock's offset from the node's own clock.
func (c *disciplined) target() time.Duration { return c.offset + c.pending }

// reading reads the clocks at local time l.
func (c *disciplined) reading(l time.Time) Reading {
	r := Reading{Local: l, Adjusted: c.now(l), Synced: c.synced}
	if c.synced {
		r.Reference = c.est.reference
		r.Bound = abs(c.remaining(l))
		if !c.est.exact {
			r.Bound += c.est.bound + c.d.drift(l.Sub(c.est.since))
		}
	}
	return r
}

// correct moves the target clock by delta and records the new estimate. It
// emits a Reading just before and just after, so that a step shows.
func (c *disciplined) correct(env node.Env, delta time.Duration, est estimate) {
	l := env.Now()
	env.Emit(c.reading(l))
	s := c.slewed(l)
	c.offset, c.pending, c.at = c.offset+s, c.pending-s, l
	if c.d.StepBackward && delta < 0 {
		c.offset += delta // broken: the clock jumps back
	} else {
		c.pending += delta
	}
	c.synced, c.est = true, est
	env.Emit(c.reading(l))
}

// correctTo sets the target clock to local + offset.
func (c *disciplined) correctTo(env node.Env, offset time.Duration, est estimate) {
	c.correct(env, offset-c.target(), est)
}

// sample answers a Sample request, reporting whether req was one.
func (c *disciplined) sample(env node.Env, req node.Request) bool {
	if _, ok := req.Op.(Sample); !ok {
		return false
	}
	r := c.reading(env.Now())
	env.Emit(r)
	env.Reply(req.ID, r)
	return true
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
