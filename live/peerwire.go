package live

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/synod-dev/synod/node"
)

// The peer wire: what two nodes say to each other on one TCP connection
// (under TLS when configured), beside the gRPC clients on the same port.
//
//	dialer (lower ID)                  acceptor (higher ID)
//	peerPreface, [len][hello]   -->
//	                            <--    [len][hello]
//	[len][batch] [len][batch]...  <->  [len][batch]...
//
// [len] is a 4-byte big-endian length; hello and batch are the CBOR of an
// envelope (see frame.go). The first bytes of an accepted connection tell a
// peer (peerPreface) from a gRPC client (the HTTP/2 preface, which every
// HTTP/2 client sends first), so one port serves both.
//
// Why not a gRPC stream, which is what peers used before: a message on a
// gRPC stream passes four goroutines between the sender's event loop and the
// receiver's (our writer, gRPC's loopy writer, gRPC's HTTP/2 reader, the
// stream's reader), each a wake-up that costs tens of microseconds on a busy
// machine, and HTTP/2 framing and flow control on top. Peers need none of
// it: one ordered byte stream, a writer that turns whatever is queued into
// one write call, and a reader that hands frames straight to the node. That
// halved the per-message cost on a loopback cluster (BENCHMARKS.md §5).
// Clients keep gRPC: deadlines, status codes and any gRPC tooling.

// peerPreface opens a peer connection; it is as long as the HTTP/2 preface.
var peerPreface = []byte("SYNOD PEER/3\r\n\r\nPEER\r\n\r\n")

// http2Preface is what every HTTP/2 (so gRPC) client sends first.
var http2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// frameHeader is the size of the length before each message.
const frameHeader = 4

// Timing of peer connections (besides helloTimeout and the backoff).
const (
	// writeTimeout bounds one write to a peer: a peer that stops reading (a
	// frozen VM) fails the connection within it, as gRPC's keepalive did.
	writeTimeout = keepaliveTime + keepaliveTimeout
	// readBufferSize is the reader's buffer: many small messages arrive
	// in one read call.
	readBufferSize = 64 << 10
	// writeChunk: a writer with this much encoded writes it out before
	// encoding more, so a long queue is not all copied before the first byte
	// leaves.
	writeChunk = 256 << 10
	// keepWriteBuffer is the largest write buffer a writer keeps between
	// batches; a bigger one (a burst of large frames) is let go.
	keepWriteBuffer = 8 << 20
)

// keepAlive probes an idle peer connection, so that a peer that vanished
// without closing it (a cut cable) is noticed within about 20 seconds.
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: keepaliveTime, Interval: keepaliveTimeout / 2, Count: 2}

// acceptLoop accepts connections and sorts each, in a goroutine of its own,
// into a peer or a gRPC client.
func (t *Transport) acceptLoop(lis net.Listener) {
	defer t.wg.Done()
	for {
		c, err := lis.Accept()
		if err != nil {
			if !t.closed.Load() && !errors.Is(err, net.ErrClosed) {
				t.log.Error("accept", "err", err)
			}
			return
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetKeepAliveConfig(keepAlive)
		}
		t.wg.Add(1)
		go t.serveConn(c)
	}
}

// serveConn runs the TLS handshake (if configured) and reads the preface of
// an accepted connection, within helloTimeout, then hands the connection to
// gRPC or runs it as a peer. What is neither is counted and closed.
func (t *Transport) serveConn(raw net.Conn) {
	defer t.wg.Done()
	stop := context.AfterFunc(t.ctx, func() { raw.Close() })
	conn := raw
	conn.SetDeadline(time.Now().Add(t.hello))
	if t.srvTLS != nil {
		tc := tls.Server(raw, t.srvTLS)
		if err := tc.Handshake(); err != nil {
			if !errors.Is(err, io.EOF) && t.ctx.Err() == nil { // a bare connect-and-close is no attack
				t.m.Drop(node.None, "tls-handshake")
				t.logOnce(node.None, "tls-handshake", "refused a connection: TLS handshake failed (logged once)", "remote", raw.RemoteAddr().String(), "err", err)
			}
			stop()
			raw.Close()
			return
		}
		conn = tc
	}
	pre := make([]byte, len(http2Preface))
	n, err := io.ReadFull(conn, pre)
	switch {
	case n == len(pre) && bytes.Equal(pre, http2Preface):
		conn.SetDeadline(time.Time{})
		if !stop() { // Close began: the connection is closed
			return
		}
		t.grpcLis.hand(&replayConn{Conn: conn, pending: pre})
		return
	case n == len(pre) && bytes.Equal(pre, peerPreface):
		defer stop()
		defer conn.Close()
		t.acceptPeer(conn)
		return
	case n > 0 && t.ctx.Err() == nil:
		what := "garbage instead of a preface"
		if err != nil && (bytes.HasPrefix(http2Preface, pre[:n]) || bytes.HasPrefix(peerPreface, pre[:n])) {
			what = "connection closed or silent in the middle of its preface"
		}
		t.m.Drop(node.None, "malformed")
		t.logOnce(node.None, "malformed-conn", "refused a connection (logged once)", "remote", raw.RemoteAddr().String(), "err", what)
	}
	stop()
	conn.Close()
}

