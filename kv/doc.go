// Package kv is synod's replicated key-value store: a deterministic state
// machine replicated with Raft (package raft) or Multi-Paxos
// (consensus.MultiPaxos, through ServerConfig.Log: any replicated log that
// implements Log will do), the server process that embeds it, a client
// process for the simulator, a workload, and a linearizability checker
// built on porcupine.
//
// The design follows Ongaro's dissertation, "Consensus: Bridging Theory and
// Practice" (2014), chapter 6, "Client interaction":
//
//   - writes (Put, Delete, CAS) are Raft log entries, answered once the
//     entry is applied with the term it was proposed in (§6.1, §6.2);
//   - every client has a session: a client ID and a sequence number per
//     operation, so that a retried write that was already applied is
//     answered from the saved result instead of being applied twice (§6.3);
//   - on Raft, reads (Get, Range) do not go through the log: the leader
//     confirms it still leads with a ReadIndex round and answers from its
//     state machine once that has applied the read index (§6.4); on
//     Multi-Paxos a read waits for a slot its leader proposes after the read
//     arrived to be chosen in its ballot;
//   - a server that is not the leader answers with the leader it knows of,
//     and clients follow that hint (§6.2).
//
// A Server is a node.Process: requests reach it as node.Request (from live
// clients and `synod request`) or as ClientRequest messages (from Client
// processes in the simulator). Results are values (Result, with a Code and a
// readable Err), never panics, whatever the input.
//
// CheckLinearizable judges a run's history, as the clients saw it, with
// github.com/anishathalye/porcupine.
package kv
