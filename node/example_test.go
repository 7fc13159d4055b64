package node_test

import (
	"fmt"

	"github.com/synod-dev/synod/node"
)

type prepare struct {
	Ballot uint64
}

// A Registry names message types and encodes them for the wire.
func ExampleRegistry() {
	reg := node.NewRegistry(prepare{})
	data, _ := reg.Encode(prepare{Ballot: 42})
	msg, _ := reg.Decode(data)
	fmt.Printf("%s %+v\n", node.TypeName(msg), msg)
	// Output: node_test.prepare {Ballot:42}
}

// A MemStore keeps only synced writes across a crash.
func ExampleMemStore() {
	s := node.NewMemStore()
	s.Set("votedFor", []byte("n2"))
	_ = s.Sync()
	s.Set("votedFor", []byte("n3")) // not synced
	s.Crash()
	v, _ := s.Get("votedFor")
	fmt.Println(string(v))
	// Output: n2
}
