package clocksync

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// berkeleyPoll is the master's request for a slave's clock in round Round of
// its incarnation Epoch.
type berkeleyPoll struct {
	Epoch, Round uint64
}

// berkeleyReport is a slave's answer: its clock when it answered.
type berkeleyReport struct {
	Epoch, Round uint64
	Clock        wireTime
}

// berkeleyAdjust is the master's correction for one slave: Delta, to add to
// the clock it reported, and Bound, how far off the result may be from the
// master's clock (the error of the master's estimate of that slave's
// offset). In the broken AbsoluteTime variant the master sends its own clock
// as Time instead of a Delta.
type berkeleyAdjust struct {
	Epoch, Round uint64
	Delta        time.Duration
	Bound        time.Duration
	Time         wireTime
}

// Timers of the Berkeley master.
type (
	berkeleyRound   struct{}               // poll every slave
	berkeleyAverage struct{ Round uint64 } // the replies are in: average and correct
)

// BerkeleyMessages lists one zero value of every message, timer, request op
// and emitted event of the Berkeley algorithm, for node.NewRegistry.
func BerkeleyMessages() []any {
	return []any{berkeleyPoll{}, berkeleyReport{}, berkeleyAdjust{}, berkeleyRound{}, berkeleyAverage{}, Sample{}, Reading{}}
}

// BerkeleyConfig configures NewBerkeley. Zero fields take their defaults.
type BerkeleyConfig struct {
	// Discipline says how the adjusted clock is corrected (slewing, the
	// assumed drift, the broken step-backward variant).
	Discipline
	// Master is the time daemon that polls the others (default n0).
	Master node.ID
	// Period is the time between rounds, on the master's clock (default 1s).
	Period time.Duration
	// Wait is how long the master waits for the slaves' clocks (default
	// 100ms).
	Wait time.Duration
	// Threshold is the fault-tolerant average's γ: only the largest set of
	// clocks within Threshold of each other is averaged (default 20ms).
	Threshold time.Duration
	// MinDelay is the known minimum one-way delay (default 0: unknown).
	MinDelay time.Duration
	// AbsoluteTime is a deliberately broken variant: the master sends each
	// slave the time it should read — the master's own corrected clock —
	// instead of the adjustment to make. By the time it arrives it is
	// stale by the message's delay, which the bound does not allow for;
	// the checker's bound property catches it.
	AbsoluteTime bool
}

func (c BerkeleyConfig) withDefaults() BerkeleyConfig {
	c.Discipline = c.Discipline.withDefaults()
	if c.Period <= 0 {
		c.Period = time.Second
	}
	if c.Wait <= 0 {
		c.Wait = 100 * time.Millisecond
	}
	if c.Threshold <= 0 {
		c.Threshold = 20 * time.Millisecond
	}
	return c
}

// WarmUp is how long the Berkeley algorithm takes to settle after a clock is
// set under it (CheckOptions.WarmUp): two rounds.
func (c BerkeleyConfig) WarmUp() time.Duration {
	return 2 * c.withDefaults().Period
}

// Berkeley is one process of the Berkeley algorithm, the time daemon of
// TEMPO in Berkeley UNIX (R. Gusella, S. Zatti, "The Accuracy of the Clock
// Synchronization Achieved by TEMPO in Berkeley UNIX 4.3BSD", IEEE Trans.
// Software Eng. 15(7), 1989): every Period the master polls every slave for
// its clock, estimates each slave's offset from its own clock compensating
// for the round trip (the reading is taken to be RTT/2 old, within
// RTT/2 − min), and computes the fault-tolerant average of the offsets, its
// own (zero) included: the mean of the largest set of clocks that are within
// Threshold of each other, so that a clock gone wild does not drag the
// others along. It then corrects its own clock by the average and sends
// each slave its own adjustment, average − offset: a delta, not a time,
// since a time would be stale on arrival.
//
// The algorithm promises agreement, not true time: the reference is the
// master's clock as corrected in the latest round (Reading.Reference
// "n0@epoch.round"; the epoch counts the master's incarnations, kept in
// its Store). A slave's Reading bounds its distance from it by the error of
// the master's estimate, plus the drift since the slave reported, plus the
// correction not yet slewed in; the master's own by its correction not yet
// slewed in. A slave whose adjustment is in flight or lost is still in the
// previous round's frame.
type Berkeley struct {
	cfg   BerkeleyConfig
	clock disciplined

	// The master's incarnation, round, the local time it polled, and the
	// offsets estimated so far in the round.
	epoch, round uint64
	polled       time.Time
	estimates    map[node.ID]berkeleyEstimate

	// The slave's last report: for which round, at what local time, and
	// whether its adjustment has been applied.
	reported struct {
		epoch, round uint64
		at           time.Time
		adjusted     bool
	}
}

