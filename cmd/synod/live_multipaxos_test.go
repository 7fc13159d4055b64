package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
)

// These tests run the replicated key-value service on Multi-Paxos as real
// `synod node` processes with fsynced FileStores on 127.0.0.1, and break
// them, as live_raft_test.go does for Raft.

// startMultiPaxosCluster starts three Multi-Paxos servers with traces. The
// Raft tests' key-value helpers (writeThroughKill, checkAllThere,
// writeConcurrently, do) work on any key-value cluster: they get the cluster wrapped in a
// raftCluster.
func startMultiPaxosCluster(t *testing.T) *raftCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts node processes; skipped with -short")
	}
	c := startCluster(t, "multipaxos", 3)
	endpoints := map[node.ID]string{}
	for i, p := range c.peers {
		endpoints[node.ID(i)] = p
	}
	rc := &raftCluster{liveCluster: c, members: 3, client: newKVClient(endpoints, nil)}
	t.Cleanup(rc.client.Close)
	return rc
}

// waitMultiPaxosLeader waits for a leader other than not that every running
// server follows in its ballot, and returns its status.
func waitMultiPaxosLeader(rc *raftCluster, not node.ID) consensus.MultiPaxosStatus {
	rc.t.Helper()
	var ld *consensus.MultiPaxosStatus
	rc.waitStatuses(fmt.Sprintf("no Multi-Paxos leader (other than %v)", not), func(sts []serverStatus) bool {
		ld = nil
		for _, s := range sts {
			if s.Err == nil && s.MultiPaxos != nil && s.MultiPaxos.Role == consensus.MultiPaxosLeader && s.ID != not {
				ld = s.MultiPaxos
			}
		}
		for _, s := range sts {
			if ld != nil && s.Err == nil && (s.MultiPaxos == nil || s.MultiPaxos.Leader != ld.ID || s.MultiPaxos.Ballot != ld.Ballot) {
				return false
			}
		}
		return ld != nil
	})
	return *ld
}

// multiPaxosStatus asks server id for its status.
func multiPaxosStatus(rc *raftCluster, id node.ID) (consensus.MultiPaxosStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	res, err := rc.client.statusResult(ctx, id)
	if err != nil {
		return consensus.MultiPaxosStatus{}, err
	}
	if res.MultiPaxos == nil {
		return consensus.MultiPaxosStatus{}, errNotMultiPaxos
	}
	return *res.MultiPaxos, nil
}

var errNotMultiPaxos = &kvOpError{kv.Result{Err: "the server does not run Multi-Paxos"}}

