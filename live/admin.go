package live

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/synod-dev/synod/node"
)

// AdminConfig configures a node's admin endpoint, the HTTP handler built by
// NewAdminHandler. It serves:
//
//	GET  /                      this list, as plain text
//	GET  /status                the node's status as JSON (from Status)
//	GET  /faults                the injected faults as JSON (Faults.Snapshot)
//	POST /cut?peers=n1,n2&dir=  cut the links to peers; dir is out, in or both
//	                            (the default): out cuts what this node sends,
//	                            in what it receives
//	POST /heal[?peers=n1,n2]    heal the links to peers (every peer if none
//	                            given), removing their cuts, delay and loss
//	POST /delay?peers=n1&d=50ms add d of delay to messages sent to peers
//	                            (d=0 removes it)
//	POST /loss?peers=n1&p=0.2   lose messages sent to peers with probability p
//	POST /pause                 stop taking steps (what arrives waits)
//	POST /resume                take steps again
//	GET  /metrics               Prometheus metrics (the node's own registry)
//	GET  /debug/pprof/...       Go profiles (net/http/pprof)
//
// A node list is "n1,n2" or "1,2", or "all" for every peer; it may name
// only members of Group other than Self. Parameters may come in the query
// string or as a form body. A fault change answers with the new faults as
// JSON. Bad input gets 400 and a one-line message naming the bad value and
// what is accepted; a wrong method gets 405, an unknown path 404.
type AdminConfig struct {
	// Self is this node; Group the configured members, Self included.
	Self  node.ID
	Group []node.ID
	// Faults is the switchboard the fault endpoints change. If nil, they
	// answer 501.
	Faults *Faults
	// Metrics is served on /metrics. If nil, /metrics answers 501.
	Metrics *Metrics
	// Status returns the node's status (algorithm, id, peers, uptime...),
	// served as JSON on /status. If nil, /status shows Self and Group.
	Status func() any
	// Logger records every fault change. Nil means slog.Default().
	Logger *slog.Logger
}

// adminHelp is served on GET /; keep it in step with AdminConfig's doc.
const adminHelp = `synod node %v admin endpoint

GET  /                      this list
GET  /status                the node's status (JSON)
GET  /faults                the injected faults (JSON)
POST /cut?peers=n1,n2&dir=  cut links to peers; dir=out|in|both (default both)
POST /heal[?peers=n1,n2]    heal links to peers (all if none given): cuts, delay, loss
POST /delay?peers=n1&d=50ms delay messages sent to peers (d=0 removes the delay)
POST /loss?peers=n1&p=0.2   lose messages sent to peers with probability p
POST /pause                 stop taking steps; what arrives waits
POST /resume                take steps again
GET  /metrics               Prometheus metrics
GET  /debug/pprof/          Go profiles

Node lists: n1,n2 or 1,2, or all (every peer). Group: %s.
Example: curl -X POST 'http://%s/cut?peers=n1&dir=out'
`

// NewAdminHandler returns the admin endpoint's handler; AdminConfig lists
// what it serves.
func NewAdminHandler(cfg AdminConfig) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &admin{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.help)
	mux.HandleFunc("GET /status", a.status)
	mux.HandleFunc("GET /faults", a.withFaults(a.faults))
	mux.HandleFunc("POST /cut", a.withFaults(a.cut))
	mux.HandleFunc("POST /heal", a.withFaults(a.heal))
	mux.HandleFunc("POST /delay", a.withFaults(a.delay))
	mux.HandleFunc("POST /loss", a.withFaults(a.loss))
	mux.HandleFunc("POST /pause", a.withFaults(a.pause(true)))
	mux.HandleFunc("POST /resume", a.withFaults(a.pause(false)))
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Metrics.Registry, promhttp.HandlerOpts{
			ErrorLog:      slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
			ErrorHandling: promhttp.ContinueOnError,
		}))
	} else {
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "this node has no metrics", http.StatusNotImplemented)
		})
	}
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

type admin struct{ cfg AdminConfig }

func (a *admin) help(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, adminHelp, a.cfg.Self, formatNodes(a.cfg.Group), r.Host)
}

