package broadcast

import (
	"fmt"
	"math"
	"slices"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// GossipForm says how a gossip process spreads a rumor.
type GossipForm int

// The forms of gossip (Demers et al. 1987 §1.3; Karp et al. 2000).
const (
	// Push: every round, each process that knows the rumor sends it to
	// Fanout random peers.
	Push GossipForm = iota
	// Pull: every round, each process that does not know the rumor asks
	// Fanout random peers for it, and a peer that knows it answers.
	Pull
	// PushPull: both at once, Karp et al.'s push&pull.
	PushPull
)

// String names the form as the catalog does ("push", "pull", "push-pull").
func (f GossipForm) String() string {
	switch f {
	case Push:
		return "push"
	case Pull:
		return "pull"
	case PushPull:
		return "push-pull"
	}
	return fmt.Sprintf("GossipForm(%d)", int(f))
}

// GossipConfig configures NewGossip.
type GossipConfig struct {
	// Form is push, pull or push-pull.
	Form GossipForm
	// Fanout is how many distinct random peers a process contacts each
	// round (0 means 1, the textbook's random phone call).
	Fanout int
	// Lifetime is for how many rounds after its birth the rumor is spread;
	// a process that has not heard it pulls in rounds 1 to Lifetime (this
	// simulation spreads one rumor, born in round 0). 0 means
	// DefaultLifetime.
	Lifetime int
	// OriginOnly selects a deliberately broken variant in which only the
	// rumor's origin spreads it (pushes it, answers pulls for it): a
	// process that hears it keeps it to itself, so the rumor reaches about
	// Fanout more processes a round instead of multiplying, and coverage
	// fails.
	OriginOnly bool
}

// fanout is the configured fanout for a group of n, at least 1 and at most
// n−1.
func (c GossipConfig) fanout(n int) int { return max(1, min(max(c.Fanout, 1), n-1)) }

// lifetime is the configured lifetime for a group of n.
func (c GossipConfig) lifetime(n int) int {
	if c.Lifetime > 0 {
		return c.Lifetime
	}
	return DefaultLifetime(c.Form, n, c.Fanout)
}

// Rumor is the request op that starts a rumor at a process, and the message
// that carries it: pushed by a process that knows it, or sent in answer to a
// pull. Hops counts the transmissions from the origin; Born is the round in
// which the origin heard of it.
type Rumor struct {
	Hops int
	Born int
}

// pull is a request for the rumor, sent by a process that has not heard it.
type pull struct{}

// Infected is emitted when a process first hears the rumor, and answers the
// origin's Rumor request.
type Infected struct {
	Hops int
}

// GossipMessages lists the gossip's registered types.
func GossipMessages() []any { return []any{Rumor{}, pull{}, Infected{}} }

// Gossip is one process of rumor spreading in synchronous rounds, after
// Demers et al., "Epidemic Algorithms for Replicated Database Maintenance"
// (PODC 1987), §1.3–1.4 and §3, in the random phone call model of Karp,
// Schindelhauer, Shenker and Vöcking, "Randomized Rumor Spreading" (FOCS
// 2000), in three forms:
//
//   - push: every round, every process that knows the rumor sends it to
//     Fanout random peers. With Fanout 1 every process knows it after
//     log₂N + ln N + O(1) rounds (Frieze and Grimmett 1985; Pittel 1987):
//     the informed double while few, then each straggler is missed with
//     probability about 1/e a round.
//   - pull: every round, every process that does not know the rumor asks
//     Fanout random peers, and those that know it answer. It starts as
//     slowly as push but ends quadratically fast (a process still uninformed
//     asks only uninformed peers): log₂N + O(log log N) rounds.
//   - push-pull: both; the informed triple while few: log₃N + O(log log N)
//     rounds (Karp et al. 2000).
//
// A round is the simulator's synchronous round (node.RoundTick; run it with
// sim.Config.Rounds): pushes and pulls go out at the tick, and a pull is
// answered on arrival, within the same round, as in a phone call. Only what
// a process knew when the round began does it pass on in that round. The
// rumor carries its birth round and is spread for Lifetime rounds; after
// that everyone falls silent (Karp et al.'s age-based termination, with the
// age a round count instead of their median counter).
//
// Gossip assumes nothing of the links and tolerates crashes: loss and dead
// peers only slow it down. It promises coverage with high probability, not
// certainty. It needs the rounds: in a runtime without them (the live
// one) the rumor never leaves its origin.
type Gossip struct {
	cfg GossipConfig
	// round is the current round: that of the last tick.
	round int
	// informed is set once the process has heard the rumor; rumor is then
	// the copy it heard first and heardIn the round in which it did.
	informed bool
	rumor    Rumor
	heardIn  int
	// origin is set at the process where the rumor started.
	origin bool
}

// NewGossip returns a gossip process.
func NewGossip(cfg GossipConfig) node.Process { return &Gossip{cfg: cfg} }

// Start implements node.Process: a process starts without the rumor.
func (g *Gossip) Start(env node.Env) {}

// Request implements node.Process: a Rumor op makes this process an origin.
func (g *Gossip) Request(env node.Env, req node.Request) {
	if _, ok := req.Op.(Rumor); !ok {
		env.Log().Warn("gossip: unknown request op", "op", node.TypeName(req.Op))
		return
	}
	g.origin = !g.informed
	g.hear(env, Rumor{Hops: 0, Born: g.round})
	env.Reply(req.ID, Infected{Hops: 0})
}

// Receive implements node.Process, dispatching to one handler per message.
func (g *Gossip) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case Rumor:
		g.hear(env, m)
	case pull:
		g.onPull(env, from)
	default:
		env.Log().Warn("gossip: unknown message", "from", from, "type", node.TypeName(msg))
	}
}

