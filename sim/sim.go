// Package sim is synod's deterministic discrete-event simulator: virtual time,
// one event queue, one goroutine. It runs node.Process values exactly as the
// live runtime does, while owning everything an algorithm cannot see: the
// network (latency, reordering, loss, duplication, bandwidth, partitions), the
// machines (crashes with loss of unsynced storage, restarts, pauses), the
// clocks (offsets and drift) and the ground truth (a vector clock on every
// process event).
//
// The same Config and seed give a byte-identical trace.
package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// Epoch is true time zero: the wall-clock reading of an unskewed node at the
// start of every simulated run.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Config describes a simulated run.
type Config struct {
	// Nodes is the group size N; processes are n0..n(N-1).
	Nodes int
	// New builds a node's process at boot and after every restart.
	New node.Factory
	// Registry names and encodes messages. Required unless NoEncode is set;
	// emitted events and replies need not be registered.
	Registry *node.Registry
	// Seed determines every random choice of the run.
	Seed uint64
	// Network is the default link and per-link overrides; a zero Default
	// means DefaultLink.
	Network Network
	// Nemesis injects random faults.
	Nemesis Nemesis
	// Schedule lists nemesis actions at fixed times.
	Schedule []Scheduled
	// NoEncode delivers messages without encoding them. It is faster but
	// bytes are not counted, bandwidth limits see zero-byte messages, and
	// sender and receiver share memory, so a process that mutates a message
	// after sending it corrupts what is delivered.
	NoEncode bool
	// Rounds > 0 selects synchronous-rounds mode with rounds of this length:
	// every message sent in round r is delivered at the start of round r+1
	// (latency and bandwidth are ignored; loss and partitions still apply),
	// then every live process gets Timeout(RoundTick{r+1}).
	Rounds time.Duration
	// DiscardTrace keeps no events in memory (Trace returns an empty
	// trace); Recorders still see every event.
	DiscardTrace bool
	// NoClocks skips the ground-truth vector clocks, which cost O(N) per
	// event: needed for very large N.
	NoClocks bool
	// Recorders receive every event as it happens (metrics, streaming export).
	Recorders []trace.Recorder
	// MaxSteps stops a run after this many queue items (0: no limit), a
	// guard against processes that loop without letting time pass.
	MaxSteps int
	// Logger receives the processes' logs (nil: discarded).
	Logger *slog.Logger
}

// Sim is one simulated run. It is not safe for concurrent use: a run is one
// goroutine by design.
type Sim struct {
	cfg   Config
	net   Network
	group []node.ID
	nodes []*simNode
	q     queue
	now   time.Duration
	round int

	netRand, nemRand, workRand *rand.Rand

	links  map[Pair]*linkState
	cut    map[Pair]bool
	timers map[node.TimerID]struct{} // pending timers
	// typeNames caches the names of unregistered types (timers, events).
	typeNames map[reflect.Type]string
	nextMsg   uint64
	nextTmr   node.TimerID
	nextReq   node.RequestID

	tr      *trace.Trace
	started bool
	stopped bool
	steps   int
	err     error

	initial []Action // clock settings applied at boot

	// roundBusy is set when a round does any work besides its ticks.
	roundBusy bool

	onReply []func(from node.ID, req node.RequestID, result any)
	logger  *slog.Logger
}

// simNode is the simulator's record of one node; it is also that node's Env.
type simNode struct {
	s           *Sim
	id          node.ID
	proc        node.Process
	store       *node.MemStore
	rng         *rand.Rand
	vc          trace.VC
	down        bool
	paused      bool
	held        []item // items that arrived while paused
	incarnation uint32
	log         *slog.Logger

	// The node's clock reads base + (now - since)*(1+drift) past Epoch.
	since time.Duration
	base  time.Duration
	drift float64
}

// Random streams, each derived from the seed, so that adding a fault does
// not change the latencies drawn for unrelated messages (as far as possible).
const (
	streamNet = iota + 1
	streamNemesis
	streamWorkload
	streamNode = 1 << 32
)

func newRand(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream*0x9E3779B97F4A7C15+0xD1B54A32D192ED03))
}

