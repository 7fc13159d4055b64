package main

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/detector"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// detectorCatalog lists the failure detectors. Their workload is a fault
// scenario rather than client requests (detector.Scenario): --ops processes
// crash for good, and one other process pauses for 600ms about every 1.5s
// for the whole run, so a run shows both detections and the false
// suspicions a detector must learn to stop.
func detectorCatalog() []*algorithm {
	return []*algorithm{
		{
			Name:       "detector/heartbeat",
			Summary:    "Heartbeats with increasing time-outs, eventually perfect ◇P (Chandra, Toueg 1996)" + scenarioSummary,
			FaultModel: "crash-stop; partial synchrony: delays and pauses bounded from some time on",
			Nodes:      5,
			Length:     10 * time.Second,
			Ops:        1,
			Messages:   detector.HeartbeatMessages(),
			Variants: []variant{
				{Name: "fixed-timeout", Summary: "never increase a time-out: the slow process's pauses are suspected for ever"},
				{Name: "shared-timer", Summary: "one time-out timer for the whole group: heartbeats from the living hide a crash (N ≥ 3)"},
			},
			New: func(v string, _ int) node.Factory {
				cfg := detector.DefaultHeartbeatConfig()
				cfg.FixedTimeout, cfg.SharedTimer = v == "fixed-timeout", v == "shared-timer"
				return func(node.ID) node.Process { return detector.NewHeartbeat(cfg) }
			},
			Workload: detectorScenario,
			Check:    detector.Check,
			Textbook: detectorTextbook,
			Costs: func(t *trace.Trace, n int) []trace.Cost {
				return detector.HeartbeatCosts(t, n, detector.DefaultHeartbeatConfig())
			},
		},
		{
			Name:       "detector/phi",
			Summary:    "φ accrual failure detector (Hayashibara et al. 2004), suspects when φ > 8" + scenarioSummary,
			FaultModel: "crash-stop; heartbeat intervals about as regular as its window says",
			Nodes:      5,
			Length:     10 * time.Second,
			Ops:        1,
			Messages:   detector.PhiMessages(),
			Variants: []variant{
				{Name: "low-threshold", Summary: "suspect when φ > 1 (a 10% chance the heartbeat is merely late): the slow process is still suspected at many of its pauses at the end"},
			},
			New: func(v string, _ int) node.Factory {
				cfg := detector.DefaultPhiConfig()
				if v == "low-threshold" {
					cfg.Threshold = detector.LowThreshold
				}
				return func(node.ID) node.Process { return detector.NewPhi(cfg) }
			},
			Workload: detectorScenario,
			Check:    detector.Check,
			Textbook: detectorTextbook,
			Costs: func(t *trace.Trace, n int) []trace.Cost {
				return detector.PhiCosts(t, n, detector.DefaultPhiConfig())
			},
		},
	}
}

// scenarioSummary tells what the default run does.
var scenarioSummary = fmt.Sprintf(": --ops processes crash for good, another pauses %v about every %v",
	detector.SlowPause, detector.SlowEvery)

// detectorScenario schedules detector.Scenario's faults: ops crash-stops
// and a slow process.
func detectorScenario(s *sim.Sim, ops int, length time.Duration) {
	for _, f := range detector.Scenario(s, ops, length) {
		var a sim.Action
		switch f.Kind {
		case detector.FaultCrash:
			a = sim.Crash(f.Node)
		case detector.FaultPause:
			a = sim.Pause(f.Node)
		case detector.FaultResume:
			a = sim.Resume(f.Node)
		default:
			panic(fmt.Sprintf("detector scenario: unknown fault %q", f.Kind))
		}
		s.At(f.At, a)
	}
}

// detectorTextbook is the heartbeat cost: every process sends one small
// heartbeat to each of the others once a period.
func detectorTextbook(n int) textbook {
	return textbook{Note: fmt.Sprintf("N−1 = %d heartbeats per process per period", n-1)}
}
