package main

import (
	"os"
	"strings"
)

// The Go runtime's monitor thread (sysmon) goes into a deep sleep whenever
// every processor of the program is idle, and the next system call wakes it
// again (a futex wake-up), after which it polls every 20 µs until the
// program is idle once more. A node, or a client, that serves one small
// request at a time goes idle between requests thousands of times a second:
// on the 2-core machine of BENCHMARKS.md §5 the monitor threads of the four
// processes of `synod bench kv` made a third of the machine's context
// switches, each one competing for a core with the thread that carries the
// write. The runtime keeps sysmon out of deep sleep while schedtrace is set,
// so the long-running commands set it, to an interval (2^31-1 ms, 24.8
// days) at which its only other effect, a line of scheduler statistics on
// standard error, next to never happens. Once awake, sysmon backs off to
// polling every 10 ms while there is nothing for it to do.
const (
	sysmonSetting = "schedtrace=2147483647"
	// sysmonOptOut, set to any value, leaves GODEBUG alone.
	sysmonOptOut = "SYNOD_SYSMON_SLEEP"
)

// sysmonCommand reports whether args (without the program name) run a
// command that serves requests for long: a node, a cluster of them, or the
// key-value benchmark, whose processes inherit the setting.
func sysmonCommand(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "node", "cluster":
		return true
	case "bench":
		return len(args) > 1 && args[1] == "kv"
	}
	return false
}

// withSysmonAwake returns env with sysmonSetting added to GODEBUG, and
// whether it changed anything: not if GODEBUG already sets schedtrace or
// the opt-out is set.
func withSysmonAwake(env []string) ([]string, bool) {
	at := -1
	for i, kv := range env {
		if strings.HasPrefix(kv, sysmonOptOut+"=") {
			return env, false
		}
		if strings.HasPrefix(kv, "GODEBUG=") {
			at = i
		}
	}
	out := append([]string(nil), env...)
	if at < 0 {
		return append(out, "GODEBUG="+sysmonSetting), true
	}
	cur := strings.TrimPrefix(out[at], "GODEBUG=")
	if setsSchedtrace(cur) {
		return env, false
	}
	if cur == "" {
		out[at] = "GODEBUG=" + sysmonSetting
	} else {
		out[at] = "GODEBUG=" + cur + "," + sysmonSetting
	}
	return out, true
}

// setsSchedtrace reports whether a GODEBUG value sets schedtrace.
func setsSchedtrace(godebug string) bool {
	for _, s := range strings.Split(godebug, ",") {
		if strings.HasPrefix(strings.TrimSpace(s), "schedtrace=") {
			return true
		}
	}
	return false
}

// keepSysmonAwake runs the program again with sysmonSetting in GODEBUG when
// it runs a sysmonCommand without it (the runtime reads schedtrace only at
// start). It returns only if nothing needs doing or the program cannot be
// run again, which leaves the runtime's default.
func keepSysmonAwake() {
	if !sysmonCommand(os.Args[1:]) {
		return
	}
	env, changed := withSysmonAwake(os.Environ())
	if !changed {
		return
	}
	reexec(env)
}

// sysmonNote says whether this process (and so the processes it starts)
// keeps sysmon awake, for the header of a benchmark or a cluster.
func sysmonNote() string {
	godebug, set := os.LookupEnv("GODEBUG")
	if setsSchedtrace(godebug) {
		return "GODEBUG=" + godebug + " (sysmon stays awake)"
	}
	if _, out := os.LookupEnv(sysmonOptOut); out {
		return "sysmon sleeps when idle (" + sysmonOptOut + " is set)"
	}
	if set {
		return "GODEBUG=" + godebug + " (sysmon sleeps when idle)"
	}
	return "sysmon sleeps when idle"
}
