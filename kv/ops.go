package kv

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/raft"
)

// The key-value operations. Writes (Put, Delete, CAS) go through the
// replicated log; reads (Get, Range) are served by the leader once the log
// confirms them (Raft's ReadIndex round, or a slot of Multi-Paxos).

// Put sets Key to Value. Its Result reports the value the key held before
// (Found, Value).
type Put struct {
	Key, Value string
}

// Get reads Key: Result.Found says whether it exists, Result.Value is its
// value.
type Get struct {
	Key string
}

// Delete removes Key. Its Result reports the value the key held before
// (Found, Value); deleting an absent key is not an error.
type Delete struct {
	Key string
}

// CAS (compare-and-swap) sets Key to New if it currently holds Old, or, with
// Absent, if it does not exist at all (Old is then ignored): a put-if-absent.
// Result.OK says whether the swap happened; Found and Value report what the
// key held before, so a failed CAS tells the client what it found instead.
type CAS struct {
	Key, Old, New string
	Absent        bool `cbor:",omitempty" json:",omitempty"`
}

// Range lists the keys that start with Prefix, in ascending byte order,
// with their values, at most Limit of them (Limit 0: all).
type Range struct {
	Prefix string
	Limit  int `cbor:",omitempty" json:",omitempty"`
}

// The administrative operations, served by the leader without touching the
// key-value state.

// AddServer adds server ID to the Raft cluster (diss. §4.1): it catches up as
// a learner first, then becomes a voter. The reply comes once the change is
// committed.
type AddServer struct {
	ID node.ID
}

// RemoveServer removes server ID from the Raft cluster (diss. §4.1). The reply
// comes once the change is committed.
type RemoveServer struct {
	ID node.ID
}

// TransferLeader asks the leader to hand leadership to server To (diss.
// §3.10). The reply says the transfer started, not that it finished.
type TransferLeader struct {
	To node.ID
}

// StatusOp asks a server for the status of its replicated log
// (Result.Status for Raft, Result.MultiPaxos for Multi-Paxos). Any server
// answers, leader or not.
type StatusOp struct{}

// KV is one key and its value, as listed by Range.
type KV struct {
	Key, Value string
}

// Code classifies a Result, so that clients decide what to do without
// parsing Err.
type Code uint8

// The result codes.
const (
	// CodeOK: the operation was applied (a write) or served (a read).
	CodeOK Code = iota
	// CodeNotLeader: the server is not the leader; Leader names the one it
	// knows of (node.None if none). This attempt was not applied.
	CodeNotLeader
	// CodeRetry: the server lost leadership, or was handing it over, before
	// the operation completed. A write's outcome is unknown: retry it with
	// the same session sequence number, which makes the retry safe.
	CodeRetry
	// CodeTimeout: the client gave up; the outcome is unknown.
	CodeTimeout
	// CodeInvalid: the operation is malformed (unknown type, empty key...);
	// it was not applied and never will be.
	CodeInvalid
	// CodeStale: a newer request of the same client session was already
	// applied, so this older one is refused (diss. §6.3); it may or may not
	// have been applied earlier.
	CodeStale
	// CodeFailed: an administrative operation was refused (for example a
	// membership change already in progress).
	CodeFailed
)

var codeNames = [...]string{"ok", "not-leader", "retry", "timeout", "invalid", "stale", "failed"}

// String names the code ("not-leader").
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", uint8(c))
}

// Result answers an operation.
type Result struct {
	// Code says whether the operation succeeded, and if not what to do.
	Code Code `cbor:",omitempty" json:",omitempty"`
	// Err is a readable explanation when Code is not CodeOK ("not the
	// leader; try n2", "timed out after 2s: the outcome is unknown").
	Err string `cbor:",omitempty" json:",omitempty"`
	// Leader is where to retry, for CodeNotLeader and CodeRetry: the leader
	// the answering server knows of, node.None if it knows none.
	Leader node.ID `cbor:",omitempty" json:",omitempty"`

	// Found and Value: for Get, the key's value; for Put, Delete and CAS,
	// the value the key held just before the operation.
	Found bool   `cbor:",omitempty" json:",omitempty"`
	Value string `cbor:",omitempty" json:",omitempty"`
	// OK is true when a CAS swapped, or an administrative operation
	// succeeded.
	OK bool `cbor:",omitempty" json:",omitempty"`
	// KVs are the pairs a Range listed, in ascending key order.
	KVs []KV `cbor:",omitempty" json:",omitempty"`
	// Status is the server's Raft status, for StatusOp on a server that
	// runs on Raft; MultiPaxos is its status on one that runs on
	// Multi-Paxos.
	Status     *raft.Status                `cbor:",omitempty" json:",omitempty"`
	MultiPaxos *consensus.MultiPaxosStatus `cbor:",omitempty" json:",omitempty"`
}

