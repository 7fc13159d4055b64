package kv_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

func TestMessagesRoundTripTheWire(t *testing.T) {
	reg := node.NewRegistry(kv.Messages()...)
	st := kv.Result{OK: true}
	msgs := []any{
		kv.ClientRequest{ReqID: 1, Client: 99, Seq: 3, Op: kv.AnyOp{V: kv.CAS{Key: "k", New: "n", Absent: true}}},
		kv.ClientRequest{ReqID: 2, Client: 99, Seq: 4, Op: kv.AnyOp{V: kv.Range{Prefix: "a/", Limit: 2}}},
		kv.ClientRequest{ReqID: 3, Op: kv.AnyOp{V: kv.AddServer{ID: 4}}},
		kv.ClientRequest{ReqID: 4}, // no operation: decodes as such, the server refuses it
		kv.ClientReply{ReqID: 5, Result: kv.Result{Code: kv.CodeNotLeader, Leader: 2, Err: "not the leader; try n2"}},
		kv.ClientReply{ReqID: 6, Result: kv.Result{KVs: []kv.KV{{Key: "a", Value: "1"}}}},
		kv.Put{Key: "k", Value: "v"}, kv.StatusOp{}, st,
	}
	for _, m := range msgs {
		b, err := reg.Encode(m)
		if err != nil {
			t.Fatalf("encode %+v: %v", m, err)
		}
		got, err := reg.Decode(b)
		if err != nil {
			t.Fatalf("decode %+v: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip: got %#v, want %#v", got, m)
		}
	}
}

func TestMalformedWireInputIsAnErrorNotAPanic(t *testing.T) {
	reg := node.NewRegistry(kv.Messages()...)
	good, err := reg.Encode(kv.ClientRequest{ReqID: 1, Client: 2, Seq: 3, Op: kv.AnyOp{V: kv.Put{Key: "k", Value: "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	// An operation named as a type that is not an operation.
	notOp := bytes.Replace(good, []byte("kv.Put"), []byte("kv.Xyz"), 1)
	if _, err := reg.Decode(notOp); err == nil {
		t.Errorf("a request carrying an unregistered operation type was accepted")
	}
	inputs := [][]byte{good[:len(good)/2], append(bytes.Clone(good[:len(good)-3]), 0xff, 0xff, 0xff)}
	for i := range good { // every one-byte corruption
		b := bytes.Clone(good)
		b[i] ^= 0x5a
		inputs = append(inputs, b)
	}
	errs := 0
	for _, b := range inputs {
		if _, err := reg.Decode(b); err != nil {
			errs++
		}
	}
	if errs == 0 {
		t.Errorf("no malformed input was refused")
	}
	if _, err := kv.DecodeCommand([]byte{0x82, 0x01}); err == nil {
		t.Errorf("DecodeCommand accepted garbage")
	}
}

func TestTraceJSONRoundTrip(t *testing.T) {
	// Traces are written as JSON Lines and read back with the registry:
	// AnyOp keeps its operation's type.
	reg := node.NewRegistry(kv.Messages()...)
	tr := &trace.Trace{Nodes: 2}
	tr.Record(&trace.Event{Node: 0, Kind: trace.Send, Peer: 1, Type: "kv.ClientRequest",
		Value: kv.ClientRequest{ReqID: 1, Client: 5, Seq: 1, Op: kv.AnyOp{V: kv.Delete{Key: "k"}}}, Clock: trace.VC{1, 0}})
	tr.Record(&trace.Event{Node: 1, Kind: trace.Reply, Type: "kv.Result", Request: 3,
		Value: kv.Result{Found: true, Value: "v"}, Clock: trace.VC{0, 1}})
	var buf bytes.Buffer
	if err := trace.WriteJSONL(&buf, tr); err != nil {
		t.Fatal(err)
	}
	back, err := trace.ReadJSONL(&buf, reg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range tr.Events {
		if !reflect.DeepEqual(back.Events[i].Value, tr.Events[i].Value) {
			t.Errorf("event %d: read back %#v, want %#v", i, back.Events[i].Value, tr.Events[i].Value)
		}
	}
	var op kv.AnyOp
	if err := json.Unmarshal([]byte(`{"type":"kv.Nope","value":{}}`), &op); err == nil {
		t.Errorf("an unknown operation type was accepted from JSON")
	}
}