// berkeleyEstimate is the master's estimate of one clock's offset from its
// own, and the error bound of the estimate.
type berkeleyEstimate struct {
	id     node.ID
	offset time.Duration
	bound  time.Duration
}

// NewBerkeley returns a Berkeley process: the master if its ID is
// cfg.Master, a slave otherwise.
func NewBerkeley(cfg BerkeleyConfig) *Berkeley {
	cfg = cfg.withDefaults()
	return &Berkeley{cfg: cfg, clock: newDisciplined(cfg.Discipline)}
}

// berkeleyEpochKey is where the master keeps its incarnation count.
const berkeleyEpochKey = "clocksync/berkeley/epoch"

// Start implements node.Process: the master begins a new incarnation and
// polls soon.
func (p *Berkeley) Start(env node.Env) {
	if env.Self() != p.cfg.Master {
		return
	}
	st := env.Store()
	if b, ok := st.Get(berkeleyEpochKey); ok {
		if e, n := binary.Uvarint(b); n > 0 {
			p.epoch = e
		}
	}
	p.epoch++
	st.Set(berkeleyEpochKey, binary.AppendUvarint(nil, p.epoch))
	if err := st.Sync(); err != nil {
		env.Log().Error("berkeley: sync epoch", "err", err)
	}
	env.After(p.cfg.Period/10, berkeleyRound{})
}

// Timeout implements node.Process: the master's rounds.
func (p *Berkeley) Timeout(env node.Env, timer any) {
	switch t := timer.(type) {
	case berkeleyRound:
		p.poll(env)
	case berkeleyAverage:
		if t.Round == p.round {
			p.average(env)
		}
	}
}

// poll starts a round: the master asks every slave for its clock.
func (p *Berkeley) poll(env node.Env) {
	p.round++
	p.polled = env.Now()
	p.estimates = map[node.ID]berkeleyEstimate{}
	for _, id := range env.Group() {
		if id != env.Self() {
			env.Send(id, berkeleyPoll{Epoch: p.epoch, Round: p.round})
		}
	}
	env.After(p.cfg.Wait, berkeleyAverage{Round: p.round})
	env.After(p.cfg.Period, berkeleyRound{})
}

// Receive implements node.Process.
func (p *Berkeley) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case berkeleyPoll:
		p.report(env, from, m)
	case berkeleyReport:
		p.estimate(env, from, m)
	case berkeleyAdjust:
		p.adjust(env, from, m)
	}
}

// report is a slave's answer to a poll: its clock now (the clock it is
// heading for, if a correction is still being slewed in).
func (p *Berkeley) report(env node.Env, from node.ID, m berkeleyPoll) {
	now := env.Now()
	p.reported.epoch, p.reported.round, p.reported.at, p.reported.adjusted = m.Epoch, m.Round, now, false
	env.Send(from, berkeleyReport{Epoch: m.Epoch, Round: m.Round, Clock: stamp(now.Add(p.clock.target()))})
}

// estimate is the master's estimate of a slave's offset from a report of
// this round: the slave's clock was read about RTT/2 ago, within
// RTT/2 − min.
func (p *Berkeley) estimate(env node.Env, from node.ID, m berkeleyReport) {
	if m.Epoch != p.epoch || m.Round != p.round || p.estimates == nil {
		return
	}
	if _, dup := p.estimates[from]; dup {
		return
	}
	now := env.Now()
	rtt := now.Sub(p.polled)
	own := now.Add(p.clock.target())
	p.estimates[from] = berkeleyEstimate{
		id:     from,
		offset: m.Clock.time().Add(rtt / 2).Sub(own),
		bound:  max(rtt/2-p.cfg.MinDelay, 0) + p.cfg.sampleError(rtt),
	}
}

