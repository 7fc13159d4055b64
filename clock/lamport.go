package clock

// Lamport is a scalar logical clock (Lamport 1978, "Time, Clocks, and the
// Ordering of Events in a Distributed System", §3). Its zero value is a clock
// at time 0, ready to use.
//
// Following the paper's implementation rules, a process ticks its clock
// between any two of its events (IR1), attaches the clock to every message it
// sends, and on receipt sets its clock past both its own value and the
// message's timestamp (IR2). Then the clock condition holds: if a → b then
// L(a) < L(b). The converse does not: L(a) < L(b) says nothing when a and b
// are concurrent (use Vector for that).
type Lamport uint64

// Tick records a local event (IR1) and returns its timestamp.
func (c *Lamport) Tick() uint64 {
	*c++
	return uint64(*c)
}

// Send records a send event and returns the timestamp Tm to attach to the
// message (IR2(a)): the send is an event like any other, so the clock ticks.
func (c *Lamport) Send() uint64 {
	return c.Tick()
}

// Receive records the receipt of a message with timestamp stamp and returns
// the receive event's timestamp (IR2(b)): the clock becomes
// max(own, stamp) + 1, greater than its present value and than Tm.
func (c *Lamport) Receive(stamp uint64) uint64 {
	*c = max(*c, Lamport(stamp)) + 1
	return uint64(*c)
}

// Time returns the clock's current value, the timestamp of the latest event,
// without ticking.
func (c Lamport) Time() uint64 {
	return uint64(c)
}
