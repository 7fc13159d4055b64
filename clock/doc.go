// Package clock implements logical clocks as plain values, and processes that
// exercise them in a simulation.
//
// The clock types are plain values that use only the standard library, so
// any algorithm (or program) can embed them:
//
//   - Lamport, the scalar logical clock of Lamport 1978, "Time, Clocks, and
//     the Ordering of Events in a Distributed System" (CACM 21(7)): if event
//     a happens before event b then L(a) < L(b) (the clock condition);
//   - Vector, the vector clock of Fidge 1988 ("Timestamps in Message-Passing
//     Systems That Preserve the Partial Ordering") and Mattern 1989 ("Virtual
//     Time and Global States of Distributed Systems"): a happens before b if
//     and only if V(a) < V(b), so concurrency is detected exactly;
//   - HLC, the hybrid logical clock of Kulkarni, Demirbas, Madappa, Avva and
//     Leone 2014, "Logical Physical Clocks" (OPODIS 2014): a Lamport clock
//     kept close to physical time, with timestamps (l, c).
//
// The processes (NewLamportProcess, NewVectorProcess) implement node.Process:
// each node performs a bounded number of random local events and sends, and
// emits its clock after every event (LamportStamp, VectorStamp). CheckLamport
// and CheckVector judge those stamps against the runtime's ground-truth
// happens-before relation. Each process has a deliberately broken variant
// (LamportConfig.NoMax, VectorConfig.NoMerge, and NoSync for both) that the
// checkers catch. The processes and checkers import node and trace, never a
// runtime.
package clock
