package live

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/synod-dev/synod/node"
)

// checkGoroutines fails the test if goroutines started during it are still
// running once its other cleanups (registered later, so run earlier) are done.
func checkGoroutines(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > base {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%d goroutines leaked:\n%s", n-base, buf)
		}
	})
}

// eventually waits up to 10s for cond.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metricValue reads a counter or gauge.
func metricValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	t.Fatalf("not a counter or gauge: %v", &d)
	return 0
}

func dropped(t *testing.T, m *Metrics, peer node.ID, reason string) float64 {
	t.Helper()
	return metricValue(t, m.MessagesDropped.WithLabelValues(PeerLabel(peer), reason))
}

// inbox records delivered frames by sender.
type inbox struct {
	mu    sync.Mutex
	got   map[node.ID][]Frame
	block chan struct{} // if set, Deliver waits on it (a slow node)
}

func newInbox() *inbox { return &inbox{got: map[node.ID][]Frame{}} }

func (b *inbox) deliver(from node.ID, f Frame) {
	b.mu.Lock()
	block := b.block
	b.mu.Unlock()
	if block != nil {
		<-block
	}
	b.mu.Lock()
	b.got[from] = append(b.got[from], f)
	b.mu.Unlock()
}

// stall makes Deliver wait (a node that stops reading) until the returned
// release is called, or the test ends.
func (b *inbox) stall(t *testing.T) (release func()) {
	ch := make(chan struct{})
	b.mu.Lock()
	b.block = ch
	b.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release)
	return release
}

func (b *inbox) from(id node.ID) []Frame {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Frame(nil), b.got[id]...)
}

func (b *inbox) count(id node.ID) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.got[id])
}

// logCapture is a slog handler target that keeps the lines.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logCapture) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logCapture) lines(substr ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for line := range strings.Lines(l.buf.String()) {
		ok := true
		for _, s := range substr {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			n++
		}
	}
	return n
}

func (l *logCapture) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func listenLocal(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testNode is a started transport with its inbox, metrics and log.
type testNode struct {
	*Transport
	in  *inbox
	m   *Metrics
	log *logCapture
}

// startNode starts a transport for id; the config's Deliver, Metrics and
// Logger are filled in unless set.
func startNode(t testing.TB, cfg TransportConfig) *testNode {
	t.Helper()
	n := &testNode{in: newInbox(), m: cfg.Metrics, log: &logCapture{}}
	if n.m == nil {
		n.m = NewMetrics()
		cfg.Metrics = n.m
	}
	if cfg.Deliver == nil {
		cfg.Deliver = n.in.deliver
	}
	cfg.Logger = n.log.logger()
	tr, err := NewTransport(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tr.Close()
		if t.Failed() {
			t.Logf("log of %s:\n%s", cfg.Self, n.log)
		}
	})
	n.Transport = tr
	return n
}

// startCluster starts n transports on ephemeral loopback ports, all
// configured with each other; tweak may change each config.
func startCluster(t testing.TB, n int, tweak func(*TransportConfig)) []*testNode {
	t.Helper()
	lis := make([]net.Listener, n)
	addrs := map[node.ID]string{}
	for i := range n {
		lis[i] = listenLocal(t)
		addrs[node.ID(i)] = lis[i].Addr().String()
	}
	nodes := make([]*testNode, n)
	for i := range n {
		cfg := TransportConfig{Self: node.ID(i), Listener: lis[i], Peers: addrs}
		if tweak != nil {
			tweak(&cfg)
		}
		nodes[i] = startNode(t, cfg)
	}
	return nodes
}

// seqFrame is frame number seq from sender from.
func seqFrame(from node.ID, seq int, size int) Frame {
	p := make([]byte, max(size, 16))
	binary.BigEndian.PutUint64(p, uint64(from))
	binary.BigEndian.PutUint64(p[8:], uint64(seq))
	return Frame{Type: "test.seq", Clock: []uint64{uint64(from), uint64(seq)}, Payload: p}
}

func frameSeq(f Frame) (from node.ID, seq int) {
	if len(f.Payload) < 16 {
		return -1, -1
	}
	return node.ID(binary.BigEndian.Uint64(f.Payload)), int(binary.BigEndian.Uint64(f.Payload[8:]))
}

