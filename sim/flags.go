package sim

import "fmt"

// Flags returns the `synod sim` command-line flags that ask for these link
// settings, for a command that replays a run; none for the zero Link.
func (l Link) Flags() []string {
	if l == (Link{}) {
		return nil
	}
	f := []string{"--latency", l.Latency.String()}
	if l.Loss > 0 {
		f = append(f, "--loss", fmt.Sprint(l.Loss))
	}
	if l.Duplicate > 0 {
		f = append(f, "--dup", fmt.Sprint(l.Duplicate))
	}
	if l.Reorder {
		f = append(f, "--reorder")
	}
	if l.Bandwidth > 0 {
		f = append(f, "--bandwidth", fmt.Sprintf("%dB/s", l.Bandwidth))
	}
	return f
}

// Flags returns the `synod sim` command-line flags that ask for these random
// faults, for a command that replays a run. (Servers is not among them: the
// command takes it from the algorithm.)
func (n Nemesis) Flags() []string {
	var f []string
	add := func(flag string, v any, set bool) {
		if set {
			f = append(f, "--"+flag, fmt.Sprint(v))
		}
	}
	add("crashes", n.Crash, n.Crash > 0)
	add("restart-after", n.RestartAfter, n.Crash > 0)
	add("max-down", n.MaxDown, n.MaxDown > 0)
	add("partitions", n.Partition, n.Partition > 0)
	add("partition-for", n.PartitionFor, n.Partition > 0)
	add("pauses", n.Pause, n.Pause > 0)
	add("pause-for", n.PauseFor, n.Pause > 0)
	add("skew", n.Skew, n.Skew > 0)
	add("drift", n.Drift, n.Drift > 0)
	add("faults-until", n.Stop, n.Stop > 0)
	return f
}
