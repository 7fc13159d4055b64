package clocksync

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// timeRequest asks the time server for its clock. T0 is the client's own
// clock when it sent the request, echoed in the reply so the client can
// match the reply and measure the round trip (Cristian's t).
type timeRequest struct {
	T0 wireTime
}

// timeReply carries the server's clock T when it answered, and the echoed
// T0 of the request it answers.
type timeReply struct {
	T0 wireTime
	T  wireTime
}

// Timers of the Cristian client.
type (
	cristianRound struct{}               // start a round of polls
	cristianPoll  struct{ Round, K int } // send poll K of a round
	cristianEnd   struct{ Round int }    // the round's replies are in (or lost)
)

// CristianMessages lists one zero value of every message, timer, request op
// and emitted event of Cristian's algorithm, for node.NewRegistry.
func CristianMessages() []any {
	return []any{timeRequest{}, timeReply{}, cristianRound{}, cristianPoll{}, cristianEnd{}, Sample{}, Reading{}}
}

// CristianConfig configures NewCristian. Zero fields take their defaults.
type CristianConfig struct {
	// Discipline says how the adjusted clock is corrected (slewing, the
	// assumed drift, the broken step-backward variant).
	Discipline
	// Server is the time server, whose clock is the reference (default n0).
	Server node.ID
	// Period is the time between rounds, on the client's clock (default 1s).
	Period time.Duration
	// Polls is the number of requests per round (default 4); the round
	// keeps the reply with the smallest round trip.
	Polls int
	// PollGap is the time between two polls of a round (default 20ms).
	PollGap time.Duration
	// Wait is how long after its last poll a round waits for replies
	// (default 100ms).
	Wait time.Duration
	// MinDelay is the known minimum one-way delay, min in Cristian's
	// bound (default 0: unknown).
	MinDelay time.Duration
	// NoHalfRTT is a deliberately broken variant: the client sets its clock
	// to the server's T as it arrives, without adding half the round trip
	// for the reply's journey, yet still claims the bound RTT/2 − min. The
	// reply's delay alone then exceeds the bound whenever it is the longer
	// half of the round trip; the checker's bound property catches it.
	NoHalfRTT bool
}

func (c CristianConfig) withDefaults() CristianConfig {
	c.Discipline = c.Discipline.withDefaults()
	if c.Period <= 0 {
		c.Period = time.Second
	}
	if c.Polls <= 0 {
		c.Polls = 4
	}
	if c.PollGap <= 0 {
		c.PollGap = 20 * time.Millisecond
	}
	if c.Wait <= 0 {
		c.Wait = 100 * time.Millisecond
	}
	return c
}

// WarmUp is how long Cristian's algorithm takes to settle after a clock is
// set under it (CheckOptions.WarmUp): two rounds.
func (c CristianConfig) WarmUp() time.Duration {
	return 2 * c.withDefaults().Period
}

// Cristian is one process of Cristian's algorithm, "remote clock reading"
// (F. Cristian, "Probabilistic Clock Synchronization", Distributed Computing
// 3(3), 1989, §3): a client P sends a request to the time server Q at time t
// on its own clock, Q answers with its clock T, and P, receiving the answer
// at t', estimates Q's clock as T + (t'−t)/2. Since the reply took between
// min and (t'−t) − min, the estimate is off by at most (t'−t)/2 − min. The
// algorithm is probabilistic because a short round trip is what buys
// precision: each round here makes Polls attempts and keeps the one with
// the smallest round trip, then slews the adjusted clock to it.
//
// The server's clock is the reference; the server never corrects it, and
// reads it with bound 0. A client's Reading bounds its distance from the
// server's clock by (t'−t)/2 − min, plus the clocks' rate errors during the
// round trip (at most 4ρ(t'−t)) and their reading precision, plus the drift
// since t', plus the correction not yet slewed in.
type Cristian struct {
	cfg   CristianConfig
	clock disciplined

	// The client's current round: the local send times of its polls still
	// unanswered, and the best sample so far.
	round int
	sent  []wireTime
	best  *cristianSample
}

// cristianSample is one answered poll: the offset of the server's clock from
// the client's own clock as the reply arrived, at local time at.
type cristianSample struct {
	rtt    time.Duration
	offset time.Duration
	bound  time.Duration
	at     time.Time
}