// New prepares a run. It validates the configuration; nothing runs until Run.
func New(cfg Config) (*Sim, error) {
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("sim: %d nodes: need at least 1", cfg.Nodes)
	}
	if cfg.New == nil {
		return nil, errors.New("sim: Config.New is nil")
	}
	if cfg.Registry == nil && !cfg.NoEncode {
		return nil, errors.New("sim: Config.Registry is nil: register the algorithm's messages or set NoEncode")
	}
	if cfg.Rounds < 0 {
		return nil, fmt.Errorf("sim: round length %v is negative", cfg.Rounds)
	}
	if cfg.Network.Default == (Link{}) {
		cfg.Network.Default = DefaultLink
	}
	if err := cfg.Network.Default.Validate(); err != nil {
		return nil, fmt.Errorf("sim: network: %w", err)
	}
	for p, l := range cfg.Network.Links {
		if err := l.Validate(); err != nil {
			return nil, fmt.Errorf("sim: link %v->%v: %w", p.From, p.To, err)
		}
	}
	if err := cfg.Nemesis.Validate(); err != nil {
		return nil, fmt.Errorf("sim: nemesis: %w", err)
	}
	s := &Sim{
		cfg:       cfg,
		net:       cfg.Network,
		netRand:   newRand(cfg.Seed, streamNet),
		nemRand:   newRand(cfg.Seed, streamNemesis),
		workRand:  newRand(cfg.Seed, streamWorkload),
		links:     map[Pair]*linkState{},
		cut:       map[Pair]bool{},
		timers:    map[node.TimerID]struct{}{},
		typeNames: map[reflect.Type]string{},
		logger:    cfg.Logger,
	}
	if !cfg.DiscardTrace {
		s.tr = &trace.Trace{Nodes: cfg.Nodes}
	}
	s.group = make([]node.ID, cfg.Nodes)
	s.nodes = make([]*simNode, cfg.Nodes)
	for i := range s.nodes {
		s.group[i] = node.ID(i)
		n := &simNode{s: s, id: node.ID(i)}
		if !cfg.NoClocks {
			n.vc = make(trace.VC, cfg.Nodes)
		}
		s.nodes[i] = n
	}
	for _, e := range cfg.Schedule {
		if err := e.Action.validate(cfg.Nodes); err != nil {
			return nil, fmt.Errorf("sim: schedule %q: %w", e, err)
		}
		if e.At == 0 && (e.Action.Kind == ActSkew || e.Action.Kind == ActDrift) {
			s.initial = append(s.initial, e.Action) // clocks are set before the processes start
			continue
		}
		s.At(e.At, e.Action)
	}
	return s, nil
}

// Now is the current virtual (true) time since the start of the run.
func (s *Sim) Now() time.Duration { return s.now }

// Round is the current synchronous round (0 outside rounds mode).
func (s *Sim) Round() int { return s.round }

// RoundLength is the length of a synchronous round (Config.Rounds; 0
// outside rounds mode), so that a workload can time faults within rounds:
// round r's ticks come at r·RoundLength, and its messages arrive at
// (r+1)·RoundLength.
func (s *Sim) RoundLength() time.Duration { return s.cfg.Rounds }

// Trace returns the events recorded so far.
func (s *Sim) Trace() *trace.Trace {
	if s.tr == nil {
		return &trace.Trace{Nodes: s.cfg.Nodes}
	}
	return s.tr
}

// Group is the configured membership.
func (s *Sim) Group() []node.ID { return s.group }

// Rand is the workload's random source, seeded from the run's seed and
// separate from the network's and the nodes' sources.
func (s *Sim) Rand() *rand.Rand { return s.workRand }

// Store returns node id's storage, for tests that inspect durability.
func (s *Sim) Store(id node.ID) *node.MemStore { return s.nodes[id].storeOf() }

// Down reports whether node id is crashed.
func (s *Sim) Down(id node.ID) bool { return s.nodes[id].down }

// At schedules a nemesis action (Action) or harness code (func()) at virtual
// time t (or now, if t is in the past).
func (s *Sim) At(t time.Duration, what any) {
	switch what.(type) {
	case Action:
		s.push(item{at: max(t, s.now), prio: prioOther, kind: itemAction, payload: what})
	case func():
		s.push(item{at: max(t, s.now), prio: prioOther, kind: itemFunc, payload: what})
	default:
		panic(fmt.Sprintf("sim: At(%T): want an Action or a func()", what))
	}
}

// Request schedules a client request with the given op to node to at
// virtual time t and returns its ID.
func (s *Sim) Request(t time.Duration, to node.ID, op any) node.RequestID {
	s.nextReq++
	id := s.nextReq
	s.push(item{at: max(t, s.now), prio: prioOther, kind: itemRequest, to: to, id: uint64(id), payload: op})
	return id
}

