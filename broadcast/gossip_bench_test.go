package broadcast

import (
	"fmt"
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

// heapInUse reads the live heap (objects and free space in in-use spans).
func heapInUse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// largeGossip runs one rumor from n0 over n simulated processes in rounds,
// with messages CBOR-encoded and the events streamed to a GossipMeter and a
// trace.Metrics instead of kept, without vector clocks, and returns its
// figures and the peak live heap, sampled every round.
func largeGossip(b *testing.B, form GossipForm, n int, seed uint64) (GossipStats, uint64) {
	meter := NewGossipMeter(n)
	s, err := sim.New(sim.Config{Nodes: n, Seed: seed, DiscardTrace: true, NoClocks: true, Rounds: gossipRound,
		Registry:  node.NewRegistry(GossipMessages()...),
		New:       func(node.ID) node.Process { return NewGossip(GossipConfig{Form: form}) },
		Recorders: []trace.Recorder{meter, &trace.Metrics{}}})
	if err != nil {
		b.Fatal(err)
	}
	var peak uint64
	var sample func()
	sample = func() {
		peak = max(peak, heapInUse())
		if s.Round() <= DefaultLifetime(form, n, 1) {
			s.At(s.Now()+gossipRound, sample)
		}
	}
	s.At(0, sample)
	s.Request(0, 0, Rumor{})
	if err := s.Run(time.Hour); err != nil {
		b.Fatal(err)
	}
	st := meter.Stats()
	if st.Infected != n {
		b.Fatalf("%v gossip over %d nodes, seed %d: %d infected", form, n, seed, st.Infected)
	}
	return st, peak
}

// benchGossip runs b.N seeds of one form over n processes and reports the
// mean rounds until every process had the rumor beside the textbook's, the
// mean messages until then and in all, and the peak live heap.
func benchGossip(b *testing.B, form GossipForm, n int) {
	var rounds, toCover, messages float64
	var peak uint64
	seed := uint64(0)
	for b.Loop() {
		seed++
		st, p := largeGossip(b, form, n, seed)
		rounds += float64(st.Rounds)
		toCover += float64(st.MessagesToCover)
		messages += float64(st.Messages)
		peak = max(peak, p)
	}
	k := float64(seed)
	textbook, _ := GossipRounds(form, n, 1)
	b.ReportMetric(rounds/k, "rounds")
	b.ReportMetric(textbook, "textbook-rounds")
	b.ReportMetric(toCover/k, "msgs-to-cover")
	b.ReportMetric(messages/k, "msgs")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// BenchmarkGossip measures the three forms of gossip with fanout 1 over
// 10 to 10,000 processes: rounds until every process has the rumor beside
// the textbook figure (push log₂N + ln N, pull log₂N + log₂ln N, push-pull
// log₃N + log₂ln N), and messages. Each iteration is one seed:
//
//	go test ./broadcast -run '^$' -bench 'Gossip$' -benchtime 20x
func BenchmarkGossip(b *testing.B) {
	for _, form := range forms {
		for _, n := range []int{10, 100, 1000, 10_000} {
			b.Run(fmt.Sprintf("%v/N=%d", form, n), func(b *testing.B) { benchGossip(b, form, n) })
		}
	}
}

// BenchmarkGossip100k is BenchmarkGossip at 100,000 processes, with the
// process's peak resident set besides the peak live heap (target: under
// 2 GiB, checked with SYNOD_BENCH=1). Run it alone so that the resident-set
// figure is its own:
//
//	go test ./broadcast -run '^$' -bench Gossip100k -benchtime 3x
func BenchmarkGossip100k(b *testing.B) {
	const n = 100_000
	for _, form := range forms {
		b.Run(form.String(), func(b *testing.B) {
			benchGossip(b, form, n)
			runtime.GC()
			var ru syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			b.ReportMetric(float64(ru.Maxrss)/(1<<10), "peak-RSS-MiB")
			if os.Getenv("SYNOD_BENCH") != "" && ru.Maxrss<<10 > 2<<30 {
				b.Errorf("peak resident set %d MiB exceeds the 2 GiB target", ru.Maxrss>>10)
			}
		})
	}
}
