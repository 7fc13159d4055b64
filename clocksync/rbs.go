package clocksync

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// rbsBeacon is a reference broadcast: beacon Seq of round Round of the
// broadcaster's incarnation Epoch. It carries no time: only its arrival
// matters.
type rbsBeacon struct {
	Epoch, Round uint64
	Seq          int
}

// rbsObservation is a receiver's local clock when beacon Seq arrived.
type rbsObservation struct {
	Seq int
	At  wireTime
}

// rbsReport is a receiver's observations of a round's beacons, sent to the
// other receivers.
type rbsReport struct {
	Epoch, Round uint64
	Obs          []rbsObservation
}

// Timers of RBS.
type (
	// rbsRound: the broadcaster starts a round.
	rbsRound struct{}
	// rbsNext: the broadcaster sends beacon Seq of the round.
	rbsNext struct {
		Round uint64
		Seq   int
	}
	// rbsExchange: a receiver reports its observations of the round.
	rbsExchange struct{ Round rbsRoundID }
	// rbsEstimate: a receiver computes from the reports in.
	rbsEstimate struct{ Round rbsRoundID }
)

// rbsRoundID names a round across the broadcaster's restarts.
type rbsRoundID struct {
	Epoch, Round uint64
}

func (a rbsRoundID) compare(b rbsRoundID) int {
	return cmp.Or(cmp.Compare(a.Epoch, b.Epoch), cmp.Compare(a.Round, b.Round))
}

// RBSMessages lists one zero value of every message, timer, request op and
// emitted event of RBS, for node.NewRegistry.
func RBSMessages() []any {
	return []any{rbsBeacon{}, rbsReport{}, rbsRound{}, rbsNext{}, rbsExchange{}, rbsEstimate{}, Sample{}, Reading{}}
}

// RBSConfig configures NewRBS. Zero fields take their defaults.
type RBSConfig struct {
	// Discipline says how the adjusted clock is corrected (slewing, the
	// assumed drift, the broken step-backward variant).
	Discipline
	// Broadcaster sends the beacons and takes no other part (default n0).
	Broadcaster node.ID
	// Period is the time between rounds (default 1s).
	Period time.Duration
	// Beacons is the number of reference broadcasts per round, the paper's
	// m (default 5).
	Beacons int
	// BeaconGap is the time between two beacons of a round (default 10ms).
	BeaconGap time.Duration
	// Collect is how long a receiver waits for the others' reports after
	// sending its own (default 100ms).
	Collect time.Duration
	// Jitter bounds the difference between the delays with which two
	// receivers get the same broadcast: the receive-time uncertainty of the
	// medium, the only error RBS does not cancel (default 4ms, the spread
	// of the simulator's default link, 1–5 ms).
	Jitter time.Duration
	// ExcludeSelf is a deliberately broken variant: a receiver adopts the
	// mean of the other receivers' clocks rather than of all of them, its
	// own included, yet claims the same reference. Each then heads for a
	// different clock; the checker's bound property catches it.
	ExcludeSelf bool
}

func (c RBSConfig) withDefaults() RBSConfig {
	c.Discipline = c.Discipline.withDefaults()
	if c.Period <= 0 {
		c.Period = time.Second
	}
	if c.Beacons <= 0 {
		c.Beacons = 5
	}
	if c.BeaconGap <= 0 {
		c.BeaconGap = 10 * time.Millisecond
	}
	if c.Collect <= 0 {
		c.Collect = 100 * time.Millisecond
	}
	if c.Jitter <= 0 {
		c.Jitter = 4 * time.Millisecond
	}
	return c
}

// WarmUp is how long RBS takes to settle after a clock is set under it
// (CheckOptions.WarmUp): two rounds.
func (c RBSConfig) WarmUp() time.Duration {
	return 2 * c.withDefaults().Period
}

