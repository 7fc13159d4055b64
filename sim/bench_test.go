package sim

import (
	"container/heap"
	"os"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// The baseline for the cost of a simulated delivery: one push and one pop on
// a plain container/heap of events, at the same steady queue size as the
// flooding benchmark keeps in flight.

type baseEvent struct {
	at   time.Duration
	seq  uint64
	to   node.ID
	from node.ID
	msg  any
}

type baseHeap []baseEvent

func (h baseHeap) Len() int { return len(h) }
func (h baseHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h baseHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *baseHeap) Push(x any)   { *h = append(*h, x.(baseEvent)) }
func (h *baseHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// inFlight is the number of messages circulating in the flooding benchmark,
// and the size of the baseline heap.
const inFlight = 1024

func BenchmarkHeapBaseline(b *testing.B) {
	var h baseHeap
	var seq uint64
	r := newRand(1, 1)
	for range inFlight {
		seq++
		heap.Push(&h, baseEvent{at: time.Duration(r.Int64N(int64(5 * time.Millisecond))), seq: seq})
	}
	b.ResetTimer()
	for b.Loop() {
		e := heap.Pop(&h).(baseEvent)
		seq++
		e.at += time.Duration(r.Int64N(int64(4*time.Millisecond))) + time.Millisecond
		e.seq = seq
		heap.Push(&h, e)
	}
}

// flood is the trivial flooding process: every message it receives it
// passes on to a random peer, so a fixed number of messages keep circulating.
type flood struct{ delivered *int }

type token struct{ Hops int }

func (f *flood) Start(env node.Env) {
	if env.Self() == 0 {
		for range inFlight {
			env.Send(node.ID(env.Rand().IntN(len(env.Group()))), token{})
		}
	}
}
func (f *flood) Receive(env node.Env, from node.ID, m node.Message) {
	*f.delivered++
	env.Send(node.ID(env.Rand().IntN(len(env.Group()))), token{Hops: m.(token).Hops + 1})
}
func (f *flood) Timeout(node.Env, any)          {}
func (f *flood) Request(node.Env, node.Request) {}

// benchDelivery measures one delivery (pop, Receive, the Send it makes, push)
// of the flooding process with the given settings.
func benchDelivery(b *testing.B, noEncode, keepTrace bool) {
	delivered := 0
	cfg := Config{Nodes: 16, Seed: 1, NoEncode: noEncode, DiscardTrace: !keepTrace, NoClocks: !keepTrace,
		Registry: node.NewRegistry(token{}),
		New:      func(node.ID) node.Process { return &flood{delivered: &delivered} },
		Network:  Network{Default: Link{Latency: Uniform(time.Millisecond, 5*time.Millisecond), Reorder: true}}}
	m := &trace.Metrics{}
	cfg.Recorders = []trace.Recorder{m}
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Run(10 * time.Millisecond); err != nil { // warm up: reach the steady state
		b.Fatal(err)
	}
	target := delivered + b.N
	b.ResetTimer()
	for delivered < target {
		// Run in slices of virtual time and stop as soon as b.N is reached.
		if err := s.Run(s.Now() + time.Millisecond); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if m.Delivered < b.N {
		b.Fatalf("metrics saw %d deliveries, want at least %d", m.Delivered, b.N)
	}
}

func BenchmarkDelivery(b *testing.B) {
	b.Run("encode=off", func(b *testing.B) { benchDelivery(b, true, false) })
	b.Run("encode=on", func(b *testing.B) { benchDelivery(b, false, false) })
	b.Run("encode=on/trace", func(b *testing.B) { benchDelivery(b, false, true) })
}

// TestDeliveryCostRatio measures the delivery benchmarks and the heap
// baseline in the same run and reports their ratio; the target is a
// delivery with encoding off at most 3× the baseline. Timing tests are noisy
// on shared machines, so it runs only with SYNOD_BENCH=1:
//
//	SYNOD_BENCH=1 go test ./sim -run TestDeliveryCostRatio -v
func TestDeliveryCostRatio(t *testing.T) {
	if os.Getenv("SYNOD_BENCH") == "" {
		t.Skip("set SYNOD_BENCH=1 to measure")
	}
	ns := func(f func(b *testing.B)) float64 {
		best := 0.0
		for range 5 { // best of 5: noise only ever adds time
			r := testing.Benchmark(f)
			if v := float64(r.T.Nanoseconds()) / float64(r.N); best == 0 || v < best {
				best = v
			}
		}
		return best
	}
	base := ns(BenchmarkHeapBaseline)
	off := ns(func(b *testing.B) { benchDelivery(b, true, false) })
	on := ns(func(b *testing.B) { benchDelivery(b, false, false) })
	tr := ns(func(b *testing.B) { benchDelivery(b, false, true) })
	t.Logf("heap push+pop baseline: %6.1f ns", base)
	t.Logf("delivery, encoding off: %6.1f ns  = %.2f× baseline (target ≤ 3×)", off, off/base)
	t.Logf("delivery, encoding on:  %6.1f ns  = %.2f× baseline", on, on/base)
	t.Logf("delivery, encoding on, full trace with vector clocks: %6.1f ns = %.2f× baseline", tr, tr/base)
	if off/base > 3 {
		t.Errorf("a delivery with encoding off costs %.2f× the heap baseline; target ≤ 3×", off/base)
	}
}
