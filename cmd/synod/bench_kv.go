package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/live"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/raft"
)

func init() { benchCommands = append(benchCommands, newBenchKVCmd) }

// The targets of issue #5 for the live key-value service.
const (
	// benchKVMinBatch: with 64 clients, the leader commits at least this
	// many writes per fsync.
	benchKVMinBatch = 10
	// benchKVMaxLatency: with one client, a write's latency is at most this
	// many times one fsync plus one loopback round trip.
	benchKVMaxLatency = 3
)

// benchKVConfig is one run of `synod bench kv`.
type benchKVConfig struct {
	Exe      string        // the synod binary that runs the nodes
	Dir      string        // where the run's directory is made
	Keep     bool          // keep the data, logs and fsync probe afterwards
	Trace    bool          // the nodes write traces (nN.jsonl) into the run's directory
	Procs    int           // --procs: GOMAXPROCS of each node (see nodeProcs)
	Clients  []int         // the concurrency levels
	Duration time.Duration // per level
	Value    int           // bytes per value written
	// Baseline is how long each fsync baseline runs (0: 1s); round trips
	// are counted, not timed.
	Baseline time.Duration
}

func newBenchKVCmd() *cobra.Command {
	var (
		clients string
		cfg     = benchKVConfig{Duration: 3 * time.Second, Value: 100, Procs: procsAuto}
	)
	cmd := &cobra.Command{
		Use:   "kv",
		Short: "Writes per second and latency of the live key-value service on a 3-node loopback cluster, fsync on",
		Long: `Starts three "synod node --algo raft" processes on 127.0.0.1 with their data in
--dir (FileStore, fsync on every Sync), and measures, for each number of
concurrent clients in --clients, the writes per second the cluster commits
(kv.Put of --value bytes, each client in its own session, one write at a time),
their latency (p50, p99) and the writes the leader commits per fsync of its
log (its synod_store_syncs_total, read from its metrics endpoint).

In the same run it measures the baselines: the disk's raw write+fsync of a
small record in the same directory (appended to a file, alone and three at
once), a FileStore's own Set+Sync of it (preallocated, fdatasync), and the
loopback round trip of a client request (gRPC, empty answer) and of a peer
message. Then it checks the targets of issue #5: with 64 clients at least 10
writes per leader fsync (batching), and with 1 client a p50 latency within 3x
of one raw write+fsync plus one client round trip (both p50).

With --procs -1 (the default) the three nodes and this process, whose
clients and baselines are the fourth, share the machine's cores equally.
Like "synod node", the benchmark keeps the Go runtime's sysmon thread awake
(GODEBUG=schedtrace=2147483647; SYNOD_SYSMON_SLEEP=1 opts out), and says so
in its header.`,
		Example: `  synod bench kv
  synod bench kv --clients 1,16,64 --duration 3s --dir /var/tmp --keep`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.Clients, err = parseClientLevels(clients); err != nil {
				return err
			}
			if cfg.Duration <= 0 {
				return fmt.Errorf("bad --duration %v: want a positive duration such as 3s", cfg.Duration)
			}
			if cfg.Value < 1 || cfg.Value > kv.MaxValueSize {
				return fmt.Errorf("bad --value %d: want 1 to %d bytes", cfg.Value, kv.MaxValueSize)
			}
			if cfg.Exe, err = os.Executable(); err != nil {
				return fmt.Errorf("find the synod binary: %w", err)
			}
			return runBenchKV(cmd.OutOrStdout(), cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&clients, "clients", "1,16,64", "the numbers of concurrent clients to measure, comma-separated")
	fl.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to measure each number of clients")
	fl.StringVar(&cfg.Dir, "dir", "", "directory for the nodes' data and the fsync probe (default: the system's temporary directory)")
	fl.BoolVar(&cfg.Keep, "keep", false, "keep the data directory, with the nodes' logs, afterwards")
	fl.IntVar(&cfg.Value, "value", cfg.Value, "bytes per value written")
	fl.BoolVar(&cfg.Trace, "trace", false, "the nodes write their traces (nN.jsonl) next to their data, to see where a write's time goes (slows them; use with --keep)")
	fl.IntVar(&cfg.Procs, "procs", procsAuto, procsFlagHelp)
	return cmd
}

// parseClientLevels parses "1,16,64".
func parseClientLevels(s string) ([]int, error) {
	var levels []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("bad --clients entry %q: want numbers of clients from 1 to 4096, comma-separated, e.g. 1,16,64", part)
		}
		levels = append(levels, n)
	}
	return levels, nil
}

