package clocksync_test

import (
	"testing"
	"time"

	"github.com/synod-dev/synod/clocksync"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// TestRBSOnABroadcastMedium is the point of reference broadcasts: on a
// medium where receivers hear a broadcast within 100 µs of each other, RBS
// is that precise however late the sender sends. Here the broadcaster is
// paused again and again, so its beacons leave late and in bunches: the
// send-time uncertainty that sender-to-receiver protocols cannot remove
// (Elson et al., §2.1), which RBS cancels since every receiver sees the same
// send.
func TestRBSOnABroadcastMedium(t *testing.T) {
	const jitter = 100 * time.Microsecond
	var pauses []sim.Scheduled
	for at := 150 * time.Millisecond; at < runFor; at += 700 * time.Millisecond {
		pauses = append(pauses, sim.Scheduled{At: at, Action: sim.Pause(0)}, sim.Scheduled{At: at + 25*time.Millisecond, Action: sim.Resume(0)})
	}
	cfg := clocksync.RBSConfig{Jitter: jitter}
	for seed := uint64(1); seed <= 5; seed++ {
		s, err := sim.New(sim.Config{
			Nodes:    5,
			New:      func(node.ID) node.Process { return clocksync.NewRBS(cfg) },
			Registry: node.NewRegistry(clocksync.RBSMessages()...),
			Seed:     seed,
			Network:  sim.Network{Default: sim.Link{Latency: sim.Uniform(time.Millisecond, time.Millisecond+jitter)}},
			Schedule: append(defaultClocks(5), pauses...),
		})
		if err != nil {
			t.Fatal(err)
		}
		clocksync.SampleWorkload(s, samples, runFor)
		if err := s.Run(runFor); err != nil {
			t.Fatal(err)
		}
		o := clocksync.CheckOptions{Epoch: sim.Epoch, WarmUp: cfg.WarmUp()}
		requireOK(t, clocksync.Check(s.Trace(), o), replay(t))
		st := clocksync.Measure(s.Trace(), o)
		// Between rounds a second apart, two clocks drift apart by up to
		// 2ρ = 200 µs: the bounds allow for it, and the skew shows it.
		const drift = time.Duration(2 * clocksync.DefaultMaxDrift * float64(1200*time.Millisecond))
		if st.MeanSkew > jitter || st.MaxSkew > jitter+drift || st.MaxBound > jitter+drift+10*time.Microsecond {
			t.Errorf("seed %d: skew mean %v, max %v, max bound %v: want the mean within the jitter, %v, and the max and the bounds within the jitter and the drift, %v",
				seed, st.MeanSkew, st.MaxSkew, st.MaxBound, jitter, jitter+drift)
		}
		if got := len(s.Trace().Filter(trace.Pause)); got < 10 {
			t.Fatalf("the broadcaster was paused %d times", got)
		}
		t.Logf("seed %d: %+v", seed, st)
	}
}
