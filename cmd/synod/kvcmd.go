package main

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/live"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/raft"
)

// This file is `synod kv`: a blocking client of the replicated key-value
// service (package kv) running on a live cluster (`synod cluster raft` or
// `synod cluster multipaxos`).
// The client side follows the dissertation's chapter 6, as kv.Client does in
// the simulator: it finds the leader by following the servers' hints, keeps
// a session so that a retried write is applied once, and backs off
// exponentially between failed attempts until its deadline.

// Defaults of kvClient.
const (
	kvAttemptTimeout = time.Second
	kvBackoffMin     = 10 * time.Millisecond
	kvBackoffMax     = 500 * time.Millisecond
	// kvDialTimeout bounds the connection of one attempt: a node that does
	// not answer quickly on loopback or a LAN is treated as down.
	kvDialTimeout = time.Second
)

// kvRequestType and kvResultType are the registered names of what goes over
// the client API: every operation travels inside a kv.ClientRequest, so
// that writes carry their session.
var (
	kvRequestType = node.TypeName(kv.ClientRequest{})
	kvResultType  = node.TypeName(kv.Result{})
)

// kvCodec writes requests and reads results in CBOR (live.CBOR), the
// node's own encoding: a fraction of JSON's cost on a write's critical path.
var kvCodec = node.NewRegistry(kv.ClientRequest{}, kv.Result{})

// kvClient talks to the servers of one live key-value cluster. It keeps a
// connection per server, dialed on first use and redialed after a failure,
// and its best guess of the leader, shared by all its sessions. It is safe
// for concurrent use; each concurrent caller needs its own kvSession.
type kvClient struct {
	endpoints map[node.ID]string
	ids       []node.ID // the keys of endpoints, ascending
	tls       *live.TLSFiles

	// AttemptTimeout bounds one attempt of a key-value operation (a
	// membership change waits for as long as the caller's context allows:
	// a new server must catch up first). BackoffMin and BackoffMax bound
	// the pause after a failed attempt, doubled at each failure, with up
	// to half of it again as jitter.
	attemptTimeout         time.Duration
	backoffMin, backoffMax time.Duration

	mu     sync.Mutex
	conns  map[node.ID]*live.Client
	leader node.ID // node.None when unknown
}

// newKVClient returns a client of the servers at endpoints (by node ID).
// tlsFiles is nil for a plaintext cluster.
func newKVClient(endpoints map[node.ID]string, tlsFiles *live.TLSFiles) *kvClient {
	c := &kvClient{endpoints: endpoints, tls: tlsFiles, conns: map[node.ID]*live.Client{}, leader: node.None,
		attemptTimeout: kvAttemptTimeout, backoffMin: kvBackoffMin, backoffMax: kvBackoffMax}
	for id := range endpoints {
		c.ids = append(c.ids, id)
	}
	slices.Sort(c.ids)
	return c
}

// Close closes every connection.
func (c *kvClient) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, cl := range c.conns {
		_ = cl.Close()
		delete(c.conns, id)
	}
}

// finalError is a failure that retrying cannot mend (a misconfigured
// endpoint, a cluster that does not run the key-value service).
type finalError struct{ err error }

func (e finalError) Error() string { return e.err.Error() }
func (e finalError) Unwrap() error { return e.err }

// dialError is a failure to reach a server at all: the request was not
// sent, so a write it carried was not applied.
type dialError struct{ err error }

func (e dialError) Error() string { return e.err.Error() }
func (e dialError) Unwrap() error { return e.err }

