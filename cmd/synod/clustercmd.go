package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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
)

type clusterFlags struct {
	nodes     int
	data      string
	variant   string
	tlsDir    string
	tls       bool
	logFormat string
	noTrace   bool
	spares    int
	procs     int
}

func newClusterCmd() *cobra.Command {
	f := &clusterFlags{}
	cmd := &cobra.Command{
		Use:   "cluster ALGO --nodes N",
		Short: "Start a local cluster of N node processes on 127.0.0.1",
		Long: `Start N "synod node" processes of ALGO on 127.0.0.1 with free ports chosen
automatically, stream their combined logs (prefixed by node), print the peer
table and each node's admin endpoint, and stop them all cleanly on Ctrl-C.

While it runs, type commands on standard input:
  kill N       kill -9 node N          restart N   start node N again (same data)
  status       show the peer table     help        this list
Each node writes its trace to DATA/nN.jsonl; check a run afterwards with
  synod check ALGO DATA/n*.jsonl --svg run.svg

For raft and multipaxos, the nodes run the replicated key-value service
(talk to it with "synod kv"), and status also shows each server's role,
term or ballot, leader and commit index. For raft, --spares more addresses
are set aside for servers added later (every node knows every address from
the start):
  add N        start spare N with --join and add it through the leader
  remove N     remove server N through the leader, then stop its process
Multi-Paxos runs a fixed membership.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("cluster takes one algorithm name; see \"synod list\"")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runCluster(cmd, f, args[0]) },
	}
	fl := cmd.Flags()
	fl.IntVarP(&f.nodes, "nodes", "n", 3, "number of nodes")
	fl.StringVar(&f.data, "data", "", "directory for the nodes' data and traces (default: a new temporary directory)")
	fl.StringVar(&f.variant, "variant", "", "run a deliberately broken variant")
	fl.BoolVar(&f.tls, "tls", false, "mutual TLS between the nodes, with a throwaway CA and certificates made in DATA/tls")
	fl.StringVar(&f.tlsDir, "tls-dir", "", "mutual TLS with your own files: DIR/ca.pem and DIR/nN.pem, DIR/nN-key.pem")
	fl.StringVar(&f.logFormat, "log-format", "text", "the nodes' log format: text or json")
	fl.BoolVar(&f.noTrace, "no-trace", false, "do not write traces")
	fl.IntVar(&f.procs, "procs", procsAuto, procsFlagHelp)
	fl.IntVar(&f.spares, "spares", -1, "raft: addresses for this many more servers, to add later with \"add N\" (default 2 for raft, 0 otherwise)")
	return cmd
}

// freePorts asks the kernel for k free loopback ports.
func freePorts(k int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, k)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// member is one node process of a local cluster.
type member struct {
	id        int
	peerAddr  string
	adminAddr string
	args      []string
	// join is the membership flag of a raft server: "--members N" for
	// the initial servers, "--join" for one added later (nil otherwise).
	join []string
	// spare: never started yet; removed: removed from the configuration.
	spare, removed bool
	mu             sync.Mutex
	cmd            *exec.Cmd
	exited         chan struct{}
}

type localCluster struct {
	out     io.Writer
	outMu   sync.Mutex
	exe     string
	procs   int // GOMAXPROCS of each node process (0: Go's default)
	members []*member
	data    string
	// kv is a client of the key-value service, for a cluster that runs it
	// (kvServices; nil otherwise), and membership says whether its
	// membership can change (add N, remove N).
	// otherwise); change serializes add and remove.
	kv         *kvClient
	membership bool
	change     sync.Mutex
}

func (c *localCluster) printf(format string, args ...any) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	fmt.Fprintf(c.out, format, args...)
}

// pipe copies a child's output line by line with a "nN | " prefix.
func (c *localCluster) pipe(prefix string, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		c.outMu.Lock()
		fmt.Fprintf(c.out, "%s | %s\n", prefix, sc.Text())
		c.outMu.Unlock()
	}
}

func (c *localCluster) start(m *member) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cmd := exec.Command(c.exe, slices.Concat(m.args, m.join)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	setProcs(cmd, c.procs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start n%d: %w", m.id, err)
	}
	m.cmd, m.spare = cmd, false
	m.exited = make(chan struct{})
	prefix := fmt.Sprintf("n%d", m.id)
	go func(exited chan struct{}) {
		c.pipe(prefix, stdout)
		err := cmd.Wait()
		c.printf("%s | exited: %v\n", prefix, exitText(err))
		close(exited)
	}(m.exited)
	return nil
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

func (c *localCluster) running(m *member) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL, as a crash would.
func (c *localCluster) kill(m *member) error {
	if !c.running(m) {
		return fmt.Errorf("n%d is not running", m.id)
	}
	m.mu.Lock()
	cmd, exited := m.cmd, m.exited
	m.mu.Unlock()
	if err := cmd.Process.Kill(); err != nil {
		return err
	}
	<-exited
	return nil
}

// stop sends SIGTERM to the given nodes (every node if none) and waits
// (SIGKILL after a grace period).
func (c *localCluster) stop(ms ...*member) {
	if len(ms) == 0 {
		ms = c.members
	}
	for _, m := range ms {
		if c.running(m) {
			m.mu.Lock()
			_ = m.cmd.Process.Signal(syscall.SIGTERM)
			m.mu.Unlock()
		}
	}
	for _, m := range ms {
		m.mu.Lock()
		exited, cmd := m.exited, m.cmd
		m.mu.Unlock()
		if exited == nil {
			continue
		}
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
}

func (c *localCluster) table() {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tPEER ADDRESS\tADMIN\tPID\tSTATE")
	for _, m := range c.members {
		state, pid := "stopped", "-"
		m.mu.Lock()
		if m.cmd != nil && m.cmd.Process != nil {
			pid = strconv.Itoa(m.cmd.Process.Pid)
		}
		spare, removed := m.spare, m.removed
		m.mu.Unlock()
		switch {
		case c.running(m):
			state = "running"
		case spare:
			state = "spare"
		case removed:
			state = "removed"
		}
		fmt.Fprintf(tw, "n%d\t%s\thttp://%s\t%s\t%s\n", m.id, m.peerAddr, m.adminAddr, pid, state)
	}
	tw.Flush()
}

// kvServices are the algorithms whose nodes run the replicated key-value
// service (package kv), which "synod kv" talks to.
var kvServices = map[string]bool{"raft": true, "consensus/multipaxos": true}

// kvTable prints the status of every running server of a key-value
// cluster: its replicated log's role, term or ballot, commit index...
func (c *localCluster) kvTable() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var sts []serverStatus
	for i, s := range c.kv.statuses(ctx, time.Second) {
		if c.running(c.members[i]) {
			sts = append(sts, s)
		}
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	printStatuses(c.out, sts)
}

func runCluster(cmd *cobra.Command, f *clusterFlags, algName string) error {
	alg, err := lookup(algName)
	if err != nil {
		return err
	}
	if alg.Rounds > 0 {
		return fmt.Errorf("%s runs in synchronous rounds, which only the simulator has: try synod sim %s", alg.Name, alg.Name)
	}
	if f.nodes < 1 || f.nodes > 64 {
		return fmt.Errorf("bad --nodes %d: want 1 to 64 local processes", f.nodes)
	}
	procs, err := nodeProcs(f.procs, f.nodes)
	if err != nil {
		return err
	}
	spares := f.spares
	switch {
	case spares < 0 && alg.Joinable:
		spares = 2
	case spares < 0:
		spares = 0
	case spares > 0 && !alg.Joinable:
		return fmt.Errorf("bad --spares %d: only algorithms whose membership can change take spares (raft), not %s", spares, alg.Name)
	case f.nodes+spares > 64:
		return fmt.Errorf("bad --spares %d: --nodes plus --spares must be at most 64 local processes", spares)
	}
	total := f.nodes + spares
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the synod binary: %w", err)
	}
	if f.data == "" {
		if f.data, err = os.MkdirTemp("", "synod-cluster-"); err != nil {
			return err
		}
	}
	if f.tls && f.tlsDir != "" {
		return fmt.Errorf("--tls and --tls-dir exclude each other: --tls makes its own certificates")
	}
	if f.tls {
		f.tlsDir = filepath.Join(f.data, "tls")
		if err := os.MkdirAll(f.tlsDir, 0o700); err != nil {
			return err
		}
		ca, err := live.NewCertAuthority("synod cluster CA")
		if err != nil {
			return err
		}
		for _, name := range append(nodeNames(total), "client") {
			if _, err := ca.Issue(f.tlsDir, name, "127.0.0.1", "localhost"); err != nil {
				return fmt.Errorf("make TLS certificates: %w", err)
			}
		}
	}
	ports, err := freePorts(2 * total)
	if err != nil {
		return err
	}
	c := &localCluster{out: cmd.OutOrStdout(), exe: exe, data: f.data, procs: procs}
	var peers []string
	for i := range total {
		peers = append(peers, fmt.Sprintf("%d=127.0.0.1:%d", i, ports[i]))
	}
	for i := range total {
		m := &member{id: i, peerAddr: fmt.Sprintf("127.0.0.1:%d", ports[i]), adminAddr: fmt.Sprintf("127.0.0.1:%d", ports[total+i])}
		m.args = []string{"node", "--id", strconv.Itoa(i), "--peers", strings.Join(peers, ","), "--algo", alg.Name,
			"--data", filepath.Join(f.data, fmt.Sprintf("n%d", i)), "--admin", m.adminAddr, "--log-format", f.logFormat}
		if f.variant != "" {
			m.args = append(m.args, "--variant", f.variant)
		}
		if !f.noTrace {
			m.args = append(m.args, "--trace", filepath.Join(f.data, fmt.Sprintf("n%d.jsonl", i)))
		}
		if f.tlsDir != "" {
			m.args = append(m.args, "--tls-ca", filepath.Join(f.tlsDir, "ca.pem"),
				"--tls-cert", filepath.Join(f.tlsDir, fmt.Sprintf("n%d.pem", i)),
				"--tls-key", filepath.Join(f.tlsDir, fmt.Sprintf("n%d-key.pem", i)))
		}
		switch {
		case i >= f.nodes:
			m.spare, m.join = true, []string{"--join"}
		case spares > 0:
			m.join = []string{"--members", strconv.Itoa(f.nodes)}
		}
		c.members = append(c.members, m)
	}
	for _, m := range c.members[:f.nodes] {
		if err := c.start(m); err != nil {
			c.stop()
			return err
		}
	}
	if spares > 0 {
		c.printf("synod cluster: %d nodes of %s and %d spares, data and traces in %s\n", f.nodes, alg.Name, spares, f.data)
	} else {
		c.printf("synod cluster: %d nodes of %s, data and traces in %s\n", f.nodes, alg.Name, f.data)
	}
	if procs > 0 {
		c.printf("each node process runs with GOMAXPROCS=%d (--procs)\n", procs)
	}
	c.printf("Go runtime: %s\n", sysmonNote())
	c.table()
	tlsFlags := ""
	var tlsFiles *live.TLSFiles
	if f.tlsDir != "" {
		tlsFiles = &live.TLSFiles{CA: filepath.Join(f.tlsDir, "ca.pem"), Cert: filepath.Join(f.tlsDir, "client.pem"), Key: filepath.Join(f.tlsDir, "client-key.pem")}
		tlsFlags = fmt.Sprintf(" --tls-ca %s --tls-cert %s --tls-key %s", tlsFiles.CA, tlsFiles.Cert, tlsFiles.Key)
	}
	if kvServices[alg.Name] {
		endpoints := map[node.ID]string{}
		var list []string
		for _, m := range c.members {
			endpoints[node.ID(m.id)] = m.peerAddr
			list = append(list, m.peerAddr)
		}
		c.kv, c.membership = newKVClient(endpoints, tlsFiles), alg.Joinable
		defer c.kv.Close()
		c.printf("use the key-value store with: synod kv --endpoints %s%s put KEY VALUE   (get, del, cas, range, status...)\n", strings.Join(list, ","), tlsFlags)
		if c.membership {
			c.printf("Ctrl-C stops the cluster; type help for commands (add N and remove N change the membership)\n")
		} else {
			c.printf("Ctrl-C stops the cluster; type help for commands\n")
		}
	} else {
		c.printf("send requests with: synod request --to %s%s TYPE JSON   (Ctrl-C stops the cluster; type help for commands)\n", c.members[0].peerAddr, tlsFlags)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(cmd.InOrStdin())
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			c.printf("stopping the cluster\n")
			c.stop()
			return nil
		case line, ok := <-lines:
			if !ok {
				lines = nil // stdin closed: keep running until a signal
				continue
			}
			c.command(line)
		}
	}
}

func (c *localCluster) command(line string) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return
	}
	pick := func() *member {
		if len(f) != 2 {
			c.printf("usage: %s N\n", f[0])
			return nil
		}
		id, err := strconv.Atoi(strings.TrimPrefix(f[1], "n"))
		if err != nil || id < 0 || id >= len(c.members) {
			c.printf("bad node %q: want 0..%d\n", f[1], len(c.members)-1)
			return nil
		}
		return c.members[id]
	}
	switch f[0] {
	case "kill":
		if m := pick(); m != nil {
			if err := c.kill(m); err != nil {
				c.printf("kill: %v\n", err)
			} else {
				c.printf("killed n%d with SIGKILL\n", m.id)
			}
		}
	case "restart":
		if m := pick(); m != nil {
			if c.running(m) {
				c.printf("n%d is running; kill it first\n", m.id)
			} else if err := c.start(m); err != nil {
				c.printf("restart: %v\n", err)
			} else {
				c.printf("restarted n%d\n", m.id)
			}
		}
	case "status":
		c.table()
		if c.kv != nil {
			c.kvTable()
		}
	case "add", "remove":
		if !c.membership {
			c.printf("%s: only a raft cluster changes its membership\n", f[0])
		} else if m := pick(); m != nil {
			if f[0] == "add" {
				c.add(m)
			} else {
				c.remove(m)
			}
		}
	case "help":
		if c.membership {
			c.printf("commands: kill N, restart N, add N, remove N, status, help\n")
		} else {
			c.printf("commands: kill N, restart N, status, help\n")
		}
	default:
		if c.membership {
			c.printf("unknown command %q: want kill N, restart N, add N, remove N, status or help\n", f[0])
		} else {
			c.printf("unknown command %q: want kill N, restart N, status or help\n", f[0])
		}
	}
}

// membershipTimeout bounds an add or remove: a new server must catch up
// with the log before it votes.
const membershipTimeout = 30 * time.Second

// add starts server m with --join and asks the leader to add it (diss.
// §4.1). It reports in the background, so the cluster keeps taking
// commands meanwhile.
func (c *localCluster) add(m *member) {
	if c.running(m) {
		c.printf("add n%d: it is running already; add takes a stopped spare or removed server\n", m.id)
		return
	}
	m.join = []string{"--join"}
	if err := c.start(m); err != nil {
		c.printf("add n%d: %v\n", m.id, err)
		return
	}
	m.mu.Lock()
	m.removed = false
	m.mu.Unlock()
	c.printf("add n%d: started it with --join; asking the leader to add it\n", m.id)
	go func() {
		c.change.Lock()
		defer c.change.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), membershipTimeout)
		defer cancel()
		if _, err := c.kv.session().do(ctx, kv.AddServer{ID: node.ID(m.id)}); err != nil {
			c.printf("add n%d: failed: %v (it is still running: remove %d or kill %d)\n", m.id, err, m.id, m.id)
			return
		}
		c.printf("add n%d: n%d is a voter%s\n", m.id, m.id, c.kv.configNote(ctx))
	}()
}

// remove asks the leader to remove server m (diss. §4.1) and, once the
// change is committed, stops its process. It reports in the background.
func (c *localCluster) remove(m *member) {
	c.printf("remove n%d: asking the leader to remove it\n", m.id)
	go func() {
		c.change.Lock()
		defer c.change.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), membershipTimeout)
		defer cancel()
		if _, err := c.kv.session().do(ctx, kv.RemoveServer{ID: node.ID(m.id)}); err != nil {
			c.printf("remove n%d: failed: %v\n", m.id, err)
			return
		}
		m.mu.Lock()
		m.removed = true
		m.mu.Unlock()
		c.printf("remove n%d: n%d is no longer a member%s\n", m.id, m.id, c.kv.configNote(ctx))
		if c.running(m) {
			c.stop(m)
			c.printf("remove n%d: stopped its process\n", m.id)
		}
	}()
}

func nodeNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("n%d", i)
	}
	return names
}
