package live

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/synod-dev/synod/node"
)

// gRPC names of the client service, defined by hand like the peer service.
const (
	clientService   = "synod.Client"
	requestMethod   = "/synod.Client/Request"
	pingMethod      = "/synod.Client/Ping"
	defaultDialWait = 5 * time.Second
)

// clientServer is what the client service's handlers need; *Transport is one.
type clientServer interface {
	serveRequest(ctx context.Context, req *request) (*reply, error)
	servePing() *pong
}

var clientServiceDesc = grpc.ServiceDesc{
	ServiceName: clientService,
	HandlerType: (*clientServer)(nil),
	Methods: []grpc.MethodDesc{
		{
			MethodName: "Request",
			Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var req request
				if err := dec(&req); err != nil {
					return nil, status.Errorf(codes.InvalidArgument, "synod: bad request: %v", err)
				}
				return srv.(clientServer).serveRequest(ctx, &req)
			},
		},
		{
			MethodName: "Ping",
			Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var p ping
				if err := dec(&p); err != nil {
					return nil, status.Errorf(codes.InvalidArgument, "synod: bad ping: %v", err)
				}
				return srv.(clientServer).servePing(), nil
			},
		},
	},
}

// serveRequest passes a client's request to TransportConfig.Request.
func (t *Transport) serveRequest(ctx context.Context, req *request) (*reply, error) {
	if t.cfg.Request == nil {
		return nil, status.Error(codes.Unimplemented, "synod: this node serves no requests")
	}
	if req.Enc != JSON && req.Enc != CBOR {
		return nil, status.Errorf(codes.InvalidArgument, "synod: request body in unknown %v (known: json, cbor)", req.Enc)
	}
	start := time.Now()
	typ, body, err := t.cfg.Request(ctx, req.Type, req.Enc, req.Body)
	t.m.RequestLatency.Observe(time.Since(start).Seconds())
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return nil, status.Error(codes.DeadlineExceeded, err.Error())
		case errors.Is(err, context.Canceled):
			return nil, status.Error(codes.Canceled, err.Error())
		}
		if _, ok := status.FromError(err); ok {
			return nil, err // already a gRPC status: keep its code
		}
		return nil, status.Error(codes.Unknown, err.Error())
	}
	return &reply{Type: typ, Body: body}, nil
}

func (t *Transport) servePing() *pong { return &pong{ID: t.cfg.Self} }

// Client is a connection to one node's request API (`synod request`, tests).
// It is safe for concurrent use.
type Client struct {
	conn *grpc.ClientConn
	addr string
	node node.ID
}

// RequestError is the error a node's Request function returned, as the
// client sees it.
type RequestError struct {
	Type string // the request's type name
	Msg  string // the node's error text
}

// Error implements error.
func (e *RequestError) Error() string {
	return fmt.Sprintf("request %s: node replied: %s", e.Type, e.Msg)
}

// DialClient connects to the node serving at addr and checks that it
// answers, waiting at most timeout (0 means 5s). tlsFiles must be given when
// the node runs with TLS (the client needs a certificate from the same CA);
// nil dials in plaintext.
func DialClient(addr string, tlsFiles *TLSFiles, timeout time.Duration) (*Client, error) {
	if timeout <= 0 {
		timeout = defaultDialWait
	}
	creds := insecure.NewCredentials()
	if tlsFiles != nil {
		cfg, err := tlsFiles.clientConfig()
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(cfg)
	}
	conn, err := grpc.NewClient("passthrough:///"+addr, dialOptions(creds, DefaultMaxFrameSize+wireSlack)...)
	if err != nil {
		return nil, fmt.Errorf("live: dial %s: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var p pong
	if err := conn.Invoke(ctx, pingMethod, &ping{}, &p); err != nil {
		conn.Close()
		return nil, fmt.Errorf("live: dial %s: %w", addr, err)
	}
	return &Client{conn: conn, addr: addr, node: p.ID}, nil
}

// Node is the ID of the node the client reached.
func (c *Client) Node() node.ID { return c.node }

// Request sends a request (a registered operation type name and its JSON
// body) and waits for the reply's type name and JSON body, or ctx's end:
// Call with JSON.
func (c *Client) Request(ctx context.Context, typ string, body []byte) (replyType string, replyBody []byte, err error) {
	return c.Call(ctx, typ, JSON, body)
}

// Call sends a request (a registered operation type name and its body in
// encoding enc) and waits for the reply's type name and body (in enc), or
// ctx's end. An
// error from the node's Request function comes back as a *RequestError; a
// deadline or cancellation as an error matching context.DeadlineExceeded or
// context.Canceled; anything else (node unreachable, ...) as a wrapped gRPC
// status error.
func (c *Client) Call(ctx context.Context, typ string, enc Encoding, body []byte) (replyType string, replyBody []byte, err error) {
	var rep reply
	if err := c.conn.Invoke(ctx, requestMethod, &request{Type: typ, Body: body, Enc: enc}, &rep); err != nil {
		switch status.Code(err) {
		case codes.DeadlineExceeded:
			return "", nil, fmt.Errorf("live: request %s to %s: %w", typ, c.addr, context.DeadlineExceeded)
		case codes.Canceled:
			return "", nil, fmt.Errorf("live: request %s to %s: %w", typ, c.addr, context.Canceled)
		case codes.Unknown:
			return "", nil, &RequestError{Type: typ, Msg: status.Convert(err).Message()}
		}
		return "", nil, fmt.Errorf("live: request %s to %s: %w", typ, c.addr, err)
	}
	return rep.Type, rep.Body, nil
}

// Close closes the connection.
func (c *Client) Close() error {
	if err := c.conn.Close(); err != nil {
		return fmt.Errorf("live: close client of %s: %w", c.addr, err)
	}
	return nil
}
