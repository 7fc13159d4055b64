package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/synod-dev/synod/clock"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// algorithm is one entry of the catalog: how to build, drive, check and
// measure an algorithm in the simulator. The catalog is explicit (no init()
// registration) so that `synod list` is the whole truth.
type algorithm struct {
	Name    string // family/algorithm
	Summary string // one line for `synod list`
	// FaultModel says what the algorithm assumes and tolerates, in a few
	// words, for `synod report` ("reliable FIFO links, no crashes").
	FaultModel string
	// Nodes and Length are the defaults for --nodes and --time.
	Nodes  int
	Length time.Duration
	// Ops is the default workload size (--ops); 0 when the algorithm drives itself.
	Ops int
	// Rounds, if set, is the default for --rounds: the algorithm runs in
	// the simulator's synchronous-rounds mode with rounds of this length
	// unless the run's configuration gives a length of its own. Such an
	// algorithm cannot run live, where there are no rounds.
	Rounds time.Duration
	// Messages are the types to register: messages, emitted events, ops, replies.
	Messages []any
	// Variants are deliberately broken versions, selectable with --variant,
	// each caught by Check.
	Variants []variant
	// New builds the factory for a variant ("" is the correct algorithm)
	// in a group of the given number of servers (the --nodes; client
	// processes, if any, come after them).
	New func(variant string, servers int) node.Factory
	// Clients, if set, is how many client processes a simulation of n
	// servers adds after them (n, n+1, ...): they drive the workload over
	// the network, and random faults never touch them.
	Clients func(n int) int
	// Workload schedules the run's requests (nil: none).
	Workload func(s *sim.Sim, ops int, length time.Duration)
	// GroundTruth is set when Check needs the simulator's vector clocks,
	// which cost O(N) per event: such algorithms run on at most
	// maxClockNodes nodes, the others drop the clocks above that size.
	GroundTruth bool
	// Check judges the properties the algorithm promises.
	Check func(t *trace.Trace) []trace.Check
	// Explain, if set, draws the history of a failed run to a file at path
	// (for a key-value store, porcupine's HTML visualization): the CLI
	// writes it for every failing seed it reports.
	Explain func(t *trace.Trace, path string) error
	// Textbook is the cost the literature gives, for the summary.
	Textbook func(n int) textbook
	// Costs, if set, are further costs measured on a run beside their
	// textbook figures (entry delay, detection time, rounds...).
	Costs func(t *trace.Trace, n int) []trace.Cost
	// Reorder makes the default links reorder messages (the default
	// --reorder), for algorithms whose point is to mend the order.
	Reorder bool
	// Joinable: the algorithm's membership can change while it runs. Its
	// New(variant, 0) builds a server with no initial configuration, which
	// waits to be added by a running cluster (`synod node --join`), and
	// `synod node` accepts --members for it.
	Joinable bool
	// Faults, if set, are default clock faults (skew/drift per node) for a
	// group of n, applied when the user gives none of their own (no --skew,
	// no --drift, no skew or drift action in --schedule): clock
	// synchronization means nothing on perfect clocks.
	Faults func(n int) []sim.Scheduled
}

// maxClockNodes is the largest group that gets ground-truth vector clocks.
const maxClockNodes = 1000

// variant is a deliberately broken version of an algorithm.
type variant struct {
	Name, Summary string
	// ExposedBy is the fault that makes the breakage show, when a run on
	// the default settings cannot (a missing sync needs a crash); zero when
	// the default run exposes it.
	ExposedBy sim.Nemesis
	// CaughtBy names the scenario test that stages the breakage exactly,
	// when it needs an interleaving that random faults find too rarely to
	// count on (Raft's Figure 8); empty when random seeds catch it.
	CaughtBy string
}

// crashRestarts are frequent crash-restarts, which expose a missing sync.
func crashRestarts(length time.Duration) sim.Nemesis {
	return sim.Nemesis{Crash: 10, RestartAfter: 20 * time.Millisecond, Stop: length / 2}
}

