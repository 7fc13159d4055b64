package clocksync_test

import (
	"testing"
	"time"

	"github.com/synod-dev/synod/clocksync"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// TestBerkeleyWildClock is the reason for the fault-tolerant average: n3's
// clock is half a second fast. Averaged in, it would drag every clock
// 100 ms ahead; left out, the group agrees near the good clocks, and n3 is
// corrected all the same. Either way the group agrees: the algorithm
// promises agreement, and the checker passes both.
func TestBerkeleyWildClock(t *testing.T) {
	tests := []struct {
		name      string
		threshold time.Duration
		lo, hi    time.Duration // the group's offset from true time in the end
	}{
		{"fault-tolerant average", 0, 0, 15 * time.Millisecond},
		{"plain average", time.Hour, 80 * time.Millisecond, 110 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clocksync.BerkeleyConfig{Threshold: tt.threshold}
			cfg.SlewRate = 0.5 // n3's half second is slewed out in a second, not ten
			s, err := sim.New(sim.Config{
				Nodes:    5,
				New:      func(node.ID) node.Process { return clocksync.NewBerkeley(cfg) },
				Registry: node.NewRegistry(clocksync.BerkeleyMessages()...),
				Seed:     1,
				Schedule: append(defaultClocks(5), sim.Scheduled{Action: sim.Skew(3, 500*time.Millisecond)}),
			})
			if err != nil {
				t.Fatal(err)
			}
			clocksync.SampleWorkload(s, samples, runFor)
			if err := s.Run(runFor); err != nil {
				t.Fatal(err)
			}
			o := clocksync.CheckOptions{Epoch: sim.Epoch, WarmUp: cfg.WarmUp()}
			checks := clocksync.Check(s.Trace(), o)
			if !trace.AllOK(checks) {
				t.Fatalf("%+v", checks)
			}
			st := clocksync.Measure(s.Trace(), o)
			if st.MaxSkew > 5*time.Millisecond {
				t.Errorf("max skew %v: the group does not agree", st.MaxSkew)
			}
			// Every clock, n3's included, is near the group's.
			var last []clocksync.Reading
			for _, r := range trace.Emitted[clocksync.Reading](s.Trace()) {
				if r.Time == runFor {
					last = append(last, r.Value)
				}
			}
			if len(last) != 5 {
				t.Fatalf("%d readings at the end", len(last))
			}
			for i, r := range last {
				if off := r.Adjusted.Sub(sim.Epoch.Add(runFor)); off < tt.lo || off > tt.hi {
					t.Errorf("n%d ends %v off true time, want %v to %v", i, off, tt.lo, tt.hi)
				}
			}
		})
	}
}
