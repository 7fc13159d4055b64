package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/raft/raftbench"
)

func init() { benchCommands = append(benchCommands, newBenchElectionCmd) }

func newBenchElectionCmd() *cobra.Command {
	var (
		trials    int
		seed      uint64
		ranges    string
		svgFile   string
		csvFile   string
		lat       = raftbench.DefaultLatency
		stale     int
		driftRate = raftbench.DefaultDrift
		limit     = 100 * time.Second
		workers   int
	)
	cmd := &cobra.Command{
		Use:   "election",
		Short: "Raft's time to elect a new leader after the leader crashes (paper Figure 16)",
		Long: `Reproduces Figure 16 of the extended Raft paper (Ongaro and Ousterhout 2014,
§9.3): the leader of a five-server cluster crashes at a random point within
its heartbeat interval (half the minimum election timeout), and the time until
a new leader is elected and heard from by every other server is measured, for
each election-timeout range of the figure. Every trial is its own simulation
with its own seed (--seed, --seed+1, ...), so the same flags give the same
numbers; trials run in parallel, one simulator per core.

The servers run package raft without PreVote and CheckQuorum, which the
paper's Raft did not have, and --stale of the four followers miss the
leader's last entry, as in the paper ("some candidates were not eligible").
The network is a LAN (--latency, one way): the paper's "broadcast time of
roughly 15ms" cannot all be network, or its own 12-24ms line could not keep a
leader; see BENCHMARKS.md. Beside each line is what the paper's text states.`,
		Example: `  synod bench election
  synod bench election --trials 200 --ranges 150-155,150-300 --svg cdf.svg
  synod bench election --stale 0 --latency uniform:5ms-10ms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if trials < 1 {
				return fmt.Errorf("--trials %d: want at least 1", trials)
			}
			if stale < 0 || stale > 2 {
				return fmt.Errorf("--stale %d: want 0, 1 or 2 (of the four followers)", stale)
			}
			if workers < 0 {
				return fmt.Errorf("--workers %d: want 0 (one per core) or more", workers)
			}
			if limit <= 0 {
				return fmt.Errorf("--limit %v: want a positive duration, like 100s", limit)
			}
			rs, err := parseRanges(ranges)
			if err != nil {
				return err
			}
			cfg := raftbench.TimingConfig{Seed: seed, Latency: lat, Stale: stale, Drift: driftRate, Limit: limit, Workers: workers}
			if stale == 0 {
				cfg.Stale = -1
			}
			if driftRate == 0 {
				cfg.Drift = -1
			}
			return runBenchElection(cmd.OutOrStdout(), cmd.ErrOrStderr(), cfg, rs, trials, svgFile, csvFile)
		},
	}
	f := cmd.Flags()
	f.IntVar(&trials, "trials", 1000, "crashes per election-timeout range (ranges without randomness, like 150-150, get a tenth, as in the paper)")
	f.Uint64Var(&seed, "seed", 1, "seed of the first trial; trial i uses seed+i")
	f.StringVar(&ranges, "ranges", "paper", `election-timeout ranges MIN-MAX in ms, comma-separated, or "paper" for the figure's eleven lines (ten ranges)`)
	f.StringVar(&svgFile, "svg", "", "write the CDFs as an SVG figure to this file")
	f.StringVar(&csvFile, "csv", "", "write every trial as CSV to this file")
	f.Var(latency{&lat}, "latency", "one-way message delay: a LAN by default; uniform:5ms-10ms puts the paper's whole 15ms broadcast time on the network")
	f.IntVar(&stale, "stale", 2, "followers that miss the leader's last entry before the crash (0-2)")
	f.Var(drift{&driftRate}, "drift", "bound on each server's clock rate error (0: none)")
	f.Var(duration{&limit}, "limit", "give up on a trial after this long without a leader")
	f.IntVar(&workers, "workers", 0, "trials run at once (0: one per core)")
	return cmd
}

// parseRanges reads --ranges.
func parseRanges(s string) ([]raftbench.Range, error) {
	if strings.TrimSpace(s) == "paper" {
		return raftbench.PaperRanges(), nil
	}
	var out []raftbench.Range
	for _, part := range strings.Split(s, ",") {
		r, err := raftbench.ParseRange(part)
		if err != nil {
			return nil, fmt.Errorf("--ranges: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

func runBenchElection(stdout, stderr io.Writer, cfg raftbench.TimingConfig, ranges []raftbench.Range, trials int, svgFile, csvFile string) error {
	tty := isTerminal(stderr)
	start := time.Now()
	var results []raftbench.TimingResult
	for i, r := range ranges {
		c := cfg
		c.Range = r
		c.Trials = trials
		if r.Min == r.Max {
			c.Trials = max(1, trials/10)
		}
		label := fmt.Sprintf("[%d/%d] %v", i+1, len(ranges), r)
		c.Progress = func(done, total int) {
			if tty && (done%10 == 0 || done == total) {
				fmt.Fprintf(stderr, "\r%s: %d/%d trials", label, done, total)
			}
		}
		res, err := raftbench.ElectionTiming(c)
		if err != nil {
			if tty {
				fmt.Fprintln(stderr)
			}
			return err
		}
		if tty {
			fmt.Fprintf(stderr, "\r%s: %d/%d trials, %v elapsed\n", label, c.Trials, c.Trials, time.Since(start).Round(100*time.Millisecond))
		} else {
			fmt.Fprintf(stderr, "%s: %d trials done, %v elapsed\n", label, c.Trials, time.Since(start).Round(100*time.Millisecond))
		}
		results = append(results, res)
	}

	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	stale := max(cfg.Stale, 0)
	fmt.Fprintf(stdout, "Raft election timing (paper Figure 16): 5 servers, one-way latency %v, heartbeat min/2,\n", cfg.Latency)
	fmt.Fprintf(stdout, "no PreVote or CheckQuorum, %d stale follower(s), clock drift ±%g, seed %d; %d workers, %v wall\n\n",
		stale, max(cfg.Drift, 0), cfg.Seed, workers, time.Since(start).Round(100*time.Millisecond))
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "range\ttrials\tmedian\tp95\tmax\tmean\t>1 term\ttimed out\t  paper (§9.3)")
	for _, r := range results {
		d := func(v time.Duration) string { return fmtElection(v, r) }
		n := len(r.Trials) - r.Unstable
		fmt.Fprintf(w, "%v\t%d\t%s\t%s\t%s\t%s\t%d%%\t%d\t  %s\n", r.Range, n, d(r.Median), d(r.P95), d(r.Max), d(r.Mean),
			(100*r.MultiTerm+n/2)/n, r.TimedOut, raftbench.PaperFigure(r.Range))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		if r.Unstable > 0 {
			fmt.Fprintf(stdout, "%v: %d of %d trials never kept a leader to crash (election timeout too short for the network, §5.6); left out\n",
				r.Range, r.Unstable, len(r.Trials))
		}
	}
	if svgFile != "" {
		if err := writeFileWith(svgFile, func(f io.Writer) error {
			return raftbench.WriteSVG(f, raftbench.FigurePanels(results))
		}); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", svgFile)
	}
	if csvFile != "" {
		if err := writeFileWith(csvFile, func(f io.Writer) error { return writeElectionCSV(f, results) }); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", csvFile)
	}
	return nil
}

// fmtElection prints a time without leader: milliseconds below 10 s,
// seconds above, and "≥" for a trial cut off at the limit.
func fmtElection(v time.Duration, r raftbench.TimingResult) string {
	s := fmt.Sprintf("%dms", v.Round(time.Millisecond).Milliseconds())
	if v >= 10*time.Second {
		s = strconv.FormatFloat(v.Seconds(), 'f', 1, 64) + "s"
	}
	if r.TimedOut > 0 && v >= r.Limit {
		s = "≥" + s
	}
	return s
}

func writeElectionCSV(w io.Writer, results []raftbench.TimingResult) error {
	cw := csv.NewWriter(w)
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
	}
	_ = cw.Write([]string{"range", "seed", "since_heartbeat_ms", "elected_ms", "known_ms", "terms", "timed_out"})
	for _, r := range results {
		for _, t := range r.Trials {
			_ = cw.Write([]string{r.Range.String(), strconv.FormatUint(t.Seed, 10), ms(t.SinceHeartbeat),
				ms(t.Elected), ms(t.Known), strconv.Itoa(t.Terms), strconv.FormatBool(t.TimedOut)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeFileWith creates path and fills it with write.
func writeFileWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