// latencies summarizes a sample of durations.
type latencies []time.Duration

func (l latencies) sorted() latencies {
	s := slices.Clone(l)
	slices.Sort(s)
	return s
}

// quantile of a sorted sample (nearest rank).
func (l latencies) quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := int(q*float64(len(l))+0.5) - 1
	return l[max(0, min(i, len(l)-1))]
}

func (l latencies) mean() time.Duration {
	if len(l) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range l {
		sum += d
	}
	return sum / time.Duration(len(l))
}

// fmtDur prints a latency in µs or ms with three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return d.Round(time.Millisecond).String()
}

// measureFsync makes a small record durable again and again, for about d
// (at most 5,000 times), in each of k files at once: with k = 1 the disk's
// rate, the floor under any durable write; with k = 3 what three nodes
// sharing the disk each see. With store false it appends the record to a
// plain file and fsyncs it (the disk's raw rate of write+fsync); with store
// true it Sets it in a FileStore and Syncs, which writes over preallocated
// space and fdatasyncs (what a node pays).
func measureFsync(dir string, size int, d time.Duration, k int, store bool) (latencies, error) {
	var (
		mu   sync.Mutex
		out  latencies
		errs []error
		wg   sync.WaitGroup
	)
	for i := range k {
		wg.Go(func() {
			path := filepath.Join(dir, fmt.Sprintf("fsync-probe-%d", i))
			loop := fsyncLoop
			if store {
				loop = storeSyncLoop
			}
			lat, err := loop(path, size, d)
			mu.Lock()
			defer mu.Unlock()
			out, errs = append(out, lat...), append(errs, err)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// timeLoop times op for about d, at most 5,000 times.
func timeLoop(d time.Duration, op func() error) (latencies, error) {
	var out latencies
	end := time.Now().Add(d)
	for time.Now().Before(end) && len(out) < 5000 {
		t0 := time.Now()
		if err := op(); err != nil {
			return nil, fmt.Errorf("fsync probe: %w", err)
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}

func fsyncLoop(path string, size int, d time.Duration) (latencies, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("fsync probe: %w", err)
	}
	defer os.Remove(path)
	defer f.Close()
	rec := make([]byte, size)
	return timeLoop(d, func() error {
		if _, err := f.Write(rec); err != nil {
			return err
		}
		return f.Sync()
	})
}

func storeSyncLoop(dir string, size int, d time.Duration) (latencies, error) {
	s, _, err := live.OpenFileStore(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("fsync probe: %w", err)
	}
	defer os.RemoveAll(dir)
	defer s.Close()
	// The key and its framing make up the rest of the record.
	value := make([]byte, max(1, size-24))
	i := 0
	return timeLoop(d, func() error {
		i++
		s.Set(fmt.Sprintf("probe/%06d", i%64), value)
		return s.Sync()
	})
}

// measureClientRTT times a client request to a transport on loopback that
// answers at once: the round trip every kv client request pays on top of
// the work of serving it.
func measureClientRTT(n int) (latencies, error) {
	t, err := live.NewTransport(live.TransportConfig{Self: 0, Listen: "127.0.0.1:0", Metrics: live.NewMetrics(),
		Deliver: func(node.ID, live.Frame) {},
		Request: func(context.Context, string, live.Encoding, []byte) (string, []byte, error) {
			return "pong", []byte("{}"), nil
		}})
	if err != nil {
		return nil, err
	}
	if err := t.Start(); err != nil {
		return nil, err
	}
	defer t.Close()
	cl, err := live.DialClient(t.Addr().String(), nil, 0)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	out := make(latencies, 0, n)
	for i := range n + n/10 { // the first tenth warms up
		t0 := time.Now()
		if _, _, err := cl.Request(context.Background(), "ping", []byte("{}")); err != nil {
			return nil, fmt.Errorf("client round trip: %w", err)
		}
		if i >= n/10 {
			out = append(out, time.Since(t0))
		}
	}
	return out, nil
}

// measurePeerRTT times a message between two transports on loopback, there
// and back (n1 returns what n0 sends): the round trip of an AppendEntries
// and its answer, without the work. With a gap, it waits that long between
// round trips, so that the threads of both ends go to sleep in between, as
// they do while a lone write waits for a disk.
func measurePeerRTT(n int, gap time.Duration) (latencies, error) {
	back := make(chan struct{}, 1)
	var t1 *live.Transport
	l0, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l0.Close()
		return nil, err
	}
	peers := map[node.ID]string{0: l0.Addr().String(), 1: l1.Addr().String()}
	t0, err := live.NewTransport(live.TransportConfig{Self: 0, Listener: l0, Peers: peers, Metrics: live.NewMetrics(),
		Deliver: func(node.ID, live.Frame) { back <- struct{}{} }})
	if err != nil {
		l0.Close()
		l1.Close()
		return nil, err
	}
	t1, err = live.NewTransport(live.TransportConfig{Self: 1, Listener: l1, Peers: peers, Metrics: live.NewMetrics(),
		Deliver: func(from node.ID, f live.Frame) {
			t1.Send(from, live.Frame{Type: f.Type, Payload: slices.Clone(f.Payload)})
		}})
	defer t0.Close()
	if err != nil {
		l1.Close()
		return nil, err
	}
	defer t1.Close()
	for _, t := range []*live.Transport{t1, t0} {
		if err := t.Start(); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !t0.Connected(1) {
		if time.Now().After(deadline) {
			return nil, errors.New("peer round trip: the transports did not connect")
		}
		time.Sleep(time.Millisecond)
	}
	out := make(latencies, 0, n)
	payload := make([]byte, 64)
	for i := range n + n/10 {
		start := time.Now()
		t0.Send(1, live.Frame{Type: "bench.ping", Payload: slices.Clone(payload)})
		select {
		case <-back:
		case <-time.After(5 * time.Second):
			return nil, errors.New("peer round trip: no answer in 5s")
		}
		if i >= n/10 {
			out = append(out, time.Since(start))
		}
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	return out, nil
}

// benchNode is one node process of the benchmark's cluster.
type benchNode struct {
	id          int
	peer, admin string
	cmd         *exec.Cmd
	log         *os.File
	exited      chan error
}

// benchCluster is the benchmark's 3-node cluster of `synod node` processes.
type benchCluster struct {
	nodes  []*benchNode
	client *kvClient
}

func startBenchCluster(exe, dir string, n int, traces bool, procs int) (*benchCluster, error) {
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	c := &benchCluster{}
	var peers []string
	endpoints := map[node.ID]string{}
	for i := range n {
		bn := &benchNode{id: i, peer: fmt.Sprintf("127.0.0.1:%d", ports[i]), admin: fmt.Sprintf("127.0.0.1:%d", ports[n+i])}
		c.nodes = append(c.nodes, bn)
		peers = append(peers, fmt.Sprintf("%d=%s", i, bn.peer))
		endpoints[node.ID(i)] = bn.peer
	}
	c.client = newKVClient(endpoints, nil)
	for _, bn := range c.nodes {
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("n%d.log", bn.id)))
		if err != nil {
			c.stop()
			return nil, err
		}
		bn.log = logf
		bn.cmd = exec.Command(exe, "node", "--id", strconv.Itoa(bn.id), "--peers", strings.Join(peers, ","), "--algo", "raft",
			"--data", filepath.Join(dir, fmt.Sprintf("n%d", bn.id)), "--admin", bn.admin, "--log-level", "warn")
		if traces {
			bn.cmd.Args = append(bn.cmd.Args, "--trace", filepath.Join(dir, fmt.Sprintf("n%d.jsonl", bn.id)))
		}
		bn.cmd.Stdout, bn.cmd.Stderr = logf, logf
		setProcs(bn.cmd, procs)
		if err := bn.cmd.Start(); err != nil {
			c.stop()
			return nil, fmt.Errorf("start n%d: %w", bn.id, err)
		}
		bn.exited = make(chan error, 1)
		go func() { bn.exited <- bn.cmd.Wait() }()
	}
	return c, nil
}

// stop stops every node with SIGTERM (SIGKILL after 5s).
func (c *benchCluster) stop() {
	c.client.Close()
	for _, bn := range c.nodes {
		if bn.cmd != nil && bn.cmd.Process != nil {
			_ = bn.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, bn := range c.nodes {
		if bn.exited != nil {
			select {
			case <-bn.exited:
			case <-time.After(5 * time.Second):
				_ = bn.cmd.Process.Kill()
				<-bn.exited
			}
		}
		if bn.log != nil {
			bn.log.Close()
		}
	}
}

// waitLeader waits for a leader that every node follows.
func (c *benchCluster) waitLeader(d time.Duration) (raft.Status, error) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		sts := c.client.statuses(ctx, 500*time.Millisecond)
		cancel()
		if ld, ok := leaderStatus(sts); ok {
			agreed := true
			for _, s := range sts {
				agreed = agreed && s.Err == nil && s.Status.Leader == ld.ID && s.Status.Term == ld.Term
			}
			if agreed {
				return ld, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return raft.Status{}, fmt.Errorf("no leader within %v", d)
}

// metric sums the samples of a Prometheus metric on a node's endpoint.
func (c *benchCluster) metric(id node.ID, name string) (float64, error) {
	resp, err := http.Get("http://" + c.nodes[id].admin + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	total, found := 0.0, false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			fields := strings.Fields(line)
			v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
			if err != nil {
				return 0, fmt.Errorf("metric %s: %w", name, err)
			}
			total, found = total+v, true
		}
	}
	if !found {
		return 0, fmt.Errorf("n%d exports no %s", id, name)
	}
	return total, sc.Err()
}

// statusRTT times n kv status requests to a follower, one at a time: a
// round trip from a client to another process through the whole client
// API (gRPC, JSON, the node's event loop), with no replication and no disk.
func (c *benchCluster) statusRTT(n int) (latencies, error) {
	ld, err := c.waitLeader(10 * time.Second)
	if err != nil {
		return nil, err
	}
	follower := node.ID((int(ld.ID) + 1) % len(c.nodes))
	out := make(latencies, 0, n)
	for i := range n + n/10 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		t0 := time.Now()
		_, err := c.client.status(ctx, follower)
		took := time.Since(t0)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("status of %v: %w", follower, err)
		}
		if i >= n/10 {
			out = append(out, took)
		}
	}
	return out, nil
}

// kvLevel is what one number of clients measured.
type kvLevel struct {
	clients      int
	writes, errs int
	elapsed      time.Duration
	lat          latencies // sorted
	syncs        float64   // the leader's fsyncs during the level
	followerSync float64   // the followers' fsyncs, per follower
	cpu          cpuUse    // CPU seconds spent during the level
	leader       node.ID
	leaderChange bool
}

func (l kvLevel) perSecond() float64 { return float64(l.writes) / l.elapsed.Seconds() }
func (l kvLevel) perSync() float64 {
	if l.syncs == 0 {
		return 0
	}
	return float64(l.writes) / l.syncs
}

// runLevel has clients sessions write for d, each one write at a time, to
// keys of its own (a few, rewritten, so the state stays small).
func (c *benchCluster) runLevel(clients int, d time.Duration, value string) (kvLevel, error) {
	ld, err := c.waitLeader(10 * time.Second)
	if err != nil {
		return kvLevel{}, err
	}
	syncs0, err := c.syncs()
	if err != nil {
		return kvLevel{}, err
	}
	cpu0 := c.cpu(ld.ID)
	res := kvLevel{clients: clients, leader: ld.ID}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for g := range clients {
		s := c.client.session()
		wg.Go(func() {
			var lat latencies
			errs := 0
			for i := 0; time.Now().Before(end); i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				t0 := time.Now()
				_, err := s.do(ctx, kv.Put{Key: fmt.Sprintf("bench/%d/%d", g, i%8), Value: value})
				took := time.Since(t0)
				cancel()
				if err != nil {
					errs++
					continue
				}
				lat = append(lat, took)
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errs += errs
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.writes = len(res.lat)
	res.lat = res.lat.sorted()
	syncs1, err := c.syncs()
	if err != nil {
		return kvLevel{}, err
	}
	res.cpu = c.cpu(ld.ID).minus(cpu0)
	for i := range syncs1 {
		if node.ID(i) == ld.ID {
			res.syncs = syncs1[i] - syncs0[i]
		} else {
			res.followerSync += (syncs1[i] - syncs0[i]) / float64(len(syncs1)-1)
		}
	}
	if after, err := c.waitLeader(time.Second); err != nil || after.ID != ld.ID || after.Term != ld.Term {
		res.leaderChange = true
	}
	return res, nil
}

// syncs reads every node's fsync count.
func (c *benchCluster) syncs() ([]float64, error) {
	out := make([]float64, len(c.nodes))
	for i := range c.nodes {
		v, err := c.metric(node.ID(i), "synod_store_syncs_total")
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// cpuUse is CPU time spent, in seconds: by the leader's process, by the
// followers' (together), by this process (the clients), and by the whole
// machine (every process, from /proc/stat; 0 where that is not available).
type cpuUse struct {
	leader, followers, clients, machine float64
}

func (u cpuUse) minus(v cpuUse) cpuUse {
	return cpuUse{u.leader - v.leader, u.followers - v.followers, u.clients - v.clients, u.machine - v.machine}
}

// cpu reads the CPU time used so far.
func (c *benchCluster) cpu(leader node.ID) cpuUse {
	var u cpuUse
	for i := range c.nodes {
		v, _ := c.metric(node.ID(i), "process_cpu_seconds_total")
		if node.ID(i) == leader {
			u.leader = v
		} else {
			u.followers += v
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.clients = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	u.machine = machineBusy()
	return u
}

// machineBusy is the CPU time every core has spent busy since boot, in
// seconds, from /proc/stat (0 if it cannot be read).
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	busy := 0.0
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is counted in user
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / 100 // USER_HZ is 100 on Linux
}

// machine describes where the benchmark ran: cores, CPU model, and the
// file system of dir.
func machine(dir string) string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	fs := "unknown"
	if out, err := exec.Command("df", "-T", dir).Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if f := strings.Fields(lines[len(lines)-1]); len(f) >= 2 {
			fs = f[1] + " (" + f[0] + ")"
		}
	}
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("%d cores (nproc), %s, %s/%s, %s; data directory on %s; load average before the run %s",
		runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version(), fs, load)
}

// errTargetMissed is returned when the run missed a target (after printing
// everything).
var errTargetMissed = errors.New("bench kv: a target was missed (see FAIL above)")

func runBenchKV(w io.Writer, cfg benchKVConfig) (err error) {
	root, err := os.MkdirTemp(cfg.Dir, "synod-bench-kv-")
	if err != nil {
		return fmt.Errorf("bench kv: data directory: %w", err)
	}
	if cfg.Keep {
		defer fmt.Fprintf(w, "data, logs and fsync probe kept in %s\n", root)
	} else {
		defer os.RemoveAll(root)
	}
	// The cores are shared among the three nodes and this process, whose
	// clients and baselines are the fourth.
	procs, err := nodeProcs(cfg.Procs, 4)
	if err != nil {
		return fmt.Errorf("bench kv: %w", err)
	}
	procsNote := "GOMAXPROCS Go's default"
	if procs > 0 {
		procsNote = fmt.Sprintf("GOMAXPROCS=%d each and in this process (--procs)", procs)
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	}
	fmt.Fprintf(w, "synod bench kv: 3 synod node processes (raft + kv, FileStore synced on every Sync, %s) on 127.0.0.1, data in %s\n", procsNote, root)
	fmt.Fprintf(w, "machine: %s; %s\n\n", machine(root), sysmonNote())

	// Baselines, before the cluster loads the machine.
	if cfg.Baseline <= 0 {
		cfg.Baseline = time.Second
	}
	// The raw append+fsync and the store's own Sync, each alone and three at once.
	var fsync, fsync3, storeSync, storeSync3 latencies
	for _, p := range []struct {
		out   *latencies
		k     int
		store bool
	}{{&fsync, 1, false}, {&fsync3, 3, false}, {&storeSync, 1, true}, {&storeSync3, 3, true}} {
		if *p.out, err = measureFsync(root, cfg.Value+32, cfg.Baseline, p.k, p.store); err != nil {
			return err
		}
	}
	fsyncS, storeSyncS := fsync.sorted(), storeSync.sorted()
	crtt, err := measureClientRTT(2000)
	if err != nil {
		return err
	}
	crttS := crtt.sorted()
	prtt, err := measurePeerRTT(2000, 0)
	if err != nil {
		return err
	}
	prttS := prtt.sorted()
	cold, err := measurePeerRTT(500, time.Millisecond)
	if err != nil {
		return err
	}
	coldS := cold.sorted()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "baseline\tsamples\tmean\tp50\tp99\t")
	row := func(what string, l, sorted latencies) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t\n", what, len(l), fmtDur(l.mean()), fmtDur(sorted.quantile(0.5)), fmtDur(sorted.quantile(0.99)))
	}
	row(fmt.Sprintf("write %d B + fsync, in the data directory", cfg.Value+32), fsync, fsyncS)
	row("the same, 3 processes at once (as the 3 nodes)", fsync3, fsync3.sorted())
	row("FileStore Set + Sync of that record (preallocated, fdatasync)", storeSync, storeSyncS)
	row("the same, 3 stores at once", storeSync3, storeSync3.sorted())
	row("loopback client request (gRPC), round trip", crtt, crttS)
	row("loopback peer message (transport), round trip", prtt, prttS)
	row("the same, one every 1 ms (threads asleep between)", cold, coldS)
	tw.Flush()
	fmt.Fprintln(w)

	c, err := startBenchCluster(cfg.Exe, root, 3, cfg.Trace, procs)
	if err != nil {
		return err
	}
	defer c.stop()
	if _, err := c.waitLeader(10 * time.Second); err != nil {
		return fmt.Errorf("bench kv: the cluster did not elect a leader (logs in %s, kept with --keep): %w", root, err)
	}
	nodeRTT, err := c.statusRTT(1000)
	if err != nil {
		return err
	}
	nodeRTTS := nodeRTT.sorted()
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "baseline, on the running cluster\tsamples\tmean\tp50\tp99\t")
	row("kv status of a follower (a node process), round trip", nodeRTT, nodeRTTS)
	tw.Flush()
	fmt.Fprintln(w)
	value := strings.Repeat("v", cfg.Value)
	if _, err := c.runLevel(8, 300*time.Millisecond, value); err != nil { // warm up: connections, sessions
		return err
	}
	var levels []kvLevel
	for _, n := range cfg.Clients {
		l, err := c.runLevel(n, cfg.Duration, value)
		if err != nil {
			return fmt.Errorf("bench kv: %d clients: %w", n, err)
		}
		levels = append(levels, l)
	}

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "clients\twrites\twrites/s\tp50\tp99\tleader fsyncs\twrites/fsync\tfollower fsyncs\terrors\t")
	for _, l := range levels {
		note := ""
		if l.leaderChange {
			note = " (leader changed)"
		}
		fmt.Fprintf(tw, "%d\t%d\t%.0f\t%s\t%s\t%.0f\t%.1f\t%.0f\t%d%s\t\n", l.clients, l.writes, l.perSecond(),
			fmtDur(l.lat.quantile(0.5)), fmtDur(l.lat.quantile(0.99)), l.syncs, l.perSync(), l.followerSync, l.errs, note)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintf(w, "CPU, in cores busy on average (the machine has %d), and per write:\n", runtime.NumCPU())
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "clients\tleader\tfollowers\tclients (this process)\tother (processes, interrupts)\tmachine\tleader µs/write\tall µs/write\t")
	for _, l := range levels {
		sec, u := l.elapsed.Seconds(), l.cpu
		other := max(0, u.machine-u.leader-u.followers-u.clients)
		perWrite := func(s float64) float64 { return s / float64(max(1, l.writes)) * 1e6 }
		fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t\n", l.clients, u.leader/sec, u.followers/sec, u.clients/sec,
			other/sec, u.machine/sec, perWrite(u.leader), perWrite(u.leader+u.followers+u.clients))
	}
	tw.Flush()
	fmt.Fprintln(w)

	missed := false
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		missed = true
		return "FAIL"
	}
	find := func(n int) (kvLevel, bool) {
		i := slices.IndexFunc(levels, func(l kvLevel) bool { return l.clients == n })
		if i < 0 {
			return kvLevel{}, false
		}
		return levels[i], true
	}
	if l, ok := find(64); ok {
		got := l.perSync()
		fmt.Fprintf(w, "batching: 64 clients commit %.1f writes per leader fsync; target ≥ %d: %s (%.2f× the target)\n",
			got, benchKVMinBatch, verdict(got >= benchKVMinBatch && l.writes > 0), got/benchKVMinBatch)
	} else {
		fmt.Fprintln(w, "batching: not measured (--clients has no 64)")
	}
	if l, ok := find(1); ok {
		base := fsyncS.quantile(0.5) + crttS.quantile(0.5)
		got := l.lat.quantile(0.5)
		ratio := float64(got) / float64(base)
		fmt.Fprintf(w, "latency: 1 client p50 %s = %.2f× (fsync p50 %s + client round trip p50 %s = %s); target ≤ %d×: %s\n",
			fmtDur(got), ratio, fmtDur(fsyncS.quantile(0.5)), fmtDur(crttS.quantile(0.5)), fmtDur(base), benchKVMaxLatency,
			verdict(ratio <= benchKVMaxLatency && l.writes > 0))
		node := fsyncS.quantile(0.5) + nodeRTTS.quantile(0.5)
		fmt.Fprintf(w, "         (against fsync p50 + kv status round trip to a node process p50 = %s: %.2f×)\n",
			fmtDur(node), float64(got)/float64(node))
		own := storeSyncS.quantile(0.5) + crttS.quantile(0.5)
		fmt.Fprintf(w, "         (against the FileStore's own Sync p50 + client round trip p50 = %s: %.2f×)\n",
			fmtDur(own), float64(got)/float64(own))
	} else {
		fmt.Fprintln(w, "latency: not measured (--clients has no 1)")
	}
	if missed {
		return errTargetMissed
	}
	return nil
}
