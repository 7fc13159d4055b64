package commit

import (
	"slices"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
	"github.com/synod-dev/synod/trace"
)

// cluster is a hand-driven group for the textbook's walk-throughs: messages
// take no time and are delivered in the order sent; timers fire only when
// the test lets time pass; and every delivery can be intercepted, so that a
// test can crash a process at the exact step the book describes (in the
// middle of a broadcast, right after a vote). Everything the processes do
// goes into a trace that the real checkers judge.
type cluster struct {
	t          *testing.T
	newProcess func() node.Process
	procs      []node.Process
	envs       []*nodetest.Env
	down       []bool
	queue      []envelope
	// intercept, if set, sees every message before it is delivered and
	// returns true to drop it (it may crash processes, too).
	intercept func(e envelope) bool
	// cut holds the one-way links a partition has cut.
	cut   map[[2]node.ID]bool
	now   time.Duration
	tr    trace.Trace
	msgID uint64
	reqID node.RequestID
}

type envelope struct {
	from, to node.ID
	msg      node.Message
	id       uint64
}

func newCluster(t *testing.T, n int, newProcess func() node.Process) *cluster {
	c := &cluster{t: t, newProcess: newProcess, down: make([]bool, n), cut: map[[2]node.ID]bool{}, tr: trace.Trace{Nodes: n}}
	for i := range n {
		id := node.ID(i)
		env := nodetest.New(id, n)
		env.Seed(uint64(id) + 1)
		env.OnSend = func(to node.ID, msg node.Message) {
			c.msgID++
			c.record(trace.Event{Kind: trace.Send, Node: id, Peer: to, MsgID: c.msgID, Type: node.TypeName(msg), Value: msg})
			c.queue = append(c.queue, envelope{id, to, msg, c.msgID})
		}
		c.envs = append(c.envs, env)
		c.procs = append(c.procs, nil)
		c.start(id)
	}
	return c
}

func (c *cluster) record(e trace.Event) {
	e.Time = c.now
	c.tr.Record(&e)
}

// call runs one handler of process id at the current time.
func (c *cluster) call(id node.ID, f func(p node.Process, env node.Env)) {
	env := c.envs[id]
	env.Clock = nodetest.Epoch.Add(c.now)
	f(c.procs[id], recordingEnv{env, c})
}

// recordingEnv records what a process emits and replies in the cluster's
// trace at once, so that the trace keeps the order of its actions.
type recordingEnv struct {
	*nodetest.Env
	c *cluster
}

func (e recordingEnv) Emit(v any) {
	e.Env.Emit(v)
	e.c.record(trace.Event{Kind: trace.Emit, Node: e.Self(), Type: node.TypeName(v), Value: v})
}

func (e recordingEnv) Reply(req node.RequestID, result any) {
	e.Env.Reply(req, result)
	e.c.record(trace.Event{Kind: trace.Reply, Node: e.Self(), Request: req, Type: node.TypeName(result), Value: result})
}

func (c *cluster) start(id node.ID) {
	c.procs[id] = c.newProcess()
	c.record(trace.Event{Kind: trace.Start, Node: id})
	c.call(id, func(p node.Process, env node.Env) { p.Start(env) })
}

// request submits op to process id and settles.
func (c *cluster) request(id node.ID, op any) {
	c.reqID++
	req := node.Request{ID: c.reqID, Op: op}
	c.record(trace.Event{Kind: trace.Request, Node: id, Request: req.ID, Type: node.TypeName(op), Value: op})
	c.call(id, func(p node.Process, env node.Env) { p.Request(env, req) })
	c.settle()
}

// settle delivers messages, in the order sent, until none is left.
func (c *cluster) settle() {
	for steps := 0; len(c.queue) > 0; steps++ {
		if steps > 100_000 {
			c.t.Fatalf("the cluster does not settle: %d messages queued", len(c.queue))
		}
		e := c.queue[0]
		c.queue = c.queue[1:]
		c.deliver(e)
	}
}

func (c *cluster) deliver(e envelope) {
	drop := func(reason string) {
		c.record(trace.Event{Kind: trace.Drop, Node: e.from, Peer: e.to, MsgID: e.id, Type: node.TypeName(e.msg), Reason: reason})
	}
	switch {
	case c.down[e.to]:
		drop(trace.DropCrashed)
	case c.cut[[2]node.ID{e.from, e.to}]:
		drop(trace.DropPartitioned)
	case c.intercept != nil && c.intercept(e):
		if c.down[e.to] {
			drop(trace.DropCrashed)
		} else {
			drop(trace.DropLoss)
		}
	default:
		c.record(trace.Event{Kind: trace.Deliver, Node: e.to, Peer: e.from, MsgID: e.id, Type: node.TypeName(e.msg), Value: e.msg})
		c.call(e.to, func(p node.Process, env node.Env) { p.Receive(env, e.from, e.msg) })
	}
}

// elapse lets d pass, firing the live processes' timers in time order and
// settling after each.
func (c *cluster) elapse(d time.Duration) {
	end := c.now + d
	for {
		next, at := node.None, time.Duration(0)
		for i, env := range c.envs {
			if c.down[i] {
				continue
			}
			if ts := env.Pending(); len(ts) > 0 {
				if due := ts[0].At.Sub(nodetest.Epoch); due <= end && (next == node.None || due < at) {
					next, at = node.ID(i), due
				}
			}
		}
		if next == node.None {
			break
		}
		c.now = max(c.now, at)
		tm := c.envs[next].Pending()[0]
		c.envs[next].Cancel(tm.ID)
		c.call(next, func(p node.Process, env node.Env) { p.Timeout(env, tm.Value) })
		c.settle()
	}
	c.now = end
}

