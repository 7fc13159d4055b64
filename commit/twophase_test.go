package commit

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

func twoPhase(cfg TwoPhaseConfig) func() node.Process {
	return func() node.Process { return NewTwoPhase(cfg) }
}

// allYes2PC is the default configuration with every participant voting YES,
// so that the walk-throughs follow one path.
func allYes2PC() TwoPhaseConfig {
	cfg := DefaultTwoPhaseConfig()
	cfg.NoProbability = 0
	return cfg
}

// The failure-free protocol, step by step (BHG §7.4): VOTE-REQ, YES,
// COMMIT, ACK, with the prepared record forced before the YES and the
// decision forced before COMMIT.
func TestTwoPhaseCommitWalkThrough(t *testing.T) {
	c := newCluster(t, 3, twoPhase(allYes2PC()))
	c.request(0, Transaction{ID: 1})
	if got := c.decisions(1); !slices.Equal(got, []Outcome{Commit, Commit, Commit}) {
		t.Fatalf("decisions %v", got)
	}
	c.mustEmit(0, "Began{Tx:T1 Participants:[n1 n2]}", "Decided{Tx:T1 Outcome:commit}")
	c.mustEmit(1, "Voted{Tx:T1 Yes:true}", "Locked{Tx:T1}", "Decided{Tx:T1 Outcome:commit}", "Unlocked{Tx:T1}")
	// Every message the protocol sends, in order: VOTE-REQ ×2, YES ×2,
	// COMMIT ×2, ACK ×2 — 4(N−1).
	var sent []string
	for _, e := range c.tr.Events {
		if e.Kind.String() == "send" {
			sent = append(sent, shortType(e.Type))
		}
	}
	want := []string{"voteReq", "voteReq", "yes", "yes", "commitMsg", "commitMsg", "ack", "ack"}
	if !slices.Equal(sent, want) {
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
	for _, tc := range []struct {
		name   string
		broken TwoPhaseBroken
		fails  []string
	}{
		{"correct", TwoPhaseBroken{}, nil},
		{"unsynced-prepare", TwoPhaseBroken{UnsyncedPrepare: true}, []string{PropAgreement, PropDurability}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := allYes2PC()
			cfg.Broken = tc.broken
			c := newCluster(t, 4, twoPhase(cfg))
			// n3 crashes the moment the COMMIT of T1 reaches it.
			c.intercept = func(e envelope) bool {
				if e.to == 3 && isType[commitMsg](e.msg) {
					c.crash(3)
					return true
				}
				return false
			}
			c.request(0, Transaction{ID: 1})
			c.intercept = nil
			if got := c.decisions(1); !slices.Equal(got, []Outcome{Commit, Commit, Commit, ""}) {
				t.Fatalf("decisions before the restart: %v", got)
			}
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
			if got := failed(Check2PC(&c.tr)); !slices.Equal(got, tc.fails) {
				t.Errorf("violated %v, want %v", got, tc.fails)
			}
		})
	}
}

// The coordinator crashes after its VOTE-REQs: every participant has voted
// YES and none knows the outcome, so the termination protocol cannot help.
// They block, holding their locks, until the coordinator returns; it finds a
// start record and no decision and aborts (BHG §7.4). The checker reports
// the blocking windows and does not count them as a violation.
func TestTwoPhaseCoordinatorCrashBlocksUntilItReturns(t *testing.T) {
	c := newCluster(t, 4, twoPhase(allYes2PC()))
	c.intercept = func(e envelope) bool {
		if e.to == 0 && isType[yes](e.msg) {
			c.crash(0) // the first YES finds it down; the others too
			return true
		}
		return false
	}
	c.request(0, Transaction{ID: 1})
	c.intercept = nil
	c.elapse(500 * time.Millisecond)
	if got := c.decisions(1); !slices.Equal(got, []Outcome{"", "", "", ""}) {
		t.Fatalf("decisions while the coordinator is down: %v", got)
	}
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
	if got := c.decisions(1); !slices.Equal(got, []Outcome{Abort, Abort, Abort, Abort}) {
		t.Fatalf("decisions after the coordinator returned: %v", got)
	}
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
	c := newCluster(t, 4, twoPhase(allYes2PC()))
	c.intercept = func(e envelope) bool {
		if e.from == 0 && isType[commitMsg](e.msg) && e.to != 1 {
			if !c.down[0] {
				c.crash(0)
			}
			return true // never sent
		}
		return false
	}
	c.request(0, Transaction{ID: 1})
	c.intercept = nil
	c.elapse(100 * time.Millisecond)
	if got := c.decisions(1); !slices.Equal(got, []Outcome{Commit, Commit, Commit, Commit}) {
		t.Fatalf("decisions %v", got)
	}
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
	for _, tc := range []struct {
		name   string
		broken TwoPhaseBroken
		want   []Outcome
		fails  []string
	}{
		{"correct", TwoPhaseBroken{}, []Outcome{Abort, Abort, Abort, Abort}, nil},
		{"commit-on-timeout", TwoPhaseBroken{CommitOnTimeout: true}, []Outcome{Commit, Commit, Commit, Abort}, []string{PropAgreement, PropCommitValidity}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := allYes2PC()
			cfg.Broken = tc.broken
			c := newCluster(t, 4, twoPhase(cfg))
			c.crash(3)
			c.request(0, Transaction{ID: 1})
			c.elapse(cfg.VoteTimeout)
			c.restart(3)
			c.elapse(time.Second) // the decision is sent again until n3 acknowledges
			if got := c.decisions(1); !slices.Equal(got, tc.want) {
				t.Errorf("decisions %v, want %v", got, tc.want)
			}
			if got := failed(Check2PC(&c.tr)); !slices.Equal(got, tc.fails) {
				t.Errorf("violated %v, want %v", got, tc.fails)
			}
		})
	}
}

// The coordinator crashes right after deciding Commit. Its forced decision
// survives: on restart it announces it again. The broken variant did not
// force it, finds only the start record and aborts what it committed.
func TestTwoPhaseCoordinatorRecoversItsDecision(t *testing.T) {
	for _, tc := range []struct {
		name   string
		broken TwoPhaseBroken
		fails  []string
	}{
		{"correct", TwoPhaseBroken{}, nil},
		{"unsynced-decision", TwoPhaseBroken{UnsyncedDecision: true}, []string{PropAgreement, PropDurability}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := allYes2PC()
			cfg.Broken = tc.broken
			c := newCluster(t, 3, twoPhase(cfg))
			c.intercept = func(e envelope) bool {
				if e.from == 0 && isType[commitMsg](e.msg) {
					if !c.down[0] {
						c.crash(0)
					}
					return true // never sent
				}
				return false
			}
			c.request(0, Transaction{ID: 1})
			c.intercept = nil
			c.restart(0)
			c.elapse(time.Second)
			if got := failed(Check2PC(&c.tr)); !slices.Equal(got, tc.fails) {
				t.Errorf("violated %v, want %v", got, tc.fails)
			}
			if tc.fails == nil {
				c.mustEmit(0, "Began{Tx:T1 Participants:[n1 n2]}", "Decided{Tx:T1 Outcome:commit}", "Recovered{Log:[T1:committed]}")
			}
		})
	}
}

// A participant that has not voted answers a DECISION-REQ by aborting
// unilaterally (BHG §7.4), and then votes NO when the VOTE-REQ arrives.
func TestTwoPhaseUnvotedParticipantAbortsWhenAsked(t *testing.T) {
	c := newCluster(t, 3, twoPhase(allYes2PC()))
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
