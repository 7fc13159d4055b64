package live

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/synod-dev/synod/node"
)

// Metrics are a node's Prometheus metrics. Each node has its own registry,
// so several nodes can live in one test process.
type Metrics struct {
	Registry *prometheus.Registry

	// Messages and bytes by peer and message type.
	MessagesSent, MessagesReceived *prometheus.CounterVec // labels: peer, type
	BytesSent, BytesReceived       *prometheus.CounterVec // labels: peer, type
	// MessagesDropped counts messages lost, by peer and reason
	// ("queue-full", "partitioned", "loss", "malformed", "oversized",
	// "unknown-type", ...).
	MessagesDropped *prometheus.CounterVec // labels: peer, reason
	// QueueDepth is the number of messages waiting to be sent to a peer.
	QueueDepth *prometheus.GaugeVec // labels: peer
	// Reconnects counts connection attempts to a peer after the first.
	Reconnects *prometheus.CounterVec // labels: peer
	// RequestLatency is the time from a client request's arrival to its reply.
	RequestLatency prometheus.Histogram
}

// NewMetrics creates a node's metrics in a fresh registry (with the Go and
// process collectors).
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		MessagesSent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "synod_messages_sent_total",
			Help: "Messages sent to peers, by peer and message type."}, []string{"peer", "type"}),
		MessagesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "synod_messages_received_total",
			Help: "Messages received from peers, by peer and message type."}, []string{"peer", "type"}),
		BytesSent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "synod_bytes_sent_total",
			Help: "Encoded bytes sent to peers, by peer and message type."}, []string{"peer", "type"}),
		BytesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "synod_bytes_received_total",
			Help: "Encoded bytes received from peers, by peer and message type."}, []string{"peer", "type"}),
		MessagesDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "synod_messages_dropped_total",
			Help: "Messages dropped, by peer and reason."}, []string{"peer", "reason"}),
		QueueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "synod_send_queue_depth",
			Help: "Messages waiting to be sent, by peer."}, []string{"peer"}),
		Reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "synod_peer_reconnects_total",
			Help: "Connection attempts to a peer after the first, by peer."}, []string{"peer"}),
		RequestLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "synod_request_duration_seconds",
			Help: "Time from a client request's arrival to its reply.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
	}
	m.Registry.MustRegister(m.MessagesSent, m.MessagesReceived, m.BytesSent, m.BytesReceived, m.MessagesDropped,
		m.QueueDepth, m.Reconnects, m.RequestLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchStore exports the store's fsync count as the counter
// synod_store_syncs_total: the batches Sync wrote and fsynced (see
// FileStore.Syncs). Divided into the writes a node committed, it shows how
// well the algorithm batches its syncs. Call it once per registry.
func (m *Metrics) WatchStore(s *FileStore) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "synod_store_syncs_total",
		Help: "Batches written to the store's log and fsynced by Sync."}, func() float64 { return float64(s.Syncs()) }))
}

// PeerLabel is the label value for a peer ("n2").
func PeerLabel(id node.ID) string { return id.String() }

// Drop counts a dropped message.
func (m *Metrics) Drop(peer node.ID, reason string) {
	m.MessagesDropped.WithLabelValues(PeerLabel(peer), reason).Inc()
}

// Sent counts a message sent.
func (m *Metrics) Sent(peer node.ID, typ string, size int) {
	p := PeerLabel(peer)
	m.MessagesSent.WithLabelValues(p, typ).Inc()
	m.BytesSent.WithLabelValues(p, typ).Add(float64(size))
}

// Received counts a message received.
func (m *Metrics) Received(peer node.ID, typ string, size int) {
	p := PeerLabel(peer)
	m.MessagesReceived.WithLabelValues(p, typ).Inc()
	m.BytesReceived.WithLabelValues(p, typ).Add(float64(size))
}
