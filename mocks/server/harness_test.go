package server

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/mocks/population"
	"github.com/avis-lv/gateway/mocks/registry"
)

var testAsOf = registry.NewDate(2026, time.June, 1)

// clock is a settable clock shared by the server and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	t      *testing.T
	srv    *Server
	ts     *httptest.Server
	pop    *population.Population
	key    crypto.Signer
	signer *signing.Signer
	clock  *clock
}

type option func(*Config)

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	pop, err := population.New(population.Config{Seed: 1, Size: 3000, AsOf: testAsOf})
	if err != nil {
		t.Fatal(err)
	}
	key, cert, err := signing.GenerateSelfSigned("avis-gateway-test", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signing.NewSigner(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	cfg := Config{Population: pop, TrustedCerts: []*x509.Certificate{cert}, Now: clk.Now, JournalSize: 500}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &harness{t: t, srv: srv, ts: ts, pop: pop, key: key, signer: signer, clock: clk}
}

// tokenRequest returns a token request signed by s, created at the
// harness clock's now.
func (h *harness) tokenRequest(s *signing.Signer, edit func(*registry.TokenRequest)) []byte {
	h.t.Helper()
	req, err := registry.NewTokenRequest("avis-gateway", h.clock.Now(), 5*time.Minute)
	if err != nil {
		h.t.Fatal(err)
	}
	if edit != nil {
		edit(&req)
	}
	xml, err := req.Document().WriteToBytes()
	if err != nil {
		h.t.Fatal(err)
	}
	signed, err := s.SignDocument(xml)
	if err != nil {
		h.t.Fatal(err)
	}
	return signed
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (h *harness) do(method, path string, body []byte, header map[string]string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (h *harness) postToken(body []byte) response {
	return h.do(http.MethodPost, "/dagr/v1/token", body, map[string]string{"Content-Type": "application/xml"})
}

// login returns a fresh bearer token.
func (h *harness) login() string {
	h.t.Helper()
	res := h.postToken(h.tokenRequest(h.signer, nil))
	if res.status != http.StatusOK {
		h.t.Fatalf("login: %d %s", res.status, res.body)
	}
	var tr TokenResponse
	h.decode(res, &tr)
	return tr.AccessToken
}

// data GETs a data endpoint with token and the data set's permission.
func (h *harness) data(token string, d registry.Dataset, path string) response {
	h.t.Helper()
	return h.do(http.MethodGet, path, nil, map[string]string{
		"Authorization":       "Bearer " + token,
		"X-Permission-Number": d.DefaultPermissionNumber(),
	})
}

func (h *harness) decode(res response, v any) {
	h.t.Helper()
	if err := json.Unmarshal(res.body, v); err != nil {
		h.t.Fatalf("decode %s: %v", res.body, err)
	}
}

// wantProblem checks status, content type and problem type slug.
func (h *harness) wantProblem(res response, status int, slug string) Problem {
	h.t.Helper()
	if res.status != status {
		h.t.Fatalf("status %d, want %d: %s", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		h.t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p Problem
	h.decode(res, &p)
	if p.Type != ProblemTypePrefix+slug || p.Status != status || p.Title == "" {
		h.t.Fatalf("problem %+v, want type %s", p, slug)
	}
	return p
}

func (h *harness) putJSON(path, body string) response {
	return h.do(http.MethodPut, path, []byte(body), map[string]string{"Content-Type": "application/json"})
}

// person returns a synthetic person with a record in d (active if active).
func (h *harness) person(d registry.Dataset, active bool) *population.Person {
	h.t.Helper()
	for i := 0; i < h.pop.Size(); i++ {
		p := h.pop.At(i)
		if r := p.Record(d); r != nil && r.Active(testAsOf) == active {
			return p
		}
	}
	h.t.Fatalf("no person in %s with active=%v", d, active)
	return nil
}

func (h *harness) personWithout(d registry.Dataset) *population.Person {
	h.t.Helper()
	for i := 0; i < h.pop.Size(); i++ {
		if p := h.pop.At(i); p.Record(d) == nil {
			return p
		}
	}
	h.t.Fatalf("everyone is in %s", d)
	return nil
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