func (a *admin) status(w http.ResponseWriter, r *http.Request) {
	var st any = struct {
		Self  string   `json:"self"`
		Group []string `json:"group"`
	}{a.cfg.Self.String(), nodeStrings(a.cfg.Group)}
	if a.cfg.Status != nil {
		st = a.cfg.Status()
	}
	writeJSON(w, st)
}

// withFaults answers 501 when there is no switchboard.
func (a *admin) withFaults(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.Faults == nil {
			http.Error(w, "this node has no fault switchboard", http.StatusNotImplemented)
			return
		}
		h(w, r)
	}
}

func (a *admin) faults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, a.cfg.Faults.Snapshot())
}

func (a *admin) cut(w http.ResponseWriter, r *http.Request) {
	form, ok := a.form(w, r, "peers", "dir")
	if !ok {
		return
	}
	peers, err := a.peers(form, true)
	if err != nil {
		badRequest(w, err)
		return
	}
	dir, err := ParseDirection(form["dir"])
	if err != nil {
		badRequest(w, fmt.Errorf("bad dir %q: want out, in or both", form["dir"]))
		return
	}
	a.cfg.Faults.Cut(peers, dir)
	a.cfg.Logger.Info("admin: cut links", "peers", formatNodes(peers), "dir", string(dir))
	a.faults(w, r)
}

func (a *admin) heal(w http.ResponseWriter, r *http.Request) {
	form, ok := a.form(w, r, "peers")
	if !ok {
		return
	}
	peers, err := a.peers(form, false)
	if err != nil {
		badRequest(w, err)
		return
	}
	a.cfg.Faults.Heal(peers)
	if len(peers) == 0 {
		a.cfg.Logger.Info("admin: healed every link")
	} else {
		a.cfg.Logger.Info("admin: healed links", "peers", formatNodes(peers))
	}
	a.faults(w, r)
}

// linkSetting parses the peers and the one required value of a link
// setting (delay, loss); on bad input it answers 400 itself and reports false.
func (a *admin) linkSetting(w http.ResponseWriter, r *http.Request, name, want string) ([]node.ID, string, bool) {
	form, ok := a.form(w, r, "peers", name)
	if !ok {
		return nil, "", false
	}
	peers, err := a.peers(form, true)
	if err != nil {
		badRequest(w, err)
		return nil, "", false
	}
	s, given := form[name]
	if !given {
		badRequest(w, fmt.Errorf("missing %s: want %s", name, want))
		return nil, "", false
	}
	return peers, s, true
}

func (a *admin) delay(w http.ResponseWriter, r *http.Request) {
	peers, s, ok := a.linkSetting(w, r, "d", "a duration like 50ms")
	if !ok {
		return
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		badRequest(w, fmt.Errorf("bad d %q: want a duration like 50ms (0 or more)", s))
		return
	}
	a.cfg.Faults.SetDelay(peers, d)
	a.cfg.Logger.Info("admin: delay links", "peers", formatNodes(peers), "delay", d)
	a.faults(w, r)
}

func (a *admin) loss(w http.ResponseWriter, r *http.Request) {
	peers, s, ok := a.linkSetting(w, r, "p", "a probability between 0 and 1")
	if !ok {
		return
	}
	p, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
		badRequest(w, fmt.Errorf("bad p %q: want a probability between 0 and 1", s))
		return
	}
	a.cfg.Faults.SetLoss(peers, p)
	a.cfg.Logger.Info("admin: lossy links", "peers", formatNodes(peers), "p", p)
	a.faults(w, r)
}

func (a *admin) pause(paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := a.form(w, r); !ok {
			return
		}
		a.cfg.Faults.SetPaused(paused)
		if paused {
			a.cfg.Logger.Info("admin: paused")
		} else {
			a.cfg.Logger.Info("admin: resumed")
		}
		a.faults(w, r)
	}
}

// maxAdminBody bounds a request body: the parameters are a few words.
const maxAdminBody = 64 << 10

