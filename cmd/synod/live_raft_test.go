package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/raft"
)

// These tests run the replicated key-value service (package kv over
// package raft) as real `synod node` processes with fsynced FileStores on
// 127.0.0.1, and break them: SIGKILL of the leader, restart from the data
// directory, membership changes.

// raftCluster is a live raft cluster: servers 0..members-1 start as the
// initial configuration; the addresses above them are spares, known to every
// node from the start, for servers added later.
type raftCluster struct {
	*liveCluster
	members int
	client  *kvClient
}

func startRaftCluster(t *testing.T, members, spares int) *raftCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts node processes; skipped with -short")
	}
	total := members + spares
	ports, err := freePorts(2 * total)
	if err != nil {
		t.Fatal(err)
	}
	c := &liveCluster{t: t, bin: synodBinary(t), dir: t.TempDir(), algo: "raft",
		procs: make([]*exec.Cmd, total), logs: make([]*strings.Builder, total)}
	endpoints := map[node.ID]string{}
	for i := range total {
		c.peers = append(c.peers, fmt.Sprintf("127.0.0.1:%d", ports[i]))
		c.admins = append(c.admins, fmt.Sprintf("127.0.0.1:%d", ports[total+i]))
		endpoints[node.ID(i)] = c.peers[i]
	}
	rc := &raftCluster{liveCluster: c, members: members, client: newKVClient(endpoints, nil)}
	t.Cleanup(rc.client.Close)
	t.Cleanup(c.stopAll)
	for i := range members {
		rc.startServer(i)
	}
	return rc
}

// startServer starts (or restarts, from its data directory) initial server i.
func (rc *raftCluster) startServer(i int) {
	rc.t.Helper()
	rc.startNode(i, "--members", strconv.Itoa(rc.members))
}

// startNode starts node i of the cluster with the given membership flags.
func (rc *raftCluster) startNode(i int, membership ...string) {
	rc.t.Helper()
	c := rc.liveCluster
	args := append([]string{"node", "--id", strconv.Itoa(i), "--peers", c.peerList(), "--algo", "raft",
		"--data", filepath.Join(c.dir, fmt.Sprintf("n%d", i)), "--admin", c.admins[i], "--log-level", "warn"}, membership...)
	cmd := exec.Command(c.bin, args...)
	c.mu.Lock()
	if c.logs[i] == nil {
		c.logs[i] = &strings.Builder{}
	}
	log := &lockedWriter{mu: &c.mu, w: c.logs[i]}
	c.mu.Unlock()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		rc.t.Fatal(err)
	}
	c.procs[i] = cmd
	c.waitAdmin(i)
}

// logs returns every node's log, for failure messages.
func (rc *raftCluster) logs() string {
	var b strings.Builder
	for i := range rc.procs {
		if rc.procs[i] != nil {
			fmt.Fprintf(&b, "--- n%d:\n%s", i, rc.log(i))
		}
	}
	return b.String()
}

// waitLeader waits for a leader other than not, and for every running
// voter to follow it, and returns its status.
func (rc *raftCluster) waitLeader(not node.ID) raft.Status {
	rc.t.Helper()
	var ld raft.Status
	rc.waitStatuses(fmt.Sprintf("no leader (other than %v)", not), func(sts []serverStatus) bool {
		var ok bool
		if ld, ok = leaderStatus(sts); !ok || ld.ID == not {
			return false
		}
		for _, s := range sts {
			if s.Err == nil && ld.Config.IsVoter(s.ID) && (s.Status.Term != ld.Term || s.Status.Leader != ld.ID) {
				return false
			}
		}
		return true
	})
	return ld
}

// waitStatuses asks every server for its status until agreed says the
// answers are as wanted, and fails the test with failure and the logs
// unless they are within 10s.
func (rc *raftCluster) waitStatuses(failure string, agreed func([]serverStatus) bool) {
	rc.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		sts := rc.client.statuses(ctx, 500*time.Millisecond)
		cancel()
		if agreed(sts) {
			return
		}
	}
	rc.t.Fatalf("%s within 10s\n%s", failure, rc.logs())
}

