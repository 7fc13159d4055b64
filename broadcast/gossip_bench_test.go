package broadcast

import (
	"os"
	"runtime"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// infectedCounter is a trace.Recorder that counts first infections without
// keeping the trace, so coverage can be checked on runs too large to store.
type infectedCounter struct {
	seen     []bool
	infected int
}

func (c *infectedCounter) Record(e *trace.Event) {
	if _, ok := e.Value.(Infected); ok && e.Kind == trace.Emit && !c.seen[e.Node] {
		c.seen[e.Node] = true
		c.infected++
	}
}

// heapInUse reads the live heap (objects and free space in in-use spans).
func heapInUse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// BenchmarkGossip100k runs push gossip over 100,000 simulated nodes, with
// encoding on and the trace streamed to a recorder rather than kept, and
// reports the peak live heap (sampled every millisecond of virtual time) and
// the process's peak resident set. Target: under 2 GiB. Run it alone so the
// resident-set figure is its own:
//
//	go test ./broadcast -run '^$' -bench Gossip100k -benchtime 1x
func BenchmarkGossip100k(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		counter := &infectedCounter{seen: make([]bool, n)}
		m := &trace.Metrics{}
		s, err := sim.New(sim.Config{Nodes: n, Seed: 1, DiscardTrace: true, NoClocks: true,
			Registry:  node.NewRegistry(GossipMessages()...),
			New:       func(node.ID) node.Process { return NewGossip(GossipConfig{}) },
			Recorders: []trace.Recorder{counter, m},
			Network:   sim.Network{Default: sim.Link{Latency: sim.Uniform(time.Millisecond, 10*time.Millisecond), Reorder: true}}})
		if err != nil {
			b.Fatal(err)
		}
		var peak uint64
		var sample func()
		sample = func() {
			peak = max(peak, heapInUse())
			s.At(s.Now()+time.Millisecond, sample)
		}
		s.At(0, sample)
		s.Request(0, 0, Rumor{})
		if err := s.Run(2 * time.Second); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		if c := coverageCheck(counter.infected, n, 0); !c.OK {
			b.Fatalf("gossip over %d nodes: %s", n, c.Detail)
		}
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(ru.Maxrss)/(1<<10), "peak-RSS-MiB")
		b.ReportMetric(float64(m.Sent), "messages")
		b.ReportMetric(float64(counter.infected), "infected")
		b.ReportMetric(float64(m.Completion)/float64(time.Millisecond), "virtual-ms")
		if os.Getenv("SYNOD_BENCH") != "" && peak > 2<<30 {
			b.Errorf("peak heap %d MiB exceeds the 2 GiB target", peak>>20)
		}
	}
}
