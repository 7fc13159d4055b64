package trace

import (
	"cmp"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Message, event and request types of the test traces.
type (
	ping struct {
		From int
		Note string
	}
	ack     struct{ OK bool }
	decided struct{ V int }
	putOp   struct{ Key, Value string }
	result  struct{ OK bool }
)

func testRegistry() *node.Registry {
	return node.NewRegistry(ping{}, ack{}, decided{}, putOp{}, result{})
}

// builder makes traces by hand with the vector clocks a runtime would keep.
type builder struct {
	tr     Trace
	clocks []VC
	sent   map[uint64]*Event // by MsgID: the Send, for its clock and type
	next   uint64
}

func newBuilder(nodes int) *builder {
	b := &builder{tr: Trace{Nodes: nodes}, sent: map[uint64]*Event{}}
	for range nodes {
		b.clocks = append(b.clocks, make(VC, nodes))
	}
	return b
}

// proc records a process event at n, ticking n's clock (after merging from,
// the clock of a received message, if any).
func (b *builder) proc(at time.Duration, n node.ID, k Kind, from VC, e Event) {
	vc := b.clocks[n]
	vc.Merge(from)
	vc[n]++
	e.Time, e.Node, e.Kind, e.Clock = at, n, k, vc.Clone()
	b.tr.Record(&e)
}

func (b *builder) start(at time.Duration, n node.ID) { b.proc(at, n, Start, nil, Event{}) }

func (b *builder) send(at time.Duration, from, to node.ID, msg any, size int) uint64 {
	b.next++
	b.proc(at, from, Send, nil, Event{Peer: to, MsgID: b.next, Type: node.TypeName(msg), Size: size, Value: msg})
	e := b.tr.Events[len(b.tr.Events)-1]
	b.sent[b.next] = &e
	return b.next
}

func (b *builder) deliver(at time.Duration, id uint64) {
	s := b.sent[id]
	b.proc(at, s.Peer, Deliver, s.Clock, Event{Peer: s.Node, MsgID: id, Type: s.Type, Size: s.Size, Value: s.Value})
}

func (b *builder) drop(at time.Duration, id uint64, reason string) {
	s := b.sent[id]
	b.tr.Record(&Event{Time: at, Node: s.Node, Kind: Drop, Peer: s.Peer, MsgID: id, Type: s.Type, Size: s.Size, Value: s.Value, Reason: reason})
}

func (b *builder) emit(at time.Duration, n node.ID, v any) {
	b.proc(at, n, Emit, nil, Event{Type: node.TypeName(v), Value: v})
}

func (b *builder) nemesis(at time.Duration, n node.ID, k Kind, detail string) {
	if k.IsProcess() {
		b.proc(at, n, k, nil, Event{Detail: detail})
		return
	}
	b.tr.Record(&Event{Time: at, Node: n, Kind: k, Detail: detail})
}

const ms = time.Millisecond

// smallTrace is a run of 3 processes with a request, messages, a lost
// message, a partition, a crash and a restart, an emitted event and a
// timer.
func smallTrace() *Trace {
	b := newBuilder(3)
	for n := range node.ID(3) {
		b.start(0, n)
	}
	b.proc(1*ms, 0, Request, nil, Event{Request: 1, Type: "trace.putOp", Value: putOp{Key: "x", Value: "1"}})
	m1 := b.send(1*ms, 0, 1, ping{From: 0, Note: "<hi & bye>"}, 10)
	m2 := b.send(1*ms, 0, 2, ping{From: 0}, 10)
	b.nemesis(2*ms, node.None, Partition, "n0 n1 | n2")
	b.deliver(3*ms, m1)
	m3 := b.send(3*ms, 1, 0, ack{OK: true}, 4)
	b.drop(4*ms, m2, DropPartitioned)
	b.deliver(5*ms, m3)
	b.emit(5*ms, 0, decided{V: 7})
	b.proc(5*ms, 0, Reply, nil, Event{Request: 1, Type: "trace.result", Value: result{OK: true}})
	b.nemesis(6*ms, 2, Crash, "")
	b.nemesis(6500*time.Microsecond, node.None, Heal, "")
	m4 := b.send(7*ms, 0, 2, ping{From: 0, Note: "again"}, 10)
	b.drop(8*ms, m4, DropCrashed)
	b.nemesis(9*ms, 2, Restart, "")
	b.start(9*ms, 2)
	b.proc(10*ms, 2, Timer, nil, Event{Value: "retry"})
	return &b.tr
}

// syntheticRun simulates a leader-based protocol on n processes for the
// given number of rounds: every 20ms a leader proposes to all, each
// follower acks, and the leader emits a decision when a majority acked.
// Latency is random, 3% of messages are lost, one node crashes and
// restarts, and a partition comes and heals. It is deterministic in seed.
func syntheticRun(seed uint64, n, rounds int) *Trace {
	r := rand.New(rand.NewPCG(seed, 1))
	b := newBuilder(n)
	type arrival struct {
		at    time.Duration
		id    uint64  // the message arriving, or 0 for a timer
		timer node.ID // whose timer fires
	}
	var queue []arrival
	up := make([]bool, n)
	side := func(id node.ID) int { return 0 } // no partition
	acks := map[int]int{}
	var now time.Duration
	send := func(from, to node.ID, msg any, size int) {
		id := b.send(now, from, to, msg, size)
		queue = append(queue, arrival{at: now + time.Duration(1+r.IntN(9))*ms + time.Duration(r.IntN(1000))*time.Microsecond, id: id})
	}
	// run delivers everything due up to t, in time order.
	run := func(t time.Duration) {
		for {
			slices.SortStableFunc(queue, func(a, b arrival) int { return cmp.Compare(a.at, b.at) })
			if len(queue) == 0 || queue[0].at > t {
				break
			}
			a := queue[0]
			queue = queue[1:]
			now = a.at
			if a.id == 0 {
				if up[a.timer] {
					b.proc(now, a.timer, Timer, nil, Event{Value: "heartbeat"})
				}
				continue
			}
			s := b.sent[a.id]
			switch {
			case side(s.Node) != side(s.Peer):
				b.drop(now, a.id, DropPartitioned)
			case !up[s.Peer]:
				b.drop(now, a.id, DropCrashed)
			case r.IntN(100) < 3:
				b.drop(now, a.id, DropLoss)
			default:
				b.deliver(now, a.id)
				switch s.Value.(type) {
				case ping:
					send(s.Peer, s.Node, ack{OK: true}, 6)
				case ack:
					round := int(now / (20 * ms))
					acks[round]++
					if acks[round] == n/2 {
						b.emit(now, s.Peer, decided{V: round})
						b.proc(now, s.Peer, Reply, nil, Event{Request: node.RequestID(round + 1), Type: "trace.result", Value: result{OK: true}})
					}
				}
			}
		}
		now = t
	}
	for i := range n {
		up[i] = true
		b.start(0, node.ID(i))
	}
	for round := range rounds {
		t := time.Duration(round) * 20 * ms
		run(t)
		switch round {
		case 2:
			up[3%n] = false
			b.nemesis(t, node.ID(3%n), Crash, "")
		case 4:
			b.nemesis(t, node.None, Partition, "n0 n1 | n2 n3 n4 ...")
			side = func(id node.ID) int { return min(int(id)/2, 1) }
		case 5:
			up[3%n] = true
			b.nemesis(t, node.ID(3%n), Restart, "")
			b.start(t, node.ID(3%n))
		case 6:
			b.nemesis(t, node.None, Heal, "")
			side = func(id node.ID) int { return 0 }
		}
		leader := node.ID(round % n)
		if !up[leader] {
			continue
		}
		b.proc(t, leader, Request, nil, Event{Request: node.RequestID(round + 1), Type: "trace.putOp", Value: putOp{Key: "k", Value: "v"}})
		for to := range node.ID(n) {
			if to != leader {
				send(leader, to, ping{From: int(leader)}, 12)
			}
		}
		if round%3 == 1 {
			queue = append(queue, arrival{at: t + 2*ms, timer: leader})
		}
	}
	run(time.Duration(rounds) * 20 * ms)
	return &b.tr
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./trace -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (run go test ./trace -update and check the diff)", name)
	}
}
