package kv

import (
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// ClientConfig configures NewClient. Zero durations take the defaults,
// chosen for a simulated LAN (one-way latency of a few milliseconds, Raft's
// default election timeout of 150–300 ms).
type ClientConfig struct {
	// Servers are the key-value servers to try.
	Servers []node.ID
	// AttemptTimeout is how long one attempt waits for its reply before the
	// client tries the next server (default 100 ms).
	AttemptTimeout time.Duration
	// OpTimeout is how long an operation may take in all before the client
	// gives up and answers CodeTimeout, outcome unknown (default 3 s).
	OpTimeout time.Duration
	// BackoffMin and BackoffMax bound the pause before a retry that follows
	// a failure; it doubles with each consecutive failure of an operation
	// (defaults 10 ms and 400 ms), with random jitter of up to half of it.
	BackoffMin, BackoffMax time.Duration
}

// The defaults of ClientConfig.
const (
	DefaultAttemptTimeout = 100 * time.Millisecond
	DefaultOpTimeout      = 3 * time.Second
	DefaultBackoffMin     = 10 * time.Millisecond
	DefaultBackoffMax     = 400 * time.Millisecond
)

func (c *ClientConfig) defaults() {
	if c.AttemptTimeout <= 0 {
		c.AttemptTimeout = DefaultAttemptTimeout
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	c.BackoffMax = max(c.BackoffMax, c.BackoffMin)
	c.Servers = slices.Clone(c.Servers)
}

// Timers of the client. Each names the attempt or operation it belongs to,
// so a timer that outlived it is ignored.
type (
	// attemptTimer ends the wait for the reply to attempt ReqID.
	attemptTimer struct{ ReqID uint64 }
	// backoffTimer ends the pause before the next attempt of operation Seq.
	backoffTimer struct{ Seq uint64 }
	// opTimer gives up operation Seq.
	opTimer struct{ Seq uint64 }
)

// Client is a key-value client as a simulated process, the client side of
// the dissertation's chapter 6: it takes operations as node.Requests (from a
// workload), runs one at a time in arrival order, and answers each request
// with the operation's final Result.
//
// It opens a session with a random client ID (diss. §6.3) and numbers its
// operations 1, 2, ...; every attempt of an operation carries the same
// number, so a write retried after a lost reply is not applied twice. It
// sends each attempt to the server it believes leads, follows the leader
// hints of CodeNotLeader answers (§6.2), and when an attempt times out or
// fails it moves to the next server after an exponential, capped, jittered
// backoff. After OpTimeout it gives up and answers CodeTimeout: the outcome
// is unknown, and the linearizability checker treats it so.
type Client struct {
	cfg ClientConfig
	id  uint64 // the session's client ID, never 0

	// queue holds the requests not yet answered; queue[0] is running.
	queue []node.Request
	seq   uint64 // the running (or last) operation's sequence number
	reqID uint64 // the latest attempt's ID
	// target indexes Servers: where the next attempt goes, the server
	// last hinted at or that last answered.
	target      int
	failures    int // consecutive failed attempts of the running operation
	attempt     node.TimerID
	backoff     node.TimerID
	giveUp      node.TimerID
	waitingBack bool // a backoffTimer is pending
}

// NewClient returns a client process.
func NewClient(cfg ClientConfig) *Client {
	cfg.defaults()
	return &Client{cfg: cfg}
}

// Start implements node.Process: the client opens a fresh session and
// guesses a leader at random.
func (c *Client) Start(env node.Env) {
	for c.id == 0 {
		c.id = env.Rand().Uint64()
	}
	if len(c.cfg.Servers) > 0 {
		c.target = env.Rand().IntN(len(c.cfg.Servers))
	}
}

// Request implements node.Process: a key-value or administrative operation
// joins the queue; anything else is answered CodeInvalid at once.
func (c *Client) Request(env node.Env, req node.Request) {
	if err := validate(req.Op); err != nil {
		env.Reply(req.ID, Result{Code: CodeInvalid, Err: err.Error()})
		return
	}
	if len(c.cfg.Servers) == 0 {
		env.Reply(req.ID, Result{Code: CodeInvalid, Err: "kv: the client knows no servers"})
		return
	}
	c.queue = append(c.queue, req)
	if len(c.queue) == 1 {
		c.begin(env)
	}
}

// Invoked is emitted by a Client when it starts serving a request: the
// operation is sent for the first time now. A request that waited in the
// client's queue cannot have taken effect before this, so the
// linearizability checker takes it as the operation's call time; the
// shorter intervals keep the check fast when queues build up during faults.
type Invoked struct {
	Request node.RequestID
	// Client and Seq are the session's client ID and the operation's
	// sequence number (diss. §6.3), which the servers see.
	Client, Seq uint64
}

// begin starts the operation at the head of the queue.
func (c *Client) begin(env node.Env) {
	c.seq++
	c.failures = 0
	env.Emit(Invoked{Request: c.queue[0].ID, Client: c.id, Seq: c.seq})
	c.giveUp = env.After(c.cfg.OpTimeout, opTimer{Seq: c.seq})
	c.send(env)
}

// send makes one attempt of the running operation.
func (c *Client) send(env node.Env) {
	c.reqID++
	to := c.cfg.Servers[c.target]
	env.Send(to, ClientRequest{ReqID: c.reqID, Client: c.id, Seq: c.seq, Op: AnyOp{c.queue[0].Op}})
	c.attempt = env.After(c.cfg.AttemptTimeout, attemptTimer{ReqID: c.reqID})
}

// Receive implements node.Process: a reply to the latest attempt either
// ends the operation or sends the client elsewhere; other replies are late
// and ignored.
func (c *Client) Receive(env node.Env, from node.ID, msg node.Message) {
	m, ok := msg.(ClientReply)
	if !ok {
		env.Log().Warn("kv: client: unknown message", "from", from, "type", node.TypeName(msg))
		return
	}
	if len(c.queue) == 0 || m.ReqID != c.reqID {
		return
	}
	res := m.Result
	if c.waitingBack && (res.Code == CodeNotLeader || res.Code == CodeRetry) {
		return // the attempt timed out and the next one is already due
	}
	env.Cancel(c.attempt)
	switch res.Code {
	case CodeNotLeader:
		moved := c.follow(res.Leader)
		if moved && c.failures < len(c.cfg.Servers) {
			c.failures++
			c.send(env) // a fresh hint: go there at once
			return
		}
		if !moved {
			c.next() // no hint, or a stale one: try another server
		}
		c.retryLater(env)
	case CodeRetry:
		c.follow(res.Leader)
		c.retryLater(env)
	default:
		c.finish(env, res)
	}
}

// Timeout implements node.Process.
func (c *Client) Timeout(env node.Env, timer any) {
	if len(c.queue) == 0 {
		return
	}
	switch t := timer.(type) {
	case attemptTimer:
		if t.ReqID == c.reqID && !c.waitingBack {
			c.next()
			c.retryLater(env)
		}
	case backoffTimer:
		if t.Seq == c.seq && c.waitingBack {
			c.waitingBack = false
			c.send(env)
		}
	case opTimer:
		if t.Seq == c.seq {
			c.finish(env, Result{Code: CodeTimeout,
				Err: fmt.Sprintf("timed out after %v: the outcome is unknown", c.cfg.OpTimeout)})
		}
	}
}

// follow points the client at a hinted leader and reports whether that
// changed its target. A leader the client did not know of (a server added
// since it was configured) joins its list of servers.
func (c *Client) follow(leader node.ID) bool {
	if leader < 0 {
		return false
	}
	i := slices.Index(c.cfg.Servers, leader)
	if i < 0 {
		c.cfg.Servers = append(c.cfg.Servers, leader)
		i = len(c.cfg.Servers) - 1
	}
	if i == c.target {
		return false
	}
	c.target = i
	return true
}

// next moves on to the next server.
func (c *Client) next() { c.target = (c.target + 1) % len(c.cfg.Servers) }

// retryLater pauses before the next attempt: BackoffMin doubled for each
// failure so far, capped at BackoffMax, plus up to half of it again at
// random, so that clients that failed together do not retry together.
func (c *Client) retryLater(env node.Env) {
	d := c.cfg.BackoffMax
	if c.failures < 30 {
		d = min(c.cfg.BackoffMin<<c.failures, c.cfg.BackoffMax)
	}
	d += time.Duration(env.Rand().Int64N(int64(d)/2 + 1))
	c.failures++
	c.waitingBack = true
	c.backoff = env.After(d, backoffTimer{Seq: c.seq})
}

// finish answers the running operation and starts the next one.
func (c *Client) finish(env node.Env, res Result) {
	env.Cancel(c.attempt)
	env.Cancel(c.giveUp)
	if c.waitingBack {
		env.Cancel(c.backoff)
		c.waitingBack = false
	}
	req := c.queue[0]
	c.queue = c.queue[1:]
	c.reqID++ // any late reply to this operation is now stale
	env.Reply(req.ID, res)
	if len(c.queue) > 0 {
		c.begin(env)
	}
}
