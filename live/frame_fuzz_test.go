package live

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzFrameDecode feeds arbitrary bytes to the peer-stream decoder: it must
// never panic, never hand over a frame above the size limit, and account for
// what it drops. Input that is a well-formed envelope must come back intact
// after a round trip.
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
	}})
	for _, seed := range [][]byte{
		nil,
		{0xa0},       // empty map
		{0xff},       // a lone break
		{0x9f, 0xff}, // an empty indefinite array
		enc(&envelope{Hello: &hello{From: 1, To: 2, Version: wireVersion}}),
		batch,
		batch[:len(batch)/2],
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
	f.Fuzz(func(t *testing.T, data []byte) {
		in := decodeInbound(data, limit)
		for _, fr := range in.frames {
			if n := frameSize(&fr); n > limit {
				t.Fatalf("delivered a frame of size %d over the limit %d", n, limit)
			}
		}
		if (in.malformed > 0 || in.oversized > 0) && in.err == nil {
			t.Fatalf("dropped %d malformed, %d oversized without saying why", in.malformed, in.oversized)
		}
		if in.malformed > 0 || in.oversized > 0 {
			return
		}
		// A clean decode re-encodes to the same frames.
		again := decodeInbound(enc(&envelope{Hello: in.hello, Frames: in.frames}), limit)
		if again.malformed > 0 || again.oversized > 0 || len(again.frames) != len(in.frames) {
			t.Fatalf("round trip lost frames: %d -> %d (%v)", len(in.frames), len(again.frames), again.err)
		}
		for i := range in.frames {
			a, b := in.frames[i], again.frames[i]
			if a.Type != b.Type || !slices.Equal(a.Clock, b.Clock) || !bytes.Equal(a.Payload, b.Payload) {
				t.Fatalf("frame %d changed in a round trip: %+v -> %+v", i, a, b)
			}
		}
	})
}