// RBS is one process of reference broadcast synchronization (J. Elson,
// L. Girod, D. Estrin, "Fine-Grained Network Time Synchronization using
// Reference Broadcasts", OSDI 2002, §3): a broadcaster sends Beacons
// reference broadcasts that carry no time at all; each receiver records its
// own clock as each arrives and sends its observations to the others; each
// receiver then estimates its offset from every other as the mean, over
// the beacons both saw, of the difference of their receive times (§3.1).
// The sender's delays — send time, access time — are the same for every
// receiver and cancel: only the receivers' difference in delay remains,
// bounded by Jitter.
//
// There is no master clock. The promise is pairwise; to keep an adjusted
// clock, each receiver here slews to the mean of the clocks of the
// receivers it heard from, its own included, so that receivers with the
// same information head for the same virtual clock (Reading.Reference
// "mean(n1,n2,n3)"). A Reading bounds the distance from it by Jitter, plus
// the clocks' precision, plus the drift since the round's first beacon,
// plus the correction not yet slewed in. The broadcaster keeps no adjusted
// clock and emits no Readings.
type RBS struct {
	cfg   RBSConfig
	clock disciplined

	// The broadcaster's incarnation and round.
	epoch, round uint64

	// The receiver's current round, its observations of the round's
	// beacons, whether it has reported them, and the reports of the
	// others by round.
	cur      rbsRoundID
	obs      []rbsObservation
	reported bool
	reports  map[rbsRoundID]map[node.ID][]rbsObservation
}

// NewRBS returns an RBS process: the broadcaster if its ID is
// cfg.Broadcaster, a receiver otherwise.
func NewRBS(cfg RBSConfig) *RBS {
	cfg = cfg.withDefaults()
	return &RBS{cfg: cfg, clock: newDisciplined(cfg.Discipline), reports: map[rbsRoundID]map[node.ID][]rbsObservation{}}
}

// rbsEpochKey is where the broadcaster keeps its incarnation count.
const rbsEpochKey = "clocksync/rbs/epoch"

// Start implements node.Process: the broadcaster begins a new incarnation
// and its first round soon.
func (p *RBS) Start(env node.Env) {
	if env.Self() != p.cfg.Broadcaster {
		return
	}
	st := env.Store()
	if b, ok := st.Get(rbsEpochKey); ok {
		if e, n := binary.Uvarint(b); n > 0 {
			p.epoch = e
		}
	}
	p.epoch++
	st.Set(rbsEpochKey, binary.AppendUvarint(nil, p.epoch))
	if err := st.Sync(); err != nil {
		env.Log().Error("rbs: sync epoch", "err", err)
	}
	env.After(p.cfg.Period/10, rbsRound{})
}

// Timeout implements node.Process.
func (p *RBS) Timeout(env node.Env, timer any) {
	switch t := timer.(type) {
	case rbsRound:
		p.round++
		env.After(p.cfg.Period, rbsRound{})
		p.broadcast(env, 0)
	case rbsNext:
		if t.Round == p.round {
			p.broadcast(env, t.Seq)
		}
	case rbsExchange:
		p.exchange(env, t.Round)
	case rbsEstimate:
		p.estimate(env, t.Round)
	}
}

// broadcast sends beacon seq of the current round to every receiver (the
// simulator has no broadcast medium: one message per receiver, each with
// its own delay, stands for one broadcast received at different times).
func (p *RBS) broadcast(env node.Env, seq int) {
	for _, id := range env.Group() {
		if id != env.Self() {
			env.Send(id, rbsBeacon{Epoch: p.epoch, Round: p.round, Seq: seq})
		}
	}
	if seq+1 < p.cfg.Beacons {
		env.After(p.cfg.BeaconGap, rbsNext{Round: p.round, Seq: seq + 1})
	}
}

// Receive implements node.Process.
func (p *RBS) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case rbsBeacon:
		p.observe(env, m)
	case rbsReport:
		p.collect(from, m)
	}
}

// collect keeps another receiver's report until this one estimates the
// round; of rounds this receiver has not estimated yet (it may have missed
// their beacons), only the latest two.
func (p *RBS) collect(from node.ID, m rbsReport) {
	id := rbsRoundID{m.Epoch, m.Round}
	if id.compare(p.cur) < 0 {
		return // an old round
	}
	if p.reports[id] == nil {
		p.reports[id] = map[node.ID][]rbsObservation{}
	}
	if _, dup := p.reports[id][from]; !dup {
		p.reports[id][from] = m.Obs
	}
	for len(p.reports) > 2 {
		var oldest rbsRoundID
		first := true
		for r := range p.reports {
			if first || r.compare(oldest) < 0 {
				oldest, first = r, false
			}
		}
		delete(p.reports, oldest)
	}
}

// observe records the local time a beacon arrived; the first beacon of a
// newer round starts that round.
func (p *RBS) observe(env node.Env, m rbsBeacon) {
	id := rbsRoundID{m.Epoch, m.Round}
	switch c := id.compare(p.cur); {
	case c > 0:
		p.cur, p.obs, p.reported = id, nil, false
		env.After(time.Duration(p.cfg.Beacons+1)*p.cfg.BeaconGap, rbsExchange{Round: id})
	case c < 0 || p.reported:
		return // an old round, or too late to report
	}
	for _, o := range p.obs {
		if o.Seq == m.Seq {
			return // a duplicate
		}
	}
	p.obs = append(p.obs, rbsObservation{Seq: m.Seq, At: stamp(env.Now())})
}

