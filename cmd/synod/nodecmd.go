package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/live"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

type nodeFlags struct {
	id        int
	peers     string
	algo      string
	variant   string
	data      string
	admin     string
	remote    bool
	tlsCA     string
	tlsCert   string
	tlsKey    string
	tracePath string
	logFormat string
	logLevel  string
	members   int
	join      bool
}

func newNodeCmd() *cobra.Command {
	f := &nodeFlags{}
	cmd := &cobra.Command{
		Use:   "node --id I --peers 0=host:port,1=host:port,... --algo ALGO --data DIR",
		Short: "Run one node of a live cluster",
		Long: `Run one process of ALGO as a real node: it listens on its own address from
--peers, talks to the others over gRPC streams (mutual TLS with --tls-*), keeps
its durable state in --data, serves client requests (see "synod request") and
an admin HTTP endpoint for live faults, Prometheus metrics and pprof.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runNode(cmd, f) },
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.IntVar(&f.id, "id", -1, "this node's rank in --peers")
	fl.StringVar(&f.peers, "peers", "", "every member as ID=HOST:PORT, comma-separated, self included")
	fl.StringVar(&f.algo, "algo", "", "the algorithm (see synod list)")
	fl.StringVar(&f.variant, "variant", "", "a deliberately broken variant")
	fl.StringVar(&f.data, "data", "", "data directory for durable state")
	fl.IntVar(&f.members, "members", 0, "raft: the first N of --peers (IDs 0..N-1) are the initial members; the others are spares that join later (default: all)")
	fl.BoolVar(&f.join, "join", false, "raft: start as a server with no configuration, waiting for the leader to add it (kv.AddServer)")
	fl.StringVar(&f.admin, "admin", "127.0.0.1:0", "admin HTTP address (loopback unless --admin-remote)")
	fl.BoolVar(&f.remote, "admin-remote", false, "allow a non-loopback admin address")
	fl.StringVar(&f.tlsCA, "tls-ca", "", "CA certificate (PEM) for mutual TLS between peers")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "this node's certificate (PEM); it must name the node (\"n2\") as its common name or a DNS name, or peers refuse it")
	fl.StringVar(&f.tlsKey, "tls-key", "", "this node's private key (PEM)")
	fl.StringVar(&f.tracePath, "trace", "", "write this node's trace as JSON Lines to this file")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

// parsePeers parses "0=host:port,1=host:port".
func parsePeers(s string) (map[node.ID]string, []node.ID, error) {
	peers := map[node.ID]string{}
	for _, part := range strings.Split(s, ",") {
		idText, addr, ok := strings.Cut(strings.TrimSpace(part), "=")
		id, err := strconv.Atoi(strings.TrimPrefix(idText, "n"))
		if !ok || err != nil || id < 0 || addr == "" {
			return nil, nil, fmt.Errorf("bad --peers entry %q: want ID=HOST:PORT, e.g. 0=127.0.0.1:7000", part)
		}
		if _, dup := peers[node.ID(id)]; dup {
			return nil, nil, fmt.Errorf("bad --peers: node %d listed twice", id)
		}
		peers[node.ID(id)] = addr
	}
	group := make([]node.ID, 0, len(peers))
	for id := range peers {
		group = append(group, id)
	}
	slices.Sort(group)
	for i, id := range group {
		if int(id) != i {
			return nil, nil, fmt.Errorf("bad --peers: IDs must be 0..%d without gaps, missing %d", len(group)-1, i)
		}
	}
	return peers, group, nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("bad --log-format %q: want text or json", format)
}

// flushingTrace writes each event through at once, so a trace survives a
// kill -9 up to the last event.
type flushingTrace struct {
	mu sync.Mutex
	w  *trace.JSONLWriter
}

func (f *flushingTrace) Record(e *trace.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.w.Record(e)
	_ = f.w.Flush()
}

func runNode(cmd *cobra.Command, f *nodeFlags) error {
	// Catch Ctrl-C and SIGTERM from the start: one that arrives while the
	// node is still starting (synod cluster stopping a node it has just
	// restarted) then stops it cleanly instead of killing it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger, err := newLogger(cmd.ErrOrStderr(), f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	alg, err := lookup(f.algo)
	if err != nil {
		return err
	}
	if alg.Rounds > 0 {
		return fmt.Errorf("%s runs in synchronous rounds, which only the simulator has: try synod sim %s", alg.Name, alg.Name)
	}
	if f.variant != "" && !slices.Contains(alg.variantNames(), f.variant) {
		return fmt.Errorf("unknown --variant %q for %s; known: %s", f.variant, alg.Name, strings.Join(alg.variantNames(), ", "))
	}
	peers, group, err := parsePeers(f.peers)
	if err != nil {
		return err
	}
	self := node.ID(f.id)
	if _, ok := peers[self]; !ok {
		return fmt.Errorf("bad --id %d: not in --peers (members are 0..%d)", f.id, len(group)-1)
	}
	if f.data == "" {
		return fmt.Errorf("--data is required: the directory for this node's durable state")
	}
	servers, err := initialMembers(f, alg, group)
	if err != nil {
		return err
	}
	var tlsFiles *live.TLSFiles
	if f.tlsCA != "" || f.tlsCert != "" || f.tlsKey != "" {
		if f.tlsCA == "" || f.tlsCert == "" || f.tlsKey == "" {
			return fmt.Errorf("mutual TLS needs all of --tls-ca, --tls-cert and --tls-key")
		}
		tlsFiles = &live.TLSFiles{CA: f.tlsCA, Cert: f.tlsCert, Key: f.tlsKey}
	}
	if err := os.MkdirAll(f.data, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	store, rec, err := live.OpenFileStore(f.data, logger)
	if err != nil {
		return err
	}
	defer store.Close() // after the final Sync below: Close itself drops unsynced writes, as a crash would
	if rec.Torn() {
		logger.Warn("storage recovered from a torn write", "detail", rec.String())
	}
	var tr trace.Recorder
	var resume trace.VC
	if f.tracePath != "" {
		file, jw, last, err := openTrace(f.tracePath, self, len(group))
		if err != nil {
			return err
		}
		defer file.Close()
		tr, resume = &flushingTrace{w: jw}, last
		if last != nil {
			logger.Info("continuing the trace of an earlier run", "trace", f.tracePath, "clock", last.String())
		}
	}
	metrics := live.NewMetrics()
	metrics.WatchStore(store)
	faults := live.NewFaults(uint64(time.Now().UnixNano()))
	nd, err := live.NewNode(live.Config{ID: self, Group: group, New: alg.New(f.variant, servers), Registry: alg.registry(),
		Store: store, Faults: faults, Metrics: metrics, Logger: logger, Trace: tr, Resume: resume})
	if err != nil {
		return err
	}
	transport, err := live.NewTransport(live.TransportConfig{Self: self, Listen: peers[self], Peers: peers, TLS: tlsFiles,
		Metrics: metrics, Logger: logger, Deliver: nd.Deliver, Request: nd.HandleRequest})
	if err != nil {
		return err
	}
	nd.SetTransport(transport)
	if err := transport.Start(); err != nil {
		return err
	}
	defer transport.Close()
	started := time.Now()
	handler := live.NewAdminHandler(live.AdminConfig{Self: self, Group: group, Faults: faults, Metrics: metrics,
		Logger: logger,
		Status: func() any {
			return map[string]any{"node": self.String(), "algorithm": alg.Name, "variant": f.variant,
				"address": transport.Addr().String(), "peers": f.peers, "uptime": time.Since(started).Round(time.Second).String(),
				"pid": os.Getpid()}
		}})
	srv, adminAddr, err := live.ServeAdmin(f.admin, handler, f.remote, logger)
	if err != nil {
		return err
	}
	defer srv.Close()
	logger.Info("node started", "node", self.String(), "algorithm", alg.Name, "listen", transport.Addr().String(),
		"admin", "http://"+adminAddr.String(), "data", f.data, "tls", tlsFiles != nil)
	err = nd.Run(ctx)
	logger.Info("node stopping", "node", self.String())
	if syncErr := store.Sync(); err == nil && syncErr != nil {
		err = fmt.Errorf("final sync: %w", syncErr)
	}
	return err
}

// initialMembers returns the number of servers to build the algorithm's
// factory with: every member of the group, or the first --members of them,
// or none for a server that joins a running cluster (--join).
func initialMembers(f *nodeFlags, alg *algorithm, group []node.ID) (int, error) {
	if (f.join || f.members != 0) && !alg.Joinable {
		var names []string
		for _, a := range catalog {
			if a.Joinable {
				names = append(names, a.Name)
			}
		}
		return 0, fmt.Errorf("--join and --members are for algorithms whose membership can change (%s), not %s",
			strings.Join(names, ", "), alg.Name)
	}
	switch {
	case f.join && f.members != 0:
		return 0, fmt.Errorf("--join and --members exclude each other: a joining server has no initial members")
	case f.join:
		return 0, nil
	case f.members == 0:
		return len(group), nil
	case f.members < 0 || f.members > len(group):
		return 0, fmt.Errorf("bad --members %d: want 1 to %d (the number of --peers)", f.members, len(group))
	case f.id >= f.members:
		return 0, fmt.Errorf("node %d is not among the %d initial members (IDs 0..%d): start it with --join and add it from the leader", f.id, f.members, f.members-1)
	}
	return f.members, nil
}

// openTrace opens a node's trace for writing. An existing trace (the node
// ran before and was killed or stopped) is continued: a last line torn by a
// kill -9 is cut off, and the node's last vector clock is returned so the
// new run's events come after the old ones.
func openTrace(path string, self node.ID, nodes int) (*os.File, *trace.JSONLWriter, trace.VC, error) {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, nil, nil, fmt.Errorf("trace: %w", err)
	}
	if len(old) == 0 {
		file, err := os.Create(path)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("trace: %w", err)
		}
		jw, err := trace.NewJSONLWriter(file, nodes)
		if err != nil {
			file.Close()
			return nil, nil, nil, err
		}
		return file, jw, nil, nil
	}
	whole := old[:bytes.LastIndexByte(old, '\n')+1]
	prev, err := trace.ReadJSONL(bytes.NewReader(whole), nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("trace %s: cannot continue it: %w (move it away to start a new one)", path, err)
	}
	if prev.Nodes != nodes {
		return nil, nil, nil, fmt.Errorf("trace %s is for %d nodes, this cluster has %d: move it away to start a new one", path, prev.Nodes, nodes)
	}
	if err := os.Truncate(path, int64(len(whole))); err != nil {
		return nil, nil, nil, fmt.Errorf("trace: %w", err)
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("trace: %w", err)
	}
	return file, trace.AppendJSONLWriter(file), trace.LastClock(prev, self), nil
}
