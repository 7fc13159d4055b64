package clocksync

import (
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

// TestRBSOffsets is §3.1's estimate on one round: receiver n1 heard three
// beacons at 10, 20 and 30 ms on its clock; n2 reports 15, 25 and 36 ms,
// n3 only the first two, at 8 and 18 ms. Then offset[n1,n2] = 16/3 ms,
// offset[n1,n3] = −2 ms, and the mean of the three clocks is
// (0 + 16/3 − 2)/3 ms = 1.111 ms ahead of n1's.
func TestRBSOffsets(t *testing.T) {
	tests := []struct {
		name        string
		excludeSelf bool
		want        time.Duration
	}{
		{"the mean of all the clocks", false, 1111111},
		{"broken: the mean of the others' clocks", true, 1666666},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(1, 4)
			p := NewRBS(RBSConfig{ExcludeSelf: tt.excludeSelf})
			p.Start(env)
			at := func(d time.Duration) wireTime { return stamp(epoch.Add(d)) }
			for k, d := range []time.Duration{10, 20, 30} {
				env.Clock = epoch.Add(d * time.Millisecond)
				p.Receive(env, 0, rbsBeacon{Epoch: 1, Round: 1, Seq: k})
				p.Receive(env, 0, rbsBeacon{Epoch: 1, Round: 1, Seq: k}) // a duplicate
			}
			if len(p.obs) != 3 {
				t.Fatalf("%d observations, want 3", len(p.obs))
			}
			p.Receive(env, 2, rbsReport{Epoch: 1, Round: 1, Obs: []rbsObservation{{0, at(15 * msec)}, {1, at(25 * msec)}, {2, at(36 * msec)}}})
			p.Receive(env, 3, rbsReport{Epoch: 1, Round: 1, Obs: []rbsObservation{{0, at(8 * msec)}, {1, at(18 * msec)}}})
			p.Receive(env, 3, rbsReport{Epoch: 1, Round: 1, Obs: []rbsObservation{{0, at(900 * msec)}}}) // a duplicate: the first counts
			env.Clock = epoch.Add(200 * time.Millisecond)
			p.Timeout(env, rbsEstimate{Round: rbsRoundID{1, 1}})
			if got := p.clock.target(); got != tt.want {
				t.Errorf("target offset %v, want %v", got, tt.want)
			}
			r := p.clock.reading(env.Clock)
			if r.Reference != "mean(n1,n2,n3)" || !r.Synced {
				t.Errorf("reading %+v, want synchronized to mean(n1,n2,n3)", r)
			}
			// A beacon of an older round is ignored; one of a newer round
			// starts it afresh.
			p.Receive(env, 0, rbsBeacon{Epoch: 0, Round: 9, Seq: 0})
			if p.cur != (rbsRoundID{1, 1}) {
				t.Errorf("an old epoch's beacon moved the round to %+v", p.cur)
			}
			p.Receive(env, 0, rbsBeacon{Epoch: 2, Round: 1, Seq: 3})
			if p.cur != (rbsRoundID{2, 1}) || len(p.obs) != 1 {
				t.Errorf("after a new epoch's beacon: round %+v, %d observations", p.cur, len(p.obs))
			}
		})
	}
}

// TestRBSBroadcasterTakesNoPart: the broadcaster answers a Sample with its
// own clock but emits no Reading, so the checker does not count it.
func TestRBSBroadcasterTakesNoPart(t *testing.T) {
	env := newFakeEnv(0, 3)
	p := NewRBS(RBSConfig{})
	p.Start(env)
	p.Request(env, node.Request{ID: 1, Op: Sample{}})
	if rs := readings(env); len(rs) != 0 {
		t.Fatalf("the broadcaster emitted %+v", rs)
	}
}

// TestRBSKeepsFewReports: a receiver that hears no beacons (its link from
// the broadcaster is cut) keeps only the latest rounds' reports, not all.
func TestRBSKeepsFewReports(t *testing.T) {
	env := newFakeEnv(1, 4)
	p := NewRBS(RBSConfig{})
	p.Start(env)
	for r := uint64(1); r <= 100; r++ {
		p.Receive(env, 2, rbsReport{Epoch: 1, Round: r, Obs: []rbsObservation{{0, stamp(epoch)}}})
	}
	if len(p.reports) != 2 || p.reports[rbsRoundID{1, 100}] == nil || p.reports[rbsRoundID{1, 99}] == nil {
		t.Fatalf("kept the reports of %d rounds: %v", len(p.reports), p.reports)
	}
}