// OnReply registers f to be called whenever a process replies to a request.
// f runs inside the simulation and may schedule more requests.
func (s *Sim) OnReply(f func(from node.ID, req node.RequestID, result any)) {
	s.onReply = append(s.onReply, f)
}

// Stop ends the run after the current step.
func (s *Sim) Stop() { s.stopped = true }

// Apply performs a nemesis action now.
func (s *Sim) Apply(a Action) error {
	if err := a.validate(s.cfg.Nodes); err != nil {
		return err
	}
	s.apply(a)
	return nil
}

func (s *Sim) push(it item) { s.q.push(it) }

// Run executes events until virtual time until, until nothing is left to do,
// or until Stop. It may be called again to continue the run (for example
// after scheduling more faults). The error reports a broken run (an
// unregistered message type, a step limit), never a property violation: the
// checkers judge those on the trace.
func (s *Sim) Run(until time.Duration) error {
	if !s.started {
		s.started = true
		s.boot()
	}
	s.stopped = false
	for s.q.len() > 0 && !s.stopped && s.err == nil {
		if s.q.peek().at > until {
			s.now = until
			break
		}
		if s.cfg.MaxSteps > 0 && s.steps >= s.cfg.MaxSteps {
			return fmt.Errorf("sim: stopped after %d steps at %v (Config.MaxSteps): a process may be looping without letting time pass", s.steps, s.now)
		}
		s.steps++
		it := s.q.pop()
		s.now = it.at
		s.dispatch(&it)
	}
	return s.err
}

// boot gives every node its clock and starts the processes.
func (s *Sim) boot() {
	nem := s.cfg.Nemesis
	for _, a := range s.initial {
		s.apply(a)
	}
	for _, n := range s.nodes {
		if nem.Skew > 0 {
			off := time.Duration(s.nemRand.Int64N(int64(2*nem.Skew)+1)) - nem.Skew
			s.apply(Skew(n.id, off))
		}
		if nem.Drift > 0 {
			s.apply(Drift(n.id, (s.nemRand.Float64()*2-1)*nem.Drift))
		}
	}
	for _, n := range s.nodes {
		n.proc = s.cfg.New(n.id)
		s.record(&trace.Event{Kind: trace.Start, Node: n.id})
		n.proc.Start(n)
	}
	s.startNemesis()
	if s.cfg.Rounds > 0 {
		s.push(item{at: s.cfg.Rounds, prio: prioRound, kind: itemRound})
	}
}

func (s *Sim) dispatch(it *item) {
	switch it.kind {
	case itemDeliver:
		s.deliver(it)
	case itemTimer:
		s.fire(it)
	case itemRequest:
		s.request(it)
	case itemAction:
		s.apply(it.payload.(Action))
	case itemFunc:
		it.payload.(func())()
	case itemRound:
		s.startRound()
	}
}

// record stamps e with the time, round and (for process events) the node's
// vector clock after ticking it, then hands it to the trace and recorders.
func (s *Sim) record(e *trace.Event) {
	e.Time = s.now
	e.Round = s.round
	if e.Kind.IsProcess() && !s.cfg.NoClocks {
		vc := s.nodes[e.Node].vc
		vc[e.Node]++
		e.Clock = vc.Clone()
	}
	if s.tr != nil {
		s.tr.Record(e)
	}
	for _, r := range s.cfg.Recorders {
		r.Record(e)
	}
	if s.cfg.Rounds > 0 {
		switch e.Kind {
		case trace.Send, trace.Emit, trace.Reply:
			s.roundBusy = true
		}
	}
}

