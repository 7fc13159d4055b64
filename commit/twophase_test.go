package commit

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

// twoPhaseCluster returns n processes of two-phase commit in the default
// configuration, but with every participant voting YES, so that the
// walk-throughs follow one path, and the broken variant given (the zero
// value is the correct protocol); and the configuration.
func twoPhaseCluster(t *testing.T, n int, broken TwoPhaseBroken) (*cluster, TwoPhaseConfig) {
	cfg := DefaultTwoPhaseConfig()
	cfg.NoProbability = 0
	cfg.Broken = broken
	return newCluster(t, n, func() node.Process { return NewTwoPhase(cfg) }), cfg
}

// The failure-free protocol, step by step (BHG §7.4): VOTE-REQ, YES,
// COMMIT, ACK, with the prepared record forced before the YES and the
// decision forced before COMMIT.
func TestTwoPhaseCommitWalkThrough(t *testing.T) {
	c, _ := twoPhaseCluster(t, 3, TwoPhaseBroken{})
	c.request(0, Transaction{ID: 1})
	c.mustDecide(1, Commit, Commit, Commit)
	c.mustEmit(0, "Began{Tx:T1 Participants:[n1 n2]}", "Decided{Tx:T1 Outcome:commit}")
	c.mustEmit(1, "Voted{Tx:T1 Yes:true}", "Locked{Tx:T1}", "Decided{Tx:T1 Outcome:commit}", "Unlocked{Tx:T1}")
	// Every message the protocol sends, in order: VOTE-REQ ×2, YES ×2,
	// COMMIT ×2, ACK ×2 — 4(N−1).
	want := []string{"voteReq", "voteReq", "yes", "yes", "commitMsg", "commitMsg", "ack", "ack"}
	if sent := c.sent(); !slices.Equal(sent, want) {
		t.Errorf("sent %v, want %v", sent, want)
	}
	// The forced writes: the coordinator's start record and decision, each
	// participant's prepared record and decision.
	for id, want := range []int{2, 2, 2} {
		if got := c.envs[id].Disk().Syncs; got != want {
			t.Errorf("%v synced %d times, want %d", node.ID(id), got, want)
		}
	}
	mustPass(t, Check2PC(&c.tr))
	c.request(0, Transaction{ID: 1}) // asked again: the same result
	if r := c.envs[0].Ops[len(c.envs[0].Ops)-1]; r != "reply 2 Result{Tx:T1 Outcome:commit Err:}" {
		t.Errorf("second request answered %q", r)
	}
}

// A participant that crashed after voting YES is uncertain when it
// restarts: it takes its locks again, asks the others (the termination
// protocol) and learns the outcome (BHG §7.4, recovery). Without the forced
// prepared record it would forget its vote and abort what the others
// committed.
func TestTwoPhaseParticipantCrashAfterPrepareLearnsOutcome(t *testing.T) {
	for _, tc := range []variantCase[TwoPhaseBroken]{
		{name: "correct"},
		{name: "unsynced-prepare", broken: TwoPhaseBroken{UnsyncedPrepare: true}, fails: []string{PropAgreement, PropDurability}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := twoPhaseCluster(t, 4, tc.broken)
			// n3 crashes the moment the COMMIT of T1 reaches it.
			c.intercept = crashOnReceipt[commitMsg](c, 3)
			c.request(0, Transaction{ID: 1})
			c.intercept = nil
			c.mustDecide(1, Commit, Commit, Commit, "")
			c.elapse(100 * time.Millisecond) // the COMMIT sent again at 60 ms is lost too
			c.restart(3)
			c.elapse(100 * time.Millisecond) // and sent again at 120 ms
			if tc.fails == nil {
				c.mustEmit(3, "Voted{Tx:T1 Yes:true}", "Locked{Tx:T1}",
					"Recovered{Log:[T1:uncertain]}", "Locked{Tx:T1}", "Decided{Tx:T1 Outcome:commit}", "Unlocked{Tx:T1}")
				c.request(3, Status{Tx: 1})
				if r := c.envs[3].Ops[len(c.envs[3].Ops)-1]; !strings.Contains(r, "State:committed") {
					t.Errorf("status after recovery: %q", r)
				}
			} else {
				// The restarted n3 has no record of T1, and when the COMMIT
				// comes again it aborts.
				c.mustEmit(3, "Voted{Tx:T1 Yes:true}", "Locked{Tx:T1}", "Decided{Tx:T1 Outcome:abort}")
			}
			mustViolate(t, Check2PC(&c.tr), tc.fails)
		})
	}
}

