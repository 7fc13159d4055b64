// Package raftbench measures package raft in the simulator the way the Raft
// paper measured its own implementation. Its first experiment is the
// election-timing benchmark of §9.3 and Figure 16 of the extended paper
// (Ongaro and Ousterhout, "In Search of an Understandable Consensus
// Algorithm", 2014), also in Ongaro's dissertation §9.4: crash the
// leader of a five-server cluster at a random point within its heartbeat
// interval and time how long the cluster is without a leader.
//
// Package raft itself imports no runtime; this package is where it meets
// package sim.
package raftbench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/raft"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// Range is an election-timeout range: each server draws its timeouts
// uniformly from [Min, Max] (§5.2). Figure 16 names its lines this way:
// "150–155ms".
type Range struct {
	Min, Max time.Duration
}

// String prints r the way the paper labels its lines, "150-155ms".
func (r Range) String() string {
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64)
	}
	return ms(r.Min) + "-" + ms(r.Max) + "ms"
}

// Validate reports an impossible range.
func (r Range) Validate() error {
	if r.Min <= 0 || r.Max < r.Min {
		return fmt.Errorf("election timeout range %v: want 0 < MIN <= MAX", r)
	}
	return nil
}

// ParseRange reads a range as the paper writes it: "150-155" (milliseconds),
// "150-155ms", or with a unit on each end, "1.5ms-3ms".
func ParseRange(s string) (Range, error) {
	bad := fmt.Errorf("election timeout range %q: want MIN-MAX in milliseconds, like 150-300 or 12ms-24ms", s)
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Range{}, bad
	}
	parse := func(v string) (time.Duration, bool) {
		v = strings.TrimSpace(v)
		if d, err := time.ParseDuration(v); err == nil {
			return d, true
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return time.Duration(f * float64(time.Millisecond)), true
	}
	hi = strings.TrimSpace(hi)
	unitless := strings.TrimRight(hi, "abcdefghijklmnopqrstuvwxyzµ")
	if unit := hi[len(unitless):]; unit != "" {
		if _, err := strconv.ParseFloat(strings.TrimSpace(lo), 64); err == nil {
			lo += unit // "150-155ms": the unit covers both ends
		}
	}
	min, ok1 := parse(lo)
	max, ok2 := parse(hi)
	if !ok1 || !ok2 {
		return Range{}, bad
	}
	r := Range{Min: min, Max: max}
	if r.Validate() != nil {
		return Range{}, fmt.Errorf("election timeout range %q: want 0 < MIN <= MAX", s)
	}
	return r, nil
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// RandomnessRanges are the lines of Figure 16's top graph, which "varies the
// amount of randomness in election timeouts".
var RandomnessRanges = []Range{
	{ms(150), ms(150)}, {ms(150), ms(151)}, {ms(150), ms(155)},
	{ms(150), ms(175)}, {ms(150), ms(200)}, {ms(150), ms(300)},
}

// ScaleRanges are the lines of Figure 16's bottom graph, which "scales the
// minimum election timeout".
var ScaleRanges = []Range{
	{ms(12), ms(24)}, {ms(25), ms(50)}, {ms(50), ms(100)},
	{ms(100), ms(200)}, {ms(150), ms(300)},
}

// PaperRanges returns the ranges of Figure 16's eleven lines, the top
// graph's first: ten distinct ranges, since 150–300 ms is in both graphs
// (FigurePanels draws it in both).
func PaperRanges() []Range {
	out := slices.Clone(RandomnessRanges)
	for _, r := range ScaleRanges {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// PaperFigure returns what the paper's text (§9.3) states about the line
// of Figure 16 for range r, or "" for a line it gives no number for.
func PaperFigure(r Range) string {
	switch r {
	case Range{ms(150), ms(150)}:
		return "over 10s, always (many split votes)"
	case Range{ms(150), ms(155)}:
		return "median 287ms"
	case Range{ms(150), ms(200)}:
		return "max 513ms over 1000 trials"
	case Range{ms(12), ms(24)}:
		return "mean 35ms, max 152ms"
	}
	return ""
}

// DefaultLatency is the one-way message delay of the simulated network,
// uniform between 0.5 and 1.5 ms: a LAN, as in the paper's measurements
// ("1 gigabit Ethernet", diss. §9.4).
//
// The paper gives its cluster's "broadcast time of roughly 15ms" (Figure
// 16), a "network round trip plus disk write" (diss. §9.4). That time
// cannot all lie on the election's critical path: with 15 ms between a
// vote and the new leader's first heartbeat reaching the voter, a voter
// whose 12–24 ms timer restarted when it granted its vote would often time
// out first, and the paper's 12–24 ms line (35 ms on average) could not exist.
// BroadcastLatency puts the 15 ms on the network to show exactly that.
// This default is the LAN delay with which the simulator gives the paper's
// stated figures for 150–155 ms (median 287 ms) and 12–24 ms (mean 35 ms);
// see BENCHMARKS.md.
var DefaultLatency = sim.Uniform(500*time.Microsecond, 1500*time.Microsecond)

// BroadcastLatency is a one-way delay of 5 to 10 ms: RPCs to every server
// and back take about 15 ms, the paper's broadcast time, all of it on the
// network (the simulator's Sync costs no time).
var BroadcastLatency = sim.Uniform(5*time.Millisecond, 10*time.Millisecond)

// DefaultDrift bounds each server's clock rate error: 100 ppm, an ordinary
// crystal. It matters only for ranges without randomness (150–150 ms),
// where little else in a simulator breaks the servers' symmetry.
const DefaultDrift = 1e-4

// TimingConfig describes one line of Figure 16: Trials leader crashes with
// one election-timeout range.
type TimingConfig struct {
	// Range is the election-timeout range. The heartbeat interval is half
	// its minimum, as in the paper ("half of the minimum election timeout
	// for all tests").
	Range Range
	// Trials is the number of crashes; the paper ran 1000 per line (100 for
	// 150–150 ms).
	Trials int
	// Seed is the first trial's seed; trial i runs with Seed+i, so the same
	// Seed gives the same results, and every range sees the same seeds.
	Seed uint64
	// Servers is the cluster size; default 5, as in the paper.
	Servers int
	// Latency is the one-way message delay; zero means DefaultLatency.
	Latency sim.Latency
	// Drift bounds each server's clock rate error, drawn per trial from
	// [-Drift, +Drift]; zero means DefaultDrift, negative means none.
	Drift float64
	// Stale is how many followers miss the last entry the leader sends
	// before it crashes, so they cannot win the election (§5.4.1). The
	// paper's servers "had different log lengths, so some candidates were
	// not eligible to become leader" (§9.3): two of the four (diss. §9.4).
	// Zero means 2 (or fewer, so that the entry still commits); negative
	// means none.
	Stale int
	// Limit caps one trial's time without a leader; a trial that reaches
	// it is counted as timed out. Zero means 100 s.
	Limit time.Duration
	// Workers is how many trials run at once, each on its own simulator;
	// zero means GOMAXPROCS. The results do not depend on it.
	Workers int
	// Progress, if set, is called after each trial with the number done so
	// far, one call at a time.
	Progress func(done, total int)
}

// Trial is one leader crash.
type Trial struct {
	// Seed is the trial's simulator seed.
	Seed uint64
	// SinceHeartbeat is how long after its last heartbeat broadcast the
	// leader crashed: uniform in [0, heartbeat interval).
	SinceHeartbeat time.Duration
	// Elected is the time from the crash until the new leader won its
	// election (its raft.Elected event).
	Elected time.Duration
	// Known is the time from the crash until every other live server has
	// heard from the new leader (its raft.Stepped event naming the leader):
	// the paper's measure, "from when the old leader crashed until the other
	// servers received the new leader's first heartbeat" (diss. §9.4).
	Known time.Duration
	// Terms is how many terms the election took (1 when the first
	// candidate won; more after split votes).
	Terms int
	// TimedOut is set when no leader was established within the limit;
	// Known and Elected are then the limit.
	TimedOut bool
	// Unstable is set when the cluster never kept a leader long enough to
	// crash it (within 1000 maximum election timeouts of booting): the
	// election timeout is too short for the network (§5.6). Such a trial
	// measures nothing and is left out of every summary.
	Unstable bool
}

// TimingResult is one line of Figure 16.
type TimingResult struct {
	Range  Range
	Trials []Trial // in seed order
	// Summary of Known over the trials that crashed a leader (timed-out
	// ones count as the limit, so with any of those Mean is a lower bound).
	Median, P95, Max, Mean time.Duration
	// MeanElected is the mean of Elected.
	MeanElected time.Duration
	// TimedOut counts the trials that hit Limit.
	TimedOut int
	// Limit is the per-trial cap on the time without a leader.
	Limit time.Duration
	// MultiTerm counts the trials whose first election failed (a split
	// vote, or a candidate whose log was behind) and needed more terms.
	MultiTerm int
	// Unstable counts the trials that had no leader to crash (left out of
	// the summary and the CDF).
	Unstable int
}

// measured returns the trials that crashed a leader.
func (r TimingResult) measured() []Trial {
	var out []Trial
	for _, t := range r.Trials {
		if !t.Unstable {
			out = append(out, t)
		}
	}
	return out
}

// CDFPoint is one step of an empirical distribution: Fraction of the trials
// took at most Time.
type CDFPoint struct {
	Time     time.Duration
	Fraction float64
}

// CDF returns the empirical distribution of Known, one point per distinct
// time, ascending. Timed-out trials are left out, so the curve then stops
// short of 1, as the paper's 150–150 ms line would past its axis.
func (r TimingResult) CDF() []CDFPoint {
	var ts []time.Duration
	measured := r.measured()
	for _, t := range measured {
		if !t.TimedOut {
			ts = append(ts, t.Known)
		}
	}
	slices.Sort(ts)
	var out []CDFPoint
	n := float64(len(measured))
	for i, t := range ts {
		if i+1 < len(ts) && ts[i+1] == t {
			continue
		}
		out = append(out, CDFPoint{Time: t, Fraction: float64(i+1) / n})
	}
	return out
}

// Percentile returns the nearest-rank p-quantile (0 < p <= 1) of Known.
func (r TimingResult) Percentile(p float64) time.Duration {
	var ts []time.Duration
	for _, t := range r.measured() {
		ts = append(ts, t.Known)
	}
	return percentile(ts, p)
}

func percentile(ts []time.Duration, p float64) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	k := int(math.Ceil(p*float64(len(s)))) - 1
	return s[min(max(k, 0), len(s)-1)]
}

func (c *TimingConfig) defaults() {
	if c.Servers == 0 {
		c.Servers = 5
	}
	if c.Latency == (sim.Latency{}) {
		c.Latency = DefaultLatency
	}
	if c.Drift == 0 {
		c.Drift = DefaultDrift
	}
	if c.Drift < 0 {
		c.Drift = 0
	}
	if c.Stale == 0 {
		c.Stale = min(2, (c.Servers-1)/2)
	}
	if c.Stale < 0 {
		c.Stale = 0
	}
	if c.Limit == 0 {
		c.Limit = 100 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
}

// Validate reports a configuration that cannot run.
func (c TimingConfig) Validate() error {
	c.defaults()
	switch {
	case c.Range.Validate() != nil:
		return c.Range.Validate()
	case c.Range.Min/2 <= 0:
		return fmt.Errorf("election timeout range %v: too short for a heartbeat interval of half the minimum", c.Range)
	case c.Trials < 1:
		return fmt.Errorf("trials %d: want at least 1", c.Trials)
	case c.Servers < 3:
		return fmt.Errorf("servers %d: want at least 3, so that a crash leaves a majority", c.Servers)
	case c.Stale > (c.Servers-1)/2:
		return fmt.Errorf("stale followers %d: at most %d of %d servers can miss an entry that still commits", c.Stale, (c.Servers-1)/2, c.Servers)
	case c.Drift >= 1:
		return fmt.Errorf("drift %g: want a clock rate error below 1", c.Drift)
	case c.Limit < 0:
		return fmt.Errorf("limit %v: want a positive duration", c.Limit)
	}
	return sim.Link{Latency: c.Latency}.Validate()
}

// ElectionTiming runs cfg.Trials leader crashes, each on its own simulator,
// and summarizes how long the cluster was without a leader.
//
// One trial: Servers servers run Raft without PreVote and CheckQuorum (the
// paper's Raft had neither; both came later, in the dissertation), with the
// election timeout drawn from cfg.Range and heartbeats every Range.Min/2.
// Once a leader is established (every server follows it), the trial waits
// for the leader's next heartbeat broadcast. That broadcast resets every
// follower's election timer at about the same time, as the paper's
// "synchronized broadcast of heartbeat RPCs" did. Right after it the leader
// sends one more entry, which cfg.Stale followers miss, and it crashes at
// a uniformly random point within its heartbeat interval. The trial ends
// when a new leader is established: elected, and heard from by every other
// live server.
func ElectionTiming(cfg TimingConfig) (TimingResult, error) {
	if err := cfg.Validate(); err != nil {
		return TimingResult{}, err
	}
	cfg.defaults()
	res := TimingResult{Range: cfg.Range, Trials: make([]Trial, cfg.Trials), Limit: cfg.Limit}
	errs := make([]error, cfg.Trials)
	var (
		mu   sync.Mutex
		next int
		done int
		wg   sync.WaitGroup
	)
	for range min(cfg.Workers, cfg.Trials) {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= cfg.Trials {
					return
				}
				res.Trials[i], errs[i] = runTrial(&cfg, cfg.Seed+uint64(i))
				mu.Lock()
				done++
				if cfg.Progress != nil {
					cfg.Progress(done, cfg.Trials)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	switch len(failed) {
	case 0:
	case 1:
		return res, failed[0]
	default:
		return res, fmt.Errorf("%w (and %d more of the %d trials)", failed[0], len(failed)-1, cfg.Trials)
	}
	if !res.summarize() {
		return res, fmt.Errorf("raftbench: %v: none of the %d trials kept a leader long enough to crash it: "+
			"Raft needs a broadcast time well below the election timeout (§5.6), and the one-way latency is %v", cfg.Range, cfg.Trials, cfg.Latency)
	}
	return res, nil
}

// summarize fills in the summary; it reports false if no trial measured
// anything.
func (r *TimingResult) summarize() bool {
	measured := r.measured()
	r.Unstable = len(r.Trials) - len(measured)
	if len(measured) == 0 {
		return false
	}
	known := make([]time.Duration, len(measured))
	var sum, sumElected float64
	for i, t := range measured {
		known[i] = t.Known
		sum += float64(t.Known)
		sumElected += float64(t.Elected)
		if t.TimedOut {
			r.TimedOut++
		}
		if t.Terms > 1 {
			r.MultiTerm++
		}
	}
	n := float64(len(measured))
	r.Median = percentile(known, 0.5)
	r.P95 = percentile(known, 0.95)
	r.Max = slices.Max(known)
	r.Mean = time.Duration(sum / n)
	r.MeanElected = time.Duration(sumElected / n)
	return true
}

// propose is the benchmark's one request: append an entry.
type propose struct{}

// server embeds Raft the way an application does.
type server struct{ *raft.Raft }

func (s server) Request(env node.Env, req node.Request) {
	if _, ok := req.Op.(propose); ok {
		_, _, err := s.Propose(env, []byte("x"))
		env.Reply(req.ID, err == nil)
	}
}

// discard is a state machine that keeps nothing.
type discard struct{}

func (discard) Apply(uint64, uint64, []byte) {}
func (discard) Snapshot() []byte             { return nil }
func (discard) Restore([]byte) error         { return nil }

// watcher follows the servers' roles from their Stepped and Elected events
// and stops the simulator when what the trial waits for has happened.
type watcher struct {
	s     *sim.Sim
	roles []raft.Stepped
	down  []bool
	// elected is when each term's leader was elected.
	elected map[uint64]time.Duration

	// minTerm > 0: stop once a leader of a term >= minTerm is established;
	// then established is its time and leader, term its term.
	minTerm     uint64
	established time.Duration
	leader      node.ID
	term        uint64

	// beatFrom != None: stop at the first AppendEntries it sends at or
	// after beatAfter; beatAt is then that time and beatTo its receivers.
	beatFrom  node.ID
	beatAfter time.Duration
	beatAt    time.Duration
	beatTo    map[node.ID]bool
}

func (w *watcher) Record(e *trace.Event) {
	switch e.Kind {
	case trace.Crash:
		w.down[e.Node] = true
	case trace.Restart:
		w.down[e.Node] = false
	case trace.Send:
		if w.beatFrom == e.Node && e.Time >= w.beatAfter {
			if _, ok := e.Value.(raft.AppendEntries); ok {
				if w.beatTo == nil {
					w.beatAt, w.beatTo = e.Time, map[node.ID]bool{}
				}
				w.beatTo[e.Peer] = true
				w.s.Stop() // after this step, which sends the whole round
			}
		}
	case trace.Emit:
		switch v := e.Value.(type) {
		case raft.Stepped:
			w.roles[e.Node] = v
			if w.minTerm > 0 && w.leader == node.None {
				w.checkEstablished(e.Time)
			}
		case raft.Elected:
			if _, ok := w.elected[v.Term]; !ok {
				w.elected[v.Term] = e.Time
			}
		}
	}
}

// checkEstablished stops the run if some live server leads a term >=
// minTerm and every other live server follows it in that term.
func (w *watcher) checkEstablished(now time.Duration) {
	for id, st := range w.roles {
		if w.down[id] || st.Role != raft.Leader || st.Term < w.minTerm {
			continue
		}
		for j, o := range w.roles {
			if j != id && !w.down[j] && (o.Role != raft.Follower || o.Term != st.Term || o.Leader != node.ID(id)) {
				return
			}
		}
		w.established, w.leader, w.term = now, node.ID(id), st.Term
		w.s.Stop()
		return
	}
}

func (w *watcher) awaitLeader(minTerm uint64) {
	w.minTerm, w.leader, w.term = minTerm, node.None, 0
}

// runTrial crashes one leader; see ElectionTiming.
func runTrial(cfg *TimingConfig, seed uint64) (Trial, error) {
	rc := raft.Config{
		ElectionTimeoutMin: cfg.Range.Min,
		ElectionTimeoutMax: cfg.Range.Max,
		HeartbeatInterval:  cfg.Range.Min / 2,
		NoPreVote:          true,
		NoCheckQuorum:      true,
		SnapshotThreshold:  -1,
	}
	for i := range cfg.Servers {
		rc.Members = append(rc.Members, node.ID(i))
	}
	hb := rc.HeartbeatInterval
	w := &watcher{roles: make([]raft.Stepped, cfg.Servers), down: make([]bool, cfg.Servers),
		elected: map[uint64]time.Duration{}, beatFrom: node.None, leader: node.None}
	for i := range w.roles {
		w.roles[i].Leader = node.None
	}
	s, err := sim.New(sim.Config{
		Nodes:    cfg.Servers,
		Seed:     seed,
		Registry: node.NewRegistry(append(raft.Messages(), propose{})...),
		New: func(id node.ID) node.Process {
			c := rc
			c.StateMachine = discard{}
			return server{raft.New(c)}
		},
		Network:      sim.Network{Default: sim.Link{Latency: cfg.Latency}},
		Nemesis:      sim.Nemesis{Drift: cfg.Drift},
		DiscardTrace: true,
		NoClocks:     true,
		Recorders:    []trace.Recorder{w},
	})
	if err != nil {
		return Trial{}, err
	}
	w.s = s
	// The crash is at a random point of the heartbeat interval, and the
	// stale followers are random; both come from the trial's seed.
	rng := rand.New(rand.NewPCG(seed, 0x726166746265))
	warmLimit := 1000 * cfg.Range.Max

	// 1. Boot n0 first, so that the first election has a winner even
	// without randomness: the others start half a minimum timeout later,
	// so n0 times out first and its RequestVote finds them up and waiting.
	// This only shapes the warm-up; the measured election is untouched.
	others := make([]node.ID, cfg.Servers-1)
	for i := range others {
		others[i] = node.ID(i + 1)
	}
	s.At(0, sim.Crash(others...))
	s.At(cfg.Range.Min/2, sim.Restart(others...))

	// 2. A leader every server follows, then its next heartbeat broadcast
	// after at least two more heartbeat intervals (the no-op it appended
	// when elected is committed and known by then). If leadership moves
	// meanwhile, start again.
	var leader node.ID
	var term uint64
	for {
		w.awaitLeader(term + 1)
		if err := s.Run(warmLimit); err != nil {
			return Trial{}, err
		}
		if w.leader == node.None {
			return Trial{Seed: seed, Unstable: true}, nil
		}
		leader, term = w.leader, w.term
		w.minTerm = 0
		w.beatFrom, w.beatAfter, w.beatTo = leader, s.Now()+2*hb, nil
		if err := s.Run(warmLimit); err != nil {
			return Trial{}, err
		}
		w.beatFrom = node.None
		if w.beatTo == nil {
			return Trial{Seed: seed, Unstable: true}, nil
		}
		if len(w.beatTo) == cfg.Servers-1 && w.roles[leader].Role == raft.Leader && w.roles[leader].Term == term {
			break
		}
	}
	t0 := w.beatAt

	// 3. One more entry, which the stale followers miss: their links from
	// the leader are cut for the instant it is sent.
	if cfg.Stale > 0 {
		var followers []node.ID
		for id := range cfg.Servers {
			if node.ID(id) != leader {
				followers = append(followers, node.ID(id))
			}
		}
		rng.Shuffle(len(followers), func(i, j int) { followers[i], followers[j] = followers[j], followers[i] })
		if err := s.Apply(sim.Cut([]node.ID{leader}, followers[:cfg.Stale])); err != nil {
			return Trial{}, err
		}
		s.Request(t0, leader, propose{})
		s.At(t0+1, sim.Heal())
	}

	// 4. The crash, uniformly within the heartbeat interval (never before
	// the entry has left).
	since := max(time.Duration(rng.Int64N(int64(hb))), 2)
	crashAt := t0 + since
	s.At(crashAt, sim.Crash(leader))
	w.awaitLeader(term + 1)
	if err := s.Run(crashAt + cfg.Limit); err != nil {
		return Trial{}, err
	}
	tr := Trial{Seed: seed, SinceHeartbeat: since}
	if w.leader == node.None {
		tr.Known, tr.Elected, tr.TimedOut = cfg.Limit, cfg.Limit, true
		return tr, nil
	}
	tr.Known = w.established - crashAt
	tr.Elected = w.elected[w.term] - crashAt
	tr.Terms = int(w.term - term)
	return tr, nil
}
