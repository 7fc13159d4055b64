package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// simFlags holds `synod sim`'s flags.
type simFlags struct {
	nodes   int
	seed    uint64
	seeds   int
	length  time.Duration
	ops     int
	variant string

	link     sim.Link
	nemesis  sim.Nemesis
	schedule string
	links    []string
	presets  []string
	rounds   time.Duration
	noEncode bool

	tracePath, shivizPath, svgPath string
	svgEvents                      int
}

func newSimCmd() *cobra.Command { return simCmdWith(&simFlags{link: sim.DefaultLink}) }

// simCmdWith is `synod sim`, parsing its flags into f.
func simCmdWith(f *simFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim ALGO [flags]",
		Short: "Run an algorithm in the deterministic simulator, check its properties, measure its cost",
		Long: `Run ALGO (see "synod list") in the simulator and print each property checked,
the messages and bytes by type, and messages per operation beside the textbook
figure. The same flags and seed always give the same run. A violated property
exits with status 1 and prints the command that replays it.

Faults come from flags (random, as rates per second of virtual time) or from
a schedule (--schedule), whose syntax is:
  ` + strings.ReplaceAll(sim.ScheduleSyntax, "\n", "\n  "),
		Example: `  synod sim broadcast/total-order --nodes 5 --seed 3 --svg run.svg
  synod sim clock/vector --loss 0.1 --dup 0.05 --reorder --crashes 2 --restart-after 50ms
  synod sim clock/lamport --seeds 500
  synod sim broadcast/total-order --variant early-deliver   (a broken variant, caught)`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("sim takes one algorithm name; see \"synod list\"")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runSim(cmd, f, args[0]) },
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.IntVarP(&f.nodes, "nodes", "n", 0, "number of processes (default: the algorithm's own)")
	fl.Uint64Var(&f.seed, "seed", 1, "random seed: the same seed gives the same run")
	fl.IntVar(&f.seeds, "seeds", 0, "sweep this many seeds, from --seed on, and summarize")
	fl.Var(duration{&f.length}, "time", "virtual time to run (default: the algorithm's own); a run also stops when nothing is left to do")
	fl.IntVar(&f.ops, "ops", -1, "client operations to issue (default: the algorithm's own)")
	fl.StringVar(&f.variant, "variant", "", "run a deliberately broken variant (see synod list)")

	fl.Var(latency{&f.link.Latency}, "latency", "one-way latency: 5ms, uniform:1ms-10ms or exp:1ms+4ms")
	fl.Var(probability{&f.link.Loss}, "loss", "probability that a message is lost")
	fl.Var(probability{&f.link.Duplicate}, "dup", "probability that a message is delivered twice")
	fl.BoolVar(&f.link.Reorder, "reorder", false, "let messages overtake each other (links are FIFO unless the algorithm's default says otherwise)")
	fl.Var(bandwidth{&f.link.Bandwidth}, "bandwidth", "link bandwidth, e.g. 1MB/s (0: unlimited)")

	fl.StringArrayVar(&f.links, "link", nil, "override one link or a set of links (repeatable): "+strings.ReplaceAll(sim.LinkSyntax, "\n", " "))
	fl.StringSliceVar(&f.presets, "nemesis", nil, "random faults by name, comma-separated: "+strings.Join(presetNames(), ", ")+"; the rate flags below fine-tune them")
	fl.Var(rate{&f.nemesis.Partition}, "partitions", "random partitions per second (splits, isolations, one-way cuts)")
	fl.Var(duration{&f.nemesis.PartitionFor}, "partition-for", "mean time until a partition heals")
	fl.Var(rate{&f.nemesis.Crash}, "crashes", "random crashes per second")
	fl.Var(duration{&f.nemesis.RestartAfter}, "restart-after", "mean time until a crashed node restarts (0: crash-stop)")
	fl.IntVar(&f.nemesis.MaxDown, "max-down", 0, "most nodes down at once (default: a minority, (N-1)/2, at least 1)")
	fl.Var(rate{&f.nemesis.Pause}, "pauses", "random pauses per second")
	fl.Var(duration{&f.nemesis.PauseFor}, "pause-for", "mean pause length")
	fl.Var(duration{&f.nemesis.Skew}, "skew", "give each node a clock offset in [-skew, +skew]")
	fl.Var(drift{&f.nemesis.Drift}, "drift", "give each node a clock rate error in [-drift, +drift], e.g. 0.0001")
	fl.Var(duration{&f.nemesis.Stop}, "faults-until", "stop random faults then, heal and restart everything (default: half the run)")
	fl.StringVar(&f.schedule, "schedule", "", `nemesis schedule, e.g. "1s partition n0|n1,n2; 2s heal"`)
	fl.Var(duration{&f.rounds}, "rounds", "synchronous-rounds mode with rounds of this length (default: the algorithm's own, if it runs in rounds)")
	fl.BoolVar(&f.noEncode, "no-encode", false, "skip encoding messages (faster; bytes are not counted)")

	fl.StringVar(&f.tracePath, "trace", "", "write the trace as JSON Lines to this file")
	fl.StringVar(&f.shivizPath, "shiviz", "", "write the trace in ShiViz's log format to this file")
	fl.StringVar(&f.svgPath, "svg", "", "draw the run as a space-time diagram (SVG) in this file")
	fl.IntVar(&f.svgEvents, "svg-events", 1500, "draw at most this many events in the diagram (0: all), so it stays readable")
	f.nemesis.PartitionFor = 200 * time.Millisecond
	f.nemesis.PauseFor = 100 * time.Millisecond
	return cmd
}