// Unknown reports whether the operation's effect is unknown to the client:
// every failure except CodeInvalid, which is never applied. (A CodeNotLeader
// answer is certain for that attempt only: an earlier attempt of the same
// operation may still be applied.)
func (r Result) Unknown() bool { return r.Code != CodeOK && r.Code != CodeInvalid }

// String formats the result briefly, for logs and the command line.
func (r Result) String() string {
	if r.Code != CodeOK {
		return fmt.Sprintf("%v: %s", r.Code, r.Err)
	}
	var parts []string
	if r.OK {
		parts = append(parts, "ok")
	}
	if r.Found {
		parts = append(parts, fmt.Sprintf("value %q", r.Value))
	}
	if r.KVs != nil {
		parts = append(parts, fmt.Sprintf("%d keys", len(r.KVs)))
	}
	if r.Status != nil {
		s := r.Status
		parts = append(parts, fmt.Sprintf("%v %v term %d leader %v commit %d", s.ID, s.Role, s.Term, s.Leader, s.CommitIndex))
	}
	if r.MultiPaxos != nil {
		s := r.MultiPaxos
		parts = append(parts, fmt.Sprintf("%v %v ballot %s leader %v commit %d", s.ID, s.Role, s.Ballot, s.Leader, s.Commit))
	}
	if len(parts) == 0 {
		return "ok"
	}
	return strings.Join(parts, ", ")
}

// Limits on operations, checked before anything is proposed.
const (
	// MaxKeySize bounds a key's length in bytes.
	MaxKeySize = 4 << 10
	// MaxValueSize bounds a value's length in bytes.
	MaxValueSize = 1 << 20
)

// validate reports why op cannot be served, or nil. Every op that reaches
// the state machine or Raft passed it, so no input from outside can make
// them misbehave.
func validate(op any) error {
	key := func(k string) error {
		switch {
		case k == "":
			return errors.New("kv: empty key")
		case len(k) > MaxKeySize:
			return fmt.Errorf("kv: key of %d bytes exceeds the limit of %d", len(k), MaxKeySize)
		}
		return nil
	}
	value := func(v string) error {
		if len(v) > MaxValueSize {
			return fmt.Errorf("kv: value of %d bytes exceeds the limit of %d", len(v), MaxValueSize)
		}
		return nil
	}
	server := func(id node.ID) error {
		if id < 0 {
			return fmt.Errorf("kv: %v is not a server", id)
		}
		return nil
	}
	switch op := op.(type) {
	case nil:
		return errors.New("kv: no operation")
	case Put:
		return errors.Join(key(op.Key), value(op.Value))
	case Get:
		return key(op.Key)
	case Delete:
		return key(op.Key)
	case CAS:
		return errors.Join(key(op.Key), value(op.Old), value(op.New))
	case Range:
		if op.Limit < 0 {
			return fmt.Errorf("kv: negative range limit %d", op.Limit)
		}
		if len(op.Prefix) > MaxKeySize {
			return fmt.Errorf("kv: prefix of %d bytes exceeds the limit of %d", len(op.Prefix), MaxKeySize)
		}
		return nil
	case AddServer:
		return server(op.ID)
	case RemoveServer:
		return server(op.ID)
	case TransferLeader:
		return server(op.To)
	case StatusOp:
		return nil
	}
	return fmt.Errorf("kv: unknown operation type %T", op)
}

// isWrite reports whether op changes the key-value state (and so goes
// through the log).
func isWrite(op any) bool {
	switch op.(type) {
	case Put, Delete, CAS:
		return true
	}
	return false
}

// isRead reports whether op reads the key-value state.
func isRead(op any) bool {
	switch op.(type) {
	case Get, Range:
		return true
	}
	return false
}

// ops are the operation types AnyOp carries.
func ops() []any {
	return []any{Put{}, Get{}, Delete{}, CAS{}, Range{},
		AddServer{}, RemoveServer{}, TransferLeader{}, StatusOp{}}
}

