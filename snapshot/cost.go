package snapshot

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/trace"
)

// Stats are the measured costs of the snapshots of a run.
type Stats struct {
	// Snapshots counts the snapshots that every process recorded its state
	// for, so that every marker of theirs was sent; Markers counts those
	// markers.
	Snapshots, Markers int
	// Complete counts the snapshots whose every channel was recorded too.
	Complete int
	// Duration is the mean time, over the complete snapshots, from the
	// initiator's recording to the last recording anywhere.
	Duration time.Duration
	// Delays is the largest, over the complete snapshots, of the duration
	// in units of the snapshot's own longest marker delay (from a marker's
	// send to its delivery): at most 2 on a complete graph when steps take
	// no time, as in the simulator, since every process records at the
	// latest when the initiator's marker arrives and sends its markers
	// then. On live nodes the time a process takes to handle what queued
	// up before a marker adds to it.
	Delays float64
}

// MarkersPerSnapshot is Markers / Snapshots, or 0 without snapshots.
func (s Stats) MarkersPerSnapshot() float64 {
	if s.Snapshots == 0 {
		return 0
	}
	return float64(s.Markers) / float64(s.Snapshots)
}

// Measure measures the snapshots of a run.
func Measure(t *trace.Trace) Stats {
	r := read(t)
	var st Stats
	var total time.Duration
	for _, s := range r.snapshots {
		if len(s.recorded) != r.nodes {
			continue
		}
		st.Snapshots++
		st.Markers += s.markers
		start := s.recorded[s.id.Initiator]
		if !s.complete(r.nodes) || start == nil {
			continue
		}
		st.Complete++
		d := s.last - start.Time
		total += d
		if s.markerDelay > 0 {
			st.Delays = max(st.Delays, float64(d)/float64(s.markerDelay))
		}
	}
	if st.Complete > 0 {
		st.Duration = total / time.Duration(st.Complete)
	}
	return st
}

// Costs measures a run beside the textbook: E = N(N−1) markers per
// snapshot, and its duration.
func Costs(t *trace.Trace, n int) []trace.Cost {
	s := Measure(t)
	return []trace.Cost{
		{Name: "markers per snapshot", Value: s.MarkersPerSnapshot(), Textbook: fmt.Sprintf("E = N(N−1) = %d", TextbookMarkers(n))},
		{Name: "snapshot duration (mean)", Value: float64(s.Duration.Microseconds()) / 1000, Unit: "ms"},
		{Name: "snapshot duration in marker delays (max)", Value: s.Delays, Textbook: "≤ 2 on a complete graph (the initiator's marker, then the others'), steps taking no time"},
	}
}
