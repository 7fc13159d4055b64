// Package live runs node.Process values for real: one event-loop goroutine
// per node feeds Start, Receive, Timeout and Request in order (so algorithm
// code stays lock-free), with real timers and clock, a file-backed Store that
// fsyncs on Sync, a peer transport of long-lived framed TCP connections and
// a gRPC client API on the same port, with optional mutual TLS. Each node has an admin HTTP endpoint for live faults
// (cut, heal, delay, loss, pause), Prometheus metrics and pprof.
//
// The same process code runs here and in package sim: nothing in the
// algorithm knows which runtime it is in.
package live
