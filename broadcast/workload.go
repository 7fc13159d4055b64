package broadcast

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// Driver is what a workload needs from a runtime (see node.Driver).
type Driver = node.Driver

// WorkloadFraction is the share of a run during which TotalOrderWorkload submits
// multicasts; the rest of the run is left for them to be delivered, so that
// a run on a healthy network ends quiescent and termination can be judged.
const WorkloadFraction = 0.7

// TotalOrderWorkload submits count Multicast requests, with payloads "m1", "m2", ...,
// each to a process and at a time drawn uniformly from the group and from the
// first WorkloadFraction of a run of length until, using only d's random
// source. Several processes therefore multicast concurrently, which is what
// a total order has to resolve (van Steen & Tanenbaum §5.2, the two
// replicated-database updates).
func TotalOrderWorkload(d Driver, count int, until time.Duration) {
	window := time.Duration(float64(until) * WorkloadFraction)
	node.SpreadRequests(d, d.Group(), count, window, func(i int) any {
		return Multicast{Payload: fmt.Sprintf("m%d", i+1)}
	})
}

// WorkloadConfig shapes the workload PlanWorkload draws for the broadcast
// algorithms.
type WorkloadConfig struct {
	// Broadcasts is how many messages to broadcast, with payloads "m1",
	// "m2", ...
	Broadcasts int
	// Window is the span of the run in which they are submitted.
	Window time.Duration
	// Burst is how many broadcasts a process submits back to back at one
	// instant (0 or 1: one at a time). Bursts are what reordering feeds
	// on: a relay of a sender's second message can overtake its first.
	Burst int
	// CrashSender makes one sender crash in the middle of the run's last
	// burst, after its message has reached some of the others but not all: the textbook failure that separates best-effort from reliable
	// broadcast. It needs a group of at least 3.
	CrashSender bool
	// Spare lists processes that must not crash (a fixed sequencer).
	Spare []node.ID
}

// Step is one broadcast of a planned workload.
type Step struct {
	At     time.Duration
	Sender node.ID
	Op     Broadcast
	// Crash marks the broadcast in the middle of which Sender crashes for
	// good: its message reaches the processes in Reaches and no other, and
	// then Sender stops. A harness stages it by cutting the links from
	// Sender to the others just before the request and crashing Sender
	// just after it, at the same instant. (The simulator then also drops
	// whatever Sender sent those others earlier that is still in flight,
	// as a crash loses what the sender's buffers held: in a burst, the
	// earlier messages may be cut off too.)
	Crash   bool
	Reaches []node.ID
}

// PlanWorkload draws a workload for the broadcast algorithms from r: bursts
// of cfg.Burst broadcasts, each burst from a process drawn uniformly from
// group at a time drawn uniformly from [0, cfg.Window), and, with
// cfg.CrashSender, the last broadcast of the latest burst from a process not
// in cfg.Spare made the one in whose middle its sender crashes, reaching
// between 1 and N−2 of the others (so that the rest of the run measures the
// whole group). Steps come in the order a harness must submit them; the
// same r gives the same plan.
func PlanWorkload(r *rand.Rand, group []node.ID, cfg WorkloadConfig) []Step {
	if len(group) == 0 || cfg.Broadcasts <= 0 {
		return nil
	}
	burst := max(cfg.Burst, 1)
	w := max(int64(cfg.Window), 1)
	steps := make([]Step, 0, cfg.Broadcasts)
	crash := -1 // the last step of the latest burst from a process that may crash
	for len(steps) < cfg.Broadcasts {
		at := time.Duration(r.Int64N(w))
		sender := group[r.IntN(len(group))]
		for k := 0; k < burst && len(steps) < cfg.Broadcasts; k++ {
			steps = append(steps, Step{At: at, Sender: sender, Op: Broadcast{Payload: fmt.Sprintf("m%d", len(steps)+1)}})
		}
		if !slices.Contains(cfg.Spare, sender) && (crash < 0 || at >= steps[crash].At) {
			crash = len(steps) - 1
		}
	}
	if cfg.CrashSender && len(group) >= 3 && crash >= 0 {
		s := &steps[crash]
		s.Crash = true
		others := slices.DeleteFunc(slices.Clone(group), func(q node.ID) bool { return q == s.Sender })
		r.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
		s.Reaches = others[:1+r.IntN(len(others)-1)]
		slices.Sort(s.Reaches)
	}
	return steps
}