// SIGKILL the Multi-Paxos leader while clients write: a new leader wins a
// higher ballot, every acknowledged write is still there, and the killed
// server, restarted from its data directory, catches up. The nodes' traces,
// merged, satisfy Multi-Paxos' invariants.
func TestLiveMultiPaxosLeaderKilled(t *testing.T) {
	rc := startMultiPaxosCluster(t)
	old := waitMultiPaxosLeader(rc, node.None)
	a, atKill := rc.writeThroughKill(old.ID)
	ld := waitMultiPaxosLeader(rc, old.ID)
	if ld.Ballot <= old.Ballot {
		t.Fatalf("new leader %v in ballot %s, not above the killed leader's %s", ld.ID,
			ld.Ballot, old.Ballot)
	}
	t.Logf("%d writes acknowledged before the leader %v was killed, %d after; new leader %v in ballot %s",
		atKill, old.ID, 180-atKill, ld.ID, ld.Ballot)
	rc.checkAllThere(a)

	// Restart the killed server from its data directory: it follows the
	// leader and catches up with the chosen slots it missed. (Its own
	// ballot may preempt the leader once, if it campaigns before the
	// leader's stream to it reconnects: the leader then runs phase 1 again
	// above it.)
	rc.start(int(old.ID))
	if _, err := rc.do(kv.Put{Key: "after-restart", Value: "x"}); err != nil {
		t.Fatal(err)
	}
	ld = waitMultiPaxosLeader(rc, node.None)
	lst, err := multiPaxosStatus(rc, ld.ID)
	if err != nil {
		t.Fatal(err)
	}
	var st consensus.MultiPaxosStatus
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st, err = multiPaxosStatus(rc, old.ID)
		if err == nil && st.Executed >= lst.Commit && st.Leader == ld.ID && st.Ballot == ld.Ballot {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted %v did not catch up to slot %d under %v within 10s: %+v, %v\n%s", old.ID, lst.Commit, ld.ID, st, err, rc.log(int(old.ID)))
		}
	}
	if st.Role != consensus.MultiPaxosFollower {
		t.Fatalf("restarted %v is %v; want a follower of %v", old.ID, st.Role, ld.ID)
	}

	// The status table shows every server in the same ballot.
	out, err := synod("kv", "--endpoints", strings.Join(rc.peers, ","), "status")
	if err != nil {
		t.Fatalf("synod kv status: %v\n%s", err, out)
	}
	if n := strings.Count(out, " "+ld.Ballot.String()+" "); n != 3 || !strings.Contains(out, "BALLOT") {
		t.Errorf("synod kv status shows ballot %s on %d servers, want 3:\n%s", ld.Ballot, n, out)
	}

	rc.stopAll()
	for _, c := range consensus.CheckMultiPaxos(rc.traces(t)) {
		if !c.OK {
			t.Errorf("the live traces: %s: %s", c.Property, c.Detail)
		} else {
			t.Logf("the live traces: %s: %s", c.Property, c.Detail)
		}
	}
}

// Membership changes and leadership transfer are Raft's: on Multi-Paxos
// synod kv says so in one line.
func TestLiveMultiPaxosRefusesMembershipChanges(t *testing.T) {
	rc := startMultiPaxosCluster(t)
	waitMultiPaxosLeader(rc, node.None)
	eps := strings.Join(rc.peers, ",")
	for _, args := range [][]string{{"add-server", "3"}, {"remove-server", "0"}, {"transfer", "1"}} {
		out, err := synod(append([]string{"kv", "--endpoints", eps}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "not supported on Multi-Paxos") {
			t.Errorf("synod kv %s: %v\n%s; want not supported on Multi-Paxos", strings.Join(args, " "), err, out)
		}
	}
	if out, err := synod("kv", "--endpoints", eps, "put", "k", "v"); err != nil || out != "OK\n" {
		t.Errorf("put after the refused changes: %q, %v", out, err)
	}
}

// `synod cluster multipaxos` as a user drives it: the endpoints hint,
// `synod kv` against it, the status table on standard input, kill and
// restart of the leader, and a clean stop.
func TestClusterMultiPaxosCommand(t *testing.T) {
	c := startKVClusterCommand(t, "multipaxos", 3) // no spares
	if got := c.kv("put", "greeting", "hello"); got != "OK\n" {
		t.Fatalf("put printed %q", got)
	}
	c.send("status")
	m := c.wait(`(n\d) +127\.0\.0\.1:\d+ +leader +(\d+\.n\d) +n\d +\d+ +\d+ +\d+ +0 +\[n0 n1 n2\]`)
	leader := strings.TrimPrefix(m[1], "n")
	c.send("kill " + leader)
	c.wait(`killed n` + leader + ` with SIGKILL`)
	if got := c.kv("cas", "greeting", "hello", "bonjour"); got != "OK\n" {
		t.Fatalf("cas after the leader's kill printed %q", got)
	}
	c.send("restart " + leader)
	c.wait(`restarted n` + leader)
	if got := c.kv("get", "greeting"); got != "bonjour\n" {
		t.Fatalf("get printed %q", got)
	}
	c.send("add 3")
	c.wait(`add: only a raft cluster changes its membership`)
	c.stop()
}