// acceptPeer reads a dialer's hello, checks it names a configured peer with
// a lower ID, answers with its own and runs the session.
func (t *Transport) acceptPeer(conn net.Conn) {
	r := bufio.NewReaderSize(conn, readBufferSize)
	in, err := t.readMessage(r, nil, nil)
	var reject string
	h := in.hello
	switch {
	case err != nil:
		reject = "no hello: " + err.Error()
	case h == nil || len(in.frames) > 0 || in.malformed > 0:
		reject = "the first message must be a hello alone"
	case h.Version != wireVersion:
		reject = fmt.Sprintf("wire version %d, want %d", h.Version, wireVersion)
	case h.To != t.cfg.Self:
		reject = fmt.Sprintf("hello addressed to %s, this is %s", h.To, t.cfg.Self)
	case t.peers[h.From] == nil || h.From == t.cfg.Self:
		reject = fmt.Sprintf("%s is not a configured peer", h.From)
	case h.From > t.cfg.Self:
		reject = fmt.Sprintf("%s must wait for %s to dial it (the lower ID dials)", h.From, t.cfg.Self)
	}
	reason := "bad-hello"
	if reject == "" {
		if err := verifyPeerIdentity(conn, h.From); err != nil {
			reason, reject = "tls-identity", fmt.Sprintf("a peer says it is %s, but %v", h.From, err)
		}
	}
	if reject != "" {
		if t.ctx.Err() != nil {
			return
		}
		// The claimed ID is not trusted: count under "none".
		t.m.Drop(node.None, reason)
		t.logOnce(node.None, reason, "peer connection refused (logged once)", "why", reject)
		return
	}
	p := t.peers[h.From]
	if err := writeHello(conn, nil, t.cfg.Self, p.id); err != nil {
		return
	}
	conn.SetDeadline(time.Time{})
	if p.accepted.Add(1) > 1 {
		p.reconn.Inc()
	}
	t.session(p, conn, r, "in")
}

// runOutbound dials p, introduces itself, checks p's hello and runs the
// session until the connection breaks. connected reports whether p answered
// the hello.
func (t *Transport) runOutbound(p *peer) (connected bool, err error) {
	d := net.Dialer{Timeout: t.hello, KeepAliveConfig: keepAlive}
	raw, err := d.DialContext(t.ctx, "tcp", p.addr)
	if err != nil {
		return false, fmt.Errorf("dial %s at %s: %w", p.id, p.addr, err)
	}
	stop := context.AfterFunc(t.ctx, func() { raw.Close() })
	defer stop()
	defer raw.Close()
	conn := raw
	raw.SetDeadline(time.Now().Add(t.hello))
	if t.cliTLS != nil {
		cfg := t.cliTLS.Clone()
		if host, _, err := net.SplitHostPort(p.addr); err == nil {
			cfg.ServerName = host
		}
		tc := tls.Client(raw, cfg)
		if err := tc.Handshake(); err != nil {
			return false, fmt.Errorf("TLS handshake with %s at %s: %w", p.id, p.addr, err)
		}
		if err := verifyPeerIdentity(tc, p.id); err != nil {
			t.m.Drop(p.id, "tls-identity")
			return false, fmt.Errorf("refused %s at %s: %w", p.id, p.addr, err)
		}
		conn = tc
	}
	if err := writeHello(conn, peerPreface, t.cfg.Self, p.id); err != nil {
		return false, fmt.Errorf("hello to %s at %s: %w", p.id, p.addr, err)
	}
	r := bufio.NewReaderSize(conn, readBufferSize)
	in, err := t.readMessage(r, nil, nil)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w (the peer hung up: does it list %s among its peers, with the same TLS authority?)", err, t.cfg.Self)
		}
		return false, fmt.Errorf("hello from %s at %s: %w", p.id, p.addr, err)
	}
	if h := in.hello; h == nil || h.From != p.id || h.To != t.cfg.Self || len(in.frames) > 0 || in.malformed > 0 {
		t.m.Drop(p.id, "bad-hello")
		return false, fmt.Errorf("bad hello from %s at %s: %+v (want from %s to %s)", p.id, p.addr, in.hello, p.id, t.cfg.Self)
	}
	conn.SetDeadline(time.Time{})
	return true, t.session(p, conn, r, "out")
}

