package main

import (
	"time"

	"github.com/synod-dev/synod/clocksync"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// clocksyncCatalog lists the physical clock synchronization algorithms. They
// run on skewed, drifting clocks (clocksyncFaults) unless the user sets
// clocks of their own, and are read by an observer (clocksync.Sample) --ops
// times over the run, every process at the same instant.
func clocksyncCatalog() []*algorithm {
	// opts are the checker's options for an algorithm that settles in warmUp.
	opts := func(warmUp time.Duration) clocksync.CheckOptions {
		return clocksync.CheckOptions{Epoch: sim.Epoch, WarmUp: warmUp}
	}
	check := func(o clocksync.CheckOptions) func(t *trace.Trace) []trace.Check {
		return func(t *trace.Trace) []trace.Check { return clocksync.Check(t, o) }
	}
	cristian, ntp := opts(clocksync.CristianConfig{}.WarmUp()), opts(clocksync.NTPConfig{}.WarmUp())
	berkeley, rbs := opts(clocksync.BerkeleyConfig{}.WarmUp()), opts(clocksync.RBSConfig{}.WarmUp())
	sample := func(s *sim.Sim, ops int, length time.Duration) { clocksync.SampleWorkload(s, ops, length) }
	// An operation is one clock Sample, not a synchronization: the
	// messages per round are among the costs.
	noPerOp := func(int) textbook { return textbook{} }
	stepBackward := variant{Name: "step-backward", Summary: "apply negative corrections at once instead of slewing them: the clock runs backward"}
	return clocksyncDefaults(sample, noPerOp,
		&algorithm{
			Name:       "clocksync/cristian",
			Summary:    "Cristian's remote clock reading (1989): clients poll the time server n0, keep the shortest round trip, slew to T + RTT/2 (±RTT/2)" + defaultClocks,
			FaultModel: "clocks drift ≤ 100 ppm; any delays, loss, crashes (clients sync while n0 is reachable)",
			Messages:   clocksync.CristianMessages(),
			Variants: []variant{
				{Name: "no-half-rtt", Summary: "set the clock to the server's T as it arrives, without adding RTT/2, but claim ±RTT/2"},
				stepBackward,
			},
			New: func(v string, _ int) node.Factory {
				cfg := clocksync.CristianConfig{NoHalfRTT: v == "no-half-rtt"}
				cfg.StepBackward = v == stepBackward.Name
				return func(node.ID) node.Process { return clocksync.NewCristian(cfg) }
			},
			Check: check(cristian),
			Costs: func(t *trace.Trace, n int) []trace.Cost {
				return clocksync.CristianCosts(t, clocksync.CristianConfig{}, cristian)
			},
		},
		&algorithm{
			Name:       "clocksync/ntp",
			Summary:    "NTP's on-wire protocol (RFC 5905 §8, §10): offset θ and delay δ from four timestamps, the min-delay sample of the last 8, ±δ/2 from n0" + defaultClocks,
			FaultModel: "clocks drift ≤ 100 ppm; any delays, loss, crashes (clients sync while n0 is reachable)",
			Messages:   clocksync.NTPMessages(),
			Variants: []variant{
				{Name: "latest-sample", Summary: "slew to the latest sample's θ instead of the filter's choice, but claim the filter's bound"},
				stepBackward,
			},
			New: func(v string, _ int) node.Factory {
				cfg := clocksync.NTPConfig{LatestSample: v == "latest-sample"}
				cfg.StepBackward = v == stepBackward.Name
				return func(node.ID) node.Process { return clocksync.NewNTP(cfg) }
			},
			Check: check(ntp),
			Costs: func(t *trace.Trace, n int) []trace.Cost {
				return clocksync.NTPCosts(t, clocksync.NTPConfig{}, ntp)
			},
		},
		&algorithm{
			Name:       "clocksync/berkeley",
			Summary:    "Berkeley algorithm (Gusella & Zatti 1989): master n0 polls all, fault-tolerant average of the offsets, sends each its own delta; agreement only" + defaultClocks,
			FaultModel: "clocks drift ≤ 100 ppm; any delays, loss, crashes (slaves sync while n0 is reachable)",
			Messages:   clocksync.BerkeleyMessages(),
			Variants: []variant{
				{Name: "absolute-time", Summary: "send each slave the time to set instead of its adjustment: stale by the message's delay"},
				stepBackward,
			},
			New: func(v string, _ int) node.Factory {
				cfg := clocksync.BerkeleyConfig{AbsoluteTime: v == "absolute-time"}
				cfg.StepBackward = v == stepBackward.Name
				return func(node.ID) node.Process { return clocksync.NewBerkeley(cfg) }
			},
			Check: check(berkeley),
			Costs: func(t *trace.Trace, n int) []trace.Cost {
				return clocksync.BerkeleyCosts(t, n, berkeley)
			},
		},
		&algorithm{
			Name:       "clocksync/rbs",
			Summary:    "Reference broadcast synchronization (Elson, Girod, Estrin 2002): n0 sends beacons, receivers exchange arrival times and average pairwise offsets; no master" + defaultClocks,
			FaultModel: "clocks drift ≤ 100 ppm; receivers hear a beacon within 4 ms of each other and timestamp it on arrival (no pauses); loss, crashes",
			Messages:   clocksync.RBSMessages(),
			Variants: []variant{
				{Name: "exclude-self", Summary: "adopt the mean of the other receivers' clocks, not of all, yet claim the same reference"},
				stepBackward,
			},
			New: func(v string, _ int) node.Factory {
				cfg := clocksync.RBSConfig{ExcludeSelf: v == "exclude-self"}
				cfg.StepBackward = v == stepBackward.Name
				return func(node.ID) node.Process { return clocksync.NewRBS(cfg) }
			},
			Check: check(rbs),
			Costs: func(t *trace.Trace, n int) []trace.Cost {
				return clocksync.RBSCosts(t, n, clocksync.RBSConfig{}, rbs)
			},
		},
	)
}

// clocksyncDefaults gives every clock synchronization entry what they share:
// five nodes for 10 s, 100 sample instants of an observer, no per-operation
// figure (the messages per round are among the costs), and the default
// skewed, drifting clocks.
func clocksyncDefaults(sample func(*sim.Sim, int, time.Duration), noPerOp func(int) textbook, algs ...*algorithm) []*algorithm {
	for _, a := range algs {
		a.Nodes, a.Length, a.Ops = 5, 10*time.Second, 100
		a.Workload, a.Textbook, a.Faults = sample, noPerOp, clocksyncFaults
	}
	return algs
}

// defaultClocks ends each summary, since the run's description does not
// show the default clock faults.
const defaultClocks = "; clocks: n0 true, the others off by up to ±50 ms, drifting up to ±90 ppm"

// clocksyncFaults are the default clocks of the clock synchronization
// algorithms (clocksync.DefaultClock): n0 keeps true time, the others are
// off by up to ±50 ms and drift by up to ±90 ppm.
func clocksyncFaults(n int) []sim.Scheduled {
	var s []sim.Scheduled
	for i := range n {
		off, drift := clocksync.DefaultClock(node.ID(i))
		if off != 0 {
			s = append(s, sim.Scheduled{Action: sim.Skew(node.ID(i), off)})
		}
		if drift != 0 {
			s = append(s, sim.Scheduled{Action: sim.Drift(node.ID(i), drift)})
		}
	}
	return s
}
