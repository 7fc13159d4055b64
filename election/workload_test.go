package election_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/election"
	"github.com/synod-dev/synod/node"
)

func group(n int) []node.ID {
	ids := make([]node.ID, n)
	for i := range ids {
		ids[i] = node.ID(i)
	}
	return ids
}

// CoordinatorCrashes crashes the highest processes one after another, then
// brings them back lowest first, between 20% and 70% of the run, and always
// leaves one process up.
func TestCoordinatorCrashes(t *testing.T) {
	cases := []struct {
		n, k   int
		length time.Duration
		want   string
	}{
		{5, 1, 10 * time.Second, "2s crash n4; 7s restart n4"},
		{5, 2, 6 * time.Second, "1.2s crash n4; 2.2s crash n3; 3.2s restart n3; 4.2s restart n4"},
		{3, 9, 7 * time.Second, "1.4s crash n2; 2.566s crash n1; 3.732s restart n1; 4.898s restart n2"},
		{5, 0, 10 * time.Second, ""},
		{1, 3, 10 * time.Second, ""},
	}
	for _, c := range cases {
		plan := election.CoordinatorCrashes(group(c.n), c.k, c.length)
		var got []string
		for _, f := range plan {
			got = append(got, f.String())
		}
		if s := strings.Join(got, "; "); s != c.want {
			t.Errorf("N=%d k=%d over %v: %q, want %q", c.n, c.k, c.length, s, c.want)
		}
		if !slices.IsSortedFunc(plan, func(a, b election.Fault) int { return int(a.At - b.At) }) {
			t.Errorf("N=%d k=%d: plan not in time order: %v", c.n, c.k, plan)
		}
	}
}