// writeHello writes prefix (the preface, or nothing) and a hello message.
func writeHello(conn net.Conn, prefix []byte, from, to node.ID) error {
	h, err := wireEnc.Marshal(&envelope{Hello: &hello{From: from, To: to, Version: wireVersion}})
	if err != nil {
		return err
	}
	b := append(append([]byte{}, prefix...), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[len(prefix):], uint32(len(h)))
	_, err = conn.Write(append(b, h...))
	return err
}

// errOversized reports a message over the transport's size limit: the
// connection cannot skip it safely, so it is closed.
var errOversized = errors.New("message over the size limit")

// readMessage reads one length-prefixed message and decodes it tolerantly
// (see decodeInbound). Its frames' payloads point into a fresh buffer of
// their own. The error is an I/O error or errOversized; a message that does
// not decode is no error but counted in the result.
func (t *Transport) readMessage(r *bufio.Reader, names *typeNames, spare []Frame) (inbound, error) {
	var hdr [frameHeader]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return inbound{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if int64(n) > int64(t.maxWire) {
		return inbound{}, fmt.Errorf("%w: %d bytes, limit %d", errOversized, n, t.maxWire)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return inbound{}, err
	}
	return decodeInbound(data, t.maxFrame, names, spare), nil
}

// session is one live connection to a peer: what its writer goroutine and
// the inline writes of Flush share.
type session struct {
	cancel context.CancelFunc
	conn   net.Conn
	raw    syscall.RawConn // for inline writes; nil when there are none (TLS)

	// mu is held by whoever writes to conn: the writer goroutine, or Flush
	// writing inline. Frames leave the queue only under it, so writes keep
	// the queue's order.
	mu    sync.Mutex
	rest  []byte // what an inline write left unwritten: the writer writes it first
	held  int    // the frames rest belongs to, counted dropped if it never leaves
	buf   []byte
	spare []Frame
	sent  sentCounters
}

// session runs an established peer connection: a writer goroutine drains
// p's queue into it while this goroutine reads and delivers. It returns when
// the connection breaks or the transport closes; it replaces any earlier
// session of p.
func (t *Transport) session(p *peer, conn net.Conn, r *bufio.Reader, dir string) error {
	ctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // ends the reader and the writer
	defer stop()
	me := &session{cancel: cancel, conn: conn, sent: newSentCounters(t.m, p.id)}
	if tc, ok := conn.(*net.TCPConn); ok && inlineWrites {
		me.raw, _ = tc.SyscallConn()
	}
	if old := p.cur.Swap(me); old != nil {
		old.cancel() // its connection closes; its reader and writer end
	}
	t.log.Info("peer connection up", "peer", p.id.String(), "dir", dir)
	defer p.cur.CompareAndSwap(me, nil)
	werr := make(chan error, 1)
	go func() {
		err := t.writeLoop(ctx, p, me)
		cancel()
		werr <- err
	}()
	err := t.readLoop(ctx, p, r)
	cancel()
	if e := <-werr; err == nil {
		err = e
	}
	return err
}

// appendMessage appends the frames as one length-prefixed batch.
func appendMessage(b []byte, fs []Frame) []byte {
	at := len(b)
	b = appendBatch(append(b, 0, 0, 0, 0), fs)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-frameHeader))
	return b
}

// writeLoop drains p's queue into the connection whenever it is woken.
func (t *Transport) writeLoop(ctx context.Context, p *peer, s *session) error {
	for {
		if err := t.drain(p, s); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.q.wake:
		}
	}
}

// drain writes, blocking, what an inline write left and then everything
// waiting, until the queue is empty: each time it takes everything waiting
// and writes it as length-prefixed batches of at most maxBatchFrames frames
// and MaxFrameSize bytes (by frameSize) each, with one write call per
// writeChunk bytes or fewer.
func (t *Transport) drain(p *peer, s *session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rest) > 0 {
		s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := s.conn.Write(s.rest); err != nil {
			t.m.MessagesDropped.WithLabelValues(PeerLabel(p.id), "send-failed").Add(float64(s.held))
			return fmt.Errorf("send to %s: %w", p.id, err)
		}
		s.rest, s.held = s.rest[:0], 0
	}
	for {
		batch := p.q.take(s.spare, 0)
		if batch == nil {
			return nil
		}
		s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		buf := s.buf[:0]
		for rest := batch; len(rest) > 0; {
			var n int
			buf, n = t.appendMessageFrom(buf, rest)
			rest = rest[n:]
			if len(buf) >= writeChunk || len(rest) == 0 {
				if _, err := s.conn.Write(buf); err != nil {
					t.m.MessagesDropped.WithLabelValues(PeerLabel(p.id), "send-failed").Add(float64(len(batch)))
					return fmt.Errorf("send to %s: %w", p.id, err)
				}
				buf = buf[:0]
			}
		}
		s.done(batch, buf)
	}
}

