package live

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"google.golang.org/grpc/encoding"

	"github.com/synod-dev/synod/node"
)

// Frame is one peer message on the wire.
//
// After Transport.Send the transport owns the frame: the caller must not
// modify Payload or Clock any more. A frame handed to Deliver belongs to the
// receiver.
type Frame struct {
	_ struct{} `cbor:",toarray"` // encoded as a 3-element CBOR array: compact

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
}

// DefaultMaxFrameSize is the frame size limit when TransportConfig.MaxFrameSize is 0.
const DefaultMaxFrameSize = 4 << 20

// frameOverhead bounds the CBOR framing of one Frame beyond its contents: the
// array header, the string, clock and byte-string headers.
const frameOverhead = 32

// frameSize is the size a frame counts for against MaxFrameSize and the queue
// byte budget: an upper bound of its encoded size.
func frameSize(f *Frame) int {
	return len(f.Payload) + len(f.Type) + 9*len(f.Clock) + frameOverhead
}

// wireVersion is the version of the peer protocol, exchanged in the hello.
const wireVersion = 1

// envelope is one gRPC message on a peer stream, in either direction. The
// first message each way carries only Hello; every later one a batch of
// frames. Packing many frames into one gRPC message amortizes gRPC's
// per-message cost (headers, flow-control bookkeeping, a codec call), which
// dominates for small messages.
type envelope struct {
	Hello  *hello  `cbor:"1,keyasint,omitempty"`
	Frames []Frame `cbor:"2,keyasint,omitempty"`
}

// hello identifies the two ends of a peer stream: the dialer sends one first,
// the acceptor answers with its own.
type hello struct {
	From    node.ID `cbor:"1,keyasint"`
	To      node.ID `cbor:"2,keyasint"`
	Version int     `cbor:"3,keyasint"`
}

// inbound is the receiving side of an envelope. The codec decodes into it
// tolerantly: a batch with a bad frame still yields its good frames, and input
// that is no envelope at all is counted, not returned as an error (which would
// make gRPC tear the stream down).
type inbound struct {
	limit int // frames bigger than this (frameSize) count as oversized; set before RecvMsg

	hello     *hello
	frames    []Frame
	malformed int   // frames (or whole messages) that did not decode
	oversized int   // frames over limit
	err       error // the first decode error, for the log
}

// maxBatchFrames caps the frames in one envelope; the decoder accepts
// arrays up to decMaxArray elements (which also bounds a vector clock).
const (
	maxBatchFrames = 1024
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
	encoding.RegisterCodec(wireCodec{})
}

// decodeInbound decodes one peer-stream message tolerantly (see inbound). It
// never panics and never fails: what cannot be used is counted.
func decodeInbound(data []byte, limit int) inbound {
	in := inbound{limit: limit}
	var e envelope
	if err := wireDec.Unmarshal(data, &e); err == nil {
		in.hello = e.Hello
		in.frames = e.Frames
		in.dropOversized()
		return in
	}
	// Slow path: salvage what decodes, frame by frame.
	var raw struct {
		Hello  cbor.RawMessage   `cbor:"1,keyasint,omitempty"`
		Frames []cbor.RawMessage `cbor:"2,keyasint,omitempty"`
	}
	if err := wireDec.Unmarshal(data, &raw); err != nil {
		in.malformed = 1
		in.err = fmt.Errorf("decode peer message (%d bytes): %w", len(data), err)
		return in
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
	return in
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
}

// request and reply are the client API's messages: a registered operation
// type name and its JSON body, and the reply's.
type request struct {
	Type string `cbor:"1,keyasint"`
	Body []byte `cbor:"2,keyasint"`
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

// codecName is the gRPC content subtype of synod's messages
// ("application/grpc+synod-cbor").
const codecName = "synod-cbor"

// wireCodec is the gRPC codec of synod's transport: plain CBOR of the structs
// above, with the same library as node.Registry.
//
// Why not protobuf: the messages are already CBOR (node.Registry's encoding,
// which the simulator measures and traces record), so a protobuf frame would
// only wrap opaque bytes, and it would need generated code kept in sync with a
// .proto file and a protoc step in the build. A hand-written grpc.ServiceDesc
// and this codec give the same gRPC streams, deadlines, flow control and TLS
// without either.
type wireCodec struct{}

// Name implements encoding.Codec.
func (wireCodec) Name() string { return codecName }

// Marshal implements encoding.Codec.
func (wireCodec) Marshal(v any) ([]byte, error) {
	b, err := wireEnc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("live: encode %T: %w", v, err)
	}
	return b, nil
}

// Unmarshal implements encoding.Codec. Peer-stream messages decode
// tolerantly into *inbound and never fail (see decodeInbound).
func (wireCodec) Unmarshal(data []byte, v any) error {
	if in, ok := v.(*inbound); ok {
		*in = decodeInbound(data, in.limit)
		return nil
	}
	if v == nil {
		return errors.New("live: decode into nil")
	}
	if err := wireDec.Unmarshal(data, v); err != nil {
		return fmt.Errorf("live: decode %T: %w", v, err)
	}
	return nil
}
