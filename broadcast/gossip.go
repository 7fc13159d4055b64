package broadcast

import (
	"fmt"
	"math"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// Gossip spreads a rumor by push epidemic, the "infect and die" rumor
// mongering of Demers et al., "Epidemic Algorithms for Replicated Database
// Maintenance" (PODC 1987), §1.4 and §3: a process that hears the rumor for
// the first time becomes infective, pushes it to Fanout peers chosen at
// random, and is then removed. Each process receives about Fanout pushes, so
// it misses the rumor with probability about e^−Fanout; with Fanout = ln N + c
// the expected number of processes never reached is e^−c, at a cost of
// N·Fanout messages and about log N / log Fanout hops.
type Gossip struct {
	cfg      GossipConfig
	infected bool
}

// GossipConfig configures NewGossip.
type GossipConfig struct {
	// Fanout is how many random peers an infected process pushes to.
	// 0 means DefaultFanout(N).
	Fanout int
	// Broken selects a deliberately broken variant that pushes to a single
	// peer: the epidemic dies out long before it covers the group, which
	// CheckGossip catches.
	Broken bool
}

// Rumor is the request op that starts a rumor at a process, and the message
// that spreads it. Hops counts the pushes from the origin.
type Rumor struct {
	Hops int
}

// Infected is emitted when a process first hears the rumor.
type Infected struct {
	Hops int
}

// DefaultFanout is ⌈ln N⌉ + 3: with it the expected number of processes the
// rumor misses is about e^−3 ≈ 0.05, whatever N.
func DefaultFanout(n int) int {
	return int(math.Ceil(math.Log(float64(n)))) + 3
}

// NewGossip returns a gossip process.
func NewGossip(cfg GossipConfig) node.Process { return &Gossip{cfg: cfg} }

// GossipMessages lists the gossip's registered types.
func GossipMessages() []any { return []any{Rumor{}, Infected{}} }

// Start implements node.Process: a process starts susceptible.
func (g *Gossip) Start(env node.Env) {}

// Request implements node.Process: a Rumor op makes this process the origin.
func (g *Gossip) Request(env node.Env, req node.Request) {
	if _, ok := req.Op.(Rumor); ok {
		g.infect(env, 0)
		env.Reply(req.ID, Infected{Hops: 0})
	}
}

// Receive implements node.Process: the first push infects.
func (g *Gossip) Receive(env node.Env, from node.ID, msg node.Message) {
	if r, ok := msg.(Rumor); ok {
		g.infect(env, r.Hops)
	}
}

// Timeout implements node.Process; gossip sets no timers.
func (g *Gossip) Timeout(env node.Env, timer any) {}

// infect makes the process infective once: it pushes the rumor to fanout
// distinct random peers and is removed.
func (g *Gossip) infect(env node.Env, hops int) {
	if g.infected {
		return
	}
	g.infected = true
	env.Emit(Infected{Hops: hops})
	group := env.Group()
	fanout := g.cfg.Fanout
	if fanout <= 0 {
		fanout = DefaultFanout(len(group))
	}
	if g.cfg.Broken {
		fanout = 1
	}
	fanout = min(fanout, len(group)-1)
	// Draw distinct peers other than self by rejection: fanout is much
	// smaller than N in the cases that matter, and for small N the loop
	// still ends since fanout <= N-1.
	chosen := make([]node.ID, 0, fanout)
	for len(chosen) < fanout {
		p := group[env.Rand().IntN(len(group))]
		if p == env.Self() || containsID(chosen, p) {
			continue
		}
		chosen = append(chosen, p)
		env.Send(p, Rumor{Hops: hops + 1})
	}
}

func containsID(ids []node.ID, id node.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// PropCoverage is the property CheckGossip judges.
const PropCoverage = "coverage"

// GossipCoverage counts the distinct processes infected in t and the longest
// hop count.
func GossipCoverage(t *trace.Trace) (infected, maxHops int) {
	seen := make([]bool, t.Nodes)
	for _, e := range trace.Emitted[Infected](t) {
		if int(e.Node) < len(seen) && !seen[e.Node] {
			seen[e.Node] = true
			infected++
		}
		maxHops = max(maxHops, e.Value.Hops)
	}
	return infected, maxHops
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
