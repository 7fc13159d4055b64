package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestSysmonCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"node", "--id", "0"}, true},
		{[]string{"cluster", "raft"}, true},
		{[]string{"bench", "kv"}, true},
		{[]string{"bench", "election"}, false},
		{[]string{"bench"}, false},
		{[]string{"sim", "raft"}, false},
		{[]string{"kv", "put", "a", "b"}, false},
		{nil, false},
	} {
		if got := sysmonCommand(c.args); got != c.want {
			t.Errorf("sysmonCommand(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

func TestWithSysmonAwake(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     []string
		want    []string
		changed bool
	}{
		{"no GODEBUG", []string{"HOME=/root"}, []string{"HOME=/root", "GODEBUG=" + sysmonSetting}, true},
		{"empty GODEBUG", []string{"GODEBUG="}, []string{"GODEBUG=" + sysmonSetting}, true},
		{"other settings kept", []string{"GODEBUG=gctrace=1", "X=1"}, []string{"GODEBUG=gctrace=1," + sysmonSetting, "X=1"}, true},
		{"the user's schedtrace wins", []string{"GODEBUG=gctrace=1, schedtrace=1000"}, []string{"GODEBUG=gctrace=1, schedtrace=1000"}, false},
		{"opted out", []string{sysmonOptOut + "=1", "PATH=/bin"}, []string{sysmonOptOut + "=1", "PATH=/bin"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.env)
			got, changed := withSysmonAwake(in)
			if changed != c.changed || !slices.Equal(got, c.want) {
				t.Fatalf("withSysmonAwake(%q) = %q, %v; want %q, %v", c.env, got, changed, c.want, c.changed)
			}
			if !slices.Equal(in, c.env) {
				t.Fatalf("the caller's environment changed: %q", in)
			}
		})
	}
}

// TestNodeKeepsSysmonAwake runs a node process and reads its environment
// from /proc: the process (the same pid: it replaced itself) runs with the
// setting, unless the opt-out is set.
func TestNodeKeepsSysmonAwake(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc here")
	}
	for _, optOut := range []bool{false, true} {
		t.Run(fmt.Sprintf("opt-out=%v", optOut), func(t *testing.T) {
			ports, err := freePorts(2)
			if err != nil {
				t.Fatal(err)
			}
			admin := fmt.Sprintf("127.0.0.1:%d", ports[1])
			cmd := exec.Command(synodBinary(t), "node", "--id", "0", "--peers", fmt.Sprintf("0=127.0.0.1:%d", ports[0]),
				"--algo", "raft", "--data", t.TempDir(), "--admin", admin, "--log-level", "warn")
			cmd.Env = append(os.Environ(), "GODEBUG=gctrace=0")
			if optOut {
				cmd.Env = append(cmd.Env, sysmonOptOut+"=1")
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			c := &liveCluster{t: t, admins: []string{admin}}
			c.waitAdmin(0)
			env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			var godebug string
			for _, kv := range strings.Split(string(env), "\x00") {
				if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
					godebug = v
				}
			}
			want := "gctrace=0," + sysmonSetting
			if optOut {
				want = "gctrace=0"
			}
			if godebug != want {
				t.Fatalf("the node runs with GODEBUG=%q, want %q", godebug, want)
			}
		})
	}
}
