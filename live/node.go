package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// Sender is the part of a transport the event loop uses: *Transport
// implements it, and tests can plug in an in-memory one.
type Sender interface {
	Send(to node.ID, f Frame)
}

// inboundDropper is implemented by transports that count and log (once per
// peer and reason) messages the node could not decode.
type inboundDropper interface {
	DropInbound(from node.ID, reason string, err error)
}

// Config describes one live node.
type Config struct {
	// ID is this node; Group is every member, self included, ascending.
	ID    node.ID
	Group []node.ID
	// New builds the process (once per OS process: a restart is a new one).
	New node.Factory
	// Registry encodes and decodes messages, request ops and replies.
	Registry *node.Registry
	// Store is the node's durable storage (a FileStore in production).
	Store node.Store
	// Transport carries frames to peers (set before Run).
	Transport Sender
	// Faults and Metrics are shared with the transport and the admin endpoint.
	Faults  *Faults
	Metrics *Metrics
	// Logger is the node's logger (nil: discard).
	Logger *slog.Logger
	// Trace, if set, receives every event with its wall-clock time (as a
	// duration since the Unix epoch, so traces of different nodes and runs
	// line up; trace.Merge rebases them) and the vector clock this runtime
	// piggybacks on messages.
	Trace trace.Recorder
	// Resume is the vector clock this node's trace ended with before a
	// restart (nil on a first start): the clock continues from it and the
	// trace records a Restart, so a merged trace stays causally ordered.
	Resume trace.VC
	// Seed seeds env.Rand (0: a random seed).
	Seed uint64
	// MaxInbox bounds the inputs waiting to be stepped (0: 65536), and
	// MaxInboxBytes the bytes of the messages among them (0: 256 MiB);
	// past either, messages and requests are dropped and counted
	// ("inbox-full"), as a slow node must not exhaust memory.
	MaxInbox      int
	MaxInboxBytes int
}

// Node runs one process: its inputs (messages, timers, requests) wait in one
// inbox and are fed to the process one at a time, in order, so the process
// needs no locks, exactly as in the simulator.
//
// Who feeds them: the goroutine that delivers an input (a transport reader,
// a gRPC handler, a timer) runs the steps itself when no other goroutine is
// stepping the process, and otherwise leaves its input to the one that is
// (run-to-completion, see kick). That spares a wake-up of a dedicated loop
// goroutine on every input, which on a busy machine costs more than most
// steps. Run's goroutine only starts and stops the process and waits out
// pauses.
type Node struct {
	cfg   Config
	store node.Store // cfg.Store as the process sees it (loopStore)
	log   *slog.Logger
	proc  node.Process
	rng   *rand.Rand

	// stepMu is held by whoever steps the process; it guards the process
	// and the fields below it.
	stepMu    sync.Mutex
	running   bool // Start has run and Run has not returned
	vc        trace.VC
	timers    map[node.TimerID]*time.Timer // nil: a zero-delay timer already in the inbox
	nextTimer node.TimerID
	nextMsg   uint64
	unflushed bool           // Send queued frames (batchSender) that no flush has handed on
	recv      []typeCounters // Metrics' received counters, by sender

	mu         sync.Mutex
	inbox      []input
	inboxBytes int // the payload bytes of the messages in inbox
	wake       chan struct{}
	waiters    map[node.RequestID]chan replied

	nextReq atomic.Uint64
	done    chan struct{}
}

type inputKind uint8

const (
	inMessage inputKind = iota
	inTimer
	inRequest
)

type input struct {
	kind    inputKind
	from    node.ID
	frame   Frame
	timer   node.TimerID
	value   any
	req     node.RequestID
	arrived time.Time
}

type replied struct {
	result any
}

// ErrStopped is returned for requests to a node that has stopped.
var ErrStopped = errors.New("live: node stopped")

