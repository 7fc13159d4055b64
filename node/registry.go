package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"reflect"
	"slices"

	"github.com/fxamacker/cbor/v2"
)

// Registry maps the Go types of messages (and of emitted events, requests and
// replies) to stable names, and encodes them for the wire.
//
// The wire format is CBOR (RFC 8949): a two-element array of the type name and
// the value. A name is "<package>.<Type>", for example "broadcast.ack".
// Registering every type up front means a peer can only make us build values
// of types we chose, and decoding an unknown name is an error, not a panic.
type Registry struct {
	byName map[string]reflect.Type
	byType map[reflect.Type]string
	enc    cbor.EncMode
	dec    cbor.DecMode
}

// ErrUnknownType is returned when encoding or decoding a type that was never
// registered.
var ErrUnknownType = errors.New("unregistered type")

// MaxMessageSize bounds the encoded size Decode accepts, so that a hostile
// peer cannot make us allocate without limit.
const MaxMessageSize = 16 << 20

// NewRegistry returns a registry holding the given prototypes (see Register).
func NewRegistry(prototypes ...any) *Registry {
	opts := cbor.CoreDetEncOptions() // deterministic: sorted map keys, shortest forms
	// Times keep their nanoseconds (the default encoding rounds them to whole
	// seconds, which would silently break any algorithm that sends a time).
	opts.Time = cbor.TimeRFC3339Nano
	enc, err := opts.EncMode()
	if err != nil {
		panic(err) // static options: cannot fail
	}
	dec, err := cbor.DecOptions{
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      1 << 20,
		MaxNestedLevels:  64,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	r := &Registry{byName: map[string]reflect.Type{}, byType: map[reflect.Type]string{}, enc: enc, dec: dec}
	r.Register(prototypes...)
	return r
}

// TypeName is the registry name of v's type: the last element of its package
// path, a dot and the type name ("broadcast.ack"). Pointers are named after
// the type they point to.
func TypeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	return typeName(t)
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "" {
		return t.String()
	}
	return path.Base(t.PkgPath()) + "." + t.Name()
}

// ShortName is a type name without its package ("ack" for "broadcast.ack"),
// for labels in tables and diagrams.
func ShortName(typeName string) string {
	for i := len(typeName) - 1; i >= 0; i-- {
		if typeName[i] == '.' {
			return typeName[i+1:]
		}
	}
	return typeName
}

// Register adds the types of the given values (one zero value per type is
// enough). Registering the same type twice is harmless; two different types
// with the same name panic, since that is a programming error found at start-up.
func (r *Registry) Register(prototypes ...any) {
	for _, p := range prototypes {
		t := reflect.TypeOf(p)
		if t == nil {
			panic("node: Register(nil)")
		}
		name := typeName(t)
		if old, ok := r.byName[name]; ok {
			if old != t {
				panic(fmt.Sprintf("node: two types registered as %q: %v and %v", name, old, t))
			}
			continue
		}
		r.byName[name] = t
		r.byType[t] = name
	}
}

// Names lists the registered type names in ascending order.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Name returns the registered name of v's type.
func (r *Registry) Name(v any) (string, bool) {
	name, ok := r.byType[reflect.TypeOf(v)]
	return name, ok
}

type envelope struct {
	_     struct{} `cbor:",toarray"`
	Type  string
	Value cbor.RawMessage
}

// Encode returns the wire form of v, whose type must be registered.
func (r *Registry) Encode(v any) ([]byte, error) {
	name, ok := r.byType[reflect.TypeOf(v)]
	if !ok {
		return nil, fmt.Errorf("node: encode %s: %w", TypeName(v), ErrUnknownType)
	}
	body, err := r.enc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("node: encode %s: %w", name, err)
	}
	return r.enc.Marshal(envelope{Type: name, Value: body})
}

// Decode parses the wire form produced by Encode into a new value of the
// registered type. Malformed input, unknown names and oversized input are
// errors; Decode never panics on input from outside.
func (r *Registry) Decode(data []byte) (any, error) {
	if len(data) > MaxMessageSize {
		return nil, fmt.Errorf("node: decode: %d bytes exceeds the %d-byte limit", len(data), MaxMessageSize)
	}
	var env envelope
	if err := r.dec.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("node: decode envelope: %w", err)
	}
	return r.decodeAs(env.Type, env.Value, r.dec.Unmarshal)
}

// DecodeJSON builds a value of the registered type name from its JSON form
// (as written in a JSON Lines trace).
func (r *Registry) DecodeJSON(name string, data []byte) (any, error) {
	return r.decodeAs(name, data, json.Unmarshal)
}

// DecodeCBOR builds a value of the registered type name from its CBOR form
// (the value as Encode writes it inside its envelope, or as EncodeValue
// writes it), with Decode's limits.
func (r *Registry) DecodeCBOR(name string, data []byte) (any, error) {
	if len(data) > MaxMessageSize {
		return nil, fmt.Errorf("node: decode %s: %d bytes exceeds the %d-byte limit", name, len(data), MaxMessageSize)
	}
	return r.decodeAs(name, data, r.dec.Unmarshal)
}

// EncodeValue returns the CBOR form of v alone, without the type name Encode
// wraps it in: for a channel that carries the name beside it (a client
// request). v's type need not be registered.
func (r *Registry) EncodeValue(v any) ([]byte, error) {
	b, err := r.enc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("node: encode %s: %w", TypeName(v), err)
	}
	return b, nil
}

func (r *Registry) decodeAs(name string, data []byte, unmarshal func([]byte, any) error) (any, error) {
	t, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("node: decode %q: %w", name, ErrUnknownType)
	}
	ptr := reflect.New(t)
	if err := unmarshal(data, ptr.Interface()); err != nil {
		return nil, fmt.Errorf("node: decode %s: %w", name, err)
	}
	return ptr.Elem().Interface(), nil
}