// average computes the fault-tolerant average of the offsets, corrects the
// master's own clock by it and sends each slave that answered its
// adjustment.
func (p *Berkeley) average(env node.Env) {
	ests := []berkeleyEstimate{{id: env.Self()}} // the master's own offset: 0, exactly
	for _, e := range p.estimates {
		ests = append(ests, e)
	}
	p.estimates = nil
	slices.SortFunc(ests, func(a, b berkeleyEstimate) int {
		return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.id, b.id))
	})
	avg := faultTolerantAverage(ests, env.Self(), p.cfg.Threshold)
	frame := fmt.Sprintf("%v@%d.%d", env.Self(), p.epoch, p.round)
	p.clock.correct(env, avg, estimate{reference: frame, exact: true})
	slices.SortFunc(ests, func(a, b berkeleyEstimate) int { return cmp.Compare(a.id, b.id) })
	now := env.Now()
	for _, e := range ests {
		if e.id == env.Self() {
			continue
		}
		m := berkeleyAdjust{Epoch: p.epoch, Round: p.round, Delta: avg - e.offset, Bound: e.bound}
		if p.cfg.AbsoluteTime {
			m = berkeleyAdjust{Epoch: p.epoch, Round: p.round, Bound: e.bound, Time: stamp(now.Add(p.clock.target()))}
		}
		env.Send(e.id, m)
	}
}

// faultTolerantAverage is the mean of the largest set of offsets (sorted)
// that lie within threshold of each other; of equally large sets, the one
// holding the master's own clock, then the tightest, then the earliest.
func faultTolerantAverage(sorted []berkeleyEstimate, master node.ID, threshold time.Duration) time.Duration {
	holds := func(i, j int) bool {
		for _, e := range sorted[i:j] {
			if e.id == master {
				return true
			}
		}
		return false
	}
	bi, bj := 0, 1
	for i := range sorted {
		j := i + 1
		for j < len(sorted) && sorted[j].offset-sorted[i].offset <= threshold {
			j++
		}
		better := j-i > bj-bi
		if j-i == bj-bi && holds(i, j) != holds(bi, bj) {
			better = holds(i, j)
		} else if j-i == bj-bi && sorted[j-1].offset-sorted[i].offset < sorted[bj-1].offset-sorted[bi].offset {
			better = true
		}
		if better {
			bi, bj = i, j
		}
	}
	var sum time.Duration
	for _, e := range sorted[bi:bj] {
		sum += e.offset
	}
	return sum / time.Duration(bj-bi)
}

// adjust applies the master's correction for the round this slave last
// reported in, once.
func (p *Berkeley) adjust(env node.Env, from node.ID, m berkeleyAdjust) {
	r := &p.reported
	if m.Epoch != r.epoch || m.Round != r.round || r.adjusted {
		return // stale, duplicated, or for a report this incarnation never made
	}
	r.adjusted = true
	est := estimate{reference: fmt.Sprintf("%v@%d.%d", from, m.Epoch, m.Round), bound: m.Bound, since: r.at}
	if m.Time != 0 {
		p.clock.correctTo(env, m.Time.time().Sub(env.Now()), est) // broken: the time is stale by the delay
		return
	}
	p.clock.correct(env, m.Delta, est)
}

// Request implements node.Process: a Sample reads the clocks.
func (p *Berkeley) Request(env node.Env, req node.Request) { p.clock.sample(env, req) }

// TextbookBerkeleyMessages is the textbook message cost of one Berkeley
// round in a group of n: the master polls the n−1 others, each answers, and
// each gets its adjustment, 3(n−1).
func TextbookBerkeleyMessages(n int) int { return 3 * (n - 1) }

// BerkeleyCosts measures a run of the Berkeley algorithm beside the
// textbook: the skew achieved (see Measure) and the messages of a round,
// 3(N−1).
func BerkeleyCosts(t *trace.Trace, n int, o CheckOptions) []trace.Cost {
	polls := sent(t, berkeleyPoll{})
	msgs := polls + sent(t, berkeleyReport{}) + sent(t, berkeleyAdjust{})
	return append(skewCosts(Measure(t, o), "not promised: agreement only"),
		trace.Cost{Name: "messages per round", Value: ratio(msgs*(n-1), polls),
			Textbook: fmt.Sprintf("3(N−1) = %d", TextbookBerkeleyMessages(n))})
}
