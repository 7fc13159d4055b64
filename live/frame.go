package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"

	"github.com/synod-dev/synod/node"
)

// Frame is one peer message on the wire.
//
// After Transport.Send the transport owns the frame: the caller must not
// modify Payload or Clock any more. A frame handed to Deliver belongs to the
// receiver; its Payload may share one buffer with the other frames of the
// batch it came in (each with its own capacity limit, so an append copies),
// so holding a payload for long holds the batch.
type Frame struct {
	_ struct{} `cbor:",toarray"` // encoded as a 4-element CBOR array: compact

	// Type is the registered type name of the message, for metrics and logs.
	// It is what the sender claims: the receiver must re-derive it from
	// Payload when it decodes the message (and use that, not this, as a
	// metrics label: a hostile peer could otherwise create label values
	// without limit).
	Type string
	// Clock is the sender's vector clock at the send, for live traces; nil
	// when the sender keeps none.
	Clock []uint64
	// Payload is the node.Registry encoding of the message. The transport
	// never decodes it; the node does.
	Payload []byte
	// ID is the sender's identifier for the message, unique per sender, so
	// a live trace can link a delivery to its send (0 when unknown).
	ID uint64
}

// DefaultMaxFrameSize is the frame size limit when TransportConfig.MaxFrameSize is 0.
const DefaultMaxFrameSize = 4 << 20

// frameOverhead bounds the CBOR framing of one Frame beyond its contents: the
// array header, the string, clock and byte-string headers.
const frameOverhead = 32

// frameSize is the size a frame counts for against MaxFrameSize and the queue
// byte budget: an upper bound of its encoded size.
func frameSize(f *Frame) int {
	return len(f.Payload) + len(f.Type) + 9*len(f.Clock) + 9 + frameOverhead
}

// wireVersion is the version of the peer protocol, exchanged in the hello.
const wireVersion = 3 // 2: frames carry a message ID; 3: the framed peer wire, not gRPC

// envelope is one message on a peer connection, in either direction. The
// first message each way carries only Hello; every later one a batch of
// frames: whatever the writer found queued, so that a burst of small
// messages costs one write call and one wake-up of the reader.
type envelope struct {
	Hello  *hello  `cbor:"1,keyasint,omitempty"`
	Frames []Frame `cbor:"2,keyasint,omitempty"`
}

// hello identifies the two ends of a peer connection: the dialer sends one first,
// the acceptor answers with its own.
type hello struct {
	From    node.ID `cbor:"1,keyasint"`
	To      node.ID `cbor:"2,keyasint"`
	Version int     `cbor:"3,keyasint"`
}

// inbound is the receiving side of an envelope, decoded tolerantly
// (decodeInbound): a batch with a bad frame still yields its good frames, and
// input that is no envelope at all is counted, not returned as an error
// (which would tear the connection down).
type inbound struct {
	limit int        // frames bigger than this (frameSize) count as oversized
	names *typeNames // interns type names across a connection's messages; may be nil
	spare []Frame    // a cleared slice the batch decoder may reuse; may be nil

	hello     *hello
	frames    []Frame
	malformed int   // frames (or whole messages) that did not decode
	oversized int   // frames over limit
	err       error // the first decode error, for the log
}

// maxBatchFrames caps the frames in one envelope; the decoder accepts
// arrays up to decMaxArray elements (which also bounds a vector clock).
const (
	maxBatchFrames = 4096
	decMaxArray    = 1 << 16
)

var (
	wireEnc cbor.EncMode
	wireDec cbor.DecMode
)

func init() {
	var err error
	if wireEnc, err = (cbor.EncOptions{}).EncMode(); err != nil {
		panic(err) // static options: cannot fail
	}
	if wireDec, err = (cbor.DecOptions{
		MaxNestedLevels:  16,
		MaxArrayElements: decMaxArray,
		MaxMapPairs:      64,
		TagsMd:           cbor.TagsForbidden,
	}).DecMode(); err != nil {
		panic(err)
	}
	encoding.RegisterCodecV2(wireCodec{})
}