// send is Env.Send: the message leaves n and enters the network.
func (s *Sim) send(n *simNode, to node.ID, msg node.Message) {
	s.nextMsg++
	id := s.nextMsg
	e := trace.Event{Kind: trace.Send, Node: n.id, Peer: to, MsgID: id, Value: msg}
	var payload any = msg
	if s.cfg.NoEncode {
		e.Type = s.typeOfValue(msg)
	} else {
		data, err := s.cfg.Registry.Encode(msg)
		if err != nil {
			s.err = fmt.Errorf("sim: %v sends %T: %w (add it to the algorithm's registered messages)", n.id, msg, err)
			return
		}
		name, _ := s.cfg.Registry.Name(msg)
		e.Type, e.Size, payload = name, len(data), data
	}
	s.record(&e)
	if to < 0 || int(to) >= len(s.nodes) {
		s.drop(&e, trace.DropUnknownPeer)
		return
	}
	if len(s.cut) > 0 && s.cut[Pair{n.id, to}] {
		s.drop(&e, trace.DropPartitioned)
		return
	}
	link := s.net.link(n.id, to)
	if link.Loss > 0 && s.netRand.Float64() < link.Loss {
		s.drop(&e, trace.DropLoss)
		return
	}
	copies := 1
	if link.Duplicate > 0 && s.netRand.Float64() < link.Duplicate {
		copies = 2
	}
	for range copies {
		it := item{prio: prioDeliver, kind: itemDeliver, to: to, from: n.id, id: id, size: int32(e.Size), payload: payload, vc: e.Clock}
		it.at = s.arrival(link, n.id, to, e.Size)
		s.push(it)
	}
}

// arrival computes when a message sent now on link from->to arrives.
func (s *Sim) arrival(link *Link, from, to node.ID, size int) time.Duration {
	if s.cfg.Rounds > 0 {
		return time.Duration(s.round+1) * s.cfg.Rounds
	}
	delay := link.Latency.Sample(s.netRand)
	if link.Reorder && link.Bandwidth == 0 {
		return s.now + delay
	}
	ls := s.links[Pair{from, to}]
	if ls == nil {
		ls = &linkState{}
		s.links[Pair{from, to}] = ls
	}
	start := s.now
	if link.Bandwidth > 0 {
		start = max(start, ls.busyUntil)
		start += time.Duration(float64(size) / float64(link.Bandwidth) * float64(time.Second))
		ls.busyUntil = start
	}
	at := start + delay
	if !link.Reorder {
		at = max(at, ls.lastArrival) // equal times keep send order: the queue is FIFO on ties
		ls.lastArrival = at
	}
	return at
}

func (s *Sim) drop(send *trace.Event, reason string) {
	s.record(&trace.Event{Kind: trace.Drop, Node: send.Node, Peer: send.Peer, MsgID: send.MsgID, Type: send.Type, Size: send.Size, Reason: reason})
}

// hold keeps an item for a paused node until it resumes; it reports whether
// the item was held.
func (s *Sim) hold(n *simNode, it *item) bool {
	if !n.paused {
		return false
	}
	n.held = append(n.held, *it)
	return true
}

func (s *Sim) deliver(it *item) {
	n := s.nodes[it.to]
	if n.down || (len(s.cut) > 0 && s.cut[Pair{it.from, it.to}]) {
		reason := trace.DropCrashed
		if !n.down {
			reason = trace.DropPartitioned // cut while in flight
		}
		s.record(&trace.Event{Kind: trace.Drop, Node: it.from, Peer: it.to, MsgID: it.id, Type: s.typeOf(it), Size: int(it.size), Reason: reason})
		return
	}
	if s.hold(n, it) {
		return
	}
	msg := it.payload
	if data, ok := msg.([]byte); ok && !s.cfg.NoEncode {
		v, err := s.cfg.Registry.Decode(data)
		if err != nil {
			s.record(&trace.Event{Kind: trace.Drop, Node: it.from, Peer: it.to, MsgID: it.id, Size: int(it.size), Reason: trace.DropDecode, Detail: err.Error()})
			return
		}
		msg = v
	}
	if n.vc != nil {
		n.vc.Merge(it.vc)
	}
	s.record(&trace.Event{Kind: trace.Deliver, Node: n.id, Peer: it.from, MsgID: it.id, Type: s.typeOfValue(msg), Size: int(it.size), Value: msg})
	n.proc.Receive(n, it.from, msg)
}

// typeOfValue names v's type, through the registry when it knows the type,
// with a cache so the hot path does not build names with reflection.
func (s *Sim) typeOfValue(v any) string {
	if s.cfg.Registry != nil {
		if name, ok := s.cfg.Registry.Name(v); ok {
			return name
		}
	}
	t := reflect.TypeOf(v)
	name, ok := s.typeNames[t]
	if !ok {
		name = node.TypeName(v)
		s.typeNames[t] = name
	}
	return name
}

func (s *Sim) typeOf(it *item) string {
	if data, ok := it.payload.([]byte); ok && !s.cfg.NoEncode {
		if v, err := s.cfg.Registry.Decode(data); err == nil {
			return s.typeOfValue(v)
		}
		return "?"
	}
	return s.typeOfValue(it.payload)
}

