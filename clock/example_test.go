package clock_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/synod-dev/synod/clock"
)

// Two processes: p sends to q. The receive is stamped past the send, whatever
// q's clock said before (the clock condition). q's earlier local event has a
// smaller stamp than p's send, although the two are concurrent: a Lamport
// clock cannot tell.
func ExampleLamport() {
	var p, q clock.Lamport

	p.Tick()           // p: local event
	m := p.Send()      // p: send, stamp the message
	qa := q.Tick()     // q: local event, concurrent with p's
	qr := q.Receive(m) // q: receive m

	fmt.Println("message stamp:", m)
	fmt.Println("q local:", qa)
	fmt.Println("q receive:", qr)
	// Output:
	// message stamp: 2
	// q local: 1
	// q receive: 3
}

// Three processes. p0 sends to p1; p2 works on its own. The vector clocks
// show that p0's send happens before p1's receive, and that p2's event is
// concurrent with both, which no scalar clock can express.
func ExampleVector() {
	p0, p1, p2 := clock.NewVector(3), clock.NewVector(3), clock.NewVector(3)

	m := p0.Send(0)  // p0 sends m
	p2.Tick(2)       // p2: local event
	p2.Tick(2)       // p2: another one
	p1.Receive(1, m) // p1 receives m

	fmt.Println("send   ", m)
	fmt.Println("receive", p1)
	fmt.Println("p2     ", p2)
	fmt.Println("send vs receive:", clock.Compare(m, p1))
	fmt.Println("receive vs send:", clock.Compare(p1, m))
	fmt.Println("p2 vs receive:  ", clock.Compare(p2, p1))
	// Output:
	// send    [1 0 0]
	// receive [1 1 0]
	// p2      [0 0 2]
	// send vs receive: before
	// receive vs send: after
	// p2 vs receive:   concurrent
}

// Vectors of different lengths compare as if padded with zeros.
func ExampleCompare() {
	fmt.Println(clock.Compare(clock.Vector{1, 0}, clock.Vector{1}))
	fmt.Println(clock.Compare(clock.Vector{1}, clock.Vector{1, 2}))
	fmt.Println(clock.Compare(clock.Vector{2}, clock.Vector{1, 2}))
	// Output:
	// equal
	// before
	// concurrent
}

// Node j's physical clock reads 10 while a message arrives from a node whose
// clock read 12: l jumps to 12 and c counts on from the message's c, so the
// receive is ordered after the send. Later events keep l = 12 and count in c
// until j's physical clock passes 12.
func ExampleHLC() {
	var j clock.HLC

	fmt.Println(j.Now(10))                                  // local event
	fmt.Println(j.Update(10, clock.Timestamp{L: 12, C: 0})) // receive from a node ahead
	fmt.Println(j.Now(11))                                  // pt < l: count in c
	fmt.Println(j.Now(13))                                  // pt > l: back to physical time
	// Output:
	// 10,0
	// 12,1 <nil>
	// 12,2
	// 13,0
}

// With a maximum offset, a timestamp from a clock that runs too far ahead is
// refused and leaves the clock unchanged.
func ExampleNewHLC() {
	h := clock.NewHLC(500 * time.Millisecond)
	pt := int64(10 * time.Second)

	_, err := h.Update(pt, clock.Timestamp{L: pt + int64(time.Second)})
	fmt.Println(errors.Is(err, clock.ErrMaxOffset), h.Last())

	ts, err := h.Update(pt, clock.Timestamp{L: pt + int64(100*time.Millisecond)})
	fmt.Println(ts, err)
	// Output:
	// true 0,0
	// 10100000000,1 <nil>
}
