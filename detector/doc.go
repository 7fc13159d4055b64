// Package detector holds failure detectors: processes that watch each other
// through heartbeats and say whom they suspect of having crashed.
//
// A failure detector module (Chandra and Toueg 1996, "Unreliable Failure
// Detectors for Reliable Distributed Systems", JACM 43(2)) outputs the set of
// processes it currently suspects. It may be wrong: in an asynchronous or
// partially synchronous system a slow process or a slow link looks exactly
// like a crash. What a detector promises is stated as two properties:
//
//   - strong completeness: eventually every process that crashes is
//     permanently suspected by every correct process;
//   - eventual strong accuracy: there is a time after which no correct
//     process is suspected by any correct process.
//
// A detector with both is eventually perfect, ◇P. Here are two:
//
//   - Heartbeat (heartbeat.go), the time-out detector of Chandra and Toueg
//     §9.1 and Cachin, Guerraoui and Rodrigues's "Increasing Timeout"
//     (Introduction to Reliable and Secure Distributed Programming, 2nd ed.,
//     §2.6.5): a suspicion that turns out to be wrong makes the time-out for
//     that process longer, so in a partially synchronous system the mistakes
//     stop. It implements ◇P.
//   - Phi (phi.go), the φ accrual failure detector of Hayashibara, Défago,
//     Yared and Katayama (SRDS 2004): instead of a fixed time-out it keeps a
//     window of heartbeat inter-arrival times per process and suspects when
//     the current silence has become improbable, φ > Φ.
//
// Both emit Suspect and Restore events, so one checker (Check, in check.go)
// judges both from a trace, with the runtime's ground truth of which
// processes were really down: completeness with the time each crash took to
// be detected, accuracy with the count and times of the false suspicions.
// Scenario (workload.go) is the run the catalog uses: crash-stop crashes and
// one process with long, recurrent pauses that a detector must learn to
// tolerate.
//
// Each detector has deliberately broken variants that the checker catches:
// HeartbeatConfig.FixedTimeout (false suspicions never stop),
// HeartbeatConfig.SharedTimer (a crash is never detected while others are
// alive) and a φ threshold far too low (LowThreshold).
//
// The processes import node only, never a runtime.
package detector
