package clocksync

import (
	"time"

	"github.com/synod-dev/synod/node"
)

// Driver is what a workload needs from a runtime (see node.Driver).
type Driver = node.Driver

// SampleWorkload asks every process for a Reading at the given number of
// instants, evenly spread over a run of length until (the last one at
// until): an observer reading every clock at the same true time, as the RBS
// authors did with a pulse all their receivers saw.
func SampleWorkload(d Driver, instants int, until time.Duration) {
	if instants <= 0 {
		return
	}
	every := until / time.Duration(instants)
	for k := 1; k <= instants; k++ {
		for _, id := range d.Group() {
			d.Request(time.Duration(k)*every, id, Sample{})
		}
	}
}

// DefaultClock is the clock the demonstrations give node id: n0 keeps true
// time; every other node is off by up to ±50 ms and drifts by up to ±90 ppm
// (within DefaultMaxDrift), in a fixed pattern so that a run is reproducible
// from its seed alone. The catalog applies these unless the user sets clocks
// of their own.
func DefaultClock(id node.ID) (offset time.Duration, drift float64) {
	if id <= 0 {
		return 0, 0
	}
	i := int64(id)
	offset = time.Duration((i*29)%101-50) * time.Millisecond
	drift = float64((i*7)%19-9) * 1e-5
	return offset, drift
}
