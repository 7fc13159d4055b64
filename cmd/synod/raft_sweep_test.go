package main

import "testing"

// TestRaftSweep runs the key-value service on Raft under every fault
// profile (faultProfiles), checking Raft's safety properties and
// linearizability on every seed: 200 seeds by default,
// SYNOD_RAFT_SEEDS=10000 for the long sweep. A failure prints the command
// that replays the seed and the path of porcupine's drawing of the history.
func TestRaftSweep(t *testing.T) {
	sweep(t, "raft", "SYNOD_RAFT_SEEDS")
}