// spec turns flags into a run specification, validating what the flag types
// could not.
func (f *simFlags) spec(cmd *cobra.Command, name string) (*runSpec, error) {
	alg, err := lookup(name)
	if err != nil {
		return nil, err
	}
	spec := &runSpec{alg: alg, variant: f.variant, nodes: f.nodes, length: f.length, ops: f.ops}
	if f.variant != "" && !slices.Contains(alg.variantNames(), f.variant) {
		known := "none"
		if len(alg.Variants) > 0 {
			known = strings.Join(alg.variantNames(), ", ")
		}
		return nil, fmt.Errorf("unknown --variant %q for %s; known: %s", f.variant, alg.Name, known)
	}
	if !cmd.Flags().Changed("nodes") {
		spec.nodes = alg.Nodes
	}
	if spec.nodes < 1 || spec.nodes > 1_000_000 {
		return nil, fmt.Errorf("bad --nodes %d: want 1 to 1000000", spec.nodes)
	}
	if spec.nodes > maxClockNodes {
		if alg.GroundTruth {
			return nil, fmt.Errorf("bad --nodes %d: %s's checker needs the simulator's vector clocks, which allow at most %d nodes", spec.nodes, alg.Name, maxClockNodes)
		}
		if f.shivizPath != "" {
			return nil, fmt.Errorf("--shiviz needs vector clocks, which the simulator keeps for at most %d nodes (got --nodes %d)", maxClockNodes, spec.nodes)
		}
	}
	if f.svgEvents < 0 {
		return nil, fmt.Errorf("bad --svg-events %d: want a count, or 0 for all", f.svgEvents)
	}
	if spec.length == 0 {
		spec.length = alg.Length
	}
	if spec.ops < 0 {
		spec.ops = alg.Ops
	}
	if f.seeds < 0 {
		return nil, fmt.Errorf("bad --seeds %d: want a positive count", f.seeds)
	}
	if f.nemesis.MaxDown < 0 || f.nemesis.MaxDown > spec.nodes {
		return nil, fmt.Errorf("bad --max-down %d: want 0 to %d", f.nemesis.MaxDown, spec.nodes)
	}
	nem := f.nemesis
	for _, p := range f.presets {
		if err := applyPreset(cmd, &nem, p); err != nil {
			return nil, err
		}
	}
	if nem.Stop == 0 && (nem.Partition > 0 || nem.Crash > 0 || nem.Pause > 0) {
		nem.Stop = spec.length / 2
	}
	if nem.Crash > 0 && nem.RestartAfter == 0 && !cmd.Flags().Changed("restart-after") {
		nem.RestartAfter = 100 * time.Millisecond
	}
	rounds, link := f.rounds, f.link
	if !cmd.Flags().Changed("rounds") {
		rounds = alg.Rounds
	}
	if !cmd.Flags().Changed("reorder") {
		link.Reorder = alg.Reorder
	}
	spec.base = sim.Config{Network: sim.Network{Default: link}, Nemesis: nem, Rounds: rounds, NoEncode: f.noEncode,
		NoClocks: spec.nodes > maxClockNodes}
	if len(f.links) > 0 {
		spec.base.Network.Links = map[sim.Pair]sim.Link{}
		for _, l := range f.links {
			if err := sim.ParseLinkOverride(l, spec.nodes, link, spec.base.Network.Links); err != nil {
				return nil, fmt.Errorf("bad --link: %w", err)
			}
		}
	}
	if f.schedule != "" {
		spec.base.Schedule, err = sim.ParseSchedule(f.schedule, spec.nodes)
		if err != nil {
			return nil, fmt.Errorf("bad --schedule: %w", err)
		}
	}
	return spec, nil
}