// do runs one operation in a fresh session, allowing it 10s.
func (rc *raftCluster) do(op any) (kv.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return rc.client.session().do(ctx, op)
}

// acks records the writes the cluster acknowledged, and the failures.
type acks struct {
	mu     sync.Mutex
	acked  map[string]string
	failed []error
}

func newAcks() *acks { return &acks{acked: map[string]string{}} }

func (a *acks) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.acked)
}

// write writes keys prefix/0 .. prefix/n-1 in one session, in order.
func (a *acks) write(s *kvSession, prefix string, n int) {
	for k := range n {
		key, value := fmt.Sprintf("%s/%d", prefix, k), fmt.Sprintf("v-%s-%d", prefix, k)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := s.do(ctx, kv.Put{Key: key, Value: value})
		cancel()
		a.mu.Lock()
		if err == nil {
			a.acked[key] = value
		} else {
			a.failed = append(a.failed, fmt.Errorf("put %s: %w", key, err))
		}
		a.mu.Unlock()
	}
}

// writeConcurrently writes n keys under each of the prefixes at once, one
// session per prefix, and returns the failures.
func (rc *raftCluster) writeConcurrently(a *acks, n int, prefixes ...string) []error {
	var wg sync.WaitGroup
	for _, p := range prefixes {
		s := rc.client.session()
		wg.Go(func() { a.write(s, p, n) })
	}
	wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.failed
}

// checkReadable reads every acknowledged write back through the leader.
func (rc *raftCluster) checkReadable(a *acks) {
	rc.t.Helper()
	for _, key := range slices.Sorted(maps.Keys(a.acked)) {
		res, err := rc.do(kv.Get{Key: key})
		switch {
		case err != nil:
			rc.t.Fatalf("get %s: %v", key, err)
		case !res.Found || res.Value != a.acked[key]:
			rc.t.Fatalf("get %s = %q (found %v), but the cluster acknowledged writing %q", key, res.Value, res.Found, a.acked[key])
		}
	}
}

// writeThroughKill writes 15 keys in each of four sessions on the healthy
// cluster, then 30 in each of four more sessions, and kills the leader
// with SIGKILL once 80 writes are acknowledged: the rest must go through
// the new leader, retried safely with their session numbers. Every write
// must be acknowledged, some of them after the kill. It returns the writes
// and how many were acknowledged before the kill.
func (rc *raftCluster) writeThroughKill(leader node.ID) (a *acks, atKill int) {
	rc.t.Helper()
	a = newAcks()
	if failed := rc.writeConcurrently(a, 15, "a", "b", "c", "d"); len(failed) > 0 {
		rc.t.Fatalf("writes on a healthy cluster failed: %v", failed)
	}
	done := make(chan []error, 1)
	go func() { done <- rc.writeConcurrently(a, 30, "e", "f", "g", "h") }()
	for deadline := time.Now().Add(10 * time.Second); a.len() < 60+20; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			rc.t.Fatalf("only %d writes acknowledged after 10s\n%s", a.len(), rc.logs())
		}
	}
	rc.kill(int(leader))
	atKill = a.len()
	if failed := <-done; len(failed) > 0 {
		rc.t.Fatalf("writes failed across the leader's crash: %v\n%s", failed, rc.logs())
	}
	if a.len() != 180 || atKill >= 180 {
		rc.t.Fatalf("%d writes acknowledged, %d of them before the kill; want 180, some after", a.len(), atKill)
	}
	return a, atKill
}

// checkAllThere reads every acknowledged write back through the leader, and
// checks that a range over all keys lists those and no others.
func (rc *raftCluster) checkAllThere(a *acks) {
	rc.t.Helper()
	rc.checkReadable(a)
	res, err := rc.do(kv.Range{Prefix: ""})
	if err != nil {
		rc.t.Fatal(err)
	}
	if len(res.KVs) != a.len() {
		rc.t.Fatalf("range lists %d keys, %d were written", len(res.KVs), a.len())
	}
}