// NewCristian returns a Cristian process: the time server if its ID is
// cfg.Server, a client otherwise.
func NewCristian(cfg CristianConfig) *Cristian {
	cfg = cfg.withDefaults()
	return &Cristian{cfg: cfg, clock: newDisciplined(cfg.Discipline)}
}

// Start implements node.Process. The server's clock is the reference; a
// client starts its first round at a random point of its first period, so
// that clients do not all poll at once.
func (p *Cristian) Start(env node.Env) {
	if env.Self() == p.cfg.Server {
		p.clock.synced = true
		p.clock.est = estimate{reference: p.cfg.Server.String(), exact: true}
		return
	}
	env.After(time.Duration(env.Rand().Int64N(int64(p.cfg.Period))), cristianRound{})
}

// Timeout implements node.Process: the client's rounds and polls.
func (p *Cristian) Timeout(env node.Env, timer any) {
	switch t := timer.(type) {
	case cristianRound:
		p.round++
		p.sent, p.best = nil, nil
		env.After(p.cfg.Period, cristianRound{})
		p.poll(env, 0)
	case cristianPoll:
		if t.Round == p.round {
			p.poll(env, t.K)
		}
	case cristianEnd:
		if t.Round == p.round {
			p.endRound(env)
		}
	}
}

// poll sends request k of the current round and schedules what follows.
func (p *Cristian) poll(env node.Env, k int) {
	t0 := stamp(env.Now())
	p.sent = append(p.sent, t0)
	env.Send(p.cfg.Server, timeRequest{T0: t0})
	if k+1 < p.cfg.Polls {
		env.After(p.cfg.PollGap, cristianPoll{Round: p.round, K: k + 1})
	} else {
		env.After(p.cfg.Wait, cristianEnd{Round: p.round})
	}
}

// Receive implements node.Process: the server answers requests, a client
// takes in replies.
func (p *Cristian) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case timeRequest:
		env.Send(from, timeReply{T0: m.T0, T: stamp(env.Now())})
	case timeReply:
		p.onReply(env, m)
	}
}

// onReply turns a reply to one of this round's polls into a sample: the
// server's clock now is T + RTT/2, within RTT/2 − min.
func (p *Cristian) onReply(env node.Env, m timeReply) {
	i := indexOf(p.sent, m.T0)
	if i < 0 {
		return // a duplicate, or the reply to an earlier round or incarnation
	}
	p.sent = append(p.sent[:i], p.sent[i+1:]...)
	now := env.Now()
	rtt := now.Sub(m.T0.time())
	server := m.T.time().Add(rtt / 2)
	if p.cfg.NoHalfRTT {
		server = m.T.time() // broken: ignores the reply's time in flight
	}
	s := &cristianSample{
		rtt:    rtt,
		offset: server.Sub(now),
		bound:  max(rtt/2-p.cfg.MinDelay, 0) + p.cfg.sampleError(rtt),
		at:     now,
	}
	if p.best == nil || s.rtt <= p.best.rtt { // the fresher of equals
		p.best = s
	}
}

// endRound slews the adjusted clock to the best sample of the round.
func (p *Cristian) endRound(env node.Env) {
	if p.best == nil {
		return // every poll or reply lost: keep the clock as it is
	}
	p.clock.correctTo(env, p.best.offset, estimate{reference: p.cfg.Server.String(), bound: p.best.bound, since: p.best.at})
	p.best = nil
}

// Request implements node.Process: a Sample reads the clocks.
func (p *Cristian) Request(env node.Env, req node.Request) { p.clock.sample(env, req) }

func indexOf(xs []wireTime, x wireTime) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}

// CristianCosts measures a run of Cristian's algorithm beside the textbook:
// the skew achieved (see Measure) and the messages of a client's round,
// 2 per poll (Cristian 1989, §3).
func CristianCosts(t *trace.Trace, cfg CristianConfig, o CheckOptions) []trace.Cost {
	cfg = cfg.withDefaults()
	polls := sent(t, timeRequest{})
	msgs := polls + sent(t, timeReply{})
	return append(skewCosts(Measure(t, o), fmt.Sprintf("±(RTT/2 − min) from %v's clock (true time by default)", cfg.Server)),
		trace.Cost{Name: "messages per client round", Value: ratio(msgs*cfg.Polls, polls),
			Textbook: fmt.Sprintf("2 per poll × %d polls = %d", cfg.Polls, 2*cfg.Polls)})
}
