package consensus

import (
	"fmt"
	"math"
	"slices"

	"github.com/synod-dev/synod/node"
)

// FloodPropose is the request that gives a process of flooding consensus its
// proposal (the propose(v) event of Cachin, Guerraoui and Rodrigues).
type FloodPropose struct{ Value int }

// FloodProposals is the message of one round of flooding consensus: the set
// W of proposals the sender has seen so far (Lynch's W), in ascending order.
type FloodProposals struct {
	Round  int
	Values []int
}

// FloodDecided is emitted when a process of flooding consensus decides, and
// is the reply to its FloodPropose. Round is the number of rounds it waited.
type FloodDecided struct {
	Value int
	Round int
}

// FloodingMessages lists the types flooding consensus sends, emits and
// takes as requests, for a node.Registry.
func FloodingMessages() []any { return []any{FloodPropose{}, FloodProposals{}, FloodDecided{}} }

// FloodingConfig configures flooding consensus.
type FloodingConfig struct {
	// Graph says who sends to whom: each process floods only to its
	// neighbours. Nil means the complete graph on the group.
	Graph *Graph
	// Rounds is the round after which every process decides. The correct
	// figure is FloodingRounds(Graph, f) for f crashes; fewer is the
	// deliberately broken variant that decides too early.
	Rounds int
}

// FloodingRounds is how many rounds flooding consensus must run on graph g
// to tolerate f crash failures: f + D_f, where D_f is the f-fault diameter
// of g (Graph.FaultDiameter), so f+1 on the complete graph, the classic
// bound (Lynch §6.2, Attiya and Welch §5.1.3). It is an error unless
// f < g.Connectivity(): more crashes could cut the graph in two, and no
// number of rounds would then do.
func FloodingRounds(g *Graph, f int) (int, error) {
	if f < 0 {
		return 0, fmt.Errorf("consensus: f = %d crashes: want 0 or more", f)
	}
	if k := g.Connectivity(); f >= max(k, 1) {
		return 0, fmt.Errorf("consensus: f = %d crashes on the %v graph of %d processes: want fewer than its vertex connectivity %d, so that crashes cannot disconnect it", f, g, g.N(), k)
	}
	return f + g.FaultDiameter(f), nil
}

// Flooding is flooding consensus in synchronous rounds: Lynch's FloodSet
// (Distributed Algorithms, 1996, §6.2.1), the algorithm behind the f+1
// round lower bound (§6.7), with the "decide the smallest" rule Lynch gives
// as a variation. Every process keeps the set W of the proposals it has
// heard of; in each round it sends W to each of its neighbours and adds
// what it receives; after Rounds rounds it decides min(W) and stops.
//
// On the complete graph f+1 rounds make every process that survives them
// hold the same W: of f+1 rounds at least one has no crash, and after it
// everyone has everything anyone alive has. With neighbour-only flooding a
// value can be carried past a crash only around it, so the bound is f plus
// the diameter the graph keeps whatever f processes crash (FloodingRounds).
//
// It runs in the simulator's synchronous-rounds mode: it sends at each
// node.RoundTick and expects every message of round r before the tick of
// round r+1. Its fault model is crash-stop: a process that crashes (even in
// the middle of sending a round's messages) never comes back.
type Flooding struct {
	cfg FloodingConfig
	// w is Lynch's W, ascending: every proposal heard of.
	w       []int
	decided bool
	// requests are the FloodPropose requests to answer with the decision.
	requests []node.RequestID
}

// NewFlooding returns a process of flooding consensus.
func NewFlooding(cfg FloodingConfig) *Flooding { return &Flooding{cfg: cfg} }

// Start implements node.Process. There is nothing to restore: in the
// crash-stop model a process never restarts.
func (p *Flooding) Start(env node.Env) {
	if p.cfg.Graph == nil {
		p.cfg.Graph = Complete(len(env.Group()))
	}
}

