package live

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"

	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/synod-dev/synod/node"
)

// TransportConfig configures a node's Transport.
type TransportConfig struct {
	// Self is this node's ID.
	Self node.ID
	// Listen is the "host:port" to listen on for peers and clients
	// (":0" or "127.0.0.1:0" for an ephemeral port; see Transport.Addr).
	Listen string
	// Listener, if set, is used instead of listening on Listen: a caller
	// that must know every member's address before starting any (a local
	// cluster, a test) can open the listeners first. Close closes it.
	Listener net.Listener
	// Peers is every member's address, self included or not. The node with
	// the lower ID of a pair dials the higher one, so only the addresses of
	// higher IDs are dialed.
	Peers map[node.ID]string
	// TLS turns on mutual TLS with these files; nil means plaintext.
	TLS *TLSFiles
	// MaxFrameSize bounds a frame (payload, type name and clock, see
	// frameSize); 0 means DefaultMaxFrameSize. It may not exceed
	// node.MaxMessageSize.
	MaxFrameSize int
	// QueueSize bounds the frames waiting to be sent to each peer; 0 means
	// DefaultQueueSize. Frames sent to a full queue are dropped and counted
	// ("queue-full"). Besides the queue, a peer's writer holds at most one
	// batch it took from the queue and is writing.
	QueueSize int
	// QueueBytes bounds the bytes (by frameSize) waiting for each peer, so
	// that a dead peer holds at most this much memory; 0 means
	// DefaultQueueBytes.
	QueueBytes int
	// Metrics receives the transport's counts; required.
	Metrics *Metrics
	// Logger gets connection events and the first bad input of each kind
	// from each peer; nil discards.
	Logger *slog.Logger
	// Deliver is called for every well-formed frame from peer from, in the
	// order that peer sent them, from transport goroutines (frames from
	// different peers may be delivered concurrently). It must not block for
	// long: a slow Deliver stalls that peer's stream. It is never called
	// after Close returns, and must not call Close.
	Deliver func(from node.ID, f Frame)
	// Request serves the client API: a request with a registered operation
	// type name and its body in encoding enc (JSON or CBOR); it returns the
	// reply's type name and body in the same encoding. ctx carries the
	// client's deadline and is cancelled if the client goes away. nil answers
	// every request with codes.Unimplemented.
	Request func(ctx context.Context, typ string, enc Encoding, body []byte) (replyType string, replyBody []byte, err error)
}

// Defaults of TransportConfig.
const (
	DefaultQueueSize  = 4096
	DefaultQueueBytes = 64 << 20
)

// helloTimeout bounds the wait for the other end's hello, either way (a
// variable for tests; each Transport copies it when made).
var helloTimeout = 10 * time.Second

// Timing of the peer connections.
const (
	backoffBase = 50 * time.Millisecond
	backoffMax  = 2 * time.Second
	// Keepalive (TCP probes between peers, gRPC pings for clients) detects
	// a peer that vanished without closing its connection (a cut cable, a
	// frozen VM) within about keepaliveTime+keepaliveTimeout.
	keepaliveTime    = 10 * time.Second
	keepaliveTimeout = 10 * time.Second
	// wireSlack is what a message (peer wire or gRPC) may carry beyond MaxFrameSize: the
	// envelope around a batch of frames whose frameSize adds up to at most
	// MaxFrameSize, or a request's type name.
	wireSlack = 64 << 10
)

// Transport connects a node to its peers and serves its clients on one port,
// with optional mutual TLS: peers speak the framed peer wire (peerwire.go),
// clients gRPC, and the first bytes of a connection tell which.
//
// Each pair of peers shares one long-lived TCP connection, opened by the
// lower ID, which introduces itself with a hello; the acceptor checks the ID
// is a configured peer. Each peer has a bounded send queue drained by one
// writer that turns what is waiting into batches and one write call; a broken
// connection is reopened with exponential backoff and jitter (capped at 2s),
// and frames queued meanwhile go out when it is back. Malformed or oversized
// input is counted (Metrics.MessagesDropped), logged once per peer and
// reason, and dropped; the connection and the node go on (a message over the
// size limit, which cannot be skipped, restarts the connection).
//
// Counted here: Metrics.Sent when a batch was written, drops, queue
// depth and reconnects. Metrics.Received is left to the node, which knows the
// true type of a message once it has decoded the payload.
type Transport struct {
	cfg      TransportConfig
	m        *Metrics
	log      *slog.Logger
	maxFrame int
	maxWire  int           // message limit, peer wire and gRPC
	hello    time.Duration // helloTimeout
	srvTLS   *tls.Config   // nil: plaintext
	cliTLS   *tls.Config
	peers    map[node.ID]*peer // fixed after NewTransport: read without locking

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // goroutines of our own: accept, connections, dialers, loopback, Serve
	closed atomic.Bool

	mu      sync.Mutex
	started bool
	lis     net.Listener
	grpcLis *connListener // the accepted connections that are gRPC clients
	srv     *grpc.Server
	logged  map[logKey]bool
}

