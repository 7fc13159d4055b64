package main

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

func init() { benchCommands = append(benchCommands, newBenchConsensusCmd) }

// consensusBench is what `synod bench consensus` measures: the key-value
// service on Raft and on Multi-Paxos, side by side on the same workload,
// seeds and network.
type consensusBench struct {
	Nodes   []int         // group sizes
	Clients []int         // concurrent client sessions
	Ops     int           // writes per run
	Seeds   int           // runs per setting (seeds 1..Seeds)
	Latency time.Duration // the constant one-way delay of every link
	Workers int           // runs at once (0: one per core)
}

// consensusRow is one setting's result, summed over its seeds.
type consensusRow struct {
	Algo       string
	N, Clients int
	Ops        int            // writes completed
	Kinds      map[string]int // messages by kind (messageKinds)
	// Latencies in message delays: the leader's commit, the other
	// servers' learning, and the client's whole operation.
	Leader, Learners, Client []float64
}

// consensusAlgos are the two replicated logs compared, by catalog name.
var consensusAlgos = []struct{ name, label, formula string }{
	{"raft", "Raft", "2(N−1)+2"},
	{"consensus/multipaxos", "Multi-Paxos", "3(N−1)+2"},
}

// steadyFormula is the textbook's messages per command in steady state:
// Raft's AppendEntries and answers, Multi-Paxos' accepts, accepteds and
// decides, and the client's request and reply.
func steadyFormula(algo string, n int) float64 {
	if algo == "raft" {
		return float64(2*(n-1) + 2)
	}
	return float64(3*(n-1) + 2)
}

// steady is the messages per command of the kinds the formula counts.
func (r *consensusRow) steady() float64 {
	return float64(r.Kinds["accept"]+r.Kinds["accepted"]+r.Kinds["decide"]+r.Kinds["client"]) / float64(max(r.Ops, 1))
}

func (r *consensusRow) perOp(kind string) float64 {
	return float64(r.Kinds[kind]) / float64(max(r.Ops, 1))
}