// Request implements node.Process: a FloodPropose adds the proposal to W.
func (p *Flooding) Request(env node.Env, req node.Request) {
	op, ok := req.Op.(FloodPropose)
	if !ok {
		env.Log().Warn("flooding: unknown request", "op", req.Op)
		return
	}
	p.requests = append(p.requests, req.ID)
	p.w = floodUnion(p.w, []int{op.Value})
}

// Receive implements node.Process: W ← W ∪ the sender's W.
func (p *Flooding) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case FloodProposals:
		p.w = floodUnion(p.w, m.Values)
	default:
		env.Log().Warn("flooding: unknown message", "from", from, "msg", msg)
	}
}

// Timeout implements node.Process: at the start of round r every message of
// round r−1 has arrived. After Rounds rounds, decide; before, send W.
func (p *Flooding) Timeout(env node.Env, timer any) {
	tick, ok := timer.(node.RoundTick)
	if !ok || p.decided {
		return
	}
	switch r := tick.Round; {
	case r == p.cfg.Rounds+1:
		p.decide(env)
	case r <= p.cfg.Rounds:
		msg := FloodProposals{Round: r, Values: slices.Clone(p.w)}
		for _, q := range p.cfg.Graph.Neighbors(env.Self()) {
			env.Send(q, msg)
		}
	}
}

// decide picks the smallest proposal in W. A process that heard of none
// (it was given none, and no neighbour sent it any) cannot decide.
func (p *Flooding) decide(env node.Env) {
	p.decided = true
	if len(p.w) == 0 {
		env.Log().Warn("flooding: no proposal to decide on")
		return
	}
	d := FloodDecided{Value: p.w[0], Round: p.cfg.Rounds}
	env.Emit(d)
	for _, req := range p.requests {
		env.Reply(req, d)
	}
}