// conn returns the connection to server id, dialing it if needed.
func (c *kvClient) conn(ctx context.Context, id node.ID) (*live.Client, error) {
	c.mu.Lock()
	cl := c.conns[id]
	c.mu.Unlock()
	if cl != nil {
		return cl, nil
	}
	addr, ok := c.endpoints[id]
	if !ok {
		return nil, fmt.Errorf("no endpoint for %v", id)
	}
	wait := kvDialTimeout
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	if wait <= 0 {
		return nil, context.DeadlineExceeded
	}
	cl, err := live.DialClient(addr, c.tls, wait)
	if err != nil {
		return nil, err
	}
	if cl.Node() != id {
		_ = cl.Close()
		return nil, finalError{fmt.Errorf("endpoint %s is %v, but the endpoint list has it as %v: list the endpoints in node-ID order, or as ID=HOST:PORT", addr, cl.Node(), id)}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.conns[id]; old != nil { // another caller dialed meanwhile
		_ = cl.Close()
		return old, nil
	}
	c.conns[id] = cl
	return cl, nil
}

// drop closes and forgets a connection that failed, so that the next
// attempt dials afresh instead of waiting out gRPC's reconnection backoff.
func (c *kvClient) drop(id node.ID, cl *live.Client) {
	c.mu.Lock()
	if c.conns[id] == cl {
		delete(c.conns, id)
	}
	c.mu.Unlock()
	_ = cl.Close()
}

// call makes one attempt: it sends body (a kv.ClientRequest in CBOR) to
// server id and decodes the kv.Result it answers.
func (c *kvClient) call(ctx context.Context, id node.ID, body []byte) (kv.Result, error) {
	cl, err := c.conn(ctx, id)
	if err != nil {
		if fe := (finalError{}); errors.As(err, &fe) {
			return kv.Result{}, err
		}
		return kv.Result{}, dialError{err}
	}
	typ, reply, err := cl.Call(ctx, kvRequestType, live.CBOR, body)
	if err != nil {
		var re *live.RequestError
		switch {
		case errors.As(err, &re) && strings.HasPrefix(re.Msg, "bad request"):
			return kv.Result{}, finalError{fmt.Errorf("%v does not serve the key-value API (is the cluster running raft or multipaxos?): %s", id, re.Msg)}
		case errors.As(err, &re), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		default: // unreachable, or the connection broke
			c.drop(id, cl)
		}
		return kv.Result{}, err
	}
	if typ != kvResultType {
		return kv.Result{}, finalError{fmt.Errorf("%v answered a %s, not a %s: is the cluster running raft or multipaxos?", id, typ, kvResultType)}
	}
	v, err := kvCodec.DecodeCBOR(kvResultType, reply)
	if err != nil {
		return kv.Result{}, finalError{fmt.Errorf("%v answered a malformed %s: %v", id, kvResultType, err)}
	}
	return v.(kv.Result), nil
}

func (c *kvClient) has(id node.ID) bool { _, ok := c.endpoints[id]; return ok }

func (c *kvClient) leaderGuess() node.ID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leader
}

func (c *kvClient) setLeader(id node.ID) {
	c.mu.Lock()
	c.leader = id
	c.mu.Unlock()
}

// forgetLeader drops the guess if it was id.
func (c *kvClient) forgetLeader(id node.ID) {
	c.mu.Lock()
	if c.leader == id {
		c.leader = node.None
	}
	c.mu.Unlock()
}

// after returns the server to try after id, in ID order, wrapping around;
// a random one for node.None.
func (c *kvClient) after(id node.ID) node.ID {
	if id == node.None {
		return c.ids[rand.IntN(len(c.ids))]
	}
	i, _ := slices.BinarySearch(c.ids, id+1)
	return c.ids[i%len(c.ids)]
}

// kvSession is one client session of the dissertation's §6.3: a random
// client ID and a sequence number per write, the same for every attempt of
// that write, so the servers apply a retried write once. A session runs one
// operation at a time.
type kvSession struct {
	c   *kvClient
	id  uint64
	seq uint64
}

// session opens a new session with a random, non-zero client ID.
func (c *kvClient) session() *kvSession {
	var b [8]byte
	for {
		_, _ = crand.Read(b[:])
		if id := binary.LittleEndian.Uint64(b[:]); id != 0 {
			return &kvSession{c: c, id: id}
		}
	}
}

// kvOpError is an operation the cluster refused for good (invalid input, a
// membership change refused): retrying it would not help.
type kvOpError struct{ res kv.Result }

func (e *kvOpError) Error() string { return e.res.Err }

// kvWrite reports whether op goes through the log (and so needs a session
// number).
func kvWrite(op any) bool {
	switch op.(type) {
	case kv.Put, kv.Delete, kv.CAS:
		return true
	}
	return false
}

