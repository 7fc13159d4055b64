// Package nodetest has a node.Env for tests that drive a process by hand,
// one handler call at a time, the way a paper walks through its algorithm:
// it records, in order, everything the process does (sends, emits, replies,
// timers, syncs), keeps the timers on a clock the test moves, and gives
// durable storage that a test can crash. A Network connects such Envs: it
// holds the messages until the test delivers them, drops, crashes and
// restarts as the test says, and collects what the processes emit into a
// trace for a checker.
package nodetest

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
)

// Epoch is where an Env's clock starts.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Env is a node.Env driven by a test. It is not safe for concurrent use,
// which a process never needs.
type Env struct {
	self  node.ID
	group []node.ID
	rng   *rand.Rand
	disk  *node.MemStore

	// Clock is what Now returns; the test sets it, or Advance moves it.
	Clock time.Time
	// Ops lists every action of the process in order, one line each:
	// "send n1 T{...}", "emit T{...}", "reply 7 T{...}", "timer T{...}",
	// "cancel T{...}" and "sync". TakeOps returns and clears it.
	Ops []string
	// Sent, Emitted and Replies keep the values themselves.
	Sent    []Sent
	Emitted []any
	Replies []Reply
	// OnSend, if set, is also called for every Send: a test network.
	OnSend func(to node.ID, msg node.Message)
	// Show formats values in Ops; nil means Show.
	Show func(v any) string

	timers map[node.TimerID]Timer
	next   node.TimerID
}

// Sent is one message the process sent.
type Sent struct {
	To  node.ID
	Msg node.Message
}

// Reply is one answer to a request.
type Reply struct {
	Req    node.RequestID
	Result any
}

// Timer is a pending timer: due at At (on the Env's clock) with Value.
type Timer struct {
	ID    node.TimerID
	At    time.Time
	Value any
}

// New returns the Env of process self in a group of n (n0..n(n-1)), its
// clock at Epoch and its random source seeded with 1.
func New(self node.ID, n int) *Env {
	e := &Env{self: self, Clock: Epoch, disk: node.NewMemStore(), timers: map[node.TimerID]Timer{}}
	for i := range n {
		e.group = append(e.group, node.ID(i))
	}
	e.Seed(1)
	return e
}

// Seed reseeds the Env's random source.
func (e *Env) Seed(seed uint64) { e.rng = rand.New(rand.NewPCG(seed, 0)) }

// Show formats a struct as its type (without the package) and fields,
// "grant{Seq:1}", and any other value with %v.
func Show(v any) string {
	if reflect.ValueOf(v).Kind() != reflect.Struct {
		return fmt.Sprint(v)
	}
	s := fmt.Sprintf("%T%+v", v, v)
	if i := strings.IndexByte(s, '{'); i > 0 {
		if j := strings.LastIndexByte(s[:i], '.'); j >= 0 {
			s = s[j+1:]
		}
	}
	return s
}

func (e *Env) show(v any) string {
	if e.Show != nil {
		return e.Show(v)
	}
	return Show(v)
}

func (e *Env) op(format string, args ...any) { e.Ops = append(e.Ops, fmt.Sprintf(format, args...)) }

// TakeOps returns the actions recorded since the last call and forgets them.
func (e *Env) TakeOps() []string {
	ops := e.Ops
	e.Ops = nil
	return ops
}

// TakeEmitted returns the values emitted since the last call and forgets them.
func (e *Env) TakeEmitted() []any {
	out := e.Emitted
	e.Emitted = nil
	return out
}

// Disk is the Env's storage without the sync recording.
func (e *Env) Disk() *node.MemStore { return e.disk }

// Crash does to the Env what a crash does to a node: unsynced writes and
// pending timers are lost. Start a fresh process on the Env to restart.
func (e *Env) Crash() {
	e.disk.Crash()
	clear(e.timers)
}

// Self implements node.Env.
func (e *Env) Self() node.ID { return e.self }

// Group implements node.Env.
func (e *Env) Group() []node.ID { return e.group }

// Now implements node.Env: the test's clock.
func (e *Env) Now() time.Time { return e.Clock }

// Rand implements node.Env.
func (e *Env) Rand() *rand.Rand { return e.rng }

// Log implements node.Env: logs are discarded.
func (e *Env) Log() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Store implements node.Env: the storage, with every Sync recorded in Ops.
func (e *Env) Store() node.Store { return syncRecorder{e.disk, e} }

type syncRecorder struct {
	*node.MemStore
	env *Env
}

func (s syncRecorder) Sync() error {
	s.env.op("sync")
	return s.MemStore.Sync()
}

// Send implements node.Env.
func (e *Env) Send(to node.ID, msg node.Message) {
	e.op("send %v %s", to, e.show(msg))
	e.Sent = append(e.Sent, Sent{to, msg})
	if e.OnSend != nil {
		e.OnSend(to, msg)
	}
}

// Emit implements node.Env.
func (e *Env) Emit(v any) {
	e.op("emit %s", e.show(v))
	e.Emitted = append(e.Emitted, v)
}

// Reply implements node.Env.
func (e *Env) Reply(req node.RequestID, result any) {
	e.op("reply %d %s", req, e.show(result))
	e.Replies = append(e.Replies, Reply{req, result})
}

// After implements node.Env: the timer is due d after the clock's reading.
func (e *Env) After(d time.Duration, value any) node.TimerID {
	e.next++
	e.timers[e.next] = Timer{ID: e.next, At: e.Clock.Add(d), Value: value}
	e.op("timer %s", e.show(value))
	return e.next
}

// Cancel implements node.Env.
func (e *Env) Cancel(id node.TimerID) {
	if t, ok := e.timers[id]; ok {
		e.op("cancel %s", e.show(t.Value))
		delete(e.timers, id)
	}
}

// Pending lists the pending timers, earliest first (ties in the order set).
func (e *Env) Pending() []Timer {
	ts := make([]Timer, 0, len(e.timers))
	for _, t := range e.timers {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b Timer) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return ts
}

// Timer returns the pending timer with the given value.
func (e *Env) Timer(value any) (Timer, bool) {
	for _, t := range e.Pending() {
		if t.Value == value {
			return t, true
		}
	}
	return Timer{}, false
}

// FireNext fires the earliest pending timer, moving the clock to its due
// time if that is later; it reports false when none is pending.
func (e *Env) FireNext(p node.Process) bool {
	ts := e.Pending()
	if len(ts) == 0 {
		return false
	}
	t := ts[0]
	delete(e.timers, t.ID)
	if t.At.After(e.Clock) {
		e.Clock = t.At
	}
	p.Timeout(e, t.Value)
	return true
}

// Advance moves the clock to at, firing in time order every timer due by
// then, including those the process sets meanwhile.
func (e *Env) Advance(p node.Process, at time.Time) {
	for {
		ts := e.Pending()
		if len(ts) == 0 || ts[0].At.After(at) {
			break
		}
		e.FireNext(p)
	}
	e.Clock = at
}
