package live

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzFrameDecode feeds arbitrary bytes to the peer-stream decoder: it must
// never panic, never hand over a frame above the size limit, and account for
// what it drops. The hand-written batch decoder must agree with the CBOR
// library on every input it takes, and a clean decode must survive a round
// trip through the hand-written encoder, which must write what the library
// writes.
//
//	go test -fuzz=FuzzFrameDecode ./live
func FuzzFrameDecode(f *testing.F) {
	enc := func(v any) []byte {
		b, err := wireEnc.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	batch := enc(&envelope{Frames: []Frame{
		{Type: "paxos.prepare", Clock: []uint64{1, 2, 3}, Payload: []byte{0x82, 0x6d}},
		{Type: "paxos.promise", Payload: bytes.Repeat([]byte{7}, 300)},
		{Type: "", Clock: []uint64{}, Payload: []byte{}},
		{Type: "x", Clock: []uint64{23, 24, 255, 256, 65535, 65536, 1 << 32, 1<<64 - 1}},
	}})
	for _, seed := range [][]byte{
		nil,
		{0xa0},       // empty map
		{0xff},       // a lone break
		{0x9f, 0xff}, // an empty indefinite array
		{0xa1, 0x02, 0x80},
		{0xa1, 0x02, 0x81, 0x83, 0x60, 0xf6, 0xf6},             // one empty frame
		{0xa1, 0x02, 0x81, 0x83, 0x78, 0x01, 0x61, 0xf6, 0xf6}, // a non-shortest length
		{0xa1, 0x02, 0x81, 0x83, 0x61, 0xff, 0xf6, 0xf6},       // invalid UTF-8
		{0xa1, 0x02, 0x9f, 0x83, 0x60, 0xf6, 0xf6, 0xff},       // indefinite-length batch
		enc(&envelope{Hello: &hello{From: 1, To: 2, Version: wireVersion}}),
		batch,
		batch[:len(batch)/2],
		append(slices.Clone(batch), 0),
		enc(&struct {
			Frames []any `cbor:"2,keyasint"`
		}{[]any{Frame{Type: "a"}, []any{1, 2}, "x", Frame{Type: "b", Payload: []byte{1}}}}),
		enc(&envelope{Frames: []Frame{{Type: "big", Payload: make([]byte, 2048)}}}),
		[]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
		{0xa1, 0x02, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // a huge array length
	} {
		f.Add(seed)
	}
	const limit = 1024
	sameFrames := func(t *testing.T, what string, a, b []Frame) {
		t.Helper()
		if len(a) != len(b) {
			t.Fatalf("%s: %d frames vs %d", what, len(a), len(b))
		}
		for i := range a {
			if a[i].Type != b[i].Type || !slices.Equal(a[i].Clock, b[i].Clock) || !bytes.Equal(a[i].Payload, b[i].Payload) ||
				(a[i].Payload == nil) != (b[i].Payload == nil) {
				t.Fatalf("%s: frame %d differs: %+v vs %+v", what, i, a[i], b[i])
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := decodeInbound(data, limit, newTypeNames(), make([]Frame, 3, 8))
		for _, fr := range in.frames {
			if n := frameSize(&fr); n > limit {
				t.Fatalf("delivered a frame of size %d over the limit %d", n, limit)
			}
		}
		if (in.malformed > 0 || in.oversized > 0) && in.err == nil {
			t.Fatalf("dropped %d malformed, %d oversized without saying why", in.malformed, in.oversized)
		}
		// The fast path agrees with the library.
		var fast inbound
		if fast.decodeBatch(data) {
			ref := inbound{limit: 1 << 30}
			ref.decodeReference(data)
			if ref.malformed > 0 || ref.hello != nil {
				t.Fatalf("fast path took what the library rejects (%v)", ref.err)
			}
			sameFrames(t, "fast path vs library", fast.frames, ref.frames)
		}
		if in.malformed > 0 || in.oversized > 0 {
			return
		}
		// A clean decode re-encodes (by hand, as the library would) to the same frames.
		if in.hello == nil {
			hand := appendBatch(nil, in.frames)
			if lib := enc(&envelope{Frames: in.frames}); !bytes.Equal(hand, lib) {
				t.Fatalf("hand encoder wrote %x, the library %x", hand, lib)
			}
			if len(hand) != batchSize(in.frames) {
				t.Fatalf("batchSize %d, encoded %d", batchSize(in.frames), len(hand))
			}
		}
		again := decodeInbound(enc(&envelope{Hello: in.hello, Frames: in.frames}), limit, nil, nil)
		if again.malformed > 0 || again.oversized > 0 {
			t.Fatalf("round trip failed: %v", again.err)
		}
		sameFrames(t, "round trip", in.frames, again.frames)
	})
}
