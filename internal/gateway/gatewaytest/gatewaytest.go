// Package gatewaytest runs a whole gateway for a test: its own PostgreSQL
// database and Redis key prefix on the real servers, an httptest server, and
// a client whose every response is checked against the OpenAPI contract.
package gatewaytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/gateway"
	"github.com/avis-lv/gateway/internal/httpapi"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// Harness is a running gateway and a contract-checking client for it.
type Harness struct {
	T      testing.TB
	App    *gateway.App
	Server *httptest.Server
	URL    string
	Client *http.Client
}

// Option changes the configuration before the gateway is built.
type Option func(*config.Config)

// New starts a gateway for the test and stops it when the test ends.
func New(t testing.TB, opts ...Option) *Harness {
	t.Helper()
	cfg, err := config.Load("test", nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = storetest.NewDatabase(t)
	_, prefix := storetest.NewRedis(t)
	cfg.RedisAddr = storetest.RedisAddr()
	cfg.RedisPrefix = prefix
	cfg.TokenKeyFile = filepath.Join(t.TempDir(), "token.key")
	// Tests that need signing inject a signer; the rest run without one.
	cfg.SigningRequired = false
	cfg.DBMaxConns = 10
	for _, o := range opts {
		o(&cfg)
	}
	// The issuer must be known before the server has an address, so the
	// test server is started unstarted and configured first.
	srv := httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	cfg.Addr = srv.Listener.Addr().String()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	app, err := gateway.Build(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("build gateway: %v", err)
	}
	app.Start(ctx)
	srv.Config.Handler = app.Echo
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		app.Close()
	})
	doc, err := httpapi.LoadContract(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &Harness{
		T:      t,
		App:    app,
		Server: srv,
		URL:    srv.URL,
		Client: &http.Client{Transport: &contractChecker{t: t, next: http.DefaultTransport, router: router}, Timeout: 30 * time.Second},
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// contractChecker fails the test when a response of a contract operation
// does not match the OpenAPI document.
type contractChecker struct {
	t      testing.TB
	next   http.RoundTripper
	router routers.Router
}

func (c *contractChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := c.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	route, params, ferr := c.router.FindRoute(req)
	if ferr != nil {
		return res, nil // not a contract operation (docs, metrics, ui)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		c.t.Errorf("%s %s -> %d does not match the contract: %v\nbody: %.500s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
	return res, nil
}

// AddClient registers a client with a secret and returns the secret.
func (h *Harness) AddClient(id, org string, roles ...auth.Role) string {
	h.T.Helper()
	secret, err := auth.NewClientSecret()
	if err != nil {
		h.T.Fatal(err)
	}
	if err := h.App.Clients.AddClient(context.Background(), auth.Client{
		ID: id, OrgRegNo: org, OrgName: "Test " + org, Roles: roles, SecretHash: auth.HashSecret(secret),
	}); err != nil {
		h.T.Fatalf("add client %s: %v", id, err)
	}
	return secret
}

// Token registers a client (id derived from org and roles) and returns an
// access token for it.
func (h *Harness) Token(org string, roles ...auth.Role) string {
	h.T.Helper()
	var names []string
	for _, r := range roles {
		names = append(names, string(r))
	}
	id := fmt.Sprintf("c-%s-%s", org, strings.Join(names, "-"))
	secret := h.AddClient(id, org, roles...)
	return h.TokenFor(id, secret)
}

// TokenFor gets an access token with a client secret.
func (h *Harness) TokenFor(id, secret string) string {
	h.T.Helper()
	res := h.Do("POST", "/oauth/token", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	if res.Status != http.StatusOK {
		h.T.Fatalf("token for %s: %d %s", id, res.Status, res.Body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	res.JSON(h.T, &tok)
	return tok.AccessToken
}

// Response is a read response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Problem decodes a problem+json body.
func (r Response) Problem(t testing.TB) ProblemBody {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, r.Body)
	}
	var p ProblemBody
	r.JSON(t, &p)
	return p
}

// ProblemBody is the decoded form of a problem.
type ProblemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Pointer   string `json:"pointer"`
		Parameter string `json:"parameter"`
		Row       int    `json:"row"`
		Column    string `json:"column"`
		Code      string `json:"code"`
		Detail    string `json:"detail"`
	} `json:"errors"`
}

// Do sends a request. body may be nil, a url.Values (form), []byte or any
// value encoded as JSON. Extra headers come in pairs.
func (h *Harness) Do(method, path, token string, body any, headers ...string) Response {
	h.T.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd = strings.NewReader(b.Encode())
		ctype = "application/x-www-form-urlencoded"
	case []byte:
		rd = bytes.NewReader(b)
		ctype = "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.T.Fatal(err)
		}
		rd = bytes.NewReader(j)
		ctype = "application/json"
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		h.T.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := h.Client.Do(req)
	if err != nil {
		h.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		h.T.Fatal(err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: data}
}

// Doc returns the loaded contract, for tests that inspect it.
func Doc(t testing.TB) *openapi3.T {
	doc, err := httpapi.LoadContract(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