// NewNode prepares a node; Run starts it.
func NewNode(cfg Config) (*Node, error) {
	switch {
	case cfg.New == nil:
		return nil, errors.New("live: Config.New is nil")
	case cfg.Registry == nil:
		return nil, errors.New("live: Config.Registry is nil")
	case cfg.Store == nil:
		return nil, errors.New("live: Config.Store is nil")
	case len(cfg.Group) == 0 || int(cfg.ID) < 0 || int(cfg.ID) >= len(cfg.Group) || cfg.Group[cfg.ID] != cfg.ID:
		return nil, fmt.Errorf("live: node %v is not in the group %v (members are n0..n%d)", cfg.ID, cfg.Group, len(cfg.Group)-1)
	}
	if cfg.Faults == nil {
		cfg.Faults = NewFaults(cfg.Seed)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxInbox == 0 {
		cfg.MaxInbox = 1 << 16
	}
	if cfg.MaxInboxBytes == 0 {
		cfg.MaxInboxBytes = 256 << 20
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	n := &Node{
		cfg:     cfg,
		log:     cfg.Logger.With("node", cfg.ID.String()),
		rng:     rand.New(rand.NewPCG(seed, uint64(cfg.ID))),
		vc:      make(trace.VC, len(cfg.Group)),
		timers:  map[node.TimerID]*time.Timer{},
		wake:    make(chan struct{}, 1),
		waiters: map[node.RequestID]chan replied{},
		done:    make(chan struct{}),
	}
	n.store = loopStore{Store: cfg.Store, n: n}
	return n, nil
}

// SetTransport sets the transport before Run; the transport is usually
// built after the node, since it delivers into Node.Deliver.
func (n *Node) SetTransport(t Sender) { n.cfg.Transport = t }

// Faults returns the node's fault switchboard.
func (n *Node) Faults() *Faults { return n.cfg.Faults }

// Run starts the process and keeps it running until ctx is cancelled: the
// goroutines that deliver its inputs step it (see Node), and Run waits out
// pauses.
func (n *Node) Run(ctx context.Context) error {
	if n.cfg.Transport == nil {
		return errors.New("live: Config.Transport is nil")
	}
	defer close(n.done)
	n.stepMu.Lock()
	n.proc = n.cfg.New(n.cfg.ID)
	if n.cfg.Resume != nil {
		copy(n.vc, n.cfg.Resume)
		n.record(&trace.Event{Kind: trace.Restart})
	}
	n.record(&trace.Event{Kind: trace.Start})
	n.proc.Start(n)
	n.flushSends()
	n.running = true
	n.stepMu.Unlock()
	defer func() {
		n.stepMu.Lock()
		n.running = false
		n.stopTimers()
		n.stepMu.Unlock()
		n.failWaiters()
	}()
	n.kick() // what arrived before Start
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-n.wake:
		}
		for n.cfg.Faults.Paused() {
			// Paused: take no steps; inputs wait in the inbox.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(5 * time.Millisecond):
			}
		}
		n.kick()
	}
}

// kick steps the process through the waiting inputs on the calling
// goroutine, unless another goroutine is stepping it (which then takes them
// too: it looks at the inbox again after letting go of stepMu), the process
// is not running, or the node is paused (then Run's goroutine waits the
// pause out and kicks again).
func (n *Node) kick() {
	for n.stepMu.TryLock() {
		if !n.running {
			n.stepMu.Unlock()
			return
		}
		for {
			if n.cfg.Faults.Paused() {
				n.flushSends()
				n.stepMu.Unlock()
				n.signal()
				return
			}
			in, ok := n.pop()
			if !ok {
				break
			}
			n.step(in)
		}
		n.flushSends()
		n.stepMu.Unlock()
		if !n.waiting() {
			return
		}
	}
}

// signal wakes Run's goroutine.
func (n *Node) signal() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// waiting reports whether inputs wait in the inbox.
func (n *Node) waiting() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.inbox) > 0
}

func (n *Node) step(in input) {
	switch in.kind {
	case inMessage:
		n.receive(in)
	case inTimer:
		if _, pending := n.timers[in.timer]; !pending {
			return // cancelled
		}
		delete(n.timers, in.timer)
		n.record(&trace.Event{Kind: trace.Timer, Type: node.TypeName(in.value), Value: in.value})
		n.proc.Timeout(n, in.value)
	case inRequest:
		n.record(&trace.Event{Kind: trace.Request, Request: in.req, Type: n.typeName(in.value), Value: in.value})
		n.proc.Request(n, node.Request{ID: in.req, Op: in.value})
	}
}