// decodeInbound decodes one peer message tolerantly (see inbound). It
// never panics and never fails: what cannot be used is counted.
func decodeInbound(data []byte, limit int, names *typeNames, spare []Frame) inbound {
	in := inbound{limit: limit, names: names, spare: spare}
	if in.decodeBatch(data) {
		in.dropOversized()
		return in
	}
	in.decodeReference(data)
	return in
}

// decodeReference decodes with the CBOR library: the reference decoder, for
// hellos and for whatever the hand-written batch decoder does not take.
func (in *inbound) decodeReference(data []byte) {
	var e envelope
	if err := wireDec.Unmarshal(data, &e); err == nil {
		in.hello = e.Hello
		in.frames = e.Frames
		in.dropOversized()
		return
	}
	// Slow path: salvage what decodes, frame by frame.
	var raw struct {
		Hello  cbor.RawMessage   `cbor:"1,keyasint,omitempty"`
		Frames []cbor.RawMessage `cbor:"2,keyasint,omitempty"`
	}
	if err := wireDec.Unmarshal(data, &raw); err != nil {
		in.malformed = 1
		in.err = fmt.Errorf("decode peer message (%d bytes): %w", len(data), err)
		return
	}
	if len(raw.Hello) > 0 {
		var h hello
		if err := wireDec.Unmarshal(raw.Hello, &h); err != nil {
			in.bad(fmt.Errorf("decode hello: %w", err))
		} else {
			in.hello = &h
		}
	}
	for i, r := range raw.Frames {
		var f Frame
		if err := wireDec.Unmarshal(r, &f); err != nil {
			in.bad(fmt.Errorf("decode frame %d of %d: %w", i, len(raw.Frames), err))
			continue
		}
		in.frames = append(in.frames, f)
	}
	in.dropOversized()
}

func (in *inbound) bad(err error) {
	in.malformed++
	if in.err == nil {
		in.err = err
	}
}

// dropOversized removes and counts the frames over the limit.
func (in *inbound) dropOversized() {
	keep := in.frames[:0]
	for i := range in.frames {
		if n := frameSize(&in.frames[i]); n > in.limit {
			in.oversized++
			if in.err == nil {
				in.err = fmt.Errorf("frame of %d bytes (type %.64q) over the %d-byte limit", n, in.frames[i].Type, in.limit)
			}
			continue
		}
		keep = append(keep, in.frames[i])
	}
	clear(in.frames[len(keep):])
	in.frames = keep
	if in.oversized > 0 {
		// The kept payloads may point into the message, most of which was
		// the dropped frames: copy them out rather than let a small frame
		// pin megabytes of garbage while it waits in the node's inbox.
		for i := range in.frames {
			if p := in.frames[i].Payload; p != nil {
				in.frames[i].Payload = append([]byte{}, p...)
			}
		}
	}
}

// request and reply are the client API's messages: a registered operation
// type name and its body, and the reply's, in the request's encoding.
type request struct {
	Type string   `cbor:"1,keyasint"`
	Body []byte   `cbor:"2,keyasint"`
	Enc  Encoding `cbor:"3,keyasint,omitempty"`
}

// Encoding is how the body of a client request and of its reply is written.
type Encoding uint8

// The encodings of client requests.
const (
	// JSON is the default: what a person types (`synod request`) and reads.
	JSON Encoding = 0
	// CBOR is node.Registry's encoding of the value (EncodeValue): what
	// programs send (`synod kv`, `synod bench kv`). Decoding it costs a
	// fraction of JSON's, which matters on a write's critical path.
	CBOR Encoding = 1
)

// String names the encoding.
func (e Encoding) String() string {
	switch e {
	case JSON:
		return "json"
	case CBOR:
		return "cbor"
	}
	return fmt.Sprintf("encoding(%d)", uint8(e))
}

type reply struct {
	Type string `cbor:"1,keyasint"`
	Body []byte `cbor:"2,keyasint"`
}

// ping and pong check that a client reached a live node (DialClient).
type ping struct{}

