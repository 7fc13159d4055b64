package commit

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

// threePhaseCluster returns n processes of three-phase commit in the
// default configuration, but with every participant voting YES, and the
// broken variant given (the zero value is the correct protocol); and the
// configuration.
func threePhaseCluster(t *testing.T, n int, broken ThreePhaseBroken) (*cluster, ThreePhaseConfig) {
	cfg := DefaultThreePhaseConfig()
	cfg.NoProbability = 0
	cfg.Broken = broken
	return newCluster(t, n, func() node.Process { return NewThreePhase(cfg) }), cfg
}

// terminated returns the rules the backup coordinators applied, "TR3" etc.
func (c *cluster) terminated() []string {
	var rules []string
	for _, e := range c.emittedOf(func(v any) bool { _, ok := v.(Terminated); return ok }) {
		rules = append(rules, e.(Terminated).Rule[:3])
	}
	return rules
}

func (c *cluster) emittedOf(keep func(any) bool) []any {
	var out []any
	for _, e := range c.tr.Events {
		if e.Kind.String() == "emit" && keep(e.Value) {
			out = append(out, e.Value)
		}
	}
	return out
}

// The failure-free protocol: VOTE-REQ, YES, PRE-COMMIT, ACK, COMMIT, 5(N−1)
// messages, with no decision before the third phase.
func TestThreePhaseCommitWalkThrough(t *testing.T) {
	c, _ := threePhaseCluster(t, 3, ThreePhaseBroken{})
	c.request(0, Transaction{ID: 1})
	c.mustDecide(1, Commit, Commit, Commit)
	want := []string{"voteReq", "voteReq", "yes", "yes", "preCommit", "preCommit", "ack", "ack", "commitMsg", "commitMsg"}
	if sent := c.sent(); !slices.Equal(sent, want) {
		t.Errorf("sent %v, want %v", sent, want)
	}
	mustPass(t, Check3PC(&c.tr))
}

// The coordinator crashes (for good) after its VOTE-REQs. The participants,
// uncertain, time out, elect n1 (the lowest left in UP), which collects
// their states: all uncertain, so by rule TR3 it aborts — without waiting
// for the coordinator (BHG §7.5). 2PC would block here.
func TestThreePhaseCoordinatorCrashTerminatesByTR3(t *testing.T) {
	c, cfg := threePhaseCluster(t, 4, ThreePhaseBroken{})
	c.intercept = crashOnReceipt[yes](c, 0)
	c.request(0, Transaction{ID: 1})
	c.intercept = nil
	c.elapse(cfg.TerminationBound(4))
	c.mustDecide(1, "", Abort, Abort, Abort)
	c.mustEmit(1, "Voted{Tx:T1 Yes:true}", "Locked{Tx:T1}", "Elected{Tx:T1}",
		"Terminated{Tx:T1 Rule:TR3: n1 uncertain, n2 uncertain, n3 uncertain: all uncertain → abort}",
		"Decided{Tx:T1 Outcome:abort}", "Unlocked{Tx:T1}")
	checks := Check3PC(&c.tr)
	mustPass(t, checks)
	if d := checks[4].Detail; !strings.Contains(d, "3 of them with the coordinator down, by the termination protocol") {
		t.Errorf("non-blocking detail: %s", d)
	}
	// They held their locks for UncertainTimeout while the coordinator was
	// down, and no longer.
	if b := Blocking(&c.tr); b.Windows != 3 || b.Longest != cfg.UncertainTimeout {
		t.Errorf("blocking %+v, want 3 windows of %v", b, cfg.UncertainTimeout)
	}
}

// The coordinator crashes in the middle of its PRE-COMMITs, having reached
// n1 only. n1 is committable, so the backup coordinator applies rule TR4:
// PRE-COMMIT to the uncertain, then COMMIT (BHG §7.5).
func TestThreePhaseCoordinatorCrashAfterPreCommitTerminatesByTR4(t *testing.T) {
	c, cfg := threePhaseCluster(t, 4, ThreePhaseBroken{})
	c.intercept = crashMidBroadcast[preCommit](c, 0, 1)
	c.request(0, Transaction{ID: 1})
	c.intercept = nil
	c.elapse(cfg.TerminationBound(4))
	c.mustDecide(1, "", Commit, Commit, Commit)
	if got := c.terminated(); !slices.Equal(got, []string{"TR4"}) {
		t.Errorf("rules applied %v, want TR4", got)
	}
	mustPass(t, Check3PC(&c.tr))
}

