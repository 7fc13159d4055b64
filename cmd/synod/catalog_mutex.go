package main

import (
	"time"

	"github.com/synod-dev/synod/mutex"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
)

// mutexWorkload submits the Acquire requests of a mutual-exclusion run.
func mutexWorkload(s *sim.Sim, ops int, length time.Duration) { mutex.Workload(s, ops, length) }

// mutexCatalog lists the mutual-exclusion algorithms. Each runs 5 processes
// for 2 s with 40 Acquire requests in the first second, enough for several
// processes to want the critical section at once.
func mutexCatalog() []*algorithm {
	return []*algorithm{
		{
			Name:       "mutex/central",
			Summary:    "Centralized coordinator with a FIFO queue (van Steen & Tanenbaum §5.3.2): REQUEST, GRANT, RELEASE",
			FaultModel: "reliable links, no crashes: the coordinator is a single point of failure",
			Nodes:      5,
			Length:     2 * time.Second,
			Ops:        40,
			Messages:   mutex.CentralMessages(),
			Variants:   []variant{{"grant-early", "the coordinator grants every request at once, without waiting for the holder's RELEASE"}},
			New: func(v string) node.Factory {
				cfg := mutex.CentralConfig{GrantEarly: v == "grant-early"}
				return func(node.ID) node.Process { return mutex.NewCentral(cfg) }
			},
			Workload: mutexWorkload,
			Check:    mutex.CheckCentral,
			Textbook: func(n int) textbook {
				return textbook{PerOp: mutex.TextbookCentralMessages, Formula: "REQUEST+GRANT+RELEASE"}
			},
			Costs: mutex.CentralCosts,
		},
	}
}