// crash crashes process id: its unsynced writes and timers are lost, and
// messages to it are dropped until it restarts.
func (c *cluster) crash(id node.ID) {
	c.envs[id].Crash()
	c.down[id] = true
	c.record(trace.Event{Kind: trace.Crash, Node: id})
}

// restart brings process id back with its synced storage.
func (c *cluster) restart(id node.ID) {
	c.down[id] = false
	c.record(trace.Event{Kind: trace.Restart, Node: id})
	c.start(id)
	c.settle()
}

// partition cuts every link between the two sides.
func (c *cluster) partition(a, b []node.ID) {
	for _, p := range a {
		for _, q := range b {
			c.cut[[2]node.ID{p, q}], c.cut[[2]node.ID{q, p}] = true, true
		}
	}
	c.record(trace.Event{Kind: trace.Partition, Node: node.None, Detail: "partition"})
}

// heal restores every link.
func (c *cluster) heal() {
	clear(c.cut)
	c.record(trace.Event{Kind: trace.Heal, Node: node.None})
}

// emitted returns what process id emitted, in order, as nodetest.Show
// prints it.
func (c *cluster) emitted(id node.ID) []string {
	var out []string
	for _, e := range c.tr.Events {
		if e.Kind == trace.Emit && e.Node == id {
			out = append(out, nodetest.Show(e.Value))
		}
	}
	return out
}

// decisions returns each process's decision on tx ("" if none).
func (c *cluster) decisions(tx TxID) []Outcome {
	out := make([]Outcome, len(c.procs))
	for _, d := range trace.Emitted[Decided](&c.tr) {
		if d.Value.Tx == tx && out[d.Node] == "" {
			out[d.Node] = d.Value.Outcome
		}
	}
	return out
}

// failed returns the properties the checker finds violated.
func failed(checks []trace.Check) []string {
	var out []string
	for _, ch := range checks {
		if !ch.OK {
			out = append(out, ch.Property)
		}
	}
	return out
}

// mustPass fails the test if any check failed.
func mustPass(t *testing.T, checks []trace.Check) {
	t.Helper()
	for _, ch := range checks {
		if !ch.OK {
			t.Errorf("%s: %s", ch.Property, ch.Detail)
		}
	}
}

// isType reports whether a message is of type T.
func isType[T any](m node.Message) bool {
	_, ok := m.(T)
	return ok
}

// mustEmit checks that process id emitted exactly these events, in order.
func (c *cluster) mustEmit(id node.ID, want ...string) {
	c.t.Helper()
	got := c.emitted(id)
	if !slices.Equal(got, want) {
		c.t.Errorf("%v emitted:\n  %v\nwant:\n  %v", id, got, want)
	}
}

// sent returns the type of every message sent, in order.
func (c *cluster) sent() []string {
	var out []string
	for _, e := range c.tr.Events {
		if e.Kind == trace.Send {
			out = append(out, shortType(e.Type))
		}
	}
	return out
}

// mustDecide stops the test unless the processes decided tx as want says,
// in process order ("" for a process that has not decided).
func (c *cluster) mustDecide(tx TxID, want ...Outcome) {
	c.t.Helper()
	if got := c.decisions(tx); !slices.Equal(got, want) {
		c.t.Fatalf("decisions on %v: %v, want %v", tx, got, want)
	}
}

// mustViolate checks that the checker finds exactly the properties fails
// violated (nil: none).
func mustViolate(t *testing.T, checks []trace.Check, fails []string) {
	t.Helper()
	if got := failed(checks); !slices.Equal(got, fails) {
		t.Errorf("violated %v, want %v", got, fails)
	}
}

// variantCase is one row of a walk-through run against the correct
// protocol (the zero broken) and its broken variants: the decisions on T1
// it should end with (nil: not checked by the table) and the properties the
// checker should find violated.
type variantCase[B any] struct {
	name   string
	broken B
	want   []Outcome
	fails  []string
}

// crashOnReceipt is an intercept that crashes process id when the first
// message of type T reaches it: that message is lost, and the later ones
// too while id is down.
func crashOnReceipt[T any](c *cluster, id node.ID) func(envelope) bool {
	return func(e envelope) bool {
		if e.to == id && isType[T](e.msg) {
			c.crash(id)
			return true
		}
		return false
	}
}

// crashMidBroadcast is an intercept under which process from crashes in
// the middle of sending its messages of type T: only the one to reached
// goes out (node.None: none does), and the processes in also crash with
// it.
func crashMidBroadcast[T any](c *cluster, from, reached node.ID, also ...node.ID) func(envelope) bool {
	return func(e envelope) bool {
		if e.from != from || e.to == reached || !isType[T](e.msg) {
			return false
		}
		if !c.down[from] {
			c.crash(from)
			for _, id := range also {
				c.crash(id)
			}
		}
		return true // never sent
	}
}

// either is an intercept that applies each of fs in turn, dropping a
// message as soon as one does.
func either(fs ...func(envelope) bool) func(envelope) bool {
	return func(e envelope) bool {
		for _, f := range fs {
			if f(e) {
				return true
			}
		}
		return false
	}
}