// appendMessageFrom appends one length-prefixed batch of the frames at the
// start of fs, as many as fit maxBatchFrames and MaxFrameSize (at least
// one), and says how many it took.
func (t *Transport) appendMessageFrom(buf []byte, fs []Frame) ([]byte, int) {
	n, size := 1, frameSize(&fs[0])
	for n < len(fs) && n < maxBatchFrames {
		f := frameSize(&fs[n])
		if size+f > t.maxFrame {
			break
		}
		size += f
		n++
	}
	buf = slices.Grow(buf, frameHeader+batchSize(fs[:n]))
	return appendMessage(buf, fs[:n]), n
}

// done counts a written batch and keeps its slice and the write buffer for
// the next one (the buffer only up to keepWriteBuffer).
func (s *session) done(batch []Frame, buf []byte) {
	s.sent.count(batch)
	if cap(buf) > keepWriteBuffer {
		buf = nil
	}
	s.buf = buf[:0]
	clear(batch) // let the payloads go
	s.spare = batch
}

// flushInline writes what waits for p from the calling goroutine, when that
// cannot block or reorder anything: the connection is plain TCP, its writer
// is not writing, nothing an earlier inline write left is pending, and the
// frames make at most writeChunk bytes. It writes once, without waiting for
// the socket; what the socket does not take, and everything it cannot
// write, it leaves to the writer, which it wakes.
func (t *Transport) flushInline(p *peer) {
	s := p.cur.Load()
	if s == nil || s.raw == nil || !s.mu.TryLock() {
		p.q.signal()
		return
	}
	defer s.mu.Unlock()
	if len(s.rest) > 0 {
		p.q.signal()
		return
	}
	batch := p.q.take(s.spare, writeChunk)
	if batch == nil {
		if !p.q.empty() {
			p.q.signal() // too much for one inline write
		}
		return
	}
	buf := s.buf[:0]
	for rest := batch; len(rest) > 0; {
		var n int
		buf, n = t.appendMessageFrom(buf, rest)
		rest = rest[n:]
	}
	n, err := writeOnce(s.raw, buf)
	if err != nil {
		// The connection failed: end the session as the writer would.
		t.m.MessagesDropped.WithLabelValues(PeerLabel(p.id), "send-failed").Add(float64(len(batch)))
		s.cancel()
		clear(batch)
		return
	}
	if n < len(buf) {
		s.rest = append(s.rest[:0], buf[n:]...)
		s.held = len(batch)
		p.q.signal()
	}
	s.done(batch, buf)
}

// readLoop receives batches from p and delivers their frames until the
// connection breaks.
func (t *Transport) readLoop(ctx context.Context, p *peer, r *bufio.Reader) error {
	names := newTypeNames()
	var spare []Frame
	for {
		in, err := t.readMessage(r, names, spare)
		if err != nil {
			if errors.Is(err, errOversized) {
				t.m.Drop(p.id, "oversized")
				t.logOnce(p.id, "oversized", "dropped an oversized message from a peer; the connection restarts (logged once)", "err", err)
			}
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("receive from %s: %w", p.id, err)
		}
		if in.hello != nil {
			in.malformed++
			if in.err == nil {
				in.err = errors.New("hello in the middle of a stream")
			}
		}
		if in.malformed > 0 {
			t.m.MessagesDropped.WithLabelValues(PeerLabel(p.id), "malformed").Add(float64(in.malformed))
			t.logOnce(p.id, "malformed", "dropped malformed input from a peer (logged once)", "err", in.err)
		}
		if in.oversized > 0 {
			t.m.MessagesDropped.WithLabelValues(PeerLabel(p.id), "oversized").Add(float64(in.oversized))
			t.logOnce(p.id, "oversized", "dropped an oversized frame from a peer (logged once)", "err", in.err)
		}
		for i := range in.frames {
			t.cfg.Deliver(p.id, in.frames[i])
		}
		clear(in.frames) // Deliver got copies; drop our references to the payloads
		spare = in.frames[:0]
	}
}

// connListener is the listener gRPC serves: it yields the connections
// serveConn found to be gRPC clients.
type connListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// hand passes c to gRPC, or closes it if the listener is closed.
func (l *connListener) hand(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

// Accept implements net.Listener.
func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener.
func (l *connListener) Addr() net.Addr { return l.addr }

// replayConn gives back the bytes serveConn read to sort a connection
// before reading on.
type replayConn struct {
	net.Conn
	pending []byte
}

// Read implements net.Conn.
func (c *replayConn) Read(b []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(b, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
