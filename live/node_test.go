package live

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/synod-dev/synod/broadcast"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// memNet is an in-memory transport between nodes of one test process.
type memNet struct {
	mu    sync.Mutex
	nodes map[node.ID]*Node
}

type memSender struct {
	net  *memNet
	self node.ID
}

func (s memSender) Send(to node.ID, f Frame) {
	s.net.mu.Lock()
	target := s.net.nodes[to]
	s.net.mu.Unlock()
	if target != nil {
		target.Deliver(s.self, f)
	}
}

// cluster starts n nodes of the given process on an in-memory network and
// returns them with their traces; cancel stops them.
func cluster(t *testing.T, n int, factory node.Factory, reg *node.Registry) ([]*Node, []*trace.Trace, context.CancelFunc) {
	t.Helper()
	net := &memNet{nodes: map[node.ID]*Node{}}
	group := make([]node.ID, n)
	for i := range group {
		group[i] = node.ID(i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	nodes := make([]*Node, n)
	traces := make([]*trace.Trace, n)
	for i := range n {
		traces[i] = &trace.Trace{Nodes: n}
		nd, err := NewNode(Config{ID: node.ID(i), Group: group, New: factory, Registry: reg, Store: node.NewMemStore(),
			Transport: memSender{net, node.ID(i)}, Trace: &lockedTrace{t: traces[i]}, Seed: uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = nd
		net.nodes[node.ID(i)] = nd
	}
	for _, nd := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); _ = nd.Run(ctx) }()
	}
	return nodes, traces, func() { cancel(); wg.Wait() }
}

// lockedTrace guards a trace written by a node and read by the test.
type lockedTrace struct {
	mu sync.Mutex
	t  *trace.Trace
}

func (l *lockedTrace) Record(e *trace.Event) {
	l.mu.Lock()
	l.t.Record(e)
	l.mu.Unlock()
}

func TestTotalOrderOnLiveNodes(t *testing.T) {
	reg := node.NewRegistry(broadcast.TotalOrderMessages()...)
	nodes, traces, stop := cluster(t, 3, func(node.ID) node.Process { return broadcast.NewTotalOrder(broadcast.TotalOrderConfig{}) }, reg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := nodes[i%3].Request(ctx, broadcast.Multicast{Payload: fmt.Sprintf("m%d", i)}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the last acknowledgements land
	stop()
	merged, err := trace.Merge(traces...)
	if err != nil {
		t.Fatal(err)
	}
	checks := broadcast.CheckTotalOrder(merged)
	for _, c := range checks {
		if !c.OK {
			t.Errorf("%s: %s", c.Property, c.Detail)
		}
	}
	if len(trace.Emitted[broadcast.Delivered](merged)) != 90 {
		t.Fatalf("%d deliveries, want 90", len(trace.Emitted[broadcast.Delivered](merged)))
	}
}

func TestRequestTimesOutClearly(t *testing.T) {
	reg := node.NewRegistry(broadcast.TotalOrderMessages()...)
	nodes, _, stop := cluster(t, 2, func(node.ID) node.Process { return broadcast.NewTotalOrder(broadcast.TotalOrderConfig{}) }, reg)
	defer stop()
	nodes[0].Faults().Cut([]node.ID{1}, Both) // no acknowledgements: the multicast cannot be delivered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := nodes[0].Request(ctx, broadcast.Multicast{Payload: "x"})
	if err == nil || ctx.Err() == nil {
		t.Fatalf("err = %v; want a deadline error", err)
	}
}

func TestCutAndHealThroughFaults(t *testing.T) {
	reg := node.NewRegistry(broadcast.BestEffortMessages()...)
	nodes, traces, stop := cluster(t, 2, func(node.ID) node.Process { return broadcast.NewBestEffort(broadcast.BestEffortConfig{}) }, reg)
	nodes[0].Faults().Cut([]node.ID{1}, Out)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := nodes[0].Request(ctx, broadcast.Broadcast{Payload: "x"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	stop()
	if got := len(trace.Emitted[broadcast.Delivered](traces[1])); got != 0 {
		t.Fatalf("n1 delivered across a cut link")
	}
	if got := len(traces[0].Filter(trace.Drop)); got != 1 {
		t.Fatalf("%d drops recorded at n0, want 1", got)
	}
}

func TestPausedNodeTakesNoSteps(t *testing.T) {
	reg := node.NewRegistry(broadcast.BestEffortMessages()...)
	nodes, traces, stop := cluster(t, 2, func(node.ID) node.Process { return broadcast.NewBestEffort(broadcast.BestEffortConfig{}) }, reg)
	nodes[1].Faults().SetPaused(true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := nodes[0].Request(ctx, broadcast.Broadcast{Payload: "x"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	n1 := func() int {
		nodes[1].cfg.Trace.(*lockedTrace).mu.Lock()
		defer nodes[1].cfg.Trace.(*lockedTrace).mu.Unlock()
		return len(trace.Emitted[broadcast.Delivered](traces[1]))
	}
	if n1() != 0 {
		t.Fatal("a paused node handled a message")
	}
	nodes[1].Faults().SetPaused(false)
	deadline := time.Now().Add(2 * time.Second)
	for n1() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if n1() != 1 {
		t.Fatal("the paused node did not catch up after resuming")
	}
}

// A peer that sends bytes the node cannot decode costs a counted drop, not
// the node: it goes on delivering good messages.
func TestUndecodableMessagesAreCountedAndDropped(t *testing.T) {
	reg := node.NewRegistry(broadcast.GossipMessages()...)
	nodes, traces, stop := cluster(t, 2, func(node.ID) node.Process { return broadcast.NewGossip(broadcast.GossipConfig{}) }, reg)
	other := node.NewRegistry(broadcast.TotalOrderMessages()...)
	alien, _ := other.Encode(broadcast.Multicast{Payload: "x"})
	nodes[1].Deliver(0, Frame{Type: "broadcast.Rumor", Payload: []byte{0xff, 0x00, 0x13}})
	nodes[1].Deliver(0, Frame{Type: "broadcast.Multicast", Payload: alien})
	good, _ := reg.Encode(broadcast.Rumor{Hops: 1})
	nodes[1].Deliver(0, Frame{Payload: good})
	deadline := time.Now().Add(2 * time.Second)
	infected := func() int {
		nodes[1].cfg.Trace.(*lockedTrace).mu.Lock()
		defer nodes[1].cfg.Trace.(*lockedTrace).mu.Unlock()
		return len(trace.Emitted[broadcast.Infected](traces[1]))
	}
	for infected() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if infected() != 1 {
		t.Fatal("the node stopped delivering after bad input")
	}
	m := nodes[1].cfg.Metrics
	if got := testutilCount(t, m, "malformed") + testutilCount(t, m, "unknown-type"); got != 2 {
		t.Fatalf("%v bad messages counted, want 2", got)
	}
	if got := testutilCount(t, m, "unknown-type"); got != 1 {
		t.Fatalf("%v unknown-type drops, want 1", got)
	}
	// The good message, and only it, is counted received.
	if got := metricValue(t, m.MessagesReceived.WithLabelValues("n0", "broadcast.Rumor")); got != 1 {
		t.Fatalf("%v messages counted received, want 1", got)
	}
	if got := metricValue(t, m.BytesReceived.WithLabelValues("n0", "broadcast.Rumor")); got != float64(len(good)) {
		t.Fatalf("%v bytes counted received, want %d", got, len(good))
	}
}

// testutilCount reads synod_messages_dropped_total for one reason.
func testutilCount(t *testing.T, m *Metrics, reason string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "synod_messages_dropped_total" {
			continue
		}
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					total += metric.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// zeroTimers sets two zero-delay timers behind a message to itself and
// cancels the second: the first must fire after the message, the second
// never.
type zeroTimers struct{ seen chan string }

type zeroPing struct{}
type zeroTimer struct{ Name string }

func (p *zeroTimers) Start(env node.Env) {
	env.Send(env.Self(), zeroPing{})
	env.After(0, zeroTimer{"first"})
	env.Cancel(env.After(0, zeroTimer{"cancelled"}))
	env.After(time.Millisecond, zeroTimer{"last"})
}
func (p *zeroTimers) Receive(env node.Env, from node.ID, msg node.Message) { p.seen <- "ping" }
func (p *zeroTimers) Timeout(env node.Env, timer any)                      { p.seen <- timer.(zeroTimer).Name }
func (p *zeroTimers) Request(env node.Env, req node.Request)               {}

func TestZeroDelayTimersFireInInboxOrder(t *testing.T) {
	seen := make(chan string, 10)
	_, _, stop := cluster(t, 1, func(node.ID) node.Process { return &zeroTimers{seen: seen} }, node.NewRegistry(zeroPing{}))
	defer stop()
	var got []string
	for len(got) < 3 {
		select {
		case s := <-seen:
			got = append(got, s)
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out; got %v", got)
		}
	}
	if want := []string{"ping", "first", "last"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v (a zero-delay timer fires after the inputs already queued; a cancelled one never)", got, want)
	}
}

// exclusive counts its steps and any step that begins while another is
// under way.
type exclusive struct {
	inside, overlaps, steps atomic.Int64
}

func (p *exclusive) enter() {
	if p.inside.Add(1) != 1 {
		p.overlaps.Add(1)
	}
	time.Sleep(time.Microsecond) // widen the window an overlap would need
	p.steps.Add(1)
	p.inside.Add(-1)
}
func (p *exclusive) Start(env node.Env)                                   { p.enter() }
func (p *exclusive) Receive(env node.Env, from node.ID, msg node.Message) { p.enter() }
func (p *exclusive) Timeout(env node.Env, timer any)                      { p.enter() }
func (p *exclusive) Request(env node.Env, req node.Request)               { p.enter(); env.Reply(req.ID, "ok") }

// Inputs delivered from many goroutines at once (transport readers, request
// handlers, timers), each of which may step the process itself, are still
// fed to it one at a time, and none is lost.
func TestStepsNeverOverlap(t *testing.T) {
	p := &exclusive{}
	reg := node.NewRegistry(zeroPing{})
	nodes, _, stop := cluster(t, 1, func(node.ID) node.Process { return p }, reg)
	defer stop()
	payload, err := reg.Encode(zeroPing{})
	if err != nil {
		t.Fatal(err)
	}
	const senders, each = 8, 200
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for i := range each {
				if i%10 == 0 {
					if _, err := nodes[0].Request(context.Background(), zeroPing{}); err != nil {
						t.Error(err)
					}
					continue
				}
				nodes[0].Deliver(0, Frame{Type: "zeroPing", Payload: payload})
			}
		})
	}
	wg.Wait()
	eventually(t, "every input stepped", func() bool { return p.steps.Load() == 1+senders*each })
	if o := p.overlaps.Load(); o != 0 {
		t.Fatalf("%d steps began while another was under way", o)
	}
}

// A node that cannot keep up (here: paused) holds at most MaxInbox inputs
// and MaxInboxBytes of messages; past either, messages are dropped and
// counted, and what it held is stepped once it resumes.
func TestInboxIsBounded(t *testing.T) {
	for _, c := range []struct {
		name          string
		inputs, bytes int
		size, send    int
		want          int
	}{
		{"by count", 3, 0, 10, 10, 3},
		{"by bytes", 0, 4 << 20, 1 << 20, 10, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := node.NewRegistry(broadcast.GossipMessages()...)
			nd, err := NewNode(Config{ID: 0, Group: []node.ID{0, 1}, New: func(node.ID) node.Process { return broadcast.NewGossip(broadcast.GossipConfig{}) },
				Registry: reg, Store: node.NewMemStore(), Transport: memSender{&memNet{nodes: map[node.ID]*Node{}}, 0},
				MaxInbox: c.inputs, MaxInboxBytes: c.bytes})
			if err != nil {
				t.Fatal(err)
			}
			nd.Faults().SetPaused(true)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = nd.Run(ctx) }()
			defer func() { cancel(); <-done }()
			for range c.send {
				nd.Deliver(1, Frame{Type: "broadcast.Rumor", Payload: make([]byte, c.size)})
			}
			if got := testutilCount(t, nd.cfg.Metrics, "inbox-full"); got != float64(c.send-c.want) {
				t.Fatalf("%v inbox-full drops, want %d", got, c.send-c.want)
			}
			nd.Faults().SetPaused(false)
			deadline := time.Now().Add(2 * time.Second)
			for nd.waiting() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			// What it held, it stepped: undecodable payloads, counted as such.
			for testutilCount(t, nd.cfg.Metrics, "malformed") < float64(c.want) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := testutilCount(t, nd.cfg.Metrics, "malformed"); got != float64(c.want) {
				t.Fatalf("%v held messages stepped after resuming, want %d", got, c.want)
			}
			nd.mu.Lock()
			held := nd.inboxBytes
			nd.mu.Unlock()
			if held != 0 {
				t.Fatalf("an empty inbox counts %d bytes", held)
			}
		})
	}
}
