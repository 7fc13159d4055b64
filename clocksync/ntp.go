package clocksync

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// ntpRequest is a client's mode-3 packet: T1, its origin timestamp, is the
// client's clock when it sent the request (RFC 5905 §8, t1).
type ntpRequest struct {
	T1 wireTime
}

// ntpReply is the server's mode-4 packet: the client's T1 echoed, T2 the
// server's clock when the request arrived, T3 its clock when it sent the
// reply (RFC 5905 §8, t1, t2, t3).
type ntpReply struct {
	T1, T2, T3 wireTime
}

// ntpPoll is the client's poll timer.
type ntpPoll struct{}

// NTPMessages lists one zero value of every message, timer, request op and
// emitted event of NTP, for node.NewRegistry.
func NTPMessages() []any {
	return []any{ntpRequest{}, ntpReply{}, ntpPoll{}, Sample{}, Reading{}}
}

// NTPConfig configures NewNTP. Zero fields take their defaults.
type NTPConfig struct {
	// Discipline says how the adjusted clock is corrected (slewing, the
	// assumed drift, the broken step-backward variant).
	Discipline
	// Server is the time server, whose clock is the reference (default n0).
	Server node.ID
	// Poll is the poll interval on the client's clock, 2^τ seconds in the
	// RFC (default 500ms).
	Poll time.Duration
	// Filter is the number of samples the clock filter keeps, the RFC's
	// eight-stage shift register (default 8).
	Filter int
	// LatestSample is a deliberately broken variant: the client sets its
	// clock to the offset of the latest sample rather than that of the
	// sample the clock filter selects, yet still claims the selected
	// sample's bound. On a jittery network the latest sample is often a
	// poor one; the checker's bound property catches it.
	LatestSample bool
}

func (c NTPConfig) withDefaults() NTPConfig {
	c.Discipline = c.Discipline.withDefaults()
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.Filter <= 0 {
		c.Filter = 8
	}
	return c
}

// WarmUp is how long NTP takes to settle after a clock is set under it
// (CheckOptions.WarmUp): until its clock filter has forgotten every sample
// taken before, Filter+1 polls.
func (c NTPConfig) WarmUp() time.Duration {
	c = c.withDefaults()
	return time.Duration(c.Filter+1) * c.Poll
}

// NTP is one process of NTP's offset and delay estimation (D. Mills et al.,
// RFC 5905, "Network Time Protocol Version 4", 2010): a client polls the
// server, and from the four timestamps of an exchange — t1 the request left
// the client, t2 it reached the server, t3 the reply left the server, t4 it
// reached the client — computes (§8, "On-Wire Protocol")
//
//	offset θ = ((t2 − t1) + (t3 − t4)) / 2
//	delay  δ = (t4 − t1) − (t3 − t2)
//
// Whatever the split of δ between the two directions, θ is off by at most
// δ/2. The clock filter (§10, simplified) keeps the last Filter samples and
// selects the one with the smallest synchronization distance δ/2 plus the
// drift since it was taken — on samples of the same age, the one with the
// least delay — and the client slews its adjusted clock to that θ.
//
// The server's clock is the reference; the server never corrects it. A
// client's Reading bounds its distance from it by the selected sample's δ/2,
// plus the clocks' rate errors and precision, plus the drift since that
// sample, plus the correction not yet slewed in.
type NTP struct {
	cfg   NTPConfig
	clock disciplined
	// org is T1 of the request in flight, 0 once answered: a reply must
	// echo it (the RFC's "bogus packet" test, §8, which also discards
	// duplicates).
	org wireTime
	// samples is the clock filter's shift register, oldest first.
	samples []ntpSample
}

// ntpSample is one exchange's result, taken at the client's local time at.
type ntpSample struct {
	offset, delay time.Duration
	at            time.Time
}

// NewNTP returns an NTP process: the server if its ID is cfg.Server, a
// client otherwise.
func NewNTP(cfg NTPConfig) *NTP {
	cfg = cfg.withDefaults()
	return &NTP{cfg: cfg, clock: newDisciplined(cfg.Discipline)}
}