type logKey struct {
	peer   node.ID
	reason string
}

// peer is the sending side of one peer: its queue, and the session (stream)
// currently draining it.
type peer struct {
	id       node.ID
	addr     string
	q        sendQueue
	reconn   prometheus.Counter
	accepted atomic.Int64 // inbound connections accepted so far

	cur atomic.Pointer[session] // the connection draining q; nil while there is none
	// queued: Queue added frames that no Flush has handed on yet.
	queued atomic.Bool
}

// sendQueue is a peer's bounded queue of frames. Senders append under the
// lock; the one writer takes everything waiting in one swap, so a frame costs
// an append, not a channel operation, on each side.
type sendQueue struct {
	mu       sync.Mutex
	frames   []Frame
	bytes    int              // sum of frameSize over frames
	maxLen   int              // QueueSize
	maxBytes int              // QueueBytes
	depth    prometheus.Gauge // len(frames): see push
	wake     chan struct{}    // capacity 1: the queue became non-empty
}

// depthEvery is how often push updates the depth gauge: a store per
// message into a cache line the writer also touches costs more than the
// rest of push. The gauge is exact whenever the queue is empty (the writer
// sets it on every take) or full, and within depthEvery of the truth
// between.
const depthEvery = 64

// push appends f unless the queue is full, waking the writer if the queue
// was empty and wake is set.
func (q *sendQueue) push(f Frame, size int, wake bool) bool {
	q.mu.Lock()
	n := len(q.frames)
	if n >= q.maxLen || q.bytes+size > q.maxBytes {
		q.depth.Set(float64(n))
		q.mu.Unlock()
		return false
	}
	q.frames = append(q.frames, f)
	q.bytes += size
	if n == 0 || (n+1)%depthEvery == 0 {
		q.depth.Set(float64(n + 1))
	}
	q.mu.Unlock()
	if n == 0 && wake {
		q.signal()
	}
	return true
}

// take swaps out everything waiting (appending it to spare[:0], which it
// returns), or returns nil when the queue is empty or, with a limit above
// zero, holds more than limit bytes (by frameSize).
func (q *sendQueue) take(spare []Frame, limit int) []Frame {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.frames) == 0 || (limit > 0 && q.bytes > limit) {
		return nil
	}
	out := q.frames
	q.frames = spare[:0]
	q.bytes = 0
	q.depth.Set(0)
	return out
}

// signal wakes the writer.
func (q *sendQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// wait takes what is waiting, blocking until something is or ctx ends
// (then it returns nil).
func (q *sendQueue) wait(ctx context.Context, spare []Frame) []Frame {
	for {
		if out := q.take(spare, 0); out != nil {
			return out
		}
		select {
		case <-ctx.Done():
			return nil
		case <-q.wake:
		}
	}
}

// empty reports whether nothing waits.
func (q *sendQueue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.frames) == 0
}

