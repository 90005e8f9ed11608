package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestServer builds the server with its whole middleware chain, the
// bench routes and the test's extra routes, logging JSON into the returned
// buffer.
func newTestServer(t *testing.T, routes func(e *echo.Echo)) (*echo.Echo, *syncBuffer, *prometheus.Registry) {
	t.Helper()
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	e, err := New(context.Background(), Deps{
		Log:         slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry:    reg,
		BenchRoutes: true,
		Routes:      routes,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, logs, reg
}

func TestPlainRequestID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"a", true},
		{"req-1.2_3:4", true},
		{"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.:", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"has space", false},
		{"semi;colon", false},
		{"slash/", false},
		{"quote\"", false},
		{"new\nline", false},
		{"nul\x00", false},
		{"ā", false},
		{"\xff", false},
	}
	for _, tt := range tests {
		if got := plainRequestID(tt.id); got != tt.want {
			t.Errorf("plainRequestID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// A caller's X-Request-ID is echoed, logged and put into problem bodies
// only when it is short and plain; anything else is replaced.
func TestCallerRequestID(t *testing.T) {
	const personCode = "121282-11210"
	huge := strings.Repeat("x", 20<<10) + personCode
	tests := []struct {
		name string
		sent string
		kept bool
	}{
		{"plain", "trace-42:a.b_c", true},
		{"longest allowed", strings.Repeat("7", 64), true},
		{"none", "", false},
		{"too long", strings.Repeat("7", 65), false},
		{"20 KB with a personal code", huge, false},
		{"personal code with a space", "pk " + personCode, false},
		{"control character", "abc\x01def", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, logs, _ := newTestServer(t, nil)
			for _, path := range []string{"/bench/bare", "/bench/no-such-route"} {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				if tt.sent != "" {
					req.Header.Set(echo.HeaderXRequestID, tt.sent)
				}
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				got := rec.Header().Get(echo.HeaderXRequestID)
				if tt.kept && got != tt.sent {
					t.Fatalf("%s: request id %q, want the caller's %q", path, got, tt.sent)
				}
				if !tt.kept && (got == tt.sent || !plainRequestID(got)) {
					t.Fatalf("%s: request id %.80q not replaced by a generated one", path, got)
				}
				if rec.Code == http.StatusNotFound {
					var body struct {
						RequestID string `json:"requestId"`
					}
					if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.RequestID != got {
						t.Fatalf("problem body %s: requestId %q, want %q (%v)", rec.Body, body.RequestID, got, err)
					}
				}
				if !strings.Contains(logs.String(), `"request_id":"`+got+`"`) {
					t.Fatalf("%s: no log line with request_id %q:\n%s", path, got, logs)
				}
			}
			if !tt.kept && tt.sent != "" && strings.Contains(logs.String(), tt.sent) {
				t.Fatalf("the refused id reached the log:\n%.500s", logs)
			}
			if strings.Contains(logs.String(), personCode) {
				t.Fatal("a personal code reached the log")
			}
		})
	}
}

// Taking a caller's id costs no more than the header it is answered in.
func TestRequestIDAllocations(t *testing.T) {
	e := echo.New()
	h := requestID(func(echo.Context) error { return nil })
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set(echo.HeaderXRequestID, "trace-42")
	c := e.NewContext(req, httptest.NewRecorder())
	if n := testing.AllocsPerRun(200, func() { _ = h(c) }); n > 1 {
		t.Fatalf("%v allocations per request with a caller's id, want at most 1", n)
	}
}

// logLines decodes the JSON log lines.
func logLines(t *testing.T, logs *syncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// A panicking handler answers a 500 problem that the access log and the
// metrics record; the panic is logged with its stack, without the
// request's headers or body.
func TestPanicIsAnsweredLoggedAndCounted(t *testing.T) {
	const (
		bodySecret   = "body-121282-11210"
		headerSecret = "header-secret-value"
		panicSecret  = "panic-290156-10313" // a personal code in a handler's panic message
	)
	tests := []struct {
		name   string
		method string
		panic  any
	}{
		{"string", http.MethodPost, "boom " + panicSecret},
		{"error", http.MethodGet, fmt.Errorf("lookup %s: %w", panicSecret, context.Canceled)},
		{"runtime error", http.MethodGet, nil}, // index out of range
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, logs, reg := newTestServer(t, func(e *echo.Echo) {
				e.Add(tt.method, "/bench/panic", func(c echo.Context) error {
					if tt.panic == nil {
						var none []string
						_ = none[len(c.Path())] // index out of range
					}
					panic(tt.panic)
				})
			})
			req := httptest.NewRequest(tt.method, "/bench/panic", strings.NewReader(bodySecret))
			req.Header.Set("X-Api-Key", headerSecret)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != http.StatusInternalServerError || rec.Header().Get(echo.HeaderContentType) != "application/problem+json" {
				t.Fatalf("answer %d %q %s, want a 500 problem", rec.Code, rec.Header().Get(echo.HeaderContentType), rec.Body)
			}
			var access, panicked map[string]any
			for _, l := range logLines(t, logs) {
				switch l["msg"] {
				case "request":
					access = l
				case "handler panicked":
					panicked = l
				}
			}
			if access == nil || access["status"] != float64(500) || access["route"] != "/bench/panic" {
				t.Fatalf("access log line %v, want one with status 500:\n%s", access, logs)
			}
			if panicked == nil || panicked["request_id"] != rec.Header().Get(echo.HeaderXRequestID) {
				t.Fatalf("panic log line %v:\n%s", panicked, logs)
			}
			if stack, _ := panicked["stack"].(string); !strings.Contains(stack, "server_test.go") {
				t.Fatalf("panic logged without the handler's stack: %q", stack)
			}
			if s := logs.String(); strings.Contains(s, bodySecret) || strings.Contains(s, headerSecret) || strings.Contains(s, panicSecret) {
				t.Fatalf("the request's body or headers, or the panic's message, reached the log:\n%s", s)
			}
			if p, _ := panicked["panic"].(string); tt.panic == nil && !strings.Contains(p, "index out of range") {
				t.Fatalf("a runtime error's message was not logged: %q", p)
			}
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			counted := uint64(0)
			for _, mf := range mfs {
				if mf.GetName() != "avis_http_request_duration_seconds" {
					continue
				}
				for _, m := range mf.GetMetric() {
					labels := map[string]string{}
					for _, l := range m.GetLabel() {
						labels[l.GetName()] = l.GetValue()
					}
					if labels["route"] == "/bench/panic" && labels["code"] == "500" && labels["method"] == tt.method {
						counted += m.GetHistogram().GetSampleCount()
					}
				}
			}
			if counted != 1 {
				t.Fatalf("%d requests of /bench/panic counted with code 500, want 1", counted)
			}
		})
	}
}

// Invented methods share one label value: a caller must not be able to
// create metric series at will.
func TestMetricsBoundTheMethodLabel(t *testing.T) {
	e, _, reg := newTestServer(t, nil)
	for _, m := range []string{"FOO1", "XYZZY", "BAR", http.MethodGet} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/healthz", nil))
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "avis_http_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" {
					methods[l.GetValue()] = true
				}
			}
		}
	}
	if len(methods) != 2 || !methods["other"] || !methods[http.MethodGet] {
		t.Fatalf("method label values %v, want GET and other", methods)
	}
}