// Start implements node.Process. The server's clock is the reference; a
// client polls first at a random point of its first interval.
func (p *NTP) Start(env node.Env) {
	if env.Self() == p.cfg.Server {
		p.clock.synced = true
		p.clock.est = estimate{reference: p.cfg.Server.String(), exact: true}
		return
	}
	env.After(time.Duration(env.Rand().Int64N(int64(p.cfg.Poll))), ntpPoll{})
}

// Timeout implements node.Process: the client sends a request every poll
// interval, with its clock as T1.
func (p *NTP) Timeout(env node.Env, timer any) {
	if _, ok := timer.(ntpPoll); !ok {
		return
	}
	p.org = stamp(env.Now())
	env.Send(p.cfg.Server, ntpRequest{T1: p.org})
	env.After(p.cfg.Poll, ntpPoll{})
}

// Receive implements node.Process: the server answers a request with T2 and
// T3, a client takes in a reply.
func (p *NTP) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case ntpRequest:
		t2 := stamp(env.Now())
		t3 := stamp(env.Now()) // the server answers at once: T3 = T2
		env.Send(from, ntpReply{T1: m.T1, T2: t2, T3: t3})
	case ntpReply:
		p.onReply(env, m)
	}
}

// onReply computes the sample of an exchange (§8), shifts it into the clock
// filter, and slews the clock to the sample the filter selects (§10).
func (p *NTP) onReply(env node.Env, m ntpReply) {
	if m.T1 == 0 || m.T1 != p.org {
		return // bogus: a duplicate, or a reply to an earlier request
	}
	p.org = 0
	t4 := env.Now()
	t1, t2, t3 := m.T1.time(), m.T2.time(), m.T3.time()
	s := ntpSample{
		offset: (t2.Sub(t1) + t3.Sub(t4)) / 2,
		delay:  t4.Sub(t1) - t3.Sub(t2),
		at:     t4,
	}
	p.samples = append(p.samples, s)
	if len(p.samples) > p.cfg.Filter {
		p.samples = p.samples[1:]
	}
	best := p.selectSample(t4)
	offset := best.offset
	if p.cfg.LatestSample {
		offset = s.offset // broken: ignores the filter's choice, keeps its bound
	}
	p.clock.correctTo(env, offset, estimate{reference: p.cfg.Server.String(), bound: p.distance(best, best.at), since: best.at})
}

// selectSample is the clock filter: the sample with the smallest distance
// now, the later of equals.
func (p *NTP) selectSample(now time.Time) ntpSample {
	best := p.samples[0]
	for _, s := range p.samples[1:] {
		if p.distance(s, now) <= p.distance(best, now) {
			best = s
		}
	}
	return best
}

// distance is the synchronization distance of sample s at local time now:
// δ/2, plus what the clocks themselves may have added to the sample, plus
// the drift since it was taken.
func (p *NTP) distance(s ntpSample, now time.Time) time.Duration {
	return max(s.delay, 0)/2 + p.cfg.sampleError(s.delay) + p.cfg.drift(now.Sub(s.at))
}

// Request implements node.Process: a Sample reads the clocks.
func (p *NTP) Request(env node.Env, req node.Request) { p.clock.sample(env, req) }

// NTPCosts measures a run of NTP beside the textbook: the skew achieved
// (see Measure) and the messages of a poll, a request and a reply (RFC 5905
// §8).
func NTPCosts(t *trace.Trace, cfg NTPConfig, o CheckOptions) []trace.Cost {
	cfg = cfg.withDefaults()
	polls := sent(t, ntpRequest{})
	return append(skewCosts(Measure(t, o), fmt.Sprintf("±δ/2 from %v's clock (true time by default)", cfg.Server)),
		trace.Cost{Name: "messages per poll", Value: ratio(polls+sent(t, ntpReply{}), polls), Textbook: "2: request and reply"})
}