// checkInOrder checks that the frames from `from` are its frames want...,
// in order and with their clocks.
func checkInOrder(t *testing.T, got []Frame, from node.ID, first, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d frames from %s, want %d", len(got), from, n)
	}
	for i, f := range got {
		s, seq := frameSeq(f)
		if s != from || seq != first+i {
			t.Fatalf("frame %d from %s is (%s, %d), want (%s, %d)", i, from, s, seq, from, first+i)
		}
		if len(f.Clock) != 2 || f.Clock[0] != uint64(from) || f.Clock[1] != uint64(seq) || f.Type != "test.seq" {
			t.Fatalf("frame %d from %s: type %q clock %v", i, from, f.Type, f.Clock)
		}
	}
}

// Three transports exchange frames in every direction (self included); each
// pair's order is kept and Deliver names the right sender.
func TestTransportExchange(t *testing.T) {
	checkGoroutines(t)
	nodes := startCluster(t, 3, nil)
	const k = 500
	for i := range k {
		for from := range nodes {
			for to := range nodes {
				nodes[from].Send(node.ID(to), seqFrame(node.ID(from), i, 64))
			}
		}
	}
	for to, n := range nodes {
		for from := range nodes {
			eventually(t, fmt.Sprintf("%d frames n%d->n%d", k, from, to), func() bool { return n.in.count(node.ID(from)) >= k })
			checkInOrder(t, n.in.from(node.ID(from)), node.ID(from), 0, k)
		}
	}
	for from, n := range nodes {
		for to := range nodes {
			if got := metricValue(t, n.m.MessagesSent.WithLabelValues(PeerLabel(node.ID(to)), "test.seq")); got != k {
				t.Errorf("n%d counted %v messages sent to n%d, want %d", from, got, to, k)
			}
			if got := metricValue(t, n.m.BytesSent.WithLabelValues(PeerLabel(node.ID(to)), "test.seq")); got != 64*k {
				t.Errorf("n%d counted %v bytes sent to n%d, want %d", from, got, to, 64*k)
			}
			if got := metricValue(t, n.m.QueueDepth.WithLabelValues(PeerLabel(node.ID(to)))); got != 0 {
				t.Errorf("n%d queue depth to n%d is %v after everything was delivered", from, to, got)
			}
		}
		for _, p := range []node.ID{0, 1, 2} {
			if !n.Connected(p) {
				t.Errorf("n%d not connected to %s", from, p)
			}
		}
	}
}

// A peer that starts late is dialed again with backoff until it is up; one
// that restarts (the dialed side, then the dialing side) is reconnected to,
// and traffic resumes; the reconnects are counted.
func TestTransportReconnect(t *testing.T) {
	checkGoroutines(t)
	l0 := listenLocal(t)
	l1 := listenLocal(t)
	addr1 := l1.Addr().String()
	l1.Close() // n1 is not up yet
	peers := map[node.ID]string{0: l0.Addr().String(), 1: addr1}
	n0 := startNode(t, TransportConfig{Self: 0, Listener: l0, Peers: peers})
	for i := range 10 {
		n0.Send(1, seqFrame(0, i, 32))
	}
	reconnects := func(n *testNode, p node.ID) float64 {
		return metricValue(t, n.m.Reconnects.WithLabelValues(PeerLabel(p)))
	}
	eventually(t, "n0 to retry dialing n1", func() bool { return reconnects(n0, 1) >= 2 })
	if n0.Connected(1) {
		t.Fatal("n0 connected to a peer that is down")
	}

	// n1 comes up late: the queued frames arrive, in order.
	n1 := startNode(t, TransportConfig{Self: 1, Listen: addr1, Peers: peers})
	eventually(t, "queued frames to reach the late n1", func() bool { return n1.in.count(0) >= 10 })
	checkInOrder(t, n1.in.from(0), 0, 0, 10)
	n1.Send(0, seqFrame(1, 0, 32))
	eventually(t, "n1->n0 over the stream n0 opened", func() bool { return n0.in.count(1) >= 1 })

	// n1 restarts: n0 dials it again.
	before := reconnects(n0, 1)
	n1.Close()
	eventually(t, "n0 to notice n1 is gone", func() bool { return !n0.Connected(1) })
	n1 = startNode(t, TransportConfig{Self: 1, Listen: addr1, Peers: peers})
	eventually(t, "n0 to reconnect to the restarted n1", func() bool { return n0.Connected(1) })
	if got := reconnects(n0, 1); got <= before {
		t.Errorf("reconnects to n1 = %v, was %v before the restart", got, before)
	}
	for i := 100; i < 110; i++ {
		n0.Send(1, seqFrame(0, i, 32))
	}
	eventually(t, "frames to reach the restarted n1", func() bool { return n1.in.count(0) >= 10 })
	checkInOrder(t, n1.in.from(0), 0, 100, 10)

	// n0 (the dialing side) restarts: the restarted n0 dials n1, which takes
	// the new stream and counts a reconnect.
	addr0 := peers[0]
	n0.Close()
	n0 = startNode(t, TransportConfig{Self: 0, Listen: addr0, Peers: peers})
	eventually(t, "n1 to accept the restarted n0", func() bool { return n0.Connected(1) })
	eventually(t, "n1 to count a reconnect from n0", func() bool { return reconnects(n1, 0) >= 1 })
	for i := range 10 {
		n1.Send(0, seqFrame(1, i, 32))
	}
	eventually(t, "n1->n0 after n0 restarted", func() bool { return n0.in.count(1) >= 10 })
	checkInOrder(t, n0.in.from(1), 1, 0, 10)
}