// do runs op on the cluster until it succeeds, fails for good, or ctx ends.
// It goes to the server it believes leads, follows the leader hints of
// not-leader answers at once, and after any other failure (no connection,
// an attempt that timed out, a leader that lost its term) tries again after
// an exponential, jittered backoff: the same server if it named a leader,
// the next one otherwise. An error after ctx's end says what the last
// attempt met and, for a write, that its outcome is unknown.
func (s *kvSession) do(ctx context.Context, op any) (kv.Result, error) {
	c := s.c
	req := kv.ClientRequest{Op: kv.AnyOp{V: op}}
	write := kvWrite(op)
	if write {
		s.seq++
		req.Client, req.Seq = s.id, s.seq
	}
	body, err := kvCodec.EncodeValue(req)
	if err != nil {
		return kv.Result{}, fmt.Errorf("encode request: %w", err)
	}
	attempt := c.attemptTimeout
	switch op.(type) {
	case kv.AddServer, kv.RemoveServer:
		attempt = 0 // as long as ctx allows: a new server catches up first
	}
	began := time.Now()
	backoff := c.backoffMin
	pause := func() bool {
		d := backoff + rand.N(backoff/2+1)
		backoff = min(2*backoff, c.backoffMax)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	target := c.leaderGuess()
	hops := 0 // hints followed in a row without a pause
	var last string
	// unsure: some attempt may have reached a server that went on to
	// propose the write.
	unsure := false
retry:
	for ctx.Err() == nil {
		if target == node.None || !c.has(target) {
			target = c.after(target)
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if attempt > 0 {
			actx, cancel = context.WithTimeout(ctx, attempt)
		}
		res, err := c.call(actx, target, body)
		cancel()
		if err != nil {
			if fe := (finalError{}); errors.As(err, &fe) {
				return kv.Result{}, fe
			}
			if ctx.Err() != nil {
				break retry
			}
			last = fmt.Sprintf("%v: %s", target, shortError(err))
			if de := (dialError{}); !errors.As(err, &de) {
				unsure = true
			}
			c.forgetLeader(target)
			target, hops = c.after(target), 0
			if !pause() {
				break retry
			}
			continue
		}
		switch res.Code {
		case kv.CodeOK:
			if _, status := op.(kv.StatusOp); !status {
				c.setLeader(target)
			}
			return res, nil
		case kv.CodeNotLeader, kv.CodeRetry:
			last = fmt.Sprintf("%v: %s", target, res.Err)
			unsure = unsure || res.Code == kv.CodeRetry
			c.forgetLeader(target)
			hint := res.Leader
			if res.Code == kv.CodeNotLeader && hint != node.None && hint != target && c.has(hint) && hops < len(c.ids) {
				target = hint
				hops++
				continue // a fresh hint: follow it at once
			}
			switch {
			case hint != node.None && c.has(hint):
				target = hint
			case res.Code == kv.CodeNotLeader:
				target = c.after(target)
			}
			hops = 0
			if !pause() {
				break retry
			}
			continue
		}
		if res.Code == kv.CodeFailed && unsure && c.changeDone(ctx, op) {
			// An earlier attempt of this membership change was applied
			// after all: the retry found nothing left to change.
			return kv.Result{OK: true}, nil
		}
		return res, &kvOpError{res} // invalid, stale, failed: final
	}
	elapsed := time.Since(began).Round(time.Millisecond)
	msg := fmt.Sprintf("timed out after %v", elapsed)
	if last != "" {
		msg += "; last attempt: " + last
	} else {
		msg += " before any server answered"
	}
	switch {
	case write && unsure:
		msg += "; the write's outcome is unknown (it may yet be applied)"
	case write:
		msg += "; the write was not applied (no server took it)"
	}
	return kv.Result{}, errors.New(msg)
}

// changeDone reports whether the leader's configuration already is what
// membership change op asks for.
func (c *kvClient) changeDone(ctx context.Context, op any) bool {
	st, ok := leaderStatus(c.statuses(ctx, time.Second))
	if !ok {
		return false
	}
	switch op := op.(type) {
	case kv.AddServer:
		return st.Config.IsVoter(op.ID)
	case kv.RemoveServer:
		return !slices.Contains(st.Config.Members(), op.ID)
	}
	return false
}

// shortError trims the layers of a gRPC error to what a user needs.
func shortError(err error) string {
	s := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	case strings.Contains(s, "connection refused"):
		return "connection refused (not running?)"
	}
	if i := strings.LastIndex(s, "desc = "); i >= 0 {
		s = strings.Trim(s[i+len("desc = "):], `"`)
	}
	return s
}

// statusResult asks server id for the status of its replicated log, in one
// attempt.
func (c *kvClient) statusResult(ctx context.Context, id node.ID) (kv.Result, error) {
	body, _ := kvCodec.EncodeValue(kv.ClientRequest{Op: kv.AnyOp{V: kv.StatusOp{}}})
	res, err := c.call(ctx, id, body)
	switch {
	case err != nil:
		return kv.Result{}, err
	case res.Code != kv.CodeOK || (res.Status == nil && res.MultiPaxos == nil):
		return kv.Result{}, fmt.Errorf("%v: %s", id, cmp.Or(res.Err, "no status in the reply"))
	}
	return res, nil
}

// status asks server id for its Raft status, in one attempt.
func (c *kvClient) status(ctx context.Context, id node.ID) (raft.Status, error) {
	res, err := c.statusResult(ctx, id)
	switch {
	case err != nil:
		return raft.Status{}, err
	case res.Status == nil:
		return raft.Status{}, fmt.Errorf("%v runs Multi-Paxos, not Raft", id)
	}
	return *res.Status, nil
}

// serverStatus is one server's status, or why it could not be had: Status
// on Raft, MultiPaxos on Multi-Paxos.
type serverStatus struct {
	ID         node.ID
	Address    string
	Status     raft.Status
	MultiPaxos *consensus.MultiPaxosStatus
	Err        error
}

// statuses asks every server for its status at once, each for at most
// timeout.
func (c *kvClient) statuses(ctx context.Context, timeout time.Duration) []serverStatus {
	out := make([]serverStatus, len(c.ids))
	var wg sync.WaitGroup
	for i, id := range c.ids {
		out[i] = serverStatus{ID: id, Address: c.endpoints[id]}
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			res, err := c.statusResult(sctx, id)
			out[i].Err, out[i].MultiPaxos = err, res.MultiPaxos
			if res.Status != nil {
				out[i].Status = *res.Status
			}
		})
	}
	wg.Wait()
	return out
}