// textbook is a published cost figure: messages per completed operation.
type textbook struct {
	PerOp   float64 // 0: no per-operation figure
	Formula string  // e.g. "N(N−1)"
	Note    string  // a figure that is not per operation, in words
}

func (a *algorithm) variantNames() []string {
	names := make([]string, len(a.Variants))
	for i, v := range a.Variants {
		names[i] = v.Name
	}
	return names
}

func (a *algorithm) registry() *node.Registry { return node.NewRegistry(a.Messages...) }

// catalog lists every algorithm synod can run: the core algorithms below and
// each family's own list (one line per family).
var catalog = slices.Concat(
	coreCatalog,
	clocksyncCatalog(),
	detectorCatalog(),
	mutexCatalog(),
	electionCatalog(),
	raftCatalog(),
	consensusCatalog(),
	multipaxosCatalog(),
	snapshotCatalog(),
	commitCatalog(),
	broadcastCatalog(),
)

// coreCatalog lists the first algorithms: logical clocks.
var coreCatalog = []*algorithm{
	{
		Name:       "clock/lamport",
		FaultModel: "any network; clock synced across crash-restart",
		Summary:    "Lamport's logical clock (1978): random local events and sends; checks a→b ⇒ L(a) < L(b)",
		Nodes:      4,
		Length:     10 * time.Second,
		Messages:   clock.Messages(),
		Variants: []variant{
			{Name: "no-max", Summary: "on receive, tick without taking the max with the message's timestamp"},
			{Name: "no-sync", Summary: "write the clock to storage without syncing: a crash-restart turns it back", ExposedBy: crashRestarts(10 * time.Second)},
		},
		New: func(v string, _ int) node.Factory {
			cfg := clock.DefaultLamportConfig()
			cfg.NoMax, cfg.NoSync = v == "no-max", v == "no-sync"
			return func(node.ID) node.Process { return clock.NewLamportProcess(cfg) }
		},
		GroundTruth: true,
		Check:       clock.CheckLamport,
		Textbook:    func(n int) textbook { return textbook{Note: "one timestamp (8 bytes) per message"} },
	},
	{
		Name:       "clock/vector",
		FaultModel: "any network; clock synced across crash-restart",
		Summary:    "Vector clocks (Fidge, Mattern 1988): random local events and sends; checks a→b ⇔ V(a) < V(b)",
		Nodes:      4,
		Length:     10 * time.Second,
		Messages:   clock.Messages(),
		Variants: []variant{
			{Name: "no-merge", Summary: "on receive, tick the own entry without merging the message's vector"},
			{Name: "no-sync", Summary: "write the clock to storage without syncing: a crash-restart turns it back", ExposedBy: crashRestarts(10 * time.Second)},
		},
		New: func(v string, _ int) node.Factory {
			cfg := clock.DefaultVectorConfig()
			cfg.NoMerge, cfg.NoSync = v == "no-merge", v == "no-sync"
			return func(node.ID) node.Process { return clock.NewVectorProcess(cfg) }
		},
		GroundTruth: true,
		Check:       clock.CheckVector,
		Textbook:    func(n int) textbook { return textbook{Note: fmt.Sprintf("N = %d counters per message", n)} },
	},
}

func lookup(name string) (*algorithm, error) {
	for _, a := range catalog {
		if a.Name == name {
			return a, nil
		}
	}
	// Accept a unique suffix ("lamport" for "clock/lamport").
	var matches []*algorithm
	for _, a := range catalog {
		if strings.HasSuffix(a.Name, "/"+name) {
			matches = append(matches, a)
		}
	}
	if len(matches) == 1 {
		return matches[0], nil
	}
	names := make([]string, len(catalog))
	for i, a := range catalog {
		names[i] = a.Name
	}
	slices.Sort(names)
	return nil, fmt.Errorf("unknown algorithm %q; known: %s", name, strings.Join(names, ", "))
}
