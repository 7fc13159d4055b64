package main

import (
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestNodeProcs(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	if got, err := nodeProcs(procsAuto, 3); err != nil || got != max(1, runtime.NumCPU()/3) {
		t.Errorf("auto for 3 nodes: %d, %v; want the cores shared, at least 1", got, err)
	}
	if got, err := nodeProcs(procsAuto, 1000); err != nil || got != 1 {
		t.Errorf("auto for 1000 nodes: %d, %v; want 1", got, err)
	}
	if got, err := nodeProcs(0, 3); err != nil || got != 0 {
		t.Errorf("0 (Go's default): %d, %v", got, err)
	}
	if got, err := nodeProcs(4, 3); err != nil || got != 4 {
		t.Errorf("4: %d, %v", got, err)
	}
	if _, err := nodeProcs(-2, 3); err == nil || !strings.Contains(err.Error(), "--procs -2") {
		t.Errorf("-2: %v, want an error naming the value", err)
	}
	t.Setenv("GOMAXPROCS", "2")
	if got, err := nodeProcs(procsAuto, 3); err != nil || got != 0 {
		t.Errorf("auto with GOMAXPROCS in the environment: %d, %v; want 0 (the environment decides)", got, err)
	}
	cmd := exec.Command("true")
	setProcs(cmd, 3)
	if !slices.Contains(cmd.Env, "GOMAXPROCS=3") {
		t.Errorf("setProcs(3) left the environment without GOMAXPROCS=3")
	}
	cmd = exec.Command("true")
	setProcs(cmd, 0)
	if cmd.Env != nil {
		t.Errorf("setProcs(0) changed the environment")
	}
}
