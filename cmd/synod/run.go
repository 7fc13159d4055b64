package main

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// runSpec is everything that determines a simulated run except its seed.
type runSpec struct {
	alg     *algorithm
	variant string
	nodes   int
	length  time.Duration
	ops     int
	base    sim.Config // network, nemesis, schedule, rounds, encoding
	// live marks traces from real nodes (synod check), not a simulation.
	live bool
}

// runResult is what one seed produced.
type runResult struct {
	seed    uint64
	trace   *trace.Trace // nil unless kept
	metrics *trace.Metrics
	checks  []trace.Check
	end     time.Duration // virtual time when the run stopped
	steps   int           // events recorded
	err     error         // the run itself broke (not a property violation)
}

func (r *runResult) ok() bool { return r.err == nil && trace.AllOK(r.checks) }

// execute runs one seed of spec and checks it.
func (spec *runSpec) execute(seed uint64, keepTrace bool) runResult {
	cfg := spec.base
	cfg.Nodes = spec.nodes
	if spec.alg.Clients != nil {
		cfg.Nodes += spec.alg.Clients(spec.nodes)
		cfg.Nemesis.Servers = spec.nodes
	}
	if cfg.Rounds == 0 {
		cfg.Rounds = spec.alg.Rounds
	}
	cfg.Seed = seed
	if spec.alg.Reorder && cfg.Network.Default == (sim.Link{}) {
		cfg.Network.Default = sim.DefaultLink
		cfg.Network.Default.Reorder = true
	}
	cfg.New = spec.alg.New(spec.variant, spec.nodes)
	cfg.Registry = spec.alg.registry()
	if spec.alg.Faults != nil && !hasClockFaults(&cfg) {
		cfg.Schedule = append(spec.alg.Faults(spec.nodes), cfg.Schedule...)
	}
	m := &trace.Metrics{}
	cfg.Recorders = append([]trace.Recorder{m}, cfg.Recorders...)
	// A group without clocks is a large one (N > maxClockNodes); in rounds
	// mode its round ticks, one per process per round, are half its events
	// and tell nothing, so the stored trace goes without them.
	var kept *trace.Trace
	if cfg.NoClocks && cfg.Rounds > 0 && !cfg.DiscardTrace {
		kept = &trace.Trace{Nodes: cfg.Nodes}
		cfg.DiscardTrace = true
		cfg.Recorders = append(cfg.Recorders, withoutRoundTicks{kept})
	}
	if cfg.MaxSteps == 0 {
		cfg.MaxSteps = 50_000_000
	}
	res := runResult{seed: seed, metrics: m}
	s, err := sim.New(cfg)
	if err != nil {
		res.err = err
		return res
	}
	if spec.alg.Workload != nil && spec.ops > 0 {
		spec.alg.Workload(s, spec.ops, spec.length)
	}
	res.err = s.Run(spec.length)
	res.end = s.Now()
	t := s.Trace()
	if kept != nil {
		t = kept
	}
	res.steps = m.Events
	if res.err == nil {
		res.checks = spec.alg.Check(t)
	}
	if keepTrace {
		res.trace = t
	}
	return res
}

// withoutRoundTicks records every event but the round ticks into a trace.
type withoutRoundTicks struct{ t *trace.Trace }

func (w withoutRoundTicks) Record(e *trace.Event) {
	if _, tick := e.Value.(node.RoundTick); tick && e.Kind == trace.Timer {
		return
	}
	w.t.Record(e)
}

// hasClockFaults reports whether cfg already sets clock offsets or drift,
// randomly (--skew, --drift, --nemesis clock) or on a schedule; if not, an
// algorithm's default clock faults (algorithm.Faults) apply.
func hasClockFaults(cfg *sim.Config) bool {
	if cfg.Nemesis.Skew != 0 || cfg.Nemesis.Drift != 0 {
		return true
	}
	for _, e := range cfg.Schedule {
		if e.Action.Kind == sim.ActSkew || e.Action.Kind == sim.ActDrift {
			return true
		}
	}
	return false
}

// sweep runs seeds first..first+k-1 on every core, calling progress after
// each, and returns the results in seed order. The algorithm code stays
// single-threaded: each run is its own simulator.
func (spec *runSpec) sweep(first uint64, k int, progress func(done, failed int)) []runResult {
	results := make([]runResult, k)
	var (
		mu     sync.Mutex
		done   int
		failed int
		next   int
		wg     sync.WaitGroup
	)
	workers := min(runtime.GOMAXPROCS(0), k)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= k {
					return
				}
				r := spec.execute(first+uint64(i), false)
				mu.Lock()
				results[i] = r
				done++
				if !r.ok() {
					failed++
				}
				if progress != nil {
					progress(done, failed)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return results
}

// errViolation is returned when a property failed, so the command exits
// non-zero without a second error message.
var errViolation = errors.New("property violated")

func textbookCell(tb textbook) string {
	switch {
	case tb.PerOp > 0:
		return fmt.Sprintf("%s = %s", tb.Formula, num(tb.PerOp))
	case tb.Note != "":
		return tb.Note
	}
	return "—"
}

// registryFor is the registry used to read traces back.
func registryFor(a *algorithm) *node.Registry { return a.registry() }