// floodUnion returns the sorted union of two sorted sets as a new slice, so that
// a set once sent is never changed.
func floodUnion(a, b []int) []int {
	out := make([]int, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// Graph is an undirected communication graph over the processes 0..N−1:
// in flooding consensus a process sends only to its neighbours.
type Graph struct {
	name string
	adj  [][]node.ID // each list ascending
}

// Complete is the graph in which every process is every other's neighbour.
func Complete(n int) *Graph {
	g := &Graph{name: "complete", adj: make([][]node.ID, n)}
	for i := range n {
		for j := range n {
			if i != j {
				g.adj[i] = append(g.adj[i], node.ID(j))
			}
		}
	}
	return g
}

// Ring is the cycle n0 – n1 – … – n(N−1) – n0.
func Ring(n int) *Graph {
	g := &Graph{name: "ring", adj: make([][]node.ID, n)}
	for i := range n {
		for _, j := range []int{(i + n - 1) % n, (i + 1) % n} {
			if j != i && !slices.Contains(g.adj[i], node.ID(j)) {
				g.adj[i] = append(g.adj[i], node.ID(j))
			}
		}
		slices.Sort(g.adj[i])
	}
	return g
}

// Grid lays the processes out row by row on a grid ⌈√N⌉ wide (the last row
// may be short) and joins each to the processes above, below, left and
// right of it.
func Grid(n int) *Graph {
	cols := max(1, int(math.Ceil(math.Sqrt(float64(n)))))
	g := &Graph{name: fmt.Sprintf("grid (%d wide)", cols), adj: make([][]node.ID, n)}
	for i := range n {
		r, c := i/cols, i%cols
		for _, j := range []int{(r-1)*cols + c, i - 1, i + 1, (r+1)*cols + c} {
			if j < 0 || j >= n || (j == i-1 && c == 0) || (j == i+1 && c == cols-1) {
				continue
			}
			g.adj[i] = append(g.adj[i], node.ID(j))
		}
		slices.Sort(g.adj[i])
	}
	return g
}

// String names the graph ("ring").
func (g *Graph) String() string { return g.name }

// N is the number of processes.
func (g *Graph) N() int { return len(g.adj) }

// Neighbors returns the neighbours of id in ascending order. The slice is
// shared: do not modify it.
func (g *Graph) Neighbors(id node.ID) []node.ID {
	if id < 0 || int(id) >= len(g.adj) {
		return nil
	}
	return g.adj[id]
}

// complete reports whether every process neighbours every other.
func (g *Graph) complete() bool {
	for _, a := range g.adj {
		if len(a) != len(g.adj)-1 {
			return false
		}
	}
	return true
}

// Diameter is the largest distance, in hops, between two processes, or −1
// if the graph is disconnected.
func (g *Graph) Diameter() int { return g.diameterWithout(nil) }

// Connectivity is the vertex connectivity κ: the fewest processes whose
// crash disconnects the others (N−1 for the complete graph, which no crash
// disconnects). It is found by trying every smaller set, which is cheap for
// the sparse graphs here (κ is at most the smallest degree).
func (g *Graph) Connectivity() int {
	n := len(g.adj)
	if n <= 1 || g.complete() {
		return max(n-1, 0)
	}
	minDeg := n
	for _, a := range g.adj {
		minDeg = min(minDeg, len(a))
	}
	for k := range minDeg {
		disconnected := false
		eachSubset(n, k, func(removed []bool) bool {
			disconnected = g.diameterWithout(removed) < 0
			return !disconnected
		})
		if disconnected {
			return k
		}
	}
	return minDeg
}

// FaultDiameter is the f-fault diameter D_f: the largest diameter of what
// is left of the graph once any f or fewer processes are removed, or −1 if
// some such removal disconnects it. D_0 is the diameter; on the complete
// graph D_f is 1 as long as two processes remain; on a ring of N, D_1 is
// N−2 although the diameter is ⌊N/2⌋: a crash turns the ring into a line.
func (g *Graph) FaultDiameter(f int) int {
	n := len(g.adj)
	if g.complete() {
		if n-f >= 2 {
			return 1
		}
		return 0
	}
	worst := 0
	for k := 0; k <= f && k < n; k++ {
		eachSubset(n, k, func(removed []bool) bool {
			d := g.diameterWithout(removed)
			if d < 0 {
				worst = -1
				return false
			}
			worst = max(worst, d)
			return true
		})
		if worst < 0 {
			return -1
		}
	}
	return worst
}

// diameterWithout is the diameter of the graph without the removed
// processes (nil: none), or −1 if what is left is disconnected.
func (g *Graph) diameterWithout(removed []bool) int {
	n := len(g.adj)
	dist := make([]int, n)
	queue := make([]int, 0, n)
	diameter := 0
	for s := range n {
		if removed != nil && removed[s] {
			continue
		}
		for i := range dist {
			dist[i] = -1
		}
		dist[s] = 0
		queue = append(queue[:0], s)
		reached := 1
		for len(queue) > 0 {
			u := queue[0]
			queue = queue[1:]
			for _, v := range g.adj[u] {
				if dist[v] < 0 && (removed == nil || !removed[v]) {
					dist[v] = dist[u] + 1
					diameter = max(diameter, dist[v])
					reached++
					queue = append(queue, int(v))
				}
			}
		}
		left := n
		if removed != nil {
			left = n - countTrue(removed)
		}
		if reached < left {
			return -1
		}
	}
	return diameter
}

func countTrue(bs []bool) int {
	c := 0
	for _, b := range bs {
		if b {
			c++
		}
	}
	return c
}

// eachSubset calls visit with every subset of 0..n−1 of size k, as a
// membership mask, in lexicographic order, until visit returns false.
func eachSubset(n, k int, visit func(removed []bool) bool) {
	mask := make([]bool, n)
	var rec func(from, left int) bool
	rec = func(from, left int) bool {
		if left == 0 {
			return visit(mask)
		}
		for i := from; i <= n-left; i++ {
			mask[i] = true
			ok := rec(i+1, left-1)
			mask[i] = false
			if !ok {
				return false
			}
		}
		return true
	}
	rec(0, k)
}
