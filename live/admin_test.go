package live

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

type adminFixture struct {
	faults  *Faults
	metrics *Metrics
	h       http.Handler
}

func newAdminFixture() *adminFixture {
	f := &adminFixture{faults: NewFaults(1), metrics: NewMetrics()}
	f.h = NewAdminHandler(AdminConfig{
		Self: 0, Group: []node.ID{0, 1, 2, 3}, Faults: f.faults, Metrics: f.metrics,
		Status: func() any { return map[string]any{"algorithm": "mutex/central", "id": "n0"} },
		Logger: quietLogger,
	})
	return f
}

// do sends a request and returns the status and body.
func (f *adminFixture) do(t *testing.T, method, target string, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func (f *adminFixture) post(t *testing.T, target string) State {
	t.Helper()
	code, body := f.do(t, "POST", target, "")
	if code != http.StatusOK {
		t.Fatalf("POST %s: %d %s", target, code, body)
	}
	var st State
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("POST %s: answer is not the faults as JSON: %v\n%s", target, err, body)
	}
	if want := f.faults.Snapshot(); !reflect.DeepEqual(st, want) {
		t.Fatalf("POST %s answered %+v, but the faults are %+v", target, st, want)
	}
	return st
}

// links returns what the switchboard does to each peer: "out" if messages
// to it are dropped as partitioned, "in" if messages from it are dropped.
func (f *adminFixture) links() map[node.ID]string {
	m := map[node.ID]string{}
	for _, p := range []node.ID{1, 2, 3} {
		s := ""
		if drop, _ := f.faults.Outbound(p); drop == "partitioned" {
			s += "out"
		}
		if f.faults.Inbound(p) {
			s += "in"
		}
		m[p] = s
	}
	return m
}

func TestAdminCutAndHeal(t *testing.T) {
	f := newAdminFixture()
	f.post(t, "/cut?peers=n1,2")
	if got, want := f.links(), map[node.ID]string{1: "outin", 2: "outin", 3: ""}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after cut n1,2: %v, want %v", got, want)
	}
	f.post(t, "/heal?peers=n1")
	f.post(t, "/cut?peers=n3&dir=out")
	if got, want := f.links(), map[node.ID]string{1: "", 2: "outin", 3: "out"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after heal n1, cut n3 out: %v, want %v", got, want)
	}
	f.post(t, "/heal")
	f.post(t, "/cut?peers=1&dir=in")
	if got, want := f.links(), map[node.ID]string{1: "in", 2: "", 3: ""}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after heal all, cut n1 in: %v, want %v", got, want)
	}
	f.post(t, "/cut?peers=all&dir=both")
	if got, want := f.links(), map[node.ID]string{1: "outin", 2: "outin", 3: "outin"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after cut all: %v, want %v", got, want)
	}
	// Parameters may also come as a form body.
	if code, body := f.do(t, "POST", "/heal", "peers=n2,n3"); code != http.StatusOK {
		t.Fatalf("POST /heal with a form body: %d %s", code, body)
	}
	if got, want := f.links(), map[node.ID]string{1: "outin", 2: "", 3: ""}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after heal n2,n3 by form: %v, want %v", got, want)
	}
}

func TestAdminDelayLossPause(t *testing.T) {
	f := newAdminFixture()
	st := f.post(t, "/delay?peers=n2&d=50ms")
	if drop, d := f.faults.Outbound(2); drop != "" || d != 50*time.Millisecond {
		t.Fatalf("after delay n2 50ms: Outbound(n2) = %q, %v", drop, d)
	}
	if st.Delay["n2"] != "50ms" {
		t.Fatalf("snapshot delay %v", st.Delay)
	}
	f.post(t, "/loss?peers=n1,n3&p=1")
	for _, p := range []node.ID{1, 3} {
		if drop, _ := f.faults.Outbound(p); drop != "loss" {
			t.Fatalf("after loss p=1: Outbound(%v) = %q", p, drop)
		}
	}
	f.post(t, "/loss?peers=n1&p=0")
	if drop, _ := f.faults.Outbound(1); drop != "" {
		t.Fatalf("after loss p=0: Outbound(n1) = %q", drop)
	}
	f.post(t, "/pause")
	if !f.faults.Paused() {
		t.Fatal("not paused after /pause")
	}
	f.post(t, "/resume")
	if f.faults.Paused() {
		t.Fatal("paused after /resume")
	}
	f.post(t, "/heal?peers=n2")
	if drop, d := f.faults.Outbound(2); drop != "" || d != 0 {
		t.Fatalf("after heal n2: Outbound(n2) = %q, %v", drop, d)
	}
}