// The coordinator crashes after its VOTE-REQs and the backup it is replaced
// by, n1, crashes as it sends its first STATE-REQ. n2 and n3 elect n1, hear
// nothing from it, remove it from UP and elect n2, which terminates (TR3).
func TestThreePhaseBackupCrashes(t *testing.T) {
	c, cfg := threePhaseCluster(t, 4, ThreePhaseBroken{})
	c.intercept = either(crashOnReceipt[yes](c, 0), crashMidBroadcast[stateReq](c, 1, node.None))
	c.request(0, Transaction{ID: 1})
	c.elapse(cfg.TerminationBound(4))
	c.mustDecide(1, "", "", Abort, Abort)
	elected := c.emittedOf(func(v any) bool { _, ok := v.(Elected); return ok })
	if len(elected) != 2 {
		t.Errorf("%d backup coordinators, want n1 then n2", len(elected))
	}
	mustPass(t, Check3PC(&c.tr))
}

// A participant that crashed after voting YES recovers uncertain and asks
// the others for the outcome (BHG §7.5, recovery), taking no part in the
// termination protocol meanwhile.
func TestThreePhaseParticipantRecovers(t *testing.T) {
	c, _ := threePhaseCluster(t, 4, ThreePhaseBroken{})
	c.intercept = crashOnReceipt[preCommit](c, 3)
	c.request(0, Transaction{ID: 1})
	c.intercept = nil
	c.elapse(100 * time.Millisecond) // the coordinator commits without n3's ACK
	c.restart(3)
	c.mustEmit(3, "Voted{Tx:T1 Yes:true}", "Locked{Tx:T1}",
		"Recovered{Log:[T1:uncertain]}", "Locked{Tx:T1}", "Decided{Tx:T1 Outcome:commit}", "Unlocked{Tx:T1}")
	mustPass(t, Check3PC(&c.tr))
}

// The textbook case for the third phase: the coordinator crashes in the
// middle of its COMMITs, having reached n1 only, and n1 crashes right after
// committing (crash-stop, both). With 3PC, n2 and n3 are committable — the
// coordinator sent COMMIT only after every ACK — so the backup coordinator
// commits too (TR4). Without the third phase (the no-precommit variant), n2
// and n3 are still uncertain and abort by TR3, while n0 and n1 committed:
// agreement is violated. Random crashes cannot stage this: the simulator
// sends a handler's messages all at once, and those already sent arrive
// even if their sender crashes.
func TestThreePhaseCrashMidBroadcast(t *testing.T) {
	for _, tc := range []variantCase[ThreePhaseBroken]{
		{name: "correct", want: []Outcome{Commit, Commit, Commit, Commit}},
		{name: "no-precommit", broken: ThreePhaseBroken{NoPreCommit: true}, want: []Outcome{Commit, Commit, Abort, Abort}, fails: []string{PropAgreement}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, cfg := threePhaseCluster(t, 4, tc.broken)
			c.intercept = crashMidBroadcast[commitMsg](c, 0, 1, 1)
			c.request(0, Transaction{ID: 1})
			c.intercept = nil
			c.elapse(cfg.TerminationBound(4))
			c.mustDecide(1, tc.want...)
			mustViolate(t, Check3PC(&c.tr), tc.fails)
		})
	}
}

// 3PC's known failure: a partition is not a crash. {n0, n1} are cut off
// from {n2, n3} after the votes, as the PRE-COMMITs go out. n0 takes the
// silent n2 and n3 for crashed and commits with n1; n2 and n3 take n0 and
// n1 for crashed, elect n2 and abort by TR3 (all uncertain). The checker
// reports the agreement violation. 2PC under the same partition blocks n2
// and n3 until it heals, then they commit: slower, but safe.
func TestThreePhasePartitionDisagreement(t *testing.T) {
	a, b := []node.ID{0, 1}, []node.ID{2, 3}
	cut := func(c *cluster, first func(node.Message) bool) {
		c.intercept = func(e envelope) bool {
			if e.from == 0 && e.to == 2 && first(e.msg) {
				c.partition(a, b)
				c.intercept = nil
				return true
			}
			return false
		}
	}
	t.Run("3pc", func(t *testing.T) {
		c, cfg := threePhaseCluster(t, 4, ThreePhaseBroken{})
		cut(c, isType[preCommit])
		c.request(0, Transaction{ID: 1})
		c.elapse(cfg.TerminationBound(4))
		c.mustDecide(1, Commit, Commit, Abort, Abort)
		checks := Check3PC(&c.tr)
		mustViolate(t, checks, []string{PropAgreement})
		if !strings.Contains(checks[0].Detail, "n0 decided commit") || !strings.Contains(checks[0].Detail, "n2 abort") {
			t.Errorf("agreement: %s", checks[0].Detail)
		}
	})
	t.Run("2pc", func(t *testing.T) {
		c, _ := twoPhaseCluster(t, 4, TwoPhaseBroken{})
		cut(c, isType[commitMsg])
		c.request(0, Transaction{ID: 1})
		c.elapse(time.Second)
		c.mustDecide(1, Commit, Commit, "", "") // during the partition
		c.heal()
		c.elapse(100 * time.Millisecond)
		c.mustDecide(1, Commit, Commit, Commit, Commit)
		mustPass(t, Check2PC(&c.tr))
	})
}
