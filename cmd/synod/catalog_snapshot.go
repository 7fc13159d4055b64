package main

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/snapshot"
	"github.com/synod-dev/synod/trace"
)

// snapshotCatalog lists the snapshot algorithms. A run is a bank: every
// process is a branch that opens with 1000 and sends random amounts to
// random branches every 2–10 ms; --ops snapshots are initiated at random
// processes in the first half of the run. The simulator's default links are
// FIFO, as the algorithm requires.
func snapshotCatalog() []*algorithm {
	return []*algorithm{
		{
			Name:       "snapshot/chandy-lamport",
			FaultModel: "reliable FIFO links (no loss, no reordering), no crashes: a lost marker stalls its snapshot, an overtaken one breaks the cut",
			Summary:    snapshot.ChandyLamportDescription,
			Nodes:      4,
			Length:     time.Second,
			Ops:        5,
			Messages:   snapshot.Messages(),
			Variants: []variant{
				{Name: "no-marker-wait", Summary: "record every incoming channel as empty at once, without waiting for its marker: money in flight goes missing"},
				{Name: "record-late", Summary: "on the first marker, take in the next transfer along its channel before recording the state: a receipt inside the cut of a send outside it"},
			},
			New: func(v string, _ int) node.Factory {
				cfg := snapshot.Config{NoMarkerWait: v == "no-marker-wait", RecordLate: v == "record-late"}
				return func(node.ID) node.Process { return snapshot.NewChandyLamport(cfg) }
			},
			Workload:    func(s *sim.Sim, ops int, length time.Duration) { snapshot.Workload(s, ops, length) },
			GroundTruth: true,
			Check:       snapshot.Check,
			Textbook: func(n int) textbook {
				return textbook{Note: fmt.Sprintf("E = N(N−1) = %d markers per snapshot; the other messages are the bank's transfers", snapshot.TextbookMarkers(n))}
			},
			Costs: func(t *trace.Trace, n int) []trace.Cost { return snapshot.Costs(t, n) },
		},
	}
}