func runSim(cmd *cobra.Command, f *simFlags, name string) error {
	spec, err := f.spec(cmd, name)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.seeds > 0 {
		return runSweep(cmd, f, spec)
	}
	res := spec.execute(f.seed, true)
	if res.err != nil {
		return fmt.Errorf("seed %d: %w\nreplay: %s", f.seed, res.err, replayCommand(cmd, name, f.seed))
	}
	printRun(out, spec, &res)
	if err := writeOutputs(f, spec, res.trace); err != nil {
		return err
	}
	if !res.ok() {
		fmt.Fprintf(out, "\nFAIL seed %d: a property was violated. Replay with:\n  %s\n", f.seed, replayCommand(cmd, name, f.seed))
		explainFailure(out, spec, f.seed, res.trace)
		return errViolation
	}
	return nil
}

// explainFailure writes the algorithm's picture of a failed history (for a
// key-value store, porcupine's HTML visualization) to the temporary
// directory and says where; t is the seed's trace, or nil to rerun it.
func explainFailure(out io.Writer, spec *runSpec, seed uint64, t *trace.Trace) {
	if spec.alg.Explain == nil {
		return
	}
	if t == nil {
		t = spec.execute(seed, true).trace
	}
	name := strings.ReplaceAll(spec.alg.Name, "/", "-")
	path := filepath.Join(os.TempDir(), fmt.Sprintf("synod-%s-seed-%d.html", name, seed))
	if err := spec.alg.Explain(t, path); err != nil {
		fmt.Fprintf(out, "  (no visualization for seed %d: %v)\n", seed, err)
		return
	}
	fmt.Fprintf(out, "  seed %d's history, drawn: %s\n", seed, path)
}

func runSweep(cmd *cobra.Command, f *simFlags, spec *runSpec) error {
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	bar := newProgress(errw, f.seeds)
	start := time.Now()
	results := spec.sweep(f.seed, f.seeds, bar.update)
	bar.finish()
	printSweep(out, spec, results, time.Since(start))
	var failed []runResult
	for _, r := range results {
		if !r.ok() {
			failed = append(failed, r)
		}
	}
	// Write the requested files for the first failing seed (or the first
	// seed): a rerun gives the identical trace.
	if f.tracePath != "" || f.shivizPath != "" || f.svgPath != "" {
		seed := f.seed
		if len(failed) > 0 {
			seed = failed[0].seed
		}
		r := spec.execute(seed, true)
		fmt.Fprintf(out, "\nfiles are for seed %d\n", seed)
		if err := writeOutputs(f, spec, r.trace); err != nil {
			return err
		}
	}
	if len(failed) == 0 {
		return nil
	}
	fmt.Fprintf(out, "\nFAIL: %d of %d seeds violated a property. Replay with:\n", len(failed), len(results))
	for i, r := range failed {
		if i == 5 {
			fmt.Fprintf(out, "  ... and %d more\n", len(failed)-5)
			break
		}
		fmt.Fprintf(out, "  %s\n", replayCommand(cmd, spec.alg.Name, r.seed))
		explainFailure(out, spec, r.seed, nil)
	}
	return errViolation
}

func writeOutputs(f *simFlags, spec *runSpec, t *trace.Trace) error {
	write := func(path string, fn func(w io.Writer) error) error {
		if path == "" {
			return nil
		}
		file, err := os.Create(path)
		if err != nil {
			return err
		}
		w := bufio.NewWriter(file)
		if err := fn(w); err != nil {
			file.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := w.Flush(); err != nil {
			file.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		return file.Close()
	}
	if err := write(f.tracePath, func(w io.Writer) error { return trace.WriteJSONL(w, t) }); err != nil {
		return err
	}
	if err := write(f.shivizPath, func(w io.Writer) error { return trace.WriteShiViz(w, t) }); err != nil {
		return err
	}
	title := fmt.Sprintf("%s, %d nodes, seed %d", spec.alg.Name, spec.nodes, f.seed)
	return write(f.svgPath, func(w io.Writer) error {
		return trace.WriteSVG(w, t, trace.SVGOptions{Title: title, MaxEvents: f.svgEvents})
	})
}

// replayCommand is the exact command line that reruns one seed: the flags
// the user set, with --seed fixed and the sweep and output flags left out.
func replayCommand(cmd *cobra.Command, alg string, seed uint64) string {
	prog := "synod"
	if exe := os.Args[0]; strings.Contains(exe, "go-build") || strings.HasSuffix(filepath.Dir(exe), "/exe") {
		prog = "go run ./cmd/synod"
	}
	parts := []string{prog, "sim", alg}
	skip := map[string]bool{"seed": true, "seeds": true, "trace": true, "shiviz": true, "svg": true, "svg-events": true}
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if !fl.Changed || skip[fl.Name] {
			return
		}
		if fl.Value.Type() == "bool" {
			parts = append(parts, "--"+fl.Name)
			return
		}
		parts = append(parts, "--"+fl.Name, shellQuote(fl.Value.String()))
	})
	parts = append(parts, "--seed", fmt.Sprint(seed))
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:+,=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