func TestAdminReadEndpoints(t *testing.T) {
	f := newAdminFixture()
	code, body := f.do(t, "GET", "/", "")
	if code != http.StatusOK {
		t.Fatalf("GET /: %d", code)
	}
	for _, want := range []string{"/status", "/faults", "/cut", "/heal", "/delay", "/loss", "/pause", "/resume", "/metrics", "/debug/pprof/", "n0,n1,n2,n3"} {
		if !strings.Contains(body, want) {
			t.Errorf("GET / does not mention %s:\n%s", want, body)
		}
	}
	code, body = f.do(t, "GET", "/status", "")
	var status map[string]any
	if code != http.StatusOK || json.Unmarshal([]byte(body), &status) != nil || status["algorithm"] != "mutex/central" {
		t.Fatalf("GET /status: %d %s", code, body)
	}
	f.faults.Cut([]node.ID{2}, Out)
	f.faults.SetLoss([]node.ID{3}, 0.25)
	code, body = f.do(t, "GET", "/faults", "")
	var st State
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil || !reflect.DeepEqual(st, f.faults.Snapshot()) {
		t.Fatalf("GET /faults: %d %s", code, body)
	}
	f.metrics.Sent(1, "ping", 12)
	code, body = f.do(t, "GET", "/metrics", "")
	if want := `synod_messages_sent_total{peer="n1",type="ping"} 1`; code != http.StatusOK || !strings.Contains(body, want) {
		t.Fatalf("GET /metrics: %d, no %s in\n%.2000s", code, want, body)
	}
	code, body = f.do(t, "GET", "/debug/pprof/", "")
	if code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("GET /debug/pprof/: %d %.500s", code, body)
	}
	code, body = f.do(t, "GET", "/debug/pprof/goroutine?debug=1", "")
	if code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("GET /debug/pprof/goroutine: %d %.500s", code, body)
	}
}

func TestAdminStatusDefaultsToSelfAndGroup(t *testing.T) {
	h := NewAdminHandler(AdminConfig{Self: 1, Group: []node.ID{0, 1}, Logger: quietLogger})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/status", nil))
	if got := strings.Join(strings.Fields(rec.Body.String()), ""); got != `{"self":"n1","group":["n0","n1"]}` {
		t.Fatalf("GET /status without Status: %s", got)
	}
	for _, path := range []string{"/faults", "/metrics"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusNotImplemented {
			t.Errorf("GET %s without Faults and Metrics: %d, want 501", path, rec.Code)
		}
	}
}