func (s *Sim) fire(it *item) {
	n := s.nodes[it.to]
	id := node.TimerID(it.id)
	if _, pending := s.timers[id]; !pending || n.down || it.incarnation != n.incarnation {
		delete(s.timers, id)
		return
	}
	if s.hold(n, it) {
		return
	}
	delete(s.timers, id)
	s.record(&trace.Event{Kind: trace.Timer, Node: n.id, Type: s.typeOfValue(it.payload), Value: it.payload})
	n.proc.Timeout(n, it.payload)
}

func (s *Sim) request(it *item) {
	n := s.nodes[it.to]
	if n.down {
		s.record(&trace.Event{Kind: trace.Note, Node: n.id, Request: node.RequestID(it.id), Detail: fmt.Sprintf("request %d to %v lost: node down", it.id, n.id)})
		return
	}
	if s.hold(n, it) {
		return
	}
	s.record(&trace.Event{Kind: trace.Request, Node: n.id, Request: node.RequestID(it.id), Type: s.typeOfValue(it.payload), Value: it.payload})
	n.proc.Request(n, node.Request{ID: node.RequestID(it.id), Op: it.payload})
}

func (s *Sim) startRound() {
	if s.round > 0 && !s.roundBusy && s.onlyRoundsLeft() {
		return // quiescent: a whole round did nothing and nothing is pending
	}
	s.round++
	s.roundBusy = false
	for _, n := range s.nodes {
		if n.down || n.paused {
			continue
		}
		tick := node.RoundTick{Round: s.round}
		s.record(&trace.Event{Kind: trace.Timer, Node: n.id, Type: "node.RoundTick", Value: tick})
		n.proc.Timeout(n, tick)
	}
	s.push(item{at: time.Duration(s.round+1) * s.cfg.Rounds, prio: prioRound, kind: itemRound})
}

// onlyRoundsLeft reports whether the queue holds nothing but round ticks.
func (s *Sim) onlyRoundsLeft() bool {
	for i := range s.q.items {
		if s.q.items[i].kind != itemRound {
			return false
		}
	}
	return true
}

// Env implementation: each simNode is its own process's Env.

func (n *simNode) Self() node.ID                   { return n.id }
func (n *simNode) Group() []node.ID                { return n.s.group }
func (n *simNode) Store() node.Store               { return n.storeOf() }
func (n *simNode) Now() time.Time                  { return Epoch.Add(n.localTime()) }
func (n *simNode) Send(to node.ID, m node.Message) { n.s.send(n, to, m) }

func (n *simNode) storeOf() *node.MemStore {
	if n.store == nil {
		n.store = node.NewMemStore()
	}
	return n.store
}

// localTime is the node's clock reading, relative to Epoch.
func (n *simNode) localTime() time.Duration {
	return n.base + time.Duration(float64(n.s.now-n.since)*(1+n.drift))
}

func (n *simNode) After(d time.Duration, timer any) node.TimerID {
	s := n.s
	s.nextTmr++
	id := s.nextTmr
	s.timers[id] = struct{}{}
	// d is measured on the node's own clock, which runs at rate 1+drift.
	real := time.Duration(float64(max(d, 0)) / (1 + n.drift))
	s.push(item{at: s.now + real, prio: prioOther, kind: itemTimer, to: n.id, id: uint64(id), incarnation: n.incarnation, payload: timer})
	return id
}

func (n *simNode) Cancel(id node.TimerID) { delete(n.s.timers, id) }

func (n *simNode) Rand() *rand.Rand {
	if n.rng == nil {
		n.rng = newRand(n.s.cfg.Seed, streamNode+uint64(n.id))
	}
	return n.rng
}

func (n *simNode) Emit(event any) {
	n.s.record(&trace.Event{Kind: trace.Emit, Node: n.id, Type: n.s.typeOfValue(event), Value: event})
}

func (n *simNode) Reply(req node.RequestID, result any) {
	s := n.s
	s.record(&trace.Event{Kind: trace.Reply, Node: n.id, Request: req, Type: s.typeOfValue(result), Value: result})
	for _, f := range s.onReply {
		f(n.id, req, result)
	}
}

func (n *simNode) Log() *slog.Logger {
	if n.log == nil {
		if n.s.logger == nil {
			n.log = discard
		} else {
			n.log = slog.New(&vtHandler{inner: n.s.logger.Handler(), s: n.s}).With("node", n.id.String())
		}
	}
	return n.log
}