// waitCaughtUp waits until server id has committed and applied at least
// index.
func (rc *raftCluster) waitCaughtUp(id node.ID, index uint64) raft.Status {
	rc.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var st raft.Status
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		st, err = rc.client.status(ctx, id)
		cancel()
		if err == nil && st.CommitIndex >= index && st.LastApplied >= index {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	rc.t.Fatalf("%v did not catch up to index %d within 10s: status %+v, err %v\n%s", id, index, st, err, rc.log(int(id)))
	return st
}

// SIGKILL the leader while clients write: a new leader is elected in a
// higher term, every acknowledged write is still there, and the killed
// server, restarted from its data directory, catches up with the log.
func TestLiveRaftLeaderKilled(t *testing.T) {
	rc := startRaftCluster(t, 3, 0)
	old := rc.waitLeader(node.None)
	a, atKill := rc.writeThroughKill(old.ID)
	ld := rc.waitLeader(old.ID)
	if ld.Term <= old.Term {
		t.Fatalf("new leader %v in term %d, not above the killed leader's term %d", ld.ID, ld.Term, old.Term)
	}
	t.Logf("%d writes acknowledged before the leader %v was killed, %d after; new leader %v in term %d", atKill, old.ID, 180-atKill, ld.ID, ld.Term)
	rc.checkAllThere(a)

	// Restart the killed server from its data directory: it rejoins as a
	// follower of the new leader and catches up.
	rc.startServer(int(old.ID))
	if _, err := rc.do(kv.Put{Key: "after-restart", Value: "x"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	lst, err := rc.client.status(ctx, ld.ID)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	st := rc.waitCaughtUp(old.ID, lst.CommitIndex)
	if st.Role != raft.Follower || st.Leader != ld.ID || st.Term != ld.Term {
		t.Fatalf("restarted %v: %v of %v in term %d; want a follower of %v in term %d", old.ID, st.Role, st.Leader, st.Term, ld.ID, ld.Term)
	}
}

// Add a spare server to a running cluster, then remove the leader: writes
// commit throughout, the configuration is as asked, and the new server holds
// the log.
func TestLiveRaftMembershipChange(t *testing.T) {
	rc := startRaftCluster(t, 3, 1)
	ld := rc.waitLeader(node.None)
	acked := newAcks()
	if failed := rc.writeConcurrently(acked, 10, "before"); len(failed) > 0 {
		t.Fatal(failed)
	}

	// A server started with --join has no configuration: it waits.
	rc.startNode(3, "--join")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	st3, err := rc.client.status(ctx, 3)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if st3.Config.IsVoter(3) || st3.Role == raft.Leader {
		t.Fatalf("n3 before being added: %+v", st3)
	}
	if _, err := rc.do(kv.AddServer{ID: 3}); err != nil {
		t.Fatalf("add n3: %v\n%s", err, rc.logs())
	}
	ld = rc.waitLeader(node.None)
	if want := []node.ID{0, 1, 2, 3}; !slices.Equal(ld.Config.Voters, want) {
		t.Fatalf("voters after adding n3: %v, want %v", ld.Config.Voters, want)
	}
	if failed := rc.writeConcurrently(acked, 10, "with-n3"); len(failed) > 0 {
		t.Fatal(failed)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	lst, err := rc.client.status(ctx, ld.ID)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if st := rc.waitCaughtUp(3, lst.CommitIndex); !slices.Equal(st.Config.Voters, ld.Config.Voters) {
		t.Fatalf("n3 sees voters %v, the leader %v", st.Config.Voters, ld.Config.Voters)
	}

	// Remove the leader itself: it steps down once the change commits
	// (diss. §4.2.2), and the other three elect a new one.
	removed := ld.ID
	if _, err := rc.do(kv.RemoveServer{ID: removed}); err != nil {
		t.Fatalf("remove %v: %v\n%s", removed, err, rc.logs())
	}
	rc.stop(int(removed))
	ld = rc.waitLeader(removed)
	want := slices.DeleteFunc([]node.ID{0, 1, 2, 3}, func(id node.ID) bool { return id == removed })
	if !slices.Equal(ld.Config.Voters, want) {
		t.Fatalf("voters after removing %v: %v, want %v", removed, ld.Config.Voters, want)
	}
	if failed := rc.writeConcurrently(acked, 10, "after-remove"); len(failed) > 0 {
		t.Fatal(failed)
	}
	rc.checkReadable(acked)
	// Removing it again changes nothing, and says so.
	if _, err := rc.do(kv.RemoveServer{ID: removed}); err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("removing %v twice: %v", removed, err)
	}
}

// kvClusterCommand is `synod cluster ALGO` for the key-value service, as a
// user drives it: its output, its standard input, and `synod kv` against
// the endpoints its hint lists.
type kvClusterCommand struct {
	*clusterProc
	eps string // the endpoints in the hint
}

// startKVClusterCommand starts `synod cluster algo` with three servers, and
// waits for the endpoints hint, which must list that many addresses
// (servers and spares).
func startKVClusterCommand(t *testing.T, algo string, endpoints int) *kvClusterCommand {
	t.Helper()
	if testing.Short() {
		t.Skip("starts node processes; skipped with -short")
	}
	c := &kvClusterCommand{clusterProc: startClusterProc(t, "cluster", algo, "--nodes", "3", "--data", t.TempDir(), "--no-trace")}
	c.eps = c.wait(`synod kv --endpoints (\S+) put`)[1]
	if n := len(strings.Split(c.eps, ",")); n != endpoints {
		t.Fatalf("the endpoints hint lists %d addresses, want %d: %s", n, endpoints, c.eps)
	}
	return c
}

// wait waits up to 20s for the output to match re and returns the match
// and its groups.
func (c *kvClusterCommand) wait(re string) []string {
	c.t.Helper()
	return c.waitFor(re, 20*time.Second)
}

// kv runs `synod kv` with args on the cluster's endpoints and returns its
// output; an error fails the test.
func (c *kvClusterCommand) kv(args ...string) string {
	c.t.Helper()
	got, err := synod(append([]string{"kv", "--endpoints", c.eps, "--timeout", "10s"}, args...)...)
	if err != nil {
		c.t.Fatalf("synod kv %s: %v\n%s\n%s", strings.Join(args, " "), err, got, c.output())
	}
	return got
}

// `synod cluster raft` as a user drives it: the endpoints hint, `synod kv`
// commands, add N and remove N on standard input, and a clean stop.
func TestClusterRaftCommand(t *testing.T) {
	c := startKVClusterCommand(t, "raft", 3+2) // 2 spares
	c.wait(`n3 +127\.0\.0\.1:\d+ +http://\S+ +- +spare`)
	if got := c.kv("put", "greeting", "hello"); got != "OK\n" {
		t.Fatalf("put printed %q", got)
	}
	c.send("add 3")
	c.wait(`add n3: n3 is a voter \(voters \[n0 n1 n2 n3\]`)
	c.send("remove 0")
	c.wait(`remove n0: n0 is no longer a member \(voters \[n1 n2 n3\]`)
	c.wait(`remove n0: stopped its process`)
	if got := c.kv("get", "greeting"); got != "hello\n" {
		t.Fatalf("get after the membership changes printed %q", got)
	}
	c.kv("put", "greeting", "bonjour")
	c.send("status")
	c.wait(`n0 +127\.0\.0\.1:\d+ +http://\S+ +\d+ +removed`)
	c.wait(`n3 +127\.0\.0\.1:\d+ +(leader|follower) +\d+ +n\d +\d+ +\d+ +\d+ +\[n1 n2 n3\]`)
	// A removed server comes back with its old data: it joins as a learner,
	// catches up and votes again.
	c.send("add 0")
	c.wait(`add n0: n0 is a voter \(voters \[n0 n1 n2 n3\]`)
	if got := c.kv("get", "greeting"); got != "bonjour\n" {
		t.Fatalf("get after n0 came back printed %q", got)
	}
	c.send("add 1")
	c.wait(`add n1: it is running already`)
	c.send("remove 9")
	c.wait(`bad node "9": want 0\.\.4`)
	c.stop()
}

// synod kv on a live cluster: every command's output, and one-line errors
// for bad input.
func TestKVCommand(t *testing.T) {
	rc := startRaftCluster(t, 3, 0)
	rc.waitLeader(node.None)
	eps := strings.Join(rc.peers, ",")
	run := func(args ...string) (string, error) {
		return synod(append([]string{"kv", "--endpoints", eps}, args...)...)
	}
	for _, tc := range []struct {
		args []string
		out  string // the output, or the error
		err  bool
	}{
		{args: []string{"put", "a/1", "one"}, out: "OK\n"},
		{args: []string{"put", "a/2", "two"}, out: "OK\n"},
		{args: []string{"put", "b", "bee"}, out: "OK\n"},
		{args: []string{"get", "a/1"}, out: "one\n"},
		{args: []string{"get", "zzz"}, out: `get "zzz": no such key`, err: true},
		{args: []string{"cas", "a/1", "one", "uno"}, out: "OK\n"},
		{args: []string{"cas", "a/1", "one", "eins"}, out: `cas "a/1": not swapped: the key holds "uno"`, err: true},
		{args: []string{"cas", "--absent", "a/1", "x"}, out: `cas "a/1": not swapped: the key holds "uno"`, err: true},
		{args: []string{"cas", "--absent", "c", "sea"}, out: "OK\n"},
		{args: []string{"cas", "--absent", "zz", "old", "new"}, out: "cas --absent takes KEY NEW, got 3 arguments", err: true},
		{args: []string{"range", "a/"}, out: "a/1\tuno\na/2\ttwo\n"},
		{args: []string{"range", "", "--json", "--limit", "2"}, out: `[{"key":"a/1","value":"uno"},{"key":"a/2","value":"two"}]` + "\n"},
		{args: []string{"range", "nothing/", "--json"}, out: "[]\n"},
		{args: []string{"del", "b"}, out: "OK\n"},
		{args: []string{"del", "b"}, out: "OK\n"},
		{args: []string{"get", "b"}, out: `get "b": no such key`, err: true},
		{args: []string{"put", "", "v"}, out: `put "": kv: empty key`, err: true},
		{args: []string{"put", "k"}, out: "put KEY VALUE: want 2 argument(s), got 1", err: true},
		{args: []string{"range", "", "--limit", "-1"}, out: "bad --limit -1: want 0 (no limit) or more", err: true},
		{args: []string{"add-server", "x"}, out: `bad server "x": want a node ID such as 3 or n3`, err: true},
		{args: []string{"remove-server", "7"}, out: "remove server n7: raft: the configuration already is so", err: true},
		{args: []string{"--timeout", "0s", "get", "a"}, out: "bad --timeout 0s: want a positive duration such as 5s", err: true},
	} {
		out, err := run(tc.args...)
		if tc.err {
			if err == nil || err.Error() != tc.out {
				t.Errorf("synod kv %s: error %v, want %q (output %q)", strings.Join(tc.args, " "), err, tc.out, out)
			}
			continue
		}
		if err != nil || out != tc.out {
			t.Errorf("synod kv %s: %q, %v; want %q", strings.Join(tc.args, " "), out, err, tc.out)
		}
	}

	out, err := run("status")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "leader ") != 1 || strings.Count(out, "follower ") != 2 || !strings.Contains(out, "[n0 n1 n2]") {
		t.Fatalf("status:\n%s", out)
	}
	to := (rc.waitLeader(node.None).ID + 1) % 3
	out, err = run("transfer", strconv.Itoa(int(to)))
	if err != nil || !strings.HasPrefix(out, fmt.Sprintf("OK: %v leads (term ", to)) {
		t.Fatalf("transfer %v: %q, %v", to, out, err)
	}
	if ld := rc.waitLeader(node.None); ld.ID != to {
		t.Fatalf("after the transfer %v leads, want %v", ld.ID, to)
	}
	if out, err := run("get", "a/2"); err != nil || out != "two\n" {
		t.Fatalf("get after transfer: %q, %v", out, err)
	}

	// Misconfigured endpoints are refused in one line. Every endpoint is
	// listed under the wrong ID: the client starts at a random server, and
	// one listed right could serve the get without meeting a wrong one.
	swapped := strings.Join([]string{rc.peers[1], rc.peers[2], rc.peers[0]}, ",")
	if out, _ := synod("kv", "--endpoints", swapped, "--timeout", "2s", "status"); !strings.Contains(out, "n0: endpoint "+rc.peers[1]+" is n1, but the endpoint list has it as n0") {
		t.Fatalf("status with swapped endpoints:\n%s", out)
	}
	_, err = synod("kv", "--endpoints", swapped, "--timeout", "2s", "get", "a/1")
	if err == nil || !strings.Contains(err.Error(), "list the endpoints in node-ID order") {
		t.Fatalf("get with swapped endpoints: %v", err)
	}
	// Nothing answers: a clear timeout that says the write was not applied.
	_, err = synod("kv", "--endpoints", "127.0.0.1:1", "--timeout", "300ms", "put", "k", "v")
	if err == nil || !strings.Contains(err.Error(), "timed out after") || !strings.Contains(err.Error(), "not applied") {
		t.Fatalf("put with no server up: %v", err)
	}
}

func TestParseEndpoints(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[node.ID]string
		err  string
	}{
		{in: "127.0.0.1:7000,127.0.0.1:7001", want: map[node.ID]string{0: "127.0.0.1:7000", 1: "127.0.0.1:7001"}},
		{in: "0=h:1, n3=h:4", want: map[node.ID]string{0: "h:1", 3: "h:4"}},
		{in: "", err: "--endpoints is required"},
		{in: "h:1,h", err: `bad --endpoints entry "h": want HOST:PORT`},
		{in: "x=h:1", err: `bad --endpoints entry "x=h:1": the ID before '='`},
		{in: "h:1,0=h:2", err: "node 0 listed twice"},
		{in: ":7000", err: `bad --endpoints entry ":7000"`},
	} {
		got, err := parseEndpoints(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseEndpoints(%q): %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("parseEndpoints(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// synod node refuses membership flags it cannot honour, naming the value.
func TestNodeMembershipFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--algo", "clock/lamport", "--join"}, "--join and --members are for algorithms whose membership can change (raft), not clock/lamport"},
		{[]string{"--algo", "raft", "--join", "--members", "2"}, "--join and --members exclude each other"},
		{[]string{"--algo", "raft", "--members", "4"}, "bad --members 4: want 1 to 3"},
		{[]string{"--algo", "raft", "--members", "1", "--id", "2"}, "node 2 is not among the 1 initial members (IDs 0..0): start it with --join"},
	} {
		args := append([]string{"node", "--id", "0", "--peers", "0=127.0.0.1:1,1=127.0.0.1:2,2=127.0.0.1:3", "--data", dir}, tc.args...)
		_, err := synod(args...)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("synod %s: %v, want %q", strings.Join(tc.args, " "), err, tc.err)
		}
	}
	_, err := synod("cluster", "clock/lamport", "--spares", "1")
	if err == nil || !strings.Contains(err.Error(), "bad --spares 1") {
		t.Errorf("cluster clock/lamport --spares 1: %v", err)
	}
	if errors.Is(err, errViolation) {
		t.Error("a flag error reported as a violation")
	}
}