// Timeout implements node.Process: each round tick is a round of gossip.
func (g *Gossip) Timeout(env node.Env, timer any) {
	if t, ok := timer.(node.RoundTick); ok {
		g.onRound(env, t.Round)
	}
}

// onRound starts round r: a process that knows the rumor pushes it (push,
// push-pull) while it is alive; one that does not pulls (pull, push-pull)
// until the rumor's lifetime is over.
func (g *Gossip) onRound(env node.Env, r int) {
	g.round = r
	n := len(env.Group())
	switch {
	case g.informed && g.cfg.Form != Pull && g.spreads(n):
		for _, q := range g.peers(env) {
			env.Send(q, Rumor{Hops: g.rumor.Hops + 1, Born: g.rumor.Born})
		}
	case !g.informed && g.cfg.Form != Push && r <= g.cfg.lifetime(n):
		for _, q := range g.peers(env) {
			env.Send(q, pull{})
		}
	}
}

// onPull answers a peer's pull with the rumor if this process knew it when
// the round began and the rumor is still alive.
func (g *Gossip) onPull(env node.Env, from node.ID) {
	if g.informed && g.heardIn < g.round && g.spreads(len(env.Group())) {
		env.Send(from, Rumor{Hops: g.rumor.Hops + 1, Born: g.rumor.Born})
	}
}

// spreads reports whether this process passes the rumor on in the current
// round: it is younger than its lifetime (and, in the broken OriginOnly
// variant, this is its origin).
func (g *Gossip) spreads(n int) bool {
	return g.round-g.rumor.Born <= g.cfg.lifetime(n) && (!g.cfg.OriginOnly || g.origin)
}

// hear records the rumor the first time it arrives.
func (g *Gossip) hear(env node.Env, m Rumor) {
	if g.informed {
		return
	}
	g.informed, g.rumor, g.heardIn = true, m, g.round
	env.Emit(Infected{Hops: m.Hops})
}

// peers draws Fanout distinct random peers other than this process, by
// rejection: the fanout is much smaller than N in the cases that matter, and
// for small N the loop still ends since the fanout is at most N−1.
func (g *Gossip) peers(env node.Env) []node.ID {
	group := env.Group()
	f := g.cfg.fanout(len(group))
	chosen := make([]node.ID, 0, f)
	for len(chosen) < f {
		q := group[env.Rand().IntN(len(group))]
		if q != env.Self() && !slices.Contains(chosen, q) {
			chosen = append(chosen, q)
		}
	}
	return chosen
}

// GossipRounds is the textbook number of rounds until every process of n
// knows a rumor spread from one origin with the given form and fanout f,
// with its formula. For f = 1 these are the published leading terms: push
// log₂N + ln N (Frieze and Grimmett 1985; Pittel 1987), pull log₂N +
// log₂ ln N and push-pull log₃N + log₂ ln N (the O(log log N) terms of Karp
// et al. 2000, written as the quadratic end phase gives them). For larger f
// they are the same mean-field reckoning: the informed grow by a factor
// 1+f a round (1+2f for push-pull) while few; then a straggler stays
// uninformed with probability e^−f a round under push, and the uninformed
// fraction s becomes s^(f+1) under pull and push-pull.
func GossipRounds(form GossipForm, n, f int) (rounds float64, formula string) {
	f = max(f, 1)
	N, F := float64(max(n, 2)), float64(f)
	logb := func(b, x float64) float64 { return math.Log(x) / math.Log(b) }
	lnN := math.Log(N)
	switch form {
	case Pull:
		if f == 1 {
			return math.Log2(N) + math.Log2(lnN), "log₂N + log₂ln N"
		}
		return logb(1+F, N) + logb(1+F, lnN), fmt.Sprintf("log_%dN + log_%d(ln N)", f+1, f+1)
	case PushPull:
		if f == 1 {
			return logb(3, N) + math.Log2(lnN), "log₃N + log₂ln N"
		}
		return logb(1+2*F, N) + logb(1+F, lnN), fmt.Sprintf("log_%dN + log_%d(ln N)", 2*f+1, f+1)
	default:
		if f == 1 {
			return math.Log2(N) + lnN, "log₂N + ln N"
		}
		return logb(1+F, N) + lnN/F, fmt.Sprintf("log_%dN + ln N/%d", f+1, f)
	}
}