// form returns the request's parameters (query string and form body), each
// given at most once and among those allowed; otherwise it answers 400.
func (a *admin) form(w http.ResponseWriter, r *http.Request, allowed ...string) (map[string]string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
	if err := r.ParseForm(); err != nil {
		badRequest(w, fmt.Errorf("bad request parameters: %v", err))
		return nil, false
	}
	form := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(r.Form)) {
		if !slices.Contains(allowed, name) {
			takes := "no parameters"
			if len(allowed) > 0 {
				takes = strings.Join(allowed, ", ")
			}
			badRequest(w, fmt.Errorf("unknown parameter %q: %s takes %s", name, r.URL.Path, takes))
			return nil, false
		}
		if vs := r.Form[name]; len(vs) != 1 {
			badRequest(w, fmt.Errorf("bad %s: given %d times, want it once", name, len(vs)))
			return nil, false
		}
		form[name] = r.Form[name][0]
	}
	return form, true
}

// peers parses the peers parameter (required or not).
func (a *admin) peers(form map[string]string, required bool) ([]node.ID, error) {
	s, given := form["peers"]
	if !given {
		if required {
			return nil, errors.New("missing peers: want a node list like n1,n2 (or all)")
		}
		return nil, nil
	}
	return parsePeers(s, a.cfg.Self, a.cfg.Group)
}

// parsePeers parses a node list, "n1,n2", "1,2" or "all" (every member of
// group but self), accepting only members of group other than self. The
// result is sorted, without duplicates.
func parsePeers(s string, self node.ID, group []node.ID) ([]node.ID, error) {
	if strings.TrimSpace(s) == "all" {
		var all []node.ID
		for _, id := range group {
			if id != self {
				all = append(all, id)
			}
		}
		slices.Sort(all)
		return slices.Compact(all), nil
	}
	var ids []node.ID
	for part := range strings.SplitSeq(s, ",") {
		p := strings.TrimPrefix(strings.TrimSpace(part), "n")
		k, err := strconv.Atoi(p)
		if err != nil || k < 0 || p[0] == '+' {
			return nil, fmt.Errorf("bad peers %q: want a node list like n1,n2 (or all)", s)
		}
		id := node.ID(k)
		if !slices.Contains(group, id) {
			return nil, fmt.Errorf("bad peers %q: %v is not in the group %s", s, id, formatNodes(group))
		}
		if id == self {
			return nil, fmt.Errorf("bad peers %q: %v is this node", s, id)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

func nodeStrings(ids []node.ID) []string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return s
}

func formatNodes(ids []node.ID) string { return strings.Join(nodeStrings(ids), ",") }

func badRequest(w http.ResponseWriter, err error) {
	http.Error(w, err.Error(), http.StatusBadRequest)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, fmt.Sprintf("encode JSON: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

// Timeouts of the admin server. Profiles longer than adminWriteTimeout still
// work: net/http/pprof extends the deadline by the profile's duration.
const (
	adminReadHeaderTimeout = 5 * time.Second
	adminReadTimeout       = 10 * time.Second
	adminWriteTimeout      = 30 * time.Second
	adminIdleTimeout       = 2 * time.Minute
)

// ServeAdmin listens on addr ("host:port"; "" means 127.0.0.1:0, a free
// loopback port) and serves h in a goroutine until the returned server is
// closed or shut down. It returns the address it listens on.
//
// The admin endpoint can partition, pause and profile the node and has no
// authentication, so unless allowRemote is true ServeAdmin refuses any
// address that is not loopback: the host must be a loopback IP or
// "localhost" (and the socket must end up bound to a loopback address). An
// empty host, 0.0.0.0 or a public address needs allowRemote. A nil logger
// means slog.Default().
func ServeAdmin(addr string, h http.Handler, allowRemote bool, logger *slog.Logger) (*http.Server, net.Addr, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("live: admin address %q: %w", addr, err)
	}
	if !allowRemote {
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, nil, fmt.Errorf("live: admin address %q is not loopback: the admin endpoint is unauthenticated; "+
				"use 127.0.0.1, [::1] or localhost, or allow remote access explicitly", addr)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("live: admin: %w", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !allowRemote && (!ok || !tcp.IP.IsLoopback()) {
		ln.Close()
		return nil, nil, fmt.Errorf("live: admin address %q resolved to %v, which is not loopback", addr, ln.Addr())
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: adminReadHeaderTimeout,
		ReadTimeout:       adminReadTimeout,
		WriteTimeout:      adminWriteTimeout,
		IdleTimeout:       adminIdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("live: admin server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	logger.Info("live: admin endpoint listening", "addr", ln.Addr().String())
	return srv, ln.Addr(), nil
}