// NewTransport checks cfg and loads the TLS files; nothing listens or dials
// before Start.
func NewTransport(cfg TransportConfig) (*Transport, error) {
	if cfg.Metrics == nil {
		return nil, errors.New("live: transport: Metrics is required")
	}
	if cfg.Deliver == nil {
		return nil, errors.New("live: transport: Deliver is required")
	}
	if cfg.Listen == "" && cfg.Listener == nil {
		return nil, errors.New("live: transport: no listen address")
	}
	if cfg.Self < 0 {
		return nil, fmt.Errorf("live: transport: bad self ID %d", int(cfg.Self))
	}
	if cfg.MaxFrameSize == 0 {
		cfg.MaxFrameSize = DefaultMaxFrameSize
	}
	if cfg.MaxFrameSize < 256 || cfg.MaxFrameSize > node.MaxMessageSize {
		return nil, fmt.Errorf("live: transport: MaxFrameSize %d out of range [256, %d]", cfg.MaxFrameSize, node.MaxMessageSize)
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.QueueBytes == 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	if cfg.QueueSize < 0 || cfg.QueueBytes < 0 {
		return nil, fmt.Errorf("live: transport: negative queue bound (QueueSize %d, QueueBytes %d)", cfg.QueueSize, cfg.QueueBytes)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Transport{
		cfg:      cfg,
		m:        cfg.Metrics,
		log:      cfg.Logger.With("component", "transport", "self", cfg.Self.String()),
		maxFrame: cfg.MaxFrameSize,
		maxWire:  cfg.MaxFrameSize + wireSlack,
		hello:    helloTimeout,
		peers:    map[node.ID]*peer{},
		logged:   map[logKey]bool{},
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	ids := []node.ID{cfg.Self}
	for id := range cfg.Peers {
		if id != cfg.Self {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		if id < 0 {
			return nil, fmt.Errorf("live: transport: bad peer ID %d", int(id))
		}
		addr := cfg.Peers[id]
		if id > cfg.Self && addr == "" {
			return nil, fmt.Errorf("live: transport: no address for peer %s", id)
		}
		lbl := PeerLabel(id)
		t.peers[id] = &peer{
			id:   id,
			addr: addr,
			q: sendQueue{
				maxLen:   cfg.QueueSize,
				maxBytes: cfg.QueueBytes,
				depth:    t.m.QueueDepth.WithLabelValues(lbl),
				wake:     make(chan struct{}, 1),
			},
			reconn: t.m.Reconnects.WithLabelValues(lbl),
		}
	}
	if cfg.TLS != nil {
		sc, err := cfg.TLS.serverConfig()
		if err != nil {
			return nil, err
		}
		sc.NextProtos = []string{"h2"} // gRPC clients insist on it; peers offer none
		cc, err := cfg.TLS.clientConfig()
		if err != nil {
			return nil, err
		}
		t.srvTLS, t.cliTLS = sc, cc
	}
	return t, nil
}

// Start listens, serves peers and clients, and starts dialing the peers with
// higher IDs. It returns once the listener is up.
func (t *Transport) Start() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.started {
		return errors.New("live: transport: started twice")
	}
	if t.closed.Load() {
		return errors.New("live: transport: closed")
	}
	lis := t.cfg.Listener
	if lis == nil {
		var err error
		if lis, err = net.Listen("tcp", t.cfg.Listen); err != nil {
			return fmt.Errorf("live: transport: listen on %s: %w", t.cfg.Listen, err)
		}
	}
	t.started = true
	t.lis = lis
	t.grpcLis = newConnListener(lis.Addr())
	t.srv = grpc.NewServer(
		// TLS, if any, is done by serveConn before gRPC sees the connection.
		grpc.Creds(insecure.NewCredentials()),
		grpc.MaxRecvMsgSize(t.maxWire),
		grpc.MaxSendMsgSize(t.maxWire),
		grpc.ConnectionTimeout(t.hello),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: keepaliveTime, Timeout: keepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: keepaliveTime / 2, PermitWithoutStream: true}),
		grpc.WaitForHandlers(true), // Close joins the handlers, so Deliver is never called after it
		grpc.StaticStreamWindowSize(streamWindow),
		grpc.StaticConnWindowSize(connWindow),
		// Requests run on a few long-lived goroutines rather than one new
		// goroutine each, whose stack would grow afresh for every request.
		grpc.NumStreamWorkers(uint32(max(4, runtime.GOMAXPROCS(0)))),
	)
	t.srv.RegisterService(&clientServiceDesc, t)
	t.log.Info("listening", "addr", lis.Addr().String(), "tls", t.cfg.TLS != nil)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		if err := t.srv.Serve(t.grpcLis); err != nil && !t.closed.Load() {
			t.log.Error("serve", "err", err)
		}
	}()
	t.wg.Add(1)
	go t.acceptLoop(lis)
	ids := make([]node.ID, 0, len(t.peers))
	for id := range t.peers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		p := t.peers[id]
		switch {
		case id == t.cfg.Self:
			t.wg.Add(1)
			go t.loopback(p)
		case id > t.cfg.Self:
			t.wg.Add(1)
			go t.dialLoop(p)
		}
	}
	return nil
}