func TestAdminRejectsBadInput(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		{"/cut", "missing peers: want a node list like n1,n2 (or all)"},
		{"/cut?peers=x", `bad peers "x": want a node list like n1,n2 (or all)`},
		{"/cut?peers=n1,,n2", `bad peers "n1,,n2": want a node list like n1,n2 (or all)`},
		{"/cut?peers=n-1", `bad peers "n-1": want a node list like n1,n2 (or all)`},
		{"/cut?peers=%2B1", `bad peers "+1": want a node list like n1,n2 (or all)`},
		{"/cut?peers=n9", `bad peers "n9": n9 is not in the group n0,n1,n2,n3`},
		{"/cut?peers=n1,n0", `bad peers "n1,n0": n0 is this node`},
		{"/cut?peers=n1&dir=up", `bad dir "up": want out, in or both`},
		{"/cut?peer=n1", `unknown parameter "peer": /cut takes peers, dir`},
		{"/cut?peers=n1&peers=n2", `bad peers: given 2 times, want it once`},
		{"/heal?peers=n1%20n2", `bad peers "n1 n2": want a node list like n1,n2 (or all)`},
		{"/heal?peers=n1;n2", "bad request parameters: invalid semicolon separator in query"},
		{"/delay?peers=n1", "missing d: want a duration like 50ms"},
		{"/delay?peers=n1&d=fast", `bad d "fast": want a duration like 50ms (0 or more)`},
		{"/delay?peers=n1&d=-1s", `bad d "-1s": want a duration like 50ms (0 or more)`},
		{"/delay?d=1s", "missing peers: want a node list like n1,n2 (or all)"},
		{"/loss?peers=n1", "missing p: want a probability between 0 and 1"},
		{"/loss?peers=n1&p=2", `bad p "2": want a probability between 0 and 1`},
		{"/loss?peers=n1&p=-0.1", `bad p "-0.1": want a probability between 0 and 1`},
		{"/loss?peers=n1&p=NaN", `bad p "NaN": want a probability between 0 and 1`},
		{"/loss?peers=n1&p=half", `bad p "half": want a probability between 0 and 1`},
		{"/pause?now=1", `unknown parameter "now": /pause takes no parameters`},
	} {
		f := newAdminFixture()
		before := f.faults.Snapshot()
		code, body := f.do(t, "POST", tc.target, "")
		if code != http.StatusBadRequest || strings.TrimSpace(body) != tc.want {
			t.Errorf("POST %s: %d %q, want 400 %q", tc.target, code, strings.TrimSpace(body), tc.want)
		}
		if after := f.faults.Snapshot(); !reflect.DeepEqual(before, after) {
			t.Errorf("POST %s changed the faults: %+v", tc.target, after)
		}
	}
}

func TestAdminRejectsWrongMethodAndPath(t *testing.T) {
	f := newAdminFixture()
	for _, tc := range []struct {
		method, target string
		want           int
	}{
		{"GET", "/cut?peers=n1", http.StatusMethodNotAllowed},
		{"GET", "/pause", http.StatusMethodNotAllowed},
		{"POST", "/status", http.StatusMethodNotAllowed},
		{"PUT", "/faults", http.StatusMethodNotAllowed},
		{"DELETE", "/metrics", http.StatusMethodNotAllowed},
		{"POST", "/", http.StatusMethodNotAllowed},
		{"GET", "/nope", http.StatusNotFound},
	} {
		if code, _ := f.do(t, tc.method, tc.target, ""); code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.target, code, tc.want)
		}
	}
	if f.faults.Paused() || len(f.faults.Snapshot().CutOut) != 0 {
		t.Fatal("a refused request changed the faults")
	}
}

func TestServeAdmin(t *testing.T) {
	f := newAdminFixture()
	for _, addr := range []string{"", "127.0.0.1:0", "localhost:0", "[::1]:0"} {
		srv, bound, err := ServeAdmin(addr, f.h, false, quietLogger)
		if err != nil {
			if addr == "[::1]:0" { // no IPv6 loopback here
				t.Logf("ServeAdmin(%q): %v", addr, err)
				continue
			}
			t.Fatalf("ServeAdmin(%q): %v", addr, err)
		}
		resp, err := http.Post("http://"+bound.String()+"/cut?peers=n1", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !f.faults.Inbound(1) {
			t.Fatalf("POST /cut over %s: %s", bound, resp.Status)
		}
		f.faults.Heal(nil)
		srv.Close()
	}
	for _, addr := range []string{":0", "0.0.0.0:0", "192.0.2.1:80", "example.com:80", "nonsense"} {
		if _, _, err := ServeAdmin(addr, f.h, false, quietLogger); err == nil || !strings.Contains(err.Error(), addr) {
			t.Errorf("ServeAdmin(%q) without allowRemote: %v, want a refusal naming the address", addr, err)
		}
	}
	srv, bound, err := ServeAdmin("0.0.0.0:0", f.h, true, quietLogger)
	if err != nil {
		t.Fatalf("ServeAdmin with allowRemote: %v", err)
	}
	defer srv.Close()
	if srv.ReadHeaderTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 {
		t.Fatalf("server without timeouts: %+v", srv)
	}
	if tcp, ok := bound.(*net.TCPAddr); !ok || tcp.Port == 0 {
		t.Fatalf("bound to %v", bound)
	}
}