// The coordinator crashes after its VOTE-REQs: every participant has voted
// YES and none knows the outcome, so the termination protocol cannot help.
// They block, holding their locks, until the coordinator returns; it finds a
// start record and no decision and aborts (BHG §7.4). The checker reports
// the blocking windows and does not count them as a violation.
func TestTwoPhaseCoordinatorCrashBlocksUntilItReturns(t *testing.T) {
	c, _ := twoPhaseCluster(t, 4, TwoPhaseBroken{})
	c.intercept = crashOnReceipt[yes](c, 0) // the first YES finds it down; the others too
	c.request(0, Transaction{ID: 1})
	c.intercept = nil
	c.elapse(500 * time.Millisecond)
	c.mustDecide(1, "", "", "", "") // while the coordinator is down
	// Each participant asked every 60 ms, in vain.
	asks := 0
	for _, e := range c.tr.Events {
		if e.Kind.String() == "send" && isType[decisionReq](e.Value) && e.Node == 1 {
			asks++
		}
	}
	if asks != 3*8 {
		t.Errorf("n1 sent %d DECISION-REQs in 500 ms, want 3 every 60 ms: 24", asks)
	}
	mid := Check2PC(&c.tr)
	mustPass(t, mid)
	if d := mid[4].Detail; !strings.Contains(d, "3 still blocked when the run ended") || !strings.Contains(d, "not a violation") {
		t.Errorf("termination while blocked: %s", d)
	}

	c.restart(0)
	c.mustDecide(1, Abort, Abort, Abort, Abort)
	c.mustEmit(0, "Began{Tx:T1 Participants:[n1 n2 n3]}", "Recovered{Log:[T1:uncertain]}", "Decided{Tx:T1 Outcome:abort}")
	c.mustEmit(2, "Voted{Tx:T1 Yes:true}", "Locked{Tx:T1}", "Decided{Tx:T1 Outcome:abort}", "Unlocked{Tx:T1}")
	checks := Check2PC(&c.tr)
	mustPass(t, checks)
	b := Blocking(&c.tr)
	if b.Windows != 3 || b.Longest != 500*time.Millisecond || b.Total != 1500*time.Millisecond || b.AtEnd != 0 {
		t.Errorf("blocking %+v, want 3 windows of 500ms", b)
	}
	if d := checks[4].Detail; !strings.Contains(d, "3 blocking windows") {
		t.Errorf("termination detail lacks the blocking windows: %s", d)
	}
}

// The coordinator crashes in the middle of its COMMITs, having reached n1
// only. n2 and n3 are uncertain; the cooperative termination protocol
// (BHG §7.4) lets n1 tell them, without the coordinator.
func TestTwoPhaseCooperativeTermination(t *testing.T) {
	c, _ := twoPhaseCluster(t, 4, TwoPhaseBroken{})
	c.intercept = crashMidBroadcast[commitMsg](c, 0, 1)
	c.request(0, Transaction{ID: 1})
	c.intercept = nil
	c.elapse(100 * time.Millisecond)
	c.mustDecide(1, Commit, Commit, Commit, Commit)
	// n2 learned it from n1, at its first DECISION-REQ (60 ms).
	c.mustEmit(2, "Voted{Tx:T1 Yes:true}", "Locked{Tx:T1}", "Decided{Tx:T1 Outcome:commit}", "Unlocked{Tx:T1}")
	mustPass(t, Check2PC(&c.tr))
	if b := Blocking(&c.tr); b.Windows != 2 || b.Longest != 60*time.Millisecond {
		t.Errorf("blocking %+v, want n2 and n3 blocked 60 ms", b)
	}
}

// A participant is down when the VOTE-REQ comes, so its vote never does:
// the coordinator must abort when its vote timer fires. The broken variant
// commits, violating commit validity.
func TestTwoPhaseMissingVote(t *testing.T) {
	for _, tc := range []variantCase[TwoPhaseBroken]{
		{name: "correct", want: []Outcome{Abort, Abort, Abort, Abort}},
		{name: "commit-on-timeout", broken: TwoPhaseBroken{CommitOnTimeout: true}, want: []Outcome{Commit, Commit, Commit, Abort}, fails: []string{PropAgreement, PropCommitValidity}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, cfg := twoPhaseCluster(t, 4, tc.broken)
			c.crash(3)
			c.request(0, Transaction{ID: 1})
			c.elapse(cfg.VoteTimeout)
			c.restart(3)
			c.elapse(time.Second) // the decision is sent again until n3 acknowledges
			c.mustDecide(1, tc.want...)
			mustViolate(t, Check2PC(&c.tr), tc.fails)
		})
	}
}

// The coordinator crashes right after deciding Commit. Its forced decision
// survives: on restart it announces it again. The broken variant did not
// force it, finds only the start record and aborts what it committed.
func TestTwoPhaseCoordinatorRecoversItsDecision(t *testing.T) {
	for _, tc := range []variantCase[TwoPhaseBroken]{
		{name: "correct"},
		{name: "unsynced-decision", broken: TwoPhaseBroken{UnsyncedDecision: true}, fails: []string{PropAgreement, PropDurability}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := twoPhaseCluster(t, 3, tc.broken)
			c.intercept = crashMidBroadcast[commitMsg](c, 0, node.None)
			c.request(0, Transaction{ID: 1})
			c.intercept = nil
			c.restart(0)
			c.elapse(time.Second)
			mustViolate(t, Check2PC(&c.tr), tc.fails)
			if tc.fails == nil {
				c.mustEmit(0, "Began{Tx:T1 Participants:[n1 n2]}", "Decided{Tx:T1 Outcome:commit}", "Recovered{Log:[T1:committed]}")
			}
		})
	}
}

// A participant that has not voted answers a DECISION-REQ by aborting
// unilaterally (BHG §7.4), and then votes NO when the VOTE-REQ arrives.
func TestTwoPhaseUnvotedParticipantAbortsWhenAsked(t *testing.T) {
	c, _ := twoPhaseCluster(t, 3, TwoPhaseBroken{})
	env := c.envs[2]
	env.Clock = nodetest.Epoch
	c.procs[2].Receive(env, 1, decisionReq{Tx: 7})
	c.procs[2].Receive(env, 0, voteReq{Tx: 7})
	got := env.TakeOps()
	want := []string{"sync", "emit Decided{Tx:T7 Outcome:abort}", "send n1 abortMsg{Tx:T7}", "send n0 no{Tx:T7}"}
	if !slices.Equal(got, want) {
		t.Errorf("ops %q, want %q", got, want)
	}
}