// opCodec names and encodes the operations inside AnyOp and Command, with
// the same deterministic CBOR as the wire (node.Registry).
var opCodec = node.NewRegistry(ops()...)

// AnyOp carries one operation (Put, Get, ..., StatusOp) inside a message or a
// log entry. On the wire it is the operation's registry form, a
// [name, value] pair, so the receiver rebuilds the right type; a name that
// is not an operation makes the whole message undecodable, which the
// runtimes count and drop. A nil V is sent as CBOR null and refused by the
// server as CodeInvalid.
type AnyOp struct {
	V any
}

// MarshalCBOR implements cbor.Marshaler.
func (o AnyOp) MarshalCBOR() ([]byte, error) {
	if o.V == nil {
		return []byte{0xf6}, nil // null
	}
	return opCodec.Encode(o.V)
}

// UnmarshalCBOR implements cbor.Unmarshaler.
func (o *AnyOp) UnmarshalCBOR(b []byte) error {
	if len(b) == 1 && b[0] == 0xf6 {
		o.V = nil
		return nil
	}
	v, err := opCodec.Decode(b)
	if err != nil {
		return fmt.Errorf("kv: operation: %w", err)
	}
	o.V = v
	return nil
}

// anyOpJSON is AnyOp's JSON form in traces: {"type":"kv.Put","value":{...}}.
type anyOpJSON struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (o AnyOp) MarshalJSON() ([]byte, error) {
	if o.V == nil {
		return []byte("null"), nil
	}
	name, ok := opCodec.Name(o.V)
	if !ok {
		return nil, fmt.Errorf("kv: %T is not an operation", o.V)
	}
	v, err := json.Marshal(o.V)
	if err != nil {
		return nil, err
	}
	return json.Marshal(anyOpJSON{Type: name, Value: v})
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *AnyOp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		o.V = nil
		return nil
	}
	var j anyOpJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("kv: operation: %w", err)
	}
	v, err := opCodec.DecodeJSON(j.Type, j.Value)
	if err != nil {
		return fmt.Errorf("kv: operation: %w", err)
	}
	o.V = v
	return nil
}

// String formats the operation it carries.
func (o AnyOp) String() string { return fmt.Sprintf("%+v", o.V) }

// Command is a write as the Raft log holds it: the operation and the client
// session it belongs to (diss. §6.3). Client 0 means no session: the write is
// applied every time it appears in the log.
type Command struct {
	Client uint64 `cbor:",omitempty"`
	Seq    uint64 `cbor:",omitempty"`
	Op     AnyOp
}

// cmdEnc encodes Commands and snapshots deterministically (sorted map keys,
// shortest forms), so every replica writes the same bytes; cmdDec bounds what
// it will allocate for input it did not write.
var (
	cmdEnc, _ = cbor.CoreDetEncOptions().EncMode()
	cmdDec, _ = cbor.DecOptions{
		MaxArrayElements: 1 << 24,
		MaxMapPairs:      1 << 24,
		MaxNestedLevels:  32,
	}.DecMode()
)

// Encode returns the log form of c.
func (c Command) Encode() ([]byte, error) {
	b, err := cmdEnc.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("kv: encode command: %w", err)
	}
	return b, nil
}

// DecodeCommand parses a Command from its log form.
func DecodeCommand(b []byte) (Command, error) {
	var c Command
	if err := cmdDec.Unmarshal(b, &c); err != nil {
		return Command{}, fmt.Errorf("kv: decode command: %w", err)
	}
	return c, nil
}

// ClientRequest is a client's operation sent to a server over the network
// (by Client in the simulator). ReqID names this attempt, so the client can
// tell the reply to its latest attempt from late replies to earlier ones;
// Client and Seq are the session (diss. §6.3): every attempt of one
// operation carries the same Seq.
type ClientRequest struct {
	ReqID  uint64
	Client uint64
	Seq    uint64
	Op     AnyOp
}

// ClientReply answers the ClientRequest with the same ReqID.
type ClientReply struct {
	ReqID  uint64
	Result Result
}

// Messages returns one zero value of every message, timer, request op, reply
// and emitted event of a kv run (those of Raft and of Multi-Paxos
// included), for node.NewRegistry.
func Messages() []any {
	ms := append(ops(), Result{}, ClientRequest{}, ClientReply{}, Invoked{},
		attemptTimer{}, backoffTimer{}, opTimer{})
	ms = append(ms, raft.Messages()...)
	return append(ms, consensus.MultiPaxosMessages()...)
}
