package detector

import (
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

// fakeEnv is a node.Env that a test drives by hand: it records what the
// process sends, emits and schedules, and lets the test set the clock and
// fire timers, so a handler can be checked step by step against the paper.
type fakeEnv struct {
	self    node.ID
	group   []node.ID
	now     time.Time
	store   *node.MemStore
	sent    []sentMsg
	emitted []any
	timers  map[node.TimerID]pending
	next    node.TimerID
}

type sentMsg struct {
	to  node.ID
	msg node.Message
}

// pending is a timer set with After and not yet fired or cancelled.
type pending struct {
	at    time.Time
	value any
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newFakeEnv(self node.ID, n int) *fakeEnv {
	e := &fakeEnv{self: self, now: epoch, store: node.NewMemStore(), timers: map[node.TimerID]pending{}}
	for i := range n {
		e.group = append(e.group, node.ID(i))
	}
	return e
}

func (e *fakeEnv) Self() node.ID                   { return e.self }
func (e *fakeEnv) Group() []node.ID                { return e.group }
func (e *fakeEnv) Now() time.Time                  { return e.now }
func (e *fakeEnv) Send(to node.ID, m node.Message) { e.sent = append(e.sent, sentMsg{to, m}) }
func (e *fakeEnv) Cancel(id node.TimerID)          { delete(e.timers, id) }
func (e *fakeEnv) Rand() *rand.Rand                { return rand.New(rand.NewPCG(1, 2)) }
func (e *fakeEnv) Store() node.Store               { return e.store }
func (e *fakeEnv) Emit(v any)                      { e.emitted = append(e.emitted, v) }
func (e *fakeEnv) Reply(node.RequestID, any)       {}
func (e *fakeEnv) Log() *slog.Logger               { return slog.New(slog.DiscardHandler) }

func (e *fakeEnv) After(d time.Duration, v any) node.TimerID {
	e.next++
	e.timers[e.next] = pending{at: e.now.Add(d), value: v}
	return e.next
}

// timer returns the pending timer with the given value and when it is due.
func (e *fakeEnv) timer(t *testing.T, value any) time.Time {
	t.Helper()
	for _, p := range e.timers {
		if p.value == value {
			return p.at
		}
	}
	t.Fatalf("no pending timer %#v; pending: %v", value, e.timers)
	return time.Time{}
}

// advance moves the clock to at and fires, in time order, every timer due
// by then (including those the process sets meanwhile).
func (e *fakeEnv) advance(p node.Process, at time.Time) {
	for {
		var ids []node.TimerID
		for id, t := range e.timers {
			if !t.at.After(at) {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			break
		}
		slices.SortFunc(ids, func(a, b node.TimerID) int {
			if c := e.timers[a].at.Compare(e.timers[b].at); c != 0 {
				return c
			}
			return int(a - b)
		})
		t := e.timers[ids[0]]
		delete(e.timers, ids[0])
		e.now = t.at
		p.Timeout(e, t.value)
	}
	e.now = at
}

// takeEmitted returns and forgets what the process emitted so far.
func (e *fakeEnv) takeEmitted() []any {
	out := e.emitted
	e.emitted = nil
	return out
}
