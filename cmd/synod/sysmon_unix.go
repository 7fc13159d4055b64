//go:build unix

package main

import (
	"os"
	"syscall"
)

// reexec replaces the process with the same program, arguments and pid, in
// env; it returns only if that fails.
func reexec(env []string) {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	_ = syscall.Exec(exe, os.Args, env)
}
