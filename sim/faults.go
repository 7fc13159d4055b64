package sim

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// apply performs a nemesis action now and records it.
func (s *Sim) apply(a Action) {
	switch a.Kind {
	case ActCrash:
		for _, id := range a.Nodes {
			s.crash(s.nodes[id])
		}
	case ActRestart:
		for _, id := range a.Nodes {
			s.restart(s.nodes[id])
		}
	case ActPause:
		for _, id := range a.Nodes {
			if n := s.nodes[id]; !n.paused && !n.down {
				n.paused = true
				s.record(&trace.Event{Kind: trace.Pause, Node: id})
			}
		}
	case ActResume:
		for _, id := range a.Nodes {
			s.resume(s.nodes[id])
		}
	case ActPartition:
		in := make([]int, len(s.nodes)) // group index+1 of each node; 0 = in no group
		for g, grp := range a.Groups {
			for _, id := range grp {
				in[id] = g + 1
			}
		}
		for i := range s.nodes {
			for j := range s.nodes {
				if in[i] != 0 && in[j] != 0 && in[i] != in[j] {
					s.cut[Pair{node.ID(i), node.ID(j)}] = true
				}
			}
		}
		s.record(&trace.Event{Kind: trace.Partition, Node: node.None, Detail: a.String()})
	case ActCut:
		for _, f := range a.Nodes {
			for _, t := range a.Targets {
				if f != t {
					s.cut[Pair{f, t}] = true
				}
			}
		}
		s.record(&trace.Event{Kind: trace.Partition, Node: node.None, Detail: a.String()})
	case ActHeal:
		clear(s.cut)
		s.record(&trace.Event{Kind: trace.Heal, Node: node.None, Detail: "heal"})
	case ActSkew, ActDrift:
		for _, id := range a.Nodes {
			n := s.nodes[id]
			// Re-anchor the clock at its current reading, then change it.
			n.base, n.since = n.localTime(), s.now
			if a.Kind == ActSkew {
				n.base = s.now + a.Offset
			} else {
				n.drift = a.Drift
			}
			s.record(&trace.Event{Kind: trace.ClockSet, Node: id, Detail: a.String()})
		}
	}
}

// crash stops a node: its volatile state, pending timers and unsynced
// writes are gone, and messages to it are dropped until it restarts.
func (s *Sim) crash(n *simNode) {
	if n.down {
		return
	}
	s.record(&trace.Event{Kind: trace.Crash, Node: n.id})
	n.down, n.paused, n.held = true, false, nil
	n.incarnation++
	n.proc = nil
	if n.store != nil {
		n.store.Crash()
	}
}

// restart boots a fresh process on a crashed node, with its synced storage.
func (s *Sim) restart(n *simNode) {
	if !n.down {
		return
	}
	n.down = false
	s.record(&trace.Event{Kind: trace.Restart, Node: n.id})
	n.proc = s.cfg.New(n.id)
	s.record(&trace.Event{Kind: trace.Start, Node: n.id})
	n.proc.Start(n)
}

// resume lets a paused node take the steps it missed, in arrival order.
func (s *Sim) resume(n *simNode) {
	if !n.paused {
		return
	}
	n.paused = false
	s.record(&trace.Event{Kind: trace.Resume, Node: n.id})
	held := n.held
	n.held = nil
	for _, it := range held {
		it.at = s.now
		s.push(it)
	}
}

// The random nemesis: one pending "next fault" per kind, each at an
// exponentially distributed delay.
func (s *Sim) startNemesis() {
	nem := s.cfg.Nemesis
	kinds := []struct {
		rate float64
		kind ActionKind
	}{{nem.Partition, ActPartition}, {nem.Crash, ActCrash}, {nem.Pause, ActPause}}
	for _, k := range kinds {
		if k.rate > 0 {
			s.scheduleFault(k.kind, k.rate)
		}
	}
	if nem.Stop > 0 && nem.Active() {
		s.At(nem.Stop, func() { s.endFaults() })
	}
}

func (s *Sim) expDelay(mean time.Duration) time.Duration {
	return time.Duration(s.nemRand.ExpFloat64() * float64(mean))
}

func (s *Sim) scheduleFault(kind ActionKind, rate float64) {
	at := s.now + time.Duration(s.nemRand.ExpFloat64()/rate*float64(time.Second))
	if stop := s.cfg.Nemesis.Stop; stop > 0 && at >= stop {
		return
	}
	s.At(at, func() {
		s.randomFault(kind)
		s.scheduleFault(kind, rate)
	})
}