// leaderStatus returns the status of the server that leads in the highest
// term among those that answer, or false if none says it leads.
func leaderStatus(sts []serverStatus) (raft.Status, bool) {
	var best raft.Status
	found := false
	for _, s := range sts {
		if s.Err == nil && s.MultiPaxos == nil && s.Status.Role == raft.Leader && (!found || s.Status.Term > best.Term) {
			best, found = s.Status, true
		}
	}
	return best, found
}

// parseEndpoints parses --endpoints: "host:port,host:port" (the position is
// the node ID) or "0=host:port,1=host:port" (IDs may then have gaps).
func parseEndpoints(s string) (map[node.ID]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("--endpoints is required: the servers' addresses as HOST:PORT,HOST:PORT,... in node-ID order (synod cluster prints the list)")
	}
	eps := map[node.ID]string{}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		id, addr := node.ID(i), part
		if idText, a, ok := strings.Cut(part, "="); ok {
			n, err := strconv.Atoi(strings.TrimPrefix(idText, "n"))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad --endpoints entry %q: the ID before '=' must be a node number, e.g. 0=127.0.0.1:7000", part)
			}
			id, addr = node.ID(n), a
		}
		if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("bad --endpoints entry %q: want HOST:PORT (its position is the node ID) or ID=HOST:PORT", part)
		}
		if _, dup := eps[id]; dup {
			return nil, fmt.Errorf("bad --endpoints: node %d listed twice", id)
		}
		eps[id] = addr
	}
	return eps, nil
}

// parseNodeID parses a server ID as "3" or "n3".
func parseNodeID(s string) (node.ID, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "n"))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad server %q: want a node ID such as 3 or n3", s)
	}
	return node.ID(n), nil
}

// kvFlags are the flags every `synod kv` subcommand shares.
type kvFlags struct {
	endpoints     string
	timeout       time.Duration
	ca, cert, key string
	asJSON        bool
	limit         int
	absent        bool
	// Set before a subcommand runs: the client, and the context that
	// carries --timeout.
	client *kvClient
	ctx    context.Context
	cancel context.CancelFunc
}

