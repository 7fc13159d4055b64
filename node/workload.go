package node

import (
	"math/rand/v2"
	"time"
)

// Driver is what a workload needs from a runtime: a way to submit a client
// request at a time, the membership, and the harness's seeded random source.
// *sim.Sim implements it; algorithm packages take a Driver so they never
// import a runtime.
type Driver interface {
	// Request submits op to process to at time at and returns its ID.
	Request(at time.Duration, to ID, op any) RequestID
	// Group is the membership.
	Group() []ID
	// Rand is the workload's random source.
	Rand() *rand.Rand
}

// SpreadRequests submits count requests, op(0) .. op(count-1), each to a
// process drawn from clients and at a time drawn uniformly from [0, window),
// using only d's random source: several processes then ask at once, which is
// what most algorithms must arbitrate.
func SpreadRequests(d Driver, clients []ID, count int, window time.Duration, op func(i int) any) {
	if len(clients) == 0 {
		return
	}
	r := d.Rand()
	w := max(int64(window), 1)
	for i := range count {
		at := time.Duration(r.Int64N(w))
		to := clients[r.IntN(len(clients))]
		d.Request(at, to, op(i))
	}
}