func (s *Sim) randomFault(kind ActionKind) {
	nem := s.cfg.Nemesis
	r := s.nemRand
	nodes := s.nodes
	if nem.Servers > 0 && nem.Servers < len(nodes) {
		nodes = nodes[:nem.Servers]
	}
	switch kind {
	case ActPartition:
		if len(nodes) < 2 {
			return
		}
		perm := make([]node.ID, len(nodes))
		for i, p := range r.Perm(len(nodes)) {
			perm[i] = node.ID(p)
		}
		var a Action
		switch r.IntN(3) {
		case 0: // majority / minority
			k := 1 + r.IntN(len(perm)/2)
			a = PartitionGroups(sorted(perm[:k]), sorted(perm[k:]))
		case 1: // one node isolated
			a = PartitionGroups(perm[:1], sorted(perm[1:]))
		default: // a one-way cut
			a = Cut(perm[:1], sorted(perm[1:1+r.IntN(len(perm)-1)+1]))
		}
		s.apply(a)
		s.At(s.now+s.expDelay(nem.PartitionFor), Heal())
	case ActCrash:
		maxDown := nem.MaxDown
		if maxDown == 0 {
			maxDown = max(1, (len(nodes)-1)/2)
		}
		down := 0
		var up []node.ID
		for _, n := range nodes {
			if n.down {
				down++
			} else {
				up = append(up, n.id)
			}
		}
		if down >= maxDown || len(up) == 0 {
			return
		}
		id := up[r.IntN(len(up))]
		s.apply(Crash(id))
		if nem.RestartAfter > 0 {
			s.At(s.now+s.expDelay(nem.RestartAfter), Restart(id))
		}
	case ActPause:
		var up []node.ID
		for _, n := range nodes {
			if !n.down && !n.paused {
				up = append(up, n.id)
			}
		}
		if len(up) == 0 {
			return
		}
		id := up[r.IntN(len(up))]
		s.apply(Pause(id))
		s.At(s.now+s.expDelay(nem.PauseFor), Resume(id))
	}
}

// endFaults heals the network and restores every node when the random
// nemesis stops (crash-stop nodes stay down).
func (s *Sim) endFaults() {
	if len(s.cut) > 0 {
		s.apply(Heal())
	}
	for _, n := range s.nodes {
		if n.paused {
			s.resume(n)
		}
		if n.down && s.cfg.Nemesis.RestartAfter > 0 {
			s.restart(n)
		}
	}
}

func sorted(ids []node.ID) []node.ID {
	c := slices.Clone(ids)
	slices.Sort(c)
	return c
}

// Describe summarizes the network and nemesis settings in one line.
func (c *Config) Describe() string {
	var parts []string
	l := c.Network.Default
	if l == (Link{}) {
		l = DefaultLink
	}
	parts = append(parts, "latency "+l.Latency.String())
	if l.Reorder {
		parts = append(parts, "reordering")
	} else {
		parts = append(parts, "FIFO")
	}
	if l.Loss > 0 {
		parts = append(parts, fmt.Sprintf("loss %g", l.Loss))
	}
	if l.Duplicate > 0 {
		parts = append(parts, fmt.Sprintf("duplication %g", l.Duplicate))
	}
	if l.Bandwidth > 0 {
		parts = append(parts, fmt.Sprintf("bandwidth %dB/s", l.Bandwidth))
	}
	if len(c.Network.Links) > 0 {
		parts = append(parts, fmt.Sprintf("%d links overridden", len(c.Network.Links)))
	}
	if c.Rounds > 0 {
		parts = append(parts, fmt.Sprintf("synchronous rounds of %v", c.Rounds))
	}
	n := c.Nemesis
	if n.Partition > 0 {
		parts = append(parts, fmt.Sprintf("partitions %g/s", n.Partition))
	}
	if n.Crash > 0 {
		parts = append(parts, fmt.Sprintf("crashes %g/s", n.Crash))
	}
	if n.Pause > 0 {
		parts = append(parts, fmt.Sprintf("pauses %g/s", n.Pause))
	}
	if n.Skew > 0 {
		parts = append(parts, fmt.Sprintf("clock skew ±%v", n.Skew))
	}
	if n.Drift > 0 {
		parts = append(parts, fmt.Sprintf("drift ±%g", n.Drift))
	}
	if len(c.Schedule) > 0 {
		parts = append(parts, "schedule: "+FormatSchedule(c.Schedule))
	}
	return strings.Join(parts, ", ")
}

// vtHandler adds the virtual time to every log record.
type vtHandler struct {
	inner slog.Handler
	s     *Sim
}

func (h *vtHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }
func (h *vtHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Time = Epoch.Add(h.s.now)
	r.AddAttrs(slog.Duration("vt", h.s.now))
	return h.inner.Handle(ctx, r)
}
func (h *vtHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &vtHandler{inner: h.inner.WithAttrs(as), s: h.s}
}
func (h *vtHandler) WithGroup(name string) slog.Handler {
	return &vtHandler{inner: h.inner.WithGroup(name), s: h.s}
}

var discard = slog.New(slog.DiscardHandler)