// Addr is the address the transport listens on (nil before Start).
func (t *Transport) Addr() net.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lis == nil {
		return nil
	}
	return t.lis.Addr()
}

// Send queues f for peer to and returns at once. The frame is dropped and
// counted in Metrics.MessagesDropped when the peer is unknown
// ("unknown-peer"), the frame is over MaxFrameSize ("oversized"), the peer's
// queue is full ("queue-full") or the transport is closed ("closed"). A
// frame to Self is handed to Deliver by a transport goroutine, like any
// other. After Send the transport owns f's slices.
func (t *Transport) Send(to node.ID, f Frame) { t.send(to, f, true) }

// Queue is Send without waking the writer that carries f: the caller
// promises to call Flush soon, so that frames queued together leave
// together, written by the goroutine that queued them when it can. A Node
// queues what one pass over its inbox sends and flushes at the end of the
// pass and before a Sync.
func (t *Transport) Queue(to node.ID, f Frame) { t.send(to, f, false) }

func (t *Transport) send(to node.ID, f Frame, wake bool) {
	p := t.peers[to]
	if p == nil {
		t.m.Drop(to, "unknown-peer")
		return
	}
	if t.closed.Load() {
		t.m.Drop(to, "closed")
		return
	}
	size := frameSize(&f)
	if size > t.maxFrame {
		t.m.Drop(to, "oversized")
		t.logOnce(to, "oversized-out", "frame not sent: over the size limit", "type", f.Type, "size", size, "limit", t.maxFrame)
		return
	}
	if !p.q.push(f, size, wake) {
		t.m.Drop(to, "queue-full")
		return
	}
	if !wake {
		p.queued.Store(true)
	}
}

// Flush hands on the frames queued with Queue: for each peer with some, it
// writes them from the calling goroutine if that cannot block (a plain TCP
// connection whose writer is idle and whose socket takes them at once) and
// wakes the peer's writer for the rest. A frame to Self goes to the
// goroutine that delivers it.
func (t *Transport) Flush() {
	for id, p := range t.peers {
		if !p.queued.Swap(false) {
			continue
		}
		if id == t.cfg.Self {
			p.q.signal()
			continue
		}
		t.flushInline(p)
	}
}

// Connected reports whether a stream to peer id is up (always true for
// Self once started).
func (t *Transport) Connected(id node.ID) bool {
	p := t.peers[id]
	if p == nil {
		return false
	}
	if id == t.cfg.Self {
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.started && !t.closed.Load()
	}
	return p.cur.Load() != nil
}

// Close stops the transport: the listener, every stream and every goroutine,
// which it waits for. Frames still queued are discarded. Close is idempotent.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed.Swap(true) {
		t.mu.Unlock()
		return nil
	}
	srv, lis := t.srv, t.lis
	t.mu.Unlock()
	t.cancel() // closes every peer connection and every one being sorted
	if lis != nil {
		lis.Close()
	} else if t.cfg.Listener != nil {
		t.cfg.Listener.Close()
	}
	if srv != nil {
		srv.Stop() // closes gRPC's connections, waits for handlers
	}
	t.wg.Wait()
	for _, p := range t.peers {
		p.q.take(nil, 0)
	}
	return nil
}

// loopback delivers the frames a node sends to itself.
func (t *Transport) loopback(p *peer) {
	defer t.wg.Done()
	sent := newSentCounters(t.m, p.id)
	var spare []Frame
	for {
		batch := p.q.wait(t.ctx, spare)
		if batch == nil {
			return
		}
		sent.count(batch)
		for i := range batch {
			t.cfg.Deliver(p.id, batch[i])
		}
		clear(batch)
		spare = batch
	}
}

// dialLoop keeps one connection open to a peer with a higher ID, reopening
// it with backoff whenever it breaks.
func (t *Transport) dialLoop(p *peer) {
	defer t.wg.Done()
	var bo backoffTimer
	failing := false // in a streak of failed attempts, logged at its start only
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			p.reconn.Inc()
		}
		connected, err := t.runOutbound(p)
		if t.ctx.Err() != nil {
			return
		}
		if connected {
			bo.reset()
			failing = false
			t.log.Info("peer connection closed", "peer", p.id.String(), "err", err)
		} else if !failing {
			failing = true
			t.log.Warn("cannot connect to peer; retrying with backoff, quietly until it works", "peer", p.id.String(), "addr", p.addr, "err", err)
		}
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(bo.next()):
		}
	}
}