func (n *Node) receive(in input) {
	msg, err := n.cfg.Registry.Decode(in.frame.Payload)
	if err != nil {
		reason := "malformed"
		if errors.Is(err, node.ErrUnknownType) {
			reason = "unknown-type"
		}
		// Count it and log the first of each kind per peer: a hostile or
		// mismatched peer must not be able to flood the log.
		if d, ok := n.cfg.Transport.(inboundDropper); ok {
			d.DropInbound(in.from, reason, err)
		} else {
			n.cfg.Metrics.Drop(in.from, reason)
		}
		n.record(&trace.Event{Kind: trace.Drop, Node: in.from, Peer: n.cfg.ID, Reason: trace.DropDecode, Detail: err.Error(), Size: len(in.frame.Payload)})
		return
	}
	if len(in.frame.Clock) == len(n.vc) {
		n.vc.Merge(in.frame.Clock)
	}
	typ := n.typeName(msg)
	if c := n.receivedCounters(in.from); c != nil {
		c.add(typ, 1, len(in.frame.Payload))
	} else {
		n.cfg.Metrics.Received(in.from, typ, len(in.frame.Payload))
	}
	n.record(&trace.Event{Kind: trace.Deliver, Peer: in.from, MsgID: in.frame.ID, Type: typ, Size: len(in.frame.Payload), Value: msg})
	n.proc.Receive(n, in.from, msg)
}

// receivedCounters returns the cached received counters of a member of the
// group, or nil for anyone else.
func (n *Node) receivedCounters(from node.ID) *typeCounters {
	if int(from) < 0 || int(from) >= len(n.cfg.Group) {
		return nil
	}
	if n.recv == nil {
		n.recv = make([]typeCounters, len(n.cfg.Group))
	}
	c := &n.recv[from]
	if c.msgs == nil {
		*c = typeCounters{msgs: n.cfg.Metrics.MessagesReceived, bytes: n.cfg.Metrics.BytesReceived, peer: PeerLabel(from)}
	}
	return c
}

// push queues an input; it reports false when the inbox is full. It does
// not step the process: the step that pushes (a self-send, a zero-delay
// timer) is followed by the ones it queued in the same kick; everyone else
// calls deliver.
func (n *Node) push(in input) bool {
	size := len(in.frame.Payload)
	n.mu.Lock()
	// Timers are exempt from the bounds: the process set them itself, so
	// they cannot flood the inbox, and losing one (a flush, a heartbeat)
	// could stall the algorithm for good.
	if in.kind != inTimer && (len(n.inbox) >= n.cfg.MaxInbox || n.inboxBytes+size > n.cfg.MaxInboxBytes) {
		n.mu.Unlock()
		return false
	}
	n.inbox = append(n.inbox, in)
	n.inboxBytes += size
	n.mu.Unlock()
	return true
}

// deliver queues an input from outside the process and kicks; it reports
// false when the inbox is full.
func (n *Node) deliver(in input) bool {
	if !n.push(in) {
		return false
	}
	n.kick()
	return true
}

func (n *Node) pop() (input, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.inbox) == 0 {
		return input{}, false
	}
	in := n.inbox[0]
	n.inbox[0] = input{}
	n.inbox = n.inbox[1:]
	n.inboxBytes -= len(in.frame.Payload)
	if len(n.inbox) == 0 {
		n.inbox = nil // let the backing array go
	}
	return in, true
}

// Deliver hands the node a frame from a peer; the transport calls it from
// its own goroutines. Inbound link faults apply here.
func (n *Node) Deliver(from node.ID, f Frame) {
	if n.cfg.Faults.Inbound(from) {
		n.cfg.Metrics.Drop(from, "partitioned")
		return
	}
	if !n.deliver(input{kind: inMessage, from: from, frame: f}) {
		n.cfg.Metrics.Drop(from, "inbox-full")
	}
}

// Request submits op to the process and waits for its reply or ctx's end.
// Its latency is observed in Metrics.RequestLatency.
func (n *Node) Request(ctx context.Context, op any) (any, error) {
	began := time.Now()
	result, err := n.request(ctx, op)
	if err == nil {
		n.cfg.Metrics.RequestLatency.Observe(time.Since(began).Seconds())
	}
	return result, err
}