// blackhole accepts TCP connections and never answers: a peer that never
// comes up as far as gRPC can tell.
func blackhole(t *testing.T) string {
	t.Helper()
	l := listenLocal(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Frames to a peer that never comes up fill its queue and no more: the rest
// are dropped and counted "queue-full", and memory stays bounded.
func TestTransportQueueFull(t *testing.T) {
	checkGoroutines(t)
	dead := blackhole(t)
	l0 := listenLocal(t)
	n0 := startNode(t, TransportConfig{Self: 0, Listener: l0, QueueSize: 100,
		Peers: map[node.ID]string{0: l0.Addr().String(), 1: dead}})
	before := heapAlloc()
	const total = 100_000 // 100 MiB of payload if it were all kept
	for i := range total {
		n0.Send(1, seqFrame(0, i, 1024))
	}
	grew := int64(heapAlloc()) - int64(before)
	if got := dropped(t, n0.m, 1, "queue-full"); got != total-100 {
		t.Errorf("dropped %v as queue-full, want %d", got, total-100)
	}
	if got := metricValue(t, n0.m.QueueDepth.WithLabelValues("n1")); got != 100 {
		t.Errorf("queue depth %v, want 100", got)
	}
	if grew > 8<<20 {
		t.Errorf("heap grew by %d bytes while sending %d KiB frames to a dead peer with a queue of 100", grew, total)
	}
	// Sends to unknown peers and oversized frames are dropped and counted too.
	n0.Send(7, seqFrame(0, 0, 16))
	n0.Send(1, Frame{Type: "big", Payload: make([]byte, DefaultMaxFrameSize)})
	if dropped(t, n0.m, 7, "unknown-peer") != 1 || dropped(t, n0.m, 1, "oversized") != 1 {
		t.Errorf("unknown-peer %v, oversized %v; want 1 and 1", dropped(t, n0.m, 7, "unknown-peer"), dropped(t, n0.m, 1, "oversized"))
	}

	// The byte bound holds as well when frames are large.
	l2 := listenLocal(t)
	n2 := startNode(t, TransportConfig{Self: 0, Listener: l2, QueueBytes: 64 << 10,
		Peers: map[node.ID]string{0: l2.Addr().String(), 1: dead}})
	for i := range 1000 {
		n2.Send(1, seqFrame(0, i, 8<<10))
	}
	depth := metricValue(t, n2.m.QueueDepth.WithLabelValues("n1"))
	if per := float64(8<<10 + frameOverhead); depth < 1 || depth*per > 64<<10 {
		t.Errorf("queue holds %v frames of 8 KiB under a 64 KiB byte bound", depth)
	}
	if got := dropped(t, n2.m, 1, "queue-full"); got != 1000-depth {
		t.Errorf("dropped %v, want %v", got, 1000-depth)
	}
}

// A live peer that does not keep up (its Deliver blocks) pushes back through
// gRPC flow control: the sender's queue fills and drops, memory stays
// bounded, and once the peer catches up it gets an in-order subsequence.
func TestTransportSlowPeer(t *testing.T) {
	checkGoroutines(t)
	nodes := startCluster(t, 2, func(c *TransportConfig) { c.QueueSize = 64 })
	release := nodes[1].in.stall(t)
	eventually(t, "connection", func() bool { return nodes[0].Connected(1) })
	before := heapAlloc()
	const total = 20_000
	for i := range total {
		nodes[0].Send(1, seqFrame(0, i, 4096))
		if i%1000 == 0 {
			time.Sleep(time.Millisecond) // let the writer fill the stream
		}
	}
	grew := int64(heapAlloc()) - int64(before)
	drops := dropped(t, nodes[0].m, 1, "queue-full")
	if drops == 0 {
		t.Fatal("no queue-full drops although the peer is stuck")
	}
	// What is held: the queue, gRPC's flow-control windows, the batch in flight.
	if grew > 32<<20 {
		t.Errorf("heap grew by %d bytes sending %d MiB to a stuck peer", grew, total*4096>>20)
	}
	release()
	want := total - int(drops)
	eventually(t, "the rest to arrive", func() bool { return nodes[1].in.count(0) >= want })
	last := -1
	for _, f := range nodes[1].in.from(0) {
		_, seq := frameSeq(f)
		if seq <= last {
			t.Fatalf("frame %d after %d", seq, last)
		}
		last = seq
	}
	if got := nodes[1].in.count(0); got != want {
		t.Errorf("got %d frames, want the %d that were not dropped", got, want)
	}
}

// With TLS on, peers with certificates from the cluster's CA talk; a peer
// whose certificate comes from another CA, and a client with no certificate
// at all, are refused at the handshake, and nothing of theirs is delivered.
func TestTransportTLS(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	good, err := NewCertAuthority("synod test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCertAuthority("another CA")
	if err != nil {
		t.Fatal(err)
	}
	goodFiles := map[node.ID]*TLSFiles{}
	for _, id := range []node.ID{1, 2} {
		if goodFiles[id], err = good.Issue(dir, id.String(), "127.0.0.1", "localhost"); err != nil {
			t.Fatal(err)
		}
	}
	evilDir := t.TempDir()
	evil, err := other.Issue(evilDir, "n0", "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	// n0 holds a certificate from the other CA; it dials n1 and n2 (lower
	// IDs dial), whose servers must refuse it.
	nodes := startCluster(t, 3, func(c *TransportConfig) {
		if c.Self == 0 {
			c.TLS = evil
		} else {
			c.TLS = goodFiles[c.Self]
		}
	})
	for i := range 20 {
		for from := range nodes {
			for to := range nodes {
				if from != to {
					nodes[from].Send(node.ID(to), seqFrame(node.ID(from), i, 64))
				}
			}
		}
	}
	eventually(t, "n1<->n2 over TLS", func() bool { return nodes[1].in.count(2) >= 20 && nodes[2].in.count(1) >= 20 })
	checkInOrder(t, nodes[2].in.from(1), 1, 0, 20)
	checkInOrder(t, nodes[1].in.from(2), 2, 0, 20)
	eventually(t, "n1 and n2 to refuse n0's handshakes", func() bool {
		return dropped(t, nodes[1].m, node.None, "tls-handshake") >= 1 && dropped(t, nodes[2].m, node.None, "tls-handshake") >= 1
	})
	time.Sleep(300 * time.Millisecond) // n0 keeps retrying meanwhile
	for _, n := range nodes[1:] {
		if c := n.in.count(0); c != 0 {
			t.Errorf("%s got %d frames from the peer with a foreign certificate", n.cfg.Self, c)
		}
	}
	for _, p := range []node.ID{1, 2} {
		if c := nodes[0].in.count(p); c != 0 || nodes[0].Connected(p) {
			t.Errorf("n0 (foreign certificate) got %d frames from %s, connected %v", c, p, nodes[0].Connected(p))
		}
	}
	if nodes[1].log.lines("tls-handshake") != 1 {
		t.Errorf("handshake failures logged %d times, want once:\n%s", nodes[1].log.lines("tls-handshake"), nodes[1].log)
	}

	addr := nodes[1].Addr().String()
	// A client with a good certificate gets through (Request is nil here).
	c, err := DialClient(addr, goodFiles[2], 5*time.Second)
	if err != nil {
		t.Fatalf("client with a good certificate: %v", err)
	}
	if c.Node() != 1 {
		t.Errorf("client reached %s, want n1", c.Node())
	}
	if _, _, err := c.Request(context.Background(), "x", nil); status.Code(err) != codes.Unimplemented {
		t.Errorf("request to a node without Request: %v, want Unimplemented", err)
	}
	c.Close()
	// Refused: a certificate from the other CA, plaintext, and TLS without a
	// client certificate.
	if c, err := DialClient(addr, evil, 2*time.Second); err == nil {
		c.Close()
		t.Error("client with a certificate from another CA was let in")
	}
	if c, err := DialClient(addr, nil, 2*time.Second); err == nil {
		c.Close()
		t.Error("plaintext client was let in to a TLS node")
	}
	caPEM, err := os.ReadFile(goodFiles[1].CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13})),
		grpc.WithDefaultCallOptions(grpc.CallContentSubtype(codecName)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := conn.Invoke(ctx, pingMethod, &ping{}, &pong{}); err == nil {
		t.Error("client without a certificate was let in")
	}
}

// A certificate from the cluster's own CA that names another node, or no
// node, does not make its holder that node: n0 holds the kv client's
// certificate and n2 one that names n1, so n1 refuses n0 (whose certificate
// does not say n0) and will not talk to n2 either (whose certificate does
// not say n2), and nothing is delivered.
func TestTransportTLSIdentity(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	ca, err := NewCertAuthority("synod test CA")
	if err != nil {
		t.Fatal(err)
	}
	files := map[node.ID]*TLSFiles{}
	for id, name := range map[node.ID]string{0: "client", 1: "n1"} {
		if files[id], err = ca.Issue(dir, name, "127.0.0.1", "localhost"); err != nil {
			t.Fatal(err)
		}
	}
	impostor := t.TempDir()
	if files[2], err = ca.Issue(impostor, "n1", "127.0.0.1", "localhost"); err != nil {
		t.Fatal(err)
	}
	nodes := startCluster(t, 3, func(c *TransportConfig) { c.TLS = files[c.Self] })
	for i := range 20 {
		for from := range nodes {
			for to := range nodes {
				if from != to {
					nodes[from].Send(node.ID(to), seqFrame(node.ID(from), i, 64))
				}
			}
		}
	}
	eventually(t, "n1 to refuse n0, and n2", func() bool {
		return dropped(t, nodes[1].m, node.None, "tls-identity") >= 1 && dropped(t, nodes[1].m, 2, "tls-identity") >= 1
	})
	time.Sleep(300 * time.Millisecond) // the dialers keep retrying meanwhile
	for _, n := range nodes {
		for _, p := range []node.ID{0, 1, 2} {
			if p == n.cfg.Self {
				continue
			}
			if c := n.in.count(p); c != 0 || n.Connected(p) {
				t.Errorf("%s got %d frames from %s, connected %v", n.cfg.Self, c, p, n.Connected(p))
			}
		}
	}
	if got := nodes[1].log.lines("tls-identity"); got != 1 {
		t.Errorf("the refusal of n0 was logged %d times, want once:\n%s", got, nodes[1].log)
	}
}

// Config errors name what is wrong, including TLS files.
func TestTransportConfigErrors(t *testing.T) {
	m := NewMetrics()
	deliver := func(node.ID, Frame) {}
	dir := t.TempDir()
	ca, err := NewCertAuthority("ca")
	if err != nil {
		t.Fatal(err)
	}
	files, err := ca.Issue(dir, "n0", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	junk := dir + "/junk.pem"
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  TransportConfig
		want string
	}{
		{TransportConfig{Listen: ":0", Deliver: deliver}, "Metrics"},
		{TransportConfig{Listen: ":0", Metrics: m}, "Deliver"},
		{TransportConfig{Metrics: m, Deliver: deliver}, "listen"},
		{TransportConfig{Listen: ":0", Metrics: m, Deliver: deliver, Peers: map[node.ID]string{1: ""}}, "no address for peer n1"},
		{TransportConfig{Listen: ":0", Metrics: m, Deliver: deliver, MaxFrameSize: 64 << 20}, "MaxFrameSize"},
		{TransportConfig{Listen: ":0", Metrics: m, Deliver: deliver, TLS: &TLSFiles{CA: dir + "/missing.pem", Cert: files.Cert, Key: files.Key}}, "missing.pem"},
		{TransportConfig{Listen: ":0", Metrics: m, Deliver: deliver, TLS: &TLSFiles{CA: junk, Cert: files.Cert, Key: files.Key}}, "junk.pem: no PEM certificate"},
		{TransportConfig{Listen: ":0", Metrics: m, Deliver: deliver, TLS: &TLSFiles{CA: files.CA, Cert: files.Cert, Key: junk}}, "junk.pem"},
		{TransportConfig{Listen: ":0", Metrics: m, Deliver: deliver, TLS: &TLSFiles{CA: files.CA}}, "all three"},
	} {
		_, err := NewTransport(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewTransport(%+v) = %v, want an error mentioning %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := NewTransport(TransportConfig{Listen: ":0", Metrics: m, Deliver: deliver, TLS: files}); err != nil {
		t.Errorf("good TLS files: %v", err)
	}
}

func mustEncode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := wireEnc.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakePeer plays a peer on a raw connection, to send what a real one never
// would.
type fakePeer struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dialFake connects to addr and sends the peer preface.
func dialFake(t *testing.T, addr string) *fakePeer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(peerPreface); err != nil {
		t.Fatal(err)
	}
	return &fakePeer{t: t, conn: c, r: bufio.NewReader(c)}
}

// send writes one length-prefixed message.
func (f *fakePeer) send(b []byte) {
	f.t.Helper()
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	if _, err := f.conn.Write(append(msg, b...)); err != nil {
		f.t.Fatalf("send: %v", err)
	}
}

// recv reads one message, or fails with the connection's error.
func (f *fakePeer) recv(timeout time.Duration) ([]byte, error) {
	f.conn.SetReadDeadline(time.Now().Add(timeout))
	var hdr [4]byte
	if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	_, err := io.ReadFull(f.r, b)
	return b, err
}

// Garbage on the peer port — random bytes and truncated prefaces on a raw
// TCP connection, then, on a peer connection, undecodable messages, a
// truncated batch, a batch with one bad frame, an oversized frame and a
// message over the size limit — is counted and dropped; the node keeps
// delivering valid frames, from that peer and the others.
func TestTransportGarbage(t *testing.T) {
	checkGoroutines(t)
	defer func(d time.Duration) { helloTimeout = d }(helloTimeout)
	helloTimeout = 300 * time.Millisecond
	// n0 is played by the test; n1 and n2 are real. n2 limits frames to 1 KiB.
	nodes := startCluster(t, 3, func(c *TransportConfig) {
		if c.Self == 2 {
			c.MaxFrameSize = 1024
		}
	})
	if len(peerPreface) != len(http2Preface) || peerPreface[0] == http2Preface[0] {
		t.Fatalf("peer preface %q must be as long as the HTTP/2 preface and differ from its first byte", peerPreface)
	}
	n1, n2 := nodes[1], nodes[2]
	nodes[0].Close() // free n0's ID for the fake
	addr := n2.Addr().String()
	rng := rand.New(rand.NewPCG(1, 2))

	// Raw TCP: random bytes, then prefaces cut short (a gRPC client's and a
	// peer's), then a connection that says nothing at all.
	garbage := make([]byte, 256)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	for _, junk := range [][]byte{garbage, http2Preface[:10], peerPreface[:10], nil} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(junk)
		if len(junk) == 10 && junk[0] == 'P' { // the truncated gRPC preface: hang up
			c.Close()
			continue
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.Copy(io.Discard, c) // the node hangs up on us (EOF or a reset)
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Errorf("garbage connection %q not closed by the node: %v", junk, err)
		}
		c.Close()
	}
	eventually(t, "three bad connections counted", func() bool { return dropped(t, n2.m, node.None, "malformed") >= 3 })

	// A peer connection claiming to be n0.
	f := dialFake(t, addr)
	f.send(mustEncode(t, &envelope{Hello: &hello{From: 0, To: 2, Version: wireVersion}}))
	rep, err := f.recv(5 * time.Second)
	if err != nil {
		t.Fatalf("no hello back: %v", err)
	}
	if in := decodeInbound(rep, 1024, nil, nil); in.hello == nil || in.hello.From != 2 {
		t.Fatalf("hello back: %+v", in)
	}
	good := func(seq int) Frame { return seqFrame(0, seq, 64) }
	f.send(garbage) // undecodable: one malformed
	batch := mustEncode(t, &envelope{Frames: []Frame{good(100), good(101)}})
	f.send(batch[:len(batch)-10]) // truncated: one malformed
	f.send(mustEncode(t, &struct {
		Frames []any `cbor:"2,keyasint"`
	}{[]any{good(0), []any{"x", 1}, "not a frame", good(1)}})) // two malformed, two delivered
	f.send(mustEncode(t, &envelope{Frames: []Frame{{Type: "big", Payload: make([]byte, 2000)}, good(2)}})) // one oversized
	f.send(mustEncode(t, &envelope{Frames: []Frame{good(3)}}))
	f.send(mustEncode(t, &envelope{Hello: &hello{From: 1, To: 2, Version: wireVersion}})) // a second hello: malformed
	f.send(mustEncode(t, &envelope{Frames: []Frame{good(4)}}))
	eventually(t, "the valid frames among the garbage", func() bool { return n2.in.count(0) >= 5 })
	checkInOrder(t, n2.in.from(0), 0, 0, 5)
	if got := dropped(t, n2.m, 0, "malformed"); got != 5 {
		t.Errorf("malformed from n0: %v, want 5", got)
	}
	if got := dropped(t, n2.m, 0, "oversized"); got != 1 {
		t.Errorf("oversized from n0: %v, want 1", got)
	}
	// A message over the size limit: the connection is closed, counted.
	f.send(make([]byte, 1024+wireSlack+1))
	if _, err := f.recv(5 * time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("connection after an over-limit message: %v, want it closed", err)
	}
	eventually(t, "the over-limit message counted", func() bool { return dropped(t, n2.m, 0, "oversized") == 2 })
	if got := n2.log.lines("peer=n0", "reason=malformed"); got != 1 {
		t.Errorf("malformed input from n0 logged %d times, want once:\n%s", got, n2.log)
	}

	// A stranger's hello is refused: the connection is closed.
	s2 := dialFake(t, addr)
	s2.send(mustEncode(t, &envelope{Hello: &hello{From: 9, To: 2, Version: wireVersion}}))
	if _, err := s2.recv(5 * time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("hello from a stranger: %v, want the connection closed", err)
	}

	// A peer connection that never says hello is closed after helloTimeout.
	s3 := dialFake(t, addr)
	start := time.Now()
	if _, err := s3.recv(5 * time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("silent connection: %v, want it closed", err)
	}
	if d := time.Since(start); d > helloTimeout+2*time.Second {
		t.Errorf("silent connection closed after %v; helloTimeout is %v", d, helloTimeout)
	}
	if got := dropped(t, n2.m, node.None, "bad-hello"); got != 2 {
		t.Errorf("bad hellos counted: %v, want 2 (a stranger and a silent connection)", got)
	}

	// The node is fine: n1 still gets through, both ways.
	for i := range 10 {
		n1.Send(2, seqFrame(1, i, 64))
		n2.Send(1, seqFrame(2, i, 64))
	}
	eventually(t, "n1<->n2 after the garbage", func() bool { return n2.in.count(1) >= 10 && n1.in.count(2) >= 10 })
	checkInOrder(t, n2.in.from(1), 1, 0, 10)
	checkInOrder(t, n1.in.from(2), 2, 0, 10)
}

// The request API: a round trip through the node's Request function, its
// errors back to the client, and the client's deadline honoured on both ends.
func TestTransportRequest(t *testing.T) {
	checkGoroutines(t)
	slowDone := make(chan error, 1)
	req := func(ctx context.Context, typ string, enc Encoding, body []byte) (string, []byte, error) {
		switch typ {
		case "kv.get":
			return "kv.value", append(append([]byte(`{"echo":`), body...), '}'), nil
		case "enc":
			return enc.String(), nil, nil
		case "slow":
			<-ctx.Done()
			slowDone <- ctx.Err()
			return "", nil, ctx.Err()
		}
		return "", nil, fmt.Errorf("unknown operation %q", typ)
	}
	nodes := startCluster(t, 1, func(c *TransportConfig) { c.Request = req })
	c, err := DialClient(nodes[0].Addr().String(), nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	typ, body, err := c.Request(context.Background(), "kv.get", []byte(`{"key":"a"}`))
	if err != nil || typ != "kv.value" || string(body) != `{"echo":{"key":"a"}}` {
		t.Fatalf("round trip: %q %s %v", typ, body, err)
	}
	if typ, _, err := c.Call(context.Background(), "enc", CBOR, nil); err != nil || typ != "cbor" {
		t.Errorf("the request's encoding reached the node as %q (%v), want cbor", typ, err)
	}
	if _, _, err := c.Call(context.Background(), "enc", Encoding(7), nil); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "encoding(7)") {
		t.Errorf("a request in an unknown encoding: %v, want InvalidArgument naming it", err)
	}
	_, _, err = c.Request(context.Background(), "kv.frobnicate", nil)
	var re *RequestError
	if !errors.As(err, &re) || re.Msg != `unknown operation "kv.frobnicate"` || re.Type != "kv.frobnicate" {
		t.Errorf("error from Request: %v, want a RequestError with its text", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = c.Request(ctx, "slow", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow request: %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("deadline of 200ms honoured after %v", d)
	}
	select {
	case err := <-slowDone:
		if err == nil {
			t.Error("the server's context ended without an error")
		}
	case <-time.After(5 * time.Second):
		t.Error("the server's Request never saw the client's deadline")
	}
	var hm dto.Metric
	if err := nodes[0].m.RequestLatency.Write(&hm); err != nil || hm.Histogram.GetSampleCount() != 4 {
		t.Errorf("request latency samples: %v (%v), want 4 (the refused request is not served)", hm.Histogram.GetSampleCount(), err)
	}
	if _, err := DialClient(listenAndClose(t), nil, time.Second); err == nil {
		t.Error("DialClient to a closed port succeeded")
	}
}

func listenAndClose(t *testing.T) string {
	l := listenLocal(t)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Frames queued with Queue wait, without waking the writer, until Flush,
// which writes them from the calling goroutine when the connection is idle;
// when the peer stops reading and the socket fills, what an inline write
// leaves is finished by the writer, and mixed with Send every frame arrives,
// once and in order.
func TestTransportQueueFlush(t *testing.T) {
	checkGoroutines(t)
	nodes := startCluster(t, 2, func(c *TransportConfig) {
		c.QueueSize = 1 << 20
		c.QueueBytes = 1 << 30
	})
	eventually(t, "connection", func() bool { return nodes[0].Connected(1) })
	p := nodes[0].peers[1]

	nodes[0].Queue(1, seqFrame(0, 0, 64))
	time.Sleep(20 * time.Millisecond)
	if p.q.empty() {
		t.Fatal("a queued frame left before Flush: Queue woke the writer")
	}
	nodes[0].Flush()
	if !p.q.empty() {
		t.Fatal("Flush on an idle connection left the frame to the writer")
	}
	eventually(t, "the flushed frame", func() bool { return nodes[1].in.count(0) == 1 })

	release := nodes[1].in.stall(t)
	// 48 MiB in rounds of 64 frames of 4 KiB, more than the socket buffers
	// hold while the peer is stuck.
	const rounds, per = 192, 64
	seq := 1
	for r := range rounds {
		for range per {
			if r%5 == 4 {
				nodes[0].Send(1, seqFrame(0, seq, 4096))
			} else {
				nodes[0].Queue(1, seqFrame(0, seq, 4096))
			}
			seq++
		}
		nodes[0].Flush()
	}
	// The socket is full by now: the writer is blocked in a write (holding
	// the session) or has work waiting.
	if s := p.cur.Load(); s != nil && s.mu.TryLock() {
		full := len(s.rest) > 0 || !p.q.empty()
		s.mu.Unlock()
		if !full {
			t.Fatal("48 MiB went into the socket of a peer that reads nothing")
		}
	}
	release()
	eventually(t, "every frame", func() bool { return nodes[1].in.count(0) >= seq })
	checkInOrder(t, nodes[1].in.from(0), 0, 0, seq)
	if d := dropped(t, nodes[0].m, 1, "queue-full") + dropped(t, nodes[0].m, 1, "send-failed"); d != 0 {
		t.Fatalf("%v frames dropped", d)
	}
}