// DropInbound counts a message from peer that the node could not use (reason
// "malformed", "unknown-type", ...) and logs the first of each reason per
// peer: the node calls it when a delivered frame's payload does not decode.
func (t *Transport) DropInbound(from node.ID, reason string, err error) {
	t.m.Drop(from, reason)
	t.logOnce(from, reason, "dropped a message from a peer (logged once per peer and reason)", "err", err)
}

// logOnce logs msg the first time a peer gives a reason, and never again.
func (t *Transport) logOnce(peer node.ID, reason, msg string, args ...any) {
	k := logKey{peer, reason}
	t.mu.Lock()
	seen := t.logged[k]
	t.logged[k] = true
	t.mu.Unlock()
	if !seen {
		t.log.Warn(msg, append([]any{"peer", peer.String(), "reason", reason}, args...)...)
	}
}

// dialOptions are the gRPC options of a client's connection.
func dialOptions(creds credentials.TransportCredentials, maxWire int) []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(
			grpc.CallContentSubtype(codecName),
			grpc.MaxCallRecvMsgSize(maxWire),
			grpc.MaxCallSendMsgSize(maxWire),
		),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: backoffBase, Multiplier: 2, Jitter: 0.2, MaxDelay: backoffMax},
			MinConnectTimeout: 5 * time.Second,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: keepaliveTime, Timeout: keepaliveTimeout, PermitWithoutStream: true}),
		grpc.WithStaticStreamWindowSize(streamWindow),
		grpc.WithStaticConnWindowSize(connWindow),
	}
}

// The HTTP/2 flow-control windows of client connections, fixed on both
// ends. gRPC's default, a window sized by bandwidth-delay estimation, pings
// the other end whenever data arrives and no estimate is under way, which
// for one request at a time is every request and every reply: two more
// writes and two more wake-ups of each side per round trip, for a window
// that on a loopback or LAN link would stay at its floor anyway. A request
// or reply larger than the window still goes through, a window per round
// trip.
const (
	streamWindow = 1 << 20
	connWindow   = 4 << 20
)

// backoffTimer yields exponentially growing delays from backoffBase to
// backoffMax, each with jitter: a uniformly random value in [d/2, d].
type backoffTimer struct{ d time.Duration }

func (b *backoffTimer) next() time.Duration {
	if b.d == 0 {
		b.d = backoffBase
	} else {
		b.d = min(2*b.d, backoffMax)
	}
	return b.d/2 + rand.N(b.d/2+1)
}

func (b *backoffTimer) reset() { b.d = 0 }

// typeCounters caches, for one peer, the per-type children of a message
// counter and a byte counter (MessagesSent and BytesSent, or the Received
// pair): a label lookup hashes the labels on every call, a child is a
// pointer.
type typeCounters struct {
	msgs, bytes *prometheus.CounterVec
	peer        string
	types       map[string][2]prometheus.Counter
}

// add counts n messages of type typ, of size bytes in all.
func (c *typeCounters) add(typ string, n, size int) {
	ctr, ok := c.types[typ]
	if !ok {
		if c.types == nil {
			c.types = map[string][2]prometheus.Counter{}
		}
		ctr = [2]prometheus.Counter{c.msgs.WithLabelValues(c.peer, typ), c.bytes.WithLabelValues(c.peer, typ)}
		c.types[typ] = ctr
	}
	ctr[0].Add(float64(n))
	ctr[1].Add(float64(size))
}

// sentCounters counts the frames sent to one peer.
type sentCounters struct{ typeCounters }

func newSentCounters(m *Metrics, peer node.ID) sentCounters {
	return sentCounters{typeCounters{msgs: m.MessagesSent, bytes: m.BytesSent, peer: PeerLabel(peer)}}
}

// count counts a batch, a run of frames of one type at a time.
func (c *sentCounters) count(batch []Frame) {
	for i := 0; i < len(batch); {
		typ := batch[i].Type
		n, bytes := 0, 0
		for ; i < len(batch) && batch[i].Type == typ; i++ {
			n++
			bytes += len(batch[i].Payload)
		}
		c.add(typ, n, bytes)
	}
}