type pong struct {
	ID node.ID `cbor:"1,keyasint"`
}

// codecName is the gRPC content subtype of synod's client messages
// ("application/grpc+synod-cbor").
const codecName = "synod-cbor"

// wireCodec is the gRPC codec of synod's client API: CBOR, with the same
// library as node.Registry (fxamacker/cbor).
//
// Why not protobuf: the messages are a type name and an opaque body, so a
// protobuf message would only wrap bytes, and it would need generated code
// kept in sync with a .proto file and a protoc step in the build. A
// hand-written grpc.ServiceDesc and this codec give the same gRPC calls,
// deadlines, status codes and TLS without either.
type wireCodec struct{}

// Name implements encoding.CodecV2.
func (wireCodec) Name() string { return codecName }

// Marshal implements encoding.CodecV2.
func (wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := wireEnc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("live: encode %T: %w", v, err)
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

// Unmarshal implements encoding.CodecV2.
func (wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if v == nil {
		return errors.New("live: decode into nil")
	}
	if err := wireDec.Unmarshal(data.Materialize(), v); err != nil {
		return fmt.Errorf("live: decode %T: %w", v, err)
	}
	return nil
}

// CBOR major types and simple values used by the batch codec (RFC 8949 §3).
const (
	cborUint   = 0
	cborBytes  = 2
	cborText   = 3
	cborArray  = 4
	cborNull   = 0xf6
	cborArray4 = 0x84 // an array of 4: a Frame
	cborMap1   = 0xa1 // a map of 1 pair
	cborMap0   = 0xa0
	keyFrames  = 0x02 // envelope.Frames' key
)

// headSize is the size of a CBOR head carrying n.
func headSize(n uint64) int {
	switch {
	case n < 24:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffffff:
		return 5
	}
	return 9
}

// appendHead appends the shortest CBOR head of major type major carrying n,
// as the library writes it.
func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

// batchSize is the exact size of appendBatch's output.
func batchSize(fs []Frame) int {
	if len(fs) == 0 {
		return 1
	}
	n := 2 + headSize(uint64(len(fs)))
	for i := range fs {
		f := &fs[i]
		n += 1 + headSize(uint64(len(f.Type))) + len(f.Type)
		if f.Clock == nil {
			n++
		} else {
			n += headSize(uint64(len(f.Clock)))
			for _, c := range f.Clock {
				n += headSize(c)
			}
		}
		if f.Payload == nil {
			n++
		} else {
			n += headSize(uint64(len(f.Payload))) + len(f.Payload)
		}
		n += headSize(f.ID)
	}
	return n
}

// appendBatch appends the CBOR of envelope{Frames: fs}, byte for byte what
// wireEnc.Marshal writes.
func appendBatch(b []byte, fs []Frame) []byte {
	if len(fs) == 0 {
		return append(b, cborMap0) // Frames is omitempty
	}
	b = append(b, cborMap1, keyFrames)
	b = appendHead(b, cborArray, uint64(len(fs)))
	for i := range fs {
		f := &fs[i]
		b = append(b, cborArray4)
		b = appendHead(b, cborText, uint64(len(f.Type)))
		b = append(b, f.Type...)
		if f.Clock == nil {
			b = append(b, cborNull)
		} else {
			b = appendHead(b, cborArray, uint64(len(f.Clock)))
			for _, c := range f.Clock {
				b = appendHead(b, cborUint, c)
			}
		}
		if f.Payload == nil {
			b = append(b, cborNull)
		} else {
			b = appendHead(b, cborBytes, uint64(len(f.Payload)))
			b = append(b, f.Payload...)
		}
		b = appendHead(b, cborUint, f.ID)
	}
	return b
}

// batchReader reads CBOR heads from a message.
type batchReader struct {
	data []byte
	p    int
}

// head reads a definite-length head of the given major type.
func (r *batchReader) head(major byte) (uint64, bool) {
	if r.p >= len(r.data) || r.data[r.p]>>5 != major {
		return 0, false
	}
	info := r.data[r.p] & 0x1f
	r.p++
	var size int
	switch {
	case info < 24:
		return uint64(info), true
	case info == 24:
		size = 1
	case info == 25:
		size = 2
	case info == 26:
		size = 4
	case info == 27:
		size = 8
	default: // indefinite length or reserved: leave it to the library
		return 0, false
	}
	if len(r.data)-r.p < size {
		return 0, false
	}
	var n uint64
	for _, c := range r.data[r.p : r.p+size] {
		n = n<<8 | uint64(c)
	}
	r.p += size
	if info == 24 && n < 24 {
		return 0, false // the library rejects this one non-shortest form
	}
	return n, true
}

// bytes reads n bytes.
func (r *batchReader) bytes(n uint64) ([]byte, bool) {
	if n > uint64(len(r.data)-r.p) {
		return nil, false
	}
	b := r.data[r.p : r.p+int(n) : r.p+int(n)]
	r.p += int(n)
	return b, true
}

// null consumes a CBOR null if one is next.
func (r *batchReader) null() bool {
	if r.p < len(r.data) && r.data[r.p] == cborNull {
		r.p++
		return true
	}
	return false
}

// decodeBatch is the fast path of decodeInbound: a message that is exactly
// a well-formed batch of well-formed frames, in definite-length encoding.
// It reports false, having changed nothing, for anything else, which then
// goes to the library (and, if bad there too, is counted).
func (in *inbound) decodeBatch(data []byte) bool {
	if len(data) < 3 || data[0] != cborMap1 || data[1] != keyFrames {
		return false
	}
	r := batchReader{data: data, p: 2}
	n, ok := r.head(cborArray)
	// Each frame takes at least 4 bytes: that bounds the allocation below.
	if !ok || n > decMaxArray || n > uint64(len(data)/4) {
		return false
	}
	frames := in.spare
	if uint64(cap(frames)) < n {
		frames = make([]Frame, n)
	}
	frames = frames[:n]
	for i := range frames {
		f := &frames[i]
		if r.p >= len(data) || data[r.p] != cborArray4 {
			return false
		}
		r.p++
		l, ok := r.head(cborText)
		if !ok {
			return false
		}
		name, ok := r.bytes(l)
		if !ok {
			return false
		}
		if f.Type, ok = in.names.intern(name); !ok {
			return false // not UTF-8: the library rejects it
		}
		f.Clock, f.Payload = nil, nil
		if !r.null() {
			m, ok := r.head(cborArray)
			if !ok || m > decMaxArray || m > uint64(len(data)-r.p) {
				return false
			}
			f.Clock = make([]uint64, m)
			for j := range f.Clock {
				if f.Clock[j], ok = r.head(cborUint); !ok {
					return false
				}
			}
		}
		if !r.null() {
			l, ok := r.head(cborBytes)
			if !ok {
				return false
			}
			if f.Payload, ok = r.bytes(l); !ok {
				return false
			}
		}
		if f.ID, ok = r.head(cborUint); !ok {
			return false
		}
	}
	if r.p != len(data) || n == 0 {
		return false // trailing bytes, or an empty batch (which the library decodes)
	}
	in.frames = frames
	return true
}

// typeNames interns the type names of a connection's frames, so that a batch of
// messages of a few types allocates no strings. It keeps at most
// maxTypeNames (a hostile peer can send any names).
type typeNames struct {
	m    map[string]string // valid UTF-8 only
	last string            // the name interned last: batches come in runs of one type
}

const maxTypeNames = 256

func newTypeNames() *typeNames { return &typeNames{m: map[string]string{}} }

// intern returns b as a string, or false if it is not valid UTF-8.
func (t *typeNames) intern(b []byte) (string, bool) {
	if t == nil {
		return string(b), utf8.Valid(b)
	}
	if string(b) == t.last {
		return t.last, true
	}
	s, ok := t.m[string(b)]
	if !ok {
		if !utf8.Valid(b) {
			return "", false
		}
		s = string(b)
		if len(t.m) < maxTypeNames {
			t.m[s] = s
		}
	}
	t.last = s
	return s, true
}
