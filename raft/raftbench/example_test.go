package raftbench_test

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/raft/raftbench"
)

// One line of Figure 16: 50 leader crashes with the paper's recommended
// election timeout of 150–300 ms.
func ExampleElectionTiming() {
	r, err := raftbench.ParseRange("150-300")
	if err != nil {
		panic(err)
	}
	res, err := raftbench.ElectionTiming(raftbench.TimingConfig{Range: r, Trials: 50, Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Range, len(res.Trials), "trials")
	fmt.Println("all elected a new leader:", res.TimedOut == 0 && res.Unstable == 0)
	fmt.Println("under a second at the median:", res.Median < time.Second)
	// The followers time out at least 150 ms after the last heartbeat, and
	// the leader crashed less than 75 ms after it.
	fmt.Println("never under 75 ms:", res.CDF()[0].Time >= 75*time.Millisecond)
	// Output:
	// 150-300ms 50 trials
	// all elected a new leader: true
	// under a second at the median: true
	// never under 75 ms: true
}