func newBenchConsensusCmd() *cobra.Command {
	cfg := consensusBench{Latency: 5 * time.Millisecond}
	var (
		nodes, clients, out string
	)
	cmd := &cobra.Command{
		Use:   "consensus",
		Short: "Multi-Paxos beside Raft: messages per command by kind and commit latency in message delays",
		Long: `Runs the replicated key-value service (package kv) on Raft and on Multi-Paxos
in the simulator, side by side on the same workload and seeds, on a fault-free
network whose every link delays messages by exactly --latency, for each group
size in --nodes and each number of concurrent clients in --clients. The
workload is --ops writes (puts to random keys), split among the clients, each
running its writes back to back (a closed loop) from 1 s on, after the first
leader is elected.

It prints a Markdown table: messages per command by kind (the client's request
and reply; accept = AppendEntries or accept carrying commands; accepted = the
answers; decide = Multi-Paxos' decide; heartbeats and elections apart), the
steady-state total beside the textbook formula, and the commit latency in
message delays (latency / --latency), median and 99th percentile: at the leader
(request arrival to commit), at the other servers (request arrival at the
leader to their applying it) and at the client (the whole operation).
With --out FILE the table is also written there as a Markdown document.`,
		Example: `  synod bench consensus
  synod bench consensus --nodes 3,5,7 --clients 1,8 --out docs/multipaxos-vs-raft.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.Nodes, err = parseSizes("--nodes", nodes, 1, 15); err != nil {
				return err
			}
			if cfg.Clients, err = parseSizes("--clients", clients, 1, 64); err != nil {
				return err
			}
			switch {
			case cfg.Ops < 1:
				return fmt.Errorf("bad --ops %d: want at least 1 write", cfg.Ops)
			case cfg.Seeds < 1:
				return fmt.Errorf("bad --seeds %d: want at least 1", cfg.Seeds)
			case cfg.Latency <= 0:
				return fmt.Errorf("bad --latency %v: want a positive one-way delay, like 5ms", cfg.Latency)
			case cfg.Workers < 0:
				return fmt.Errorf("bad --workers %d: want 0 (one per core) or more", cfg.Workers)
			}
			start := time.Now()
			rows, err := runConsensusBench(cfg)
			if err != nil {
				return err
			}
			var table strings.Builder
			writeConsensusTable(&table, cfg, rows)
			fmt.Fprint(cmd.OutOrStdout(), table.String())
			fmt.Fprintf(cmd.ErrOrStderr(), "%d runs in %v\n", len(rows)*cfg.Seeds, time.Since(start).Round(100*time.Millisecond))
			if out != "" {
				if err := writeFileWith(out, func(w io.Writer) error { return writeConsensusDoc(w, cfg, table.String()) }); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&nodes, "nodes", "3,5,7", "group sizes, comma-separated")
	f.StringVar(&clients, "clients", "1,8", "concurrent client sessions, comma-separated (1: no batching; more: commands that arrive together share an accept)")
	f.IntVar(&cfg.Ops, "ops", 400, "writes per run")
	f.IntVar(&cfg.Seeds, "seeds", 3, "runs per setting, seeds 1..N (the same for both algorithms)")
	f.DurationVar(&cfg.Latency, "latency", cfg.Latency, "one-way delay of every link (constant)")
	f.IntVar(&cfg.Workers, "workers", 0, "runs at once (0: one per core)")
	f.StringVar(&out, "out", "", "also write the table as a Markdown document to this file")
	return cmd
}

// parseSizes parses a comma-separated list of integers in [lo, hi].
func parseSizes(flag, s string, lo, hi int) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("bad %s %q: want numbers from %d to %d, comma-separated, like 3,5,7", flag, s, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

// runConsensusBench runs every setting and seed, in parallel (each run is
// its own simulator), and sums each setting's seeds.
func runConsensusBench(cfg consensusBench) ([]*consensusRow, error) {
	type job struct {
		row  *consensusRow
		seed uint64
	}
	var rows []*consensusRow
	var jobs []job
	for _, n := range cfg.Nodes {
		for _, c := range cfg.Clients {
			for _, a := range consensusAlgos {
				r := &consensusRow{Algo: a.name, N: n, Clients: c, Kinds: map[string]int{}}
				rows = append(rows, r)
				for seed := uint64(1); seed <= uint64(cfg.Seeds); seed++ {
					jobs = append(jobs, job{r, seed})
				}
			}
		}
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	for range min(workers, len(jobs)) {
		wg.Go(func() {
			for {
				mu.Lock()
				if next >= len(jobs) || first != nil {
					mu.Unlock()
					return
				}
				j := jobs[next]
				next++
				mu.Unlock()
				tr, err := consensusRun(cfg, j.row.Algo, j.row.N, j.row.Clients, j.seed)
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("%s, %d nodes, %d clients, seed %d: %w", j.row.Algo, j.row.N, j.row.Clients, j.seed, err)
				}
				if err == nil {
					j.row.add(tr)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return rows, first
}

// add sums one run into the row. Messages count from the first write's
// start to the last one's reply: the steady state, without the first
// election or the idle heartbeats after the workload.
func (r *consensusRow) add(t *trace.Trace) {
	l := commitLatencies(t)
	r.Leader = append(r.Leader, l.leader...)
	r.Learners = append(r.Learners, l.learners...)
	delay := meanDelay(t)
	invoked := map[node.RequestID]time.Duration{}
	first, last := time.Duration(-1), time.Duration(0)
	for i := range t.Events {
		e := &t.Events[i]
		switch {
		case e.Kind == trace.Emit:
			if v, ok := e.Value.(kv.Invoked); ok {
				invoked[v.Request] = e.Time
				if first < 0 {
					first = e.Time
				}
			}
		case e.Kind == trace.Reply:
			if res, ok := e.Value.(kv.Result); ok && res.Code == kv.CodeOK {
				r.Ops++
				last = e.Time
				if at, ok := invoked[e.Request]; ok && delay > 0 {
					r.Client = append(r.Client, float64(e.Time-at)/float64(delay))
				}
			}
		}
	}
	for k, v := range messageKindsIn(t, max(first, 0), last) {
		r.Kinds[k] += v
	}
}

// consensusRun simulates one setting and seed on a fault-free network of
// constant delay and returns the trace, after checking that the run is
// correct (the algorithm's checks) and that every write completed.
func consensusRun(cfg consensusBench, algo string, n, clients int, seed uint64) (*trace.Trace, error) {
	alg, err := lookup(algo)
	if err != nil {
		return nil, err
	}
	factory := alg.New("", n)
	servers := make([]node.ID, n)
	for i := range servers {
		servers[i] = node.ID(i)
	}
	s, err := sim.New(sim.Config{
		Nodes: n + clients,
		New: func(id node.ID) node.Process {
			if int(id) < n {
				return factory(id)
			}
			return kv.NewClient(kv.ClientConfig{Servers: servers})
		},
		Registry: alg.registry(),
		Seed:     seed,
		Network:  sim.Network{Default: sim.Link{Latency: sim.Constant(cfg.Latency)}},
		MaxSteps: 50_000_000,
	})
	if err != nil {
		return nil, err
	}
	// The writes, spread over the clients, all submitted at 1 s: each
	// client runs its share back to back.
	r := s.Rand()
	for i := range cfg.Ops {
		key := kv.WorkloadKeys[r.IntN(len(kv.WorkloadKeys))]
		s.Request(time.Second, node.ID(n+i%clients), kv.Put{Key: key, Value: fmt.Sprintf("v%d", i+1)})
	}
	// Long enough for the slowest setting: four delays per write, plus
	// the election and slack.
	length := 2*time.Second + time.Duration(cfg.Ops/clients+1)*10*cfg.Latency
	if err := s.Run(length); err != nil {
		return nil, err
	}
	t := s.Trace()
	for _, c := range alg.Check(t) {
		if !c.OK {
			return nil, fmt.Errorf("%s failed: %s", c.Property, c.Detail)
		}
	}
	if m := trace.Measure(t); m.Replies != cfg.Ops {
		return nil, fmt.Errorf("%d of %d writes completed in %v", m.Replies, cfg.Ops, length)
	}
	return t, nil
}

// writeConsensusTable writes the comparison as a Markdown table.
func writeConsensusTable(w io.Writer, cfg consensusBench, rows []*consensusRow) {
	label := func(name string) (string, string) {
		for _, a := range consensusAlgos {
			if a.name == name {
				return a.label, a.formula
			}
		}
		return name, ""
	}
	fmt.Fprintf(w, "Messages per command and commit latency: %d writes per run, %d seeds, one-way delay %v on every link, no faults.\n\n",
		cfg.Ops, cfg.Seeds, cfg.Latency)
	fmt.Fprintln(w, "| algorithm | N | clients | client | accept | accepted | decide | steady total | textbook | heartbeat | election | commit at leader p50/p99 | at other servers p50/p99 | at client p50/p99 |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
	pq := func(xs []float64) string {
		if len(xs) == 0 {
			return "—"
		}
		return fmt.Sprintf("%s / %s", num(quantile(xs, 0.5)), num(quantile(xs, 0.99)))
	}
	for _, r := range rows {
		name, formula := label(r.Algo)
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %s | %s | **%s** | %s = %s | %s | %s | %s | %s | %s |\n",
			name, r.N, r.Clients, num(r.perOp("client")), num(r.perOp("accept")), num(r.perOp("accepted")), num(r.perOp("decide")),
			num(r.steady()), formula, num(steadyFormula(r.Algo, r.N)), num(r.perOp("heartbeat")), num(r.perOp("election")),
			pq(r.Leader), pq(r.Learners), pq(r.Client))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Regenerate with `go run ./cmd/synod bench consensus --nodes %s --clients %s --ops %d --seeds %d --latency %v`.\n",
		joinInts(cfg.Nodes), joinInts(cfg.Clients), cfg.Ops, cfg.Seeds, cfg.Latency)
}

// writeConsensusDoc writes the generated document around the table.
func writeConsensusDoc(w io.Writer, cfg consensusBench, table string) error {
	_, err := fmt.Fprintf(w, `# Multi-Paxos beside Raft

<!-- generated by synod bench consensus; do not edit -->

The replicated key-value service (package kv) on Raft (package raft) and on
Multi-Paxos (consensus.MultiPaxos), simulated side by side: the same seeds,
the same workload (writes only, each client running its writes back to back),
the same fault-free network with a constant one-way delay. Messages are
counted by what they do, per write completed; latencies are in message delays
(measured time / the link delay).

- **steady total** counts the messages the textbook formula counts: the
  client's request and reply, and per command Raft's AppendEntries and answers
  to and from each follower, 2(N−1) — the commit index rides on the next
  AppendEntries — or Multi-Paxos' accept and accepted to and from each other
  acceptor plus the decide to each learner, 3(N−1).
  With one client nothing is batched, so the figures meet the formulas; with
  more, commands that arrive together share one accept (or AppendEntries),
  and Multi-Paxos' decide rides on the next accept, so both fall below.
- Heartbeats (an idle leader's empty accept or AppendEntries every 50 ms and
  the answers) and the first election are counted apart.
- **commit at leader** runs from a write's arrival at the leader to its
  commit there (and reply): 2 delays for both, accept and accepted.
  **At other servers** is when the other servers apply it: Multi-Paxos'
  decide makes it 3 delays; Raft's followers learn the commit index from the
  leader's next AppendEntries, which under a closed loop of one client comes
  with the next write (arriving 2 delays after the reply leaves), or from a
  heartbeat. **At client** is the whole operation: request, commit, reply.

%s`, table)
	return err
}
