package raft

import (
	"fmt"
	"math"
	"testing"
)

// The log's keys are on disk: keyEntry must keep writing what it always
// wrote, fixed-width lowercase hex that sorts in index order.
func TestKeyEntry(t *testing.T) {
	for _, i := range []uint64{0, 1, 9, 10, 15, 16, 255, 4096, 1 << 40, 0xdeadbeef, math.MaxUint64} {
		if got, want := keyEntry(i), fmt.Sprintf("%s%016x", keyLogPrefix, i); got != want {
			t.Errorf("keyEntry(%d) = %q, want %q", i, got, want)
		}
	}
}