func newKVCmd() *cobra.Command {
	f := &kvFlags{}
	cmd := &cobra.Command{
		Use:   "kv COMMAND --endpoints HOST:PORT,HOST:PORT,...",
		Short: "Read and write the replicated key-value store of a live raft or multipaxos cluster",
		Long: `A client of the key-value service that "synod cluster raft" (or multipaxos)
runs. It finds the
leader by itself (following the servers' hints), retries through leader
changes with exponential backoff, and opens a session so that a write retried
after a lost answer is applied exactly once. It gives up after --timeout.

--endpoints lists the servers in node-ID order (n0's address first), as
"synod cluster" prints it, or as ID=HOST:PORT pairs.`,
		Example: `  synod kv --endpoints 127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002 put greeting hello
  synod kv --endpoints $EP get greeting
  synod kv --endpoints $EP cas greeting hello bonjour
  synod kv --endpoints $EP range "" --json
  synod kv --endpoints $EP status
  synod kv --endpoints $EP add-server 3`,
		Args: cobra.NoArgs,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if f.timeout <= 0 {
				return fmt.Errorf("bad --timeout %v: want a positive duration such as 5s", f.timeout)
			}
			eps, err := parseEndpoints(f.endpoints)
			if err != nil {
				return err
			}
			var tlsFiles *live.TLSFiles
			if f.ca != "" || f.cert != "" || f.key != "" {
				if f.ca == "" || f.cert == "" || f.key == "" {
					return fmt.Errorf("TLS needs all of --tls-ca, --tls-cert and --tls-key")
				}
				tlsFiles = &live.TLSFiles{CA: f.ca, Cert: f.cert, Key: f.key}
			}
			f.client = newKVClient(eps, tlsFiles)
			f.ctx, f.cancel = context.WithTimeout(cmd.Context(), f.timeout)
			return nil
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.endpoints, "endpoints", "", "the servers as HOST:PORT,... in node-ID order, or ID=HOST:PORT,...")
	pf.DurationVar(&f.timeout, "timeout", 5*time.Second, "give up after this long")
	pf.StringVar(&f.ca, "tls-ca", "", "CA certificate for a TLS cluster")
	pf.StringVar(&f.cert, "tls-cert", "", "client certificate")
	pf.StringVar(&f.key, "tls-key", "", "client key")

	// run wraps a subcommand: it runs body with the client, then closes it.
	run := func(body func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			defer f.cancel()
			defer f.client.Close()
			return body(cmd, args)
		}
	}
	do := func(op any) (kv.Result, error) { return f.client.session().do(f.ctx, op) }
	out := func(cmd *cobra.Command) io.Writer { return cmd.OutOrStdout() }

	put := &cobra.Command{
		Use:   "put KEY VALUE",
		Short: "Set KEY to VALUE",
		Args:  exactArgs("put KEY VALUE"),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if _, err := do(kv.Put{Key: args[0], Value: args[1]}); err != nil {
				return fmt.Errorf("put %q: %w", args[0], err)
			}
			fmt.Fprintln(out(cmd), "OK")
			return nil
		}),
	}
	get := &cobra.Command{
		Use:   "get KEY",
		Short: "Print KEY's value (a linearizable read through the leader)",
		Args:  exactArgs("get KEY"),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			res, err := do(kv.Get{Key: args[0]})
			if err != nil {
				return fmt.Errorf("get %q: %w", args[0], err)
			}
			if !res.Found {
				return fmt.Errorf("get %q: no such key", args[0])
			}
			fmt.Fprintln(out(cmd), res.Value)
			return nil
		}),
	}
	del := &cobra.Command{
		Use:   "del KEY",
		Short: "Delete KEY (deleting a missing key is not an error)",
		Args:  exactArgs("del KEY"),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if _, err := do(kv.Delete{Key: args[0]}); err != nil {
				return fmt.Errorf("del %q: %w", args[0], err)
			}
			fmt.Fprintln(out(cmd), "OK")
			return nil
		}),
	}
	cas := &cobra.Command{
		Use:   "cas KEY OLD NEW | cas --absent KEY NEW",
		Short: "Set KEY to NEW if it holds OLD (or, with --absent, if it does not exist)",
		Args: func(_ *cobra.Command, args []string) error {
			if f.absent && len(args) != 2 {
				return fmt.Errorf("cas --absent takes KEY NEW, got %d arguments", len(args))
			}
			if !f.absent && len(args) != 3 {
				return fmt.Errorf("cas takes KEY OLD NEW (or --absent KEY NEW), got %d arguments", len(args))
			}
			return nil
		},
		RunE: run(func(cmd *cobra.Command, args []string) error {
			op := kv.CAS{Key: args[0], Absent: f.absent, New: args[len(args)-1]}
			if !f.absent {
				op.Old = args[1]
			}
			res, err := do(op)
			if err != nil {
				return fmt.Errorf("cas %q: %w", args[0], err)
			}
			if !res.OK {
				if res.Found {
					return fmt.Errorf("cas %q: not swapped: the key holds %q", args[0], res.Value)
				}
				return fmt.Errorf("cas %q: not swapped: the key does not exist", args[0])
			}
			fmt.Fprintln(out(cmd), "OK")
			return nil
		}),
	}
	cas.Flags().BoolVar(&f.absent, "absent", false, "swap only if KEY does not exist (put-if-absent)")
	rng := &cobra.Command{
		Use:   "range PREFIX",
		Short: `List the keys starting with PREFIX ("" for all) in key order, as KEY<tab>VALUE lines or --json`,
		Args:  exactArgs("range PREFIX"),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if f.limit < 0 {
				return fmt.Errorf("bad --limit %d: want 0 (no limit) or more", f.limit)
			}
			res, err := do(kv.Range{Prefix: args[0], Limit: f.limit})
			if err != nil {
				return fmt.Errorf("range %q: %w", args[0], err)
			}
			if f.asJSON {
				type pair struct {
					Key   string `json:"key"`
					Value string `json:"value"`
				}
				pairs := make([]pair, len(res.KVs))
				for i, p := range res.KVs {
					pairs[i] = pair{p.Key, p.Value}
				}
				b, _ := json.Marshal(pairs)
				fmt.Fprintln(out(cmd), string(b))
				return nil
			}
			for _, p := range res.KVs {
				fmt.Fprintf(out(cmd), "%s\t%s\n", p.Key, p.Value)
			}
			return nil
		}),
	}
	rng.Flags().IntVar(&f.limit, "limit", 0, "list at most this many keys (0: all)")
	rng.Flags().BoolVar(&f.asJSON, "json", false, `print a JSON array of {"key","value"} objects`)
	status := &cobra.Command{
		Use:   "status",
		Short: "Show every server's status: role, term (Raft) or ballot (Multi-Paxos), leader, commit index, members",
		Args:  exactArgs("status"),
		RunE: run(func(cmd *cobra.Command, _ []string) error {
			sts := f.client.statuses(f.ctx, f.timeout)
			if f.asJSON {
				type entry struct {
					Node       string                      `json:"node"`
					Address    string                      `json:"address"`
					Role       string                      `json:"role,omitempty"`
					Status     *raft.Status                `json:"status,omitempty"`
					MultiPaxos *consensus.MultiPaxosStatus `json:"multipaxos,omitempty"`
					Error      string                      `json:"error,omitempty"`
				}
				var es []entry
				for _, s := range sts {
					e := entry{Node: s.ID.String(), Address: s.Address}
					switch {
					case s.Err != nil:
						e.Error = shortError(s.Err)
					case s.MultiPaxos != nil:
						e.Role, e.MultiPaxos = s.MultiPaxos.Role.String(), s.MultiPaxos
					default:
						e.Role, e.Status = s.Status.Role.String(), &s.Status
					}
					es = append(es, e)
				}
				b, _ := json.MarshalIndent(es, "", "  ")
				fmt.Fprintln(out(cmd), string(b))
			} else {
				printStatuses(out(cmd), sts)
			}
			for _, s := range sts {
				if s.Err == nil {
					return nil
				}
			}
			return fmt.Errorf("status: no server answered")
		}),
	}
	status.Flags().BoolVar(&f.asJSON, "json", false, "print the statuses as JSON")
	member := func(use, short string, mk func(node.ID) any, done func(cmd *cobra.Command, id node.ID) error) *cobra.Command {
		return &cobra.Command{
			Use:   use + " N",
			Short: short,
			Args:  exactArgs(use + " N"),
			RunE: run(func(cmd *cobra.Command, args []string) error {
				id, err := parseNodeID(args[0])
				if err != nil {
					return err
				}
				if _, err := do(mk(id)); err != nil {
					if oe := (*kvOpError)(nil); errors.As(err, &oe) {
						return err // it names the change already
					}
					return fmt.Errorf("%s %v: %w", use, id, err)
				}
				return done(cmd, id)
			}),
		}
	}
	addServer := member("add-server", "Add server N to the cluster: it catches up as a learner, then votes (start it first with synod node --join)",
		func(id node.ID) any { return kv.AddServer{ID: id} },
		func(cmd *cobra.Command, id node.ID) error {
			fmt.Fprintf(out(cmd), "OK: %v is a voter%s\n", id, f.client.configNote(f.ctx))
			return nil
		})
	removeServer := member("remove-server", "Remove server N from the cluster (then stop its process)",
		func(id node.ID) any { return kv.RemoveServer{ID: id} },
		func(cmd *cobra.Command, id node.ID) error {
			fmt.Fprintf(out(cmd), "OK: %v is removed%s\n", id, f.client.configNote(f.ctx))
			return nil
		})
	transfer := member("transfer", "Hand leadership to server N and wait until it leads",
		func(id node.ID) any { return kv.TransferLeader{To: id} },
		func(cmd *cobra.Command, id node.ID) error {
			for {
				st, err := f.client.status(f.ctx, id)
				if err == nil && st.Role == raft.Leader {
					fmt.Fprintf(out(cmd), "OK: %v leads (term %d)\n", id, st.Term)
					return nil
				}
				select {
				case <-f.ctx.Done():
					return fmt.Errorf("transfer %v: started, but %v did not become leader within %v", id, id, f.timeout)
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	cmd.AddCommand(put, get, del, cas, rng, status, addServer, removeServer, transfer)
	return cmd
}

// configNote describes the leader's configuration, " (voters [n0 n1],
// leader n1, term 2)", waiting up to 3s for a leader (a leader that removed
// itself has just stepped down), or says that none answered.
func (c *kvClient) configNote(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for {
		if st, ok := leaderStatus(c.statuses(ctx, time.Second)); ok {
			return fmt.Sprintf(" (voters %v, leader %v, term %d)", st.Config.Voters, st.ID, st.Term)
		}
		select {
		case <-ctx.Done():
			return " (no leader answered since)"
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// printStatuses prints servers' statuses as a table.
func printStatuses(w io.Writer, sts []serverStatus) {
	for _, s := range sts {
		if s.MultiPaxos != nil {
			printMultiPaxosStatuses(w, sts)
			return
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tROLE\tTERM\tLEADER\tCOMMIT\tAPPLIED\tLAST\tVOTERS\tLEARNERS")
	var notes []string
	for _, s := range sts {
		if s.Err != nil {
			fmt.Fprintf(tw, "%v\t%s\tdown\t-\t-\t-\t-\t-\t-\t-\n", s.ID, s.Address)
			notes = append(notes, fmt.Sprintf("%v: %s", s.ID, shortError(s.Err)))
			continue
		}
		st := s.Status
		fmt.Fprintf(tw, "%v\t%s\t%v\t%d\t%v\t%d\t%d\t%d\t%v\t%v\n", st.ID, s.Address, st.Role, st.Term, st.Leader,
			st.CommitIndex, st.LastApplied, st.LastIndex, st.Config.Voters, st.Config.Learners)
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
}

// printMultiPaxosStatuses prints the statuses of Multi-Paxos servers: the
// ballot each promised (round.leader), the chosen prefix (commit), the last
// slot executed, the next slot (proposed, on the leader) and the snapshot's.
func printMultiPaxosStatuses(w io.Writer, sts []serverStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tROLE\tBALLOT\tLEADER\tCOMMIT\tEXECUTED\tNEXT\tSNAPSHOT\tMEMBERS")
	var notes []string
	for _, s := range sts {
		st := s.MultiPaxos
		if s.Err != nil || st == nil {
			fmt.Fprintf(tw, "%v\t%s\tdown\t-\t-\t-\t-\t-\t-\t-\n", s.ID, s.Address)
			if s.Err != nil {
				notes = append(notes, fmt.Sprintf("%v: %s", s.ID, shortError(s.Err)))
			}
			continue
		}
		fmt.Fprintf(tw, "%v\t%s\t%v\t%s\t%v\t%d\t%d\t%d\t%d\t%v\n", st.ID, s.Address, st.Role, st.Ballot, st.Leader,
			st.Commit, st.Executed, st.NextSlot, st.SnapshotSlot, st.Members)
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
}

// exactArgs checks the number of arguments of a command with the given
// usage.
func exactArgs(usage string) cobra.PositionalArgs {
	want := len(strings.Fields(usage)) - 1
	return func(_ *cobra.Command, args []string) error {
		if len(args) != want {
			return fmt.Errorf("%s: want %d argument(s), got %d", usage, want, len(args))
		}
		return nil
	}
}
