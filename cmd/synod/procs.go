package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
)

// procsAuto is the --procs default: share the machine's cores among the
// node processes.
const procsAuto = -1

// procsFlagHelp is the help text of --procs, for every command that starts
// node processes on this machine.
const procsFlagHelp = "GOMAXPROCS of each node process: -1 shares the machine's cores among the nodes (at least 1 each), 0 leaves Go's default (all cores, each); a GOMAXPROCS already in the environment wins over -1"

// nodeProcs resolves --procs for n node processes on this machine: the
// GOMAXPROCS to give each, or 0 for Go's default. Several Go processes that
// each believe they own every core spin up idle threads to steal each
// other's work; with few cores and a chatty protocol that costs more CPU
// than the work itself (BENCHMARKS.md §5).
func nodeProcs(flag, n int) (int, error) {
	switch {
	case flag < procsAuto:
		return 0, fmt.Errorf("--procs %d: want -1 (share the cores), 0 (Go's default) or a positive number", flag)
	case flag == procsAuto:
		if os.Getenv("GOMAXPROCS") != "" {
			return 0, nil // the environment, which the children inherit, decides
		}
		return max(1, runtime.NumCPU()/max(n, 1)), nil
	}
	return flag, nil
}

// setProcs makes cmd run with GOMAXPROCS=procs (nothing for 0).
func setProcs(cmd *exec.Cmd, procs int) {
	if procs > 0 {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(procs))
	}
}