// request is Request without the metric, which the transport observes for
// client requests.
func (n *Node) request(ctx context.Context, op any) (any, error) {
	id := node.RequestID(n.nextReq.Add(1))
	ch := make(chan replied, 1)
	n.mu.Lock()
	n.waiters[id] = ch
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.waiters, id)
		n.mu.Unlock()
	}()
	began := time.Now()
	if !n.deliver(input{kind: inRequest, req: id, value: op, arrived: began}) {
		return nil, fmt.Errorf("live: %v is overloaded: request queue full", n.cfg.ID)
	}
	select {
	case r := <-ch:
		return r.result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("live: request %d to %v: %w", id, n.cfg.ID, ctx.Err())
	case <-n.done:
		return nil, ErrStopped
	}
}

// HandleRequest serves the client API (TransportConfig.Request): it decodes
// a registered op from JSON or CBOR, runs it through the process and encodes
// the reply the same way.
func (n *Node) HandleRequest(ctx context.Context, typ string, enc Encoding, body []byte) (string, []byte, error) {
	decode, encode := n.cfg.Registry.DecodeJSON, json.Marshal
	if enc == CBOR {
		decode, encode = n.cfg.Registry.DecodeCBOR, n.cfg.Registry.EncodeValue
	}
	op, err := decode(typ, body)
	if err != nil {
		return "", nil, fmt.Errorf("bad request: %w (known types: %v)", err, n.cfg.Registry.Names())
	}
	result, err := n.request(ctx, op)
	if err != nil {
		return "", nil, err
	}
	out, err := encode(result)
	if err != nil {
		return "", nil, fmt.Errorf("live: encode reply %T: %w", result, err)
	}
	return n.typeName(result), out, nil
}

func (n *Node) failWaiters() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.waiters)
}

func (n *Node) stopTimers() {
	for id, t := range n.timers {
		if t != nil {
			t.Stop()
		}
		delete(n.timers, id)
	}
}

func (n *Node) typeName(v any) string {
	if name, ok := n.cfg.Registry.Name(v); ok {
		return name
	}
	return node.TypeName(v)
}

// record stamps an event with wall-clock time and, for process
// events, this node's vector clock after ticking it. It runs only on the
// event loop. The clock is copied only where it is kept: in the trace, or in
// the frame of a Send.
func (n *Node) record(e *trace.Event) {
	if e.Kind.IsProcess() {
		n.vc[n.cfg.ID]++
		e.Node = n.cfg.ID
		if n.cfg.Trace != nil || e.Kind == trace.Send {
			e.Clock = n.vc.Clone()
		}
	}
	if n.cfg.Trace == nil {
		return
	}
	e.Time = time.Duration(time.Now().UnixNano())
	n.cfg.Trace.Record(e)
}

// Env implementation. These methods are called only from a step (under
// stepMu).

// Self implements node.Env.
func (n *Node) Self() node.ID { return n.cfg.ID }

// Group implements node.Env.
func (n *Node) Group() []node.ID { return n.cfg.Group }

// Now implements node.Env with the machine's clock.
func (n *Node) Now() time.Time { return time.Now() }

// Rand implements node.Env.
func (n *Node) Rand() *rand.Rand { return n.rng }

// Store implements node.Env.
func (n *Node) Store() node.Store { return n.store }

// loopStore is the store as the process sees it: Config.Store, with a Sync
// that first hands on what the step has sent so far and lets the goroutines
// the step has woken run.
//
// Sync blocks the loop's thread in fsync, and with it the processor the
// loop runs on: messages sent before the Sync, and the goroutines the step
// readied — request handlers holding its replies — would wait until the Go
// scheduler takes the processor back from the blocked thread, which can
// take longer than the fsync. So the messages go out first (a Raft leader's
// new entries really leave before its own fsync, and followers write them in
// parallel, diss. §10.2.1), and then the loop yields, so that clients
// answered in this step send their next requests during the fsync and the
// next Sync covers more of them. Measured on the 3-node key-value cluster
// (BENCHMARKS.md, synod bench kv): with 64 clients the leader commits about
// twice as many writes per fsync.
type loopStore struct {
	node.Store
	n *Node
}

// Sync implements node.Store.
func (s loopStore) Sync() error {
	s.n.flushSends()
	runtime.Gosched()
	return s.Store.Sync()
}