// exchange sends this receiver's observations of the round to the other
// receivers (§3.1: "each receiver sends its observation to the others").
func (p *RBS) exchange(env node.Env, id rbsRoundID) {
	if id != p.cur || len(p.obs) == 0 {
		return
	}
	p.reported = true
	for _, to := range env.Group() {
		if to != env.Self() && to != p.cfg.Broadcaster {
			env.Send(to, rbsReport{Epoch: id.Epoch, Round: id.Round, Obs: slices.Clone(p.obs)})
		}
	}
	env.After(p.cfg.Collect, rbsEstimate{Round: id})
}

// estimate computes the offset of every receiver that reported from this
// one's clock, offset[i,j] = (1/m) Σ_k (T_j,k − T_i,k) over the m beacons
// both saw (§3.1), and slews to the mean of the clocks of all of them.
func (p *RBS) estimate(env node.Env, id rbsRoundID) {
	peers := p.reports[id]
	for r := range p.reports {
		if r.compare(id) <= 0 {
			delete(p.reports, r)
		}
	}
	if id != p.cur {
		return
	}
	mine := map[int]time.Time{}
	for _, o := range p.obs {
		mine[o.Seq] = o.At.time()
	}
	ids := make([]node.ID, 0, len(peers))
	for j := range peers {
		ids = append(ids, j)
	}
	slices.Sort(ids)
	set := []node.ID{env.Self()}
	var sum time.Duration // Σ_j offset[i,j], offset[i,i] = 0
	for _, j := range ids {
		var diff time.Duration
		m := 0
		for _, o := range peers[j] {
			if t, ok := mine[o.Seq]; ok {
				diff += o.At.time().Sub(t)
				m++
			}
		}
		if m > 0 {
			sum += diff / time.Duration(m)
			set = append(set, j)
		}
	}
	if len(set) < 2 {
		if len(env.Group()) <= 2 { // the only receiver: its clock is the mean
			p.clock.correctTo(env, 0, estimate{reference: fmt.Sprintf("mean(%v)", env.Self()), exact: true})
		}
		return // no one heard from this round: keep the clock as it is
	}
	slices.Sort(set)
	n := len(set)
	if p.cfg.ExcludeSelf {
		n-- // broken: the mean of the others' clocks
	}
	names := make([]string, len(set))
	for i, j := range set {
		names[i] = j.String()
	}
	p.clock.correctTo(env, sum/time.Duration(n), estimate{
		reference: "mean(" + strings.Join(names, ",") + ")",
		bound:     p.cfg.Jitter + 2*p.cfg.Precision,
		since:     p.obs[0].At.time(),
	})
}

// Request implements node.Process: a Sample reads the clocks. The
// broadcaster answers with its own clock but emits nothing: it takes no
// part in the synchronization.
func (p *RBS) Request(env node.Env, req node.Request) {
	if env.Self() != p.cfg.Broadcaster {
		p.clock.sample(env, req)
		return
	}
	if _, ok := req.Op.(Sample); ok {
		now := env.Now()
		env.Reply(req.ID, Reading{Local: now, Adjusted: now})
	}
}

// TextbookRBSMessages is the message cost of one RBS round with m beacons
// and r receivers: m broadcasts (here r unicasts each), then each receiver
// sends its observations to the r−1 others.
func TextbookRBSMessages(m, r int) int { return m*r + r*(r-1) }

// RBSCosts measures a run of RBS beside the textbook: the skew achieved
// (see Measure) and the messages of a round.
func RBSCosts(t *trace.Trace, n int, cfg RBSConfig, o CheckOptions) []trace.Cost {
	cfg = cfg.withDefaults()
	r := n - 1
	beacons := sent(t, rbsBeacon{})
	msgs := beacons + sent(t, rbsReport{})
	return append(skewCosts(Measure(t, o), "not promised: pairwise only"),
		trace.Cost{Name: "messages per round", Value: ratio(msgs*cfg.Beacons*r, beacons),
			Textbook: fmt.Sprintf("m broadcasts + R(R−1) = %d·%d + %d·%d = %d (a broadcast is R = %d unicasts)",
				cfg.Beacons, r, r, r-1, TextbookRBSMessages(cfg.Beacons, r), r)})
}
