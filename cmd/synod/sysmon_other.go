//go:build !unix

package main

// reexec does nothing where a process cannot replace itself: the runtime
// keeps its default.
func reexec(env []string) {}
