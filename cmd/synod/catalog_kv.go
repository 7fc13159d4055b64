package main

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// kvClients is how many client processes a simulated run of the key-value
// service adds after the servers, whichever log replicates it.
const kvClients = 4

// kvService is what a catalog entry of the replicated key-value service
// (package kv) has whichever log replicates it (Raft, Multi-Paxos): the
// client processes after the servers, their workload, the linearizability
// check beside the log's own properties, and porcupine's drawing of a
// history that is not linearizable.
type kvService struct {
	// Log names the replicated log in messages ("Raft").
	Log string
	// Check judges the log's own properties.
	Check func(t *trace.Trace) []trace.Check
	// Servers lists the nodes that acted as servers in a run, as the
	// log's events show: the other nodes that took requests are clients.
	Servers func(t *trace.Trace) []node.ID
}

// entry completes a, an entry of the key-value service, with the parts
// every log shares: Clients, Workload, Check and Explain.
func (k kvService) entry(a *algorithm) *algorithm {
	a.Clients = func(int) int { return kvClients }
	a.Workload = func(s *sim.Sim, ops int, length time.Duration) {
		g := s.Group()
		kv.Workload(s, g[len(g)-kvClients:], ops, length*6/10)
	}
	a.Check = func(t *trace.Trace) []trace.Check {
		return append(k.Check(t), kv.CheckLinearizable(t, k.clientsOf(t)))
	}
	a.Explain = func(t *trace.Trace, path string) error {
		c := kv.Linearizability{VisualizePath: path}.Check(t, k.clientsOf(t))
		if c.OK {
			return fmt.Errorf("the history is linearizable; a %s property failed: see the table", k.Log)
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("porcupine wrote no visualization: %w", err)
		}
		return nil
	}
	return a
}

// clientsOf finds the client processes of a run: the nodes that took
// requests but never acted as servers.
func (k kvService) clientsOf(t *trace.Trace) []node.ID {
	servers := map[node.ID]bool{}
	for _, id := range k.Servers(t) {
		servers[id] = true
	}
	var clients []node.ID
	seen := map[node.ID]bool{}
	for i := range t.Events {
		e := &t.Events[i]
		if e.Kind == trace.Request && !servers[e.Node] && !seen[e.Node] {
			seen[e.Node] = true
			clients = append(clients, e.Node)
		}
	}
	slices.Sort(clients)
	return clients
}

// kvFactory builds servers 0..servers-1, each with server as its
// configuration and those servers as its members, and clients above them.
func kvFactory(servers int, server kv.ServerConfig) node.Factory {
	members := make([]node.ID, servers)
	for i := range members {
		members[i] = node.ID(i)
	}
	server.Members = members
	return func(id node.ID) node.Process {
		if int(id) < servers {
			return kv.NewServer(server)
		}
		return kv.NewClient(kv.ClientConfig{Servers: members})
	}
}

// emittedBy lists the nodes that emitted an event of type T.
func emittedBy[T any](t *trace.Trace) []node.ID {
	var ids []node.ID
	for _, e := range trace.Emitted[T](t) {
		ids = append(ids, e.Event.Node)
	}
	return ids
}
