package clocksync

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

// TestFaultTolerantAverage: the master averages the largest set of clocks
// within the threshold of each other, its own offset 0 among them (in
// Coulouris et al.'s words, "a subset is chosen of clocks that do not
// differ from one another by more than a specified amount").
func TestFaultTolerantAverage(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		offsets []time.Duration // of n0 (the master, 0), n1, n2, ...
		want    time.Duration
	}{
		{"all within the threshold: the plain mean", []time.Duration{0, 3 * ms, -9 * ms, 10 * ms}, 1 * ms},
		{"a clock gone wild is left out", []time.Duration{0, 3 * ms, -3 * ms, 500 * ms}, 0},
		{"two wild clocks, far apart, are both left out", []time.Duration{0, 4 * ms, 2 * ms, 500 * ms, -400 * ms}, 2 * ms},
		{"a wild master is outvoted", []time.Duration{0, 100 * ms, 104 * ms, 108 * ms}, 104 * ms},
		{"of two sets as large, the one holding the master", []time.Duration{0, 5 * ms, 60 * ms, 70 * ms}, 2500 * time.Microsecond},
		{"alone, the master keeps its clock", []time.Duration{0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ests []berkeleyEstimate
			for i, o := range tt.offsets {
				ests = append(ests, berkeleyEstimate{id: node.ID(i), offset: o})
			}
			slices.SortFunc(ests, func(a, b berkeleyEstimate) int {
				return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.id, b.id))
			})
			if got := faultTolerantAverage(ests, 0, 20*ms); got != tt.want {
				t.Fatalf("average %v, want %v", got, tt.want)
			}
		})
	}
}