// batchSender is a transport that lets a node send what one pass over its
// inbox sends together (Transport.Queue, Transport.Flush).
type batchSender interface {
	Queue(to node.ID, f Frame)
	Flush()
}

// flushSends hands the frames queued in this pass to the transport's
// writers, if any are waiting. It runs with stepMu held.
func (n *Node) flushSends() {
	if n.unflushed {
		n.unflushed = false
		n.cfg.Transport.(batchSender).Flush()
	}
}

// Log implements node.Env.
func (n *Node) Log() *slog.Logger { return n.log }

// Send implements node.Env: the message is encoded at once (so the sender
// cannot change what is delivered), stamped with the vector clock, and
// handed to the transport, unless an outbound fault drops or delays it.
func (n *Node) Send(to node.ID, msg node.Message) {
	data, err := n.cfg.Registry.Encode(msg)
	if err != nil {
		// A programming error in the algorithm: say so loudly, once per call.
		n.log.Error("cannot send an unregistered message", "type", fmt.Sprintf("%T", msg), "err", err)
		return
	}
	n.nextMsg++
	id := uint64(n.cfg.ID)<<48 | n.nextMsg
	typ := n.typeName(msg)
	e := trace.Event{Kind: trace.Send, Peer: to, MsgID: id, Type: typ, Size: len(data), Value: msg}
	n.record(&e)
	f := Frame{ID: id, Type: typ, Clock: e.Clock, Payload: data}
	if to == n.cfg.ID {
		n.push(input{kind: inMessage, from: to, frame: f})
		return
	}
	if int(to) < 0 || int(to) >= len(n.cfg.Group) {
		n.dropped(to, id, typ, len(data), trace.DropUnknownPeer)
		return
	}
	reason, delay := n.cfg.Faults.Outbound(to)
	if reason != "" {
		n.cfg.Metrics.Drop(to, reason)
		n.dropped(to, id, typ, len(data), reason)
		return
	}
	if delay > 0 {
		time.AfterFunc(delay, func() { n.cfg.Transport.Send(to, f) })
		return
	}
	if b, ok := n.cfg.Transport.(batchSender); ok {
		b.Queue(to, f)
		n.unflushed = true
		return
	}
	n.cfg.Transport.Send(to, f)
}

func (n *Node) dropped(to node.ID, id uint64, typ string, size int, reason string) {
	n.record(&trace.Event{Kind: trace.Drop, Node: n.cfg.ID, Peer: to, MsgID: id, Type: typ, Size: size, Reason: reason})
}

// After implements node.Env with a real timer. A timer of zero (or less)
// goes straight to the back of the inbox, so it fires after the inputs
// already waiting, as in the simulator, without a trip through the Go
// timer goroutine: an algorithm that batches with After(0) (Raft's flush)
// would otherwise pay a goroutine wake-up on every write.
func (n *Node) After(d time.Duration, timer any) node.TimerID {
	n.nextTimer++
	id := n.nextTimer
	if d <= 0 {
		n.timers[id] = nil
		n.push(input{kind: inTimer, timer: id, value: timer})
		return id
	}
	n.timers[id] = time.AfterFunc(d, func() { n.deliver(input{kind: inTimer, timer: id, value: timer}) })
	return id
}

// Cancel implements node.Env.
func (n *Node) Cancel(id node.TimerID) {
	if t, ok := n.timers[id]; ok {
		if t != nil {
			t.Stop()
		}
		delete(n.timers, id)
	}
}

// Emit implements node.Env: the event goes to the trace and the log.
func (n *Node) Emit(event any) {
	typ := n.typeName(event)
	n.record(&trace.Event{Kind: trace.Emit, Type: typ, Value: event})
	if n.log.Enabled(context.Background(), slog.LevelInfo) {
		n.log.Info("emit", "type", typ, "value", fmt.Sprintf("%+v", event))
	}
}

// Reply implements node.Env: the waiting client gets result.
func (n *Node) Reply(req node.RequestID, result any) {
	n.record(&trace.Event{Kind: trace.Reply, Request: req, Type: n.typeName(result), Value: result})
	n.mu.Lock()
	ch := n.waiters[req]
	n.mu.Unlock()
	if ch != nil {
		select {
		case ch <- replied{result: result}:
		default:
		}
	}
}