// GossipPushMessages is what push gossip with fanout 1 sends until every
// process of n knows the rumor, to the first order: N(ln N + 1), about N
// while the informed double and N a round for the last ln N rounds, when
// nearly everyone pushes (Karp et al. 2000: push needs Θ(N log N)
// transmissions).
func GossipPushMessages(n int) float64 { return float64(n) * (math.Log(float64(n)) + 1) }

// LifetimeSlack is how many rounds DefaultLifetime adds to the textbook
// figure.
const LifetimeSlack = 10

// DefaultLifetime is the rumor's default lifetime in rounds for a group of
// n: the textbook rounds (GossipRounds) rounded up, plus LifetimeSlack.
// Past the textbook's leading terms O(1) processes are left uninformed, each
// missed with probability at most about 1/e a round (1/4 in a group of 3),
// so the rumor dies before everyone has it with probability of the order of
// e^−10.
func DefaultLifetime(form GossipForm, n, fanout int) int {
	rounds, _ := GossipRounds(form, n, fanout)
	return int(math.Ceil(rounds)) + LifetimeSlack
}

// PropCoverage is the property CheckGossip judges.
const PropCoverage = "coverage"

// GossipCoverage counts the distinct processes infected in t and the longest
// hop count.
func GossipCoverage(t *trace.Trace) (infected, maxHops int) {
	s := GossipStatsOf(t)
	return s.Infected, s.MaxHops
}

// GossipStats are the figures of one gossip run.
type GossipStats struct {
	// Nodes is the group size; Infected how many processes heard the rumor.
	Nodes, Infected int
	// MaxHops is the longest chain of transmissions that infected anyone.
	MaxHops int
	// Rounds is the round in which the last process to hear the rumor heard
	// it, counted from the round the first origin heard it.
	Rounds int
	// Messages counts every message sent; MessagesToCover those sent up to
	// and including round Rounds.
	Messages, MessagesToCover int
}

// GossipStatsOf measures a gossip run from its trace.
func GossipStatsOf(t *trace.Trace) GossipStats {
	m := NewGossipMeter(t.Nodes)
	for i := range t.Events {
		m.Record(&t.Events[i])
	}
	return m.Stats()
}

// GossipMeter measures a gossip run event by event: it is a trace.Recorder,
// so that a run too large to keep (N = 100,000) can be measured as it goes.
type GossipMeter struct {
	nodes, infected, maxHops int
	seen                     []bool
	first, last              int   // rounds of the first and latest first infections
	sends                    []int // messages sent, by round
}

// NewGossipMeter returns a meter for a group of n.
func NewGossipMeter(n int) *GossipMeter {
	return &GossipMeter{nodes: n, seen: make([]bool, n), first: -1}
}

// Record implements trace.Recorder.
func (m *GossipMeter) Record(e *trace.Event) {
	switch e.Kind {
	case trace.Send:
		for len(m.sends) <= e.Round {
			m.sends = append(m.sends, 0)
		}
		m.sends[e.Round]++
	case trace.Emit:
		inf, ok := e.Value.(Infected)
		if !ok || e.Node < 0 || int(e.Node) >= len(m.seen) {
			return
		}
		if !m.seen[e.Node] {
			m.seen[e.Node] = true
			m.infected++
			if m.first < 0 {
				m.first = e.Round
			}
			m.last = e.Round
		}
		m.maxHops = max(m.maxHops, inf.Hops)
	}
}

// Stats returns the figures of the events recorded so far.
func (m *GossipMeter) Stats() GossipStats {
	st := GossipStats{Nodes: m.nodes, Infected: m.infected, MaxHops: m.maxHops}
	if m.first >= 0 {
		st.Rounds = m.last - m.first
	}
	for r, n := range m.sends {
		st.Messages += n
		if r <= m.last {
			st.MessagesToCover += n
		}
	}
	return st
}

// CheckGossip judges coverage: at least 99% of the processes heard the
// rumor. (The epidemic is probabilistic: reaching every process is likely,
// not certain, so the property is stated as the textbook states it, with high
// probability.)
func CheckGossip(t *trace.Trace) []trace.Check {
	infected, hops := GossipCoverage(t)
	return []trace.Check{coverageCheck(infected, t.Nodes, hops)}
}

func coverageCheck(infected, n, hops int) trace.Check {
	detail := fmt.Sprintf("%d of %d processes infected (%.2f%%), %d hops", infected, n, 100*float64(infected)/float64(max(n, 1)), hops)
	if float64(infected) >= 0.99*float64(n) {
		return trace.Passed(PropCoverage, "%s", detail)
	}
	return trace.Failed(PropCoverage, "%s; want at least 99%%", detail)
}
