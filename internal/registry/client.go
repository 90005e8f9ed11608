// Package registry is the gateway's client of the state registries behind
// DAGR (in development, the mock suite): it signs token requests with the
// gateway's X.509 key, keeps the bearer token fresh, sends each data set's
// permission number, and protects the gateway from a slow or failing
// registry with per-data-set timeouts, circuit breakers, bounded
// parallelism and deduplication of identical concurrent lookups.
package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/avis-lv/gateway/internal/signing"
)

// ErrNotFound means the registry answered that it holds no record.
var ErrNotFound = errors.New("registry holds no record")

// ErrUnavailable means the registry could not answer: down, slow, refusing
// the gateway, or its breaker is open. Eligibility turns it into unknown.
var ErrUnavailable = errors.New("registry unavailable")

// Config is how the client reaches the registries.
type Config struct {
	// BaseURL of DAGR (the mock suite in development).
	BaseURL string
	// ClientID is the gateway's technical client id in the token request.
	ClientID string
	// Signer signs token requests with the gateway's registered key.
	Signer *signing.Signer
	// Permissions are the X-Permission-Number per data set; missing ones
	// get DefaultPermissionNumber.
	Permissions map[Dataset]string
	// Timeout bounds one lookup of a data set (Timeouts override per set).
	Timeout  time.Duration
	Timeouts map[Dataset]time.Duration
	// MaxConcurrent bounds the requests in flight to one data set.
	MaxConcurrent int
	// BreakerFailures consecutive failures open a data set's breaker for
	// BreakerOpenFor.
	BreakerFailures int
	BreakerOpenFor  time.Duration
	// TokenRequestTTL is the validity of a signed token request.
	TokenRequestTTL time.Duration
	// FeedTimeout bounds one page of a changes feed (default 10 s).
	FeedTimeout time.Duration
	HTTPClient  *http.Client
	Registerer  prometheus.Registerer
	Log         *slog.Logger
	Now         func() time.Time
}

// DefaultPermissionNumber is the permission number used for d unless
// configured; the mock suite expects the same placeholders. Header values
// are ASCII, so VDEĀVK is written VDEAVK.
func DefaultPermissionNumber(d Dataset) string {
	return "DAGR-" + strings.ReplaceAll(d.Keeper(), "Ā", "A") + "-" + strings.ToUpper(string(d))
}

// Client queries the registries. It is safe for concurrent use.
type Client struct {
	cfg     Config
	base    *url.URL
	http    *http.Client
	tokens  *tokenSource
	sets    map[Dataset]*datasetState
	flights singleflight.Group
	metrics *metrics
	log     *slog.Logger
}

type datasetState struct {
	dataset    Dataset
	permission string
	timeout    time.Duration
	slots      chan struct{}
	breaker    *breaker
}

// New builds a client. It does not contact the registries.
func New(cfg Config) (*Client, error) {
	if cfg.Signer == nil {
		return nil, errors.New("registry client: a signer is required")
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("registry client: base URL %q is not an absolute URL", cfg.BaseURL)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "avis-gateway"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 800 * time.Millisecond
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 64
	}
	if cfg.BreakerFailures <= 0 {
		cfg.BreakerFailures = 5
	}
	if cfg.BreakerOpenFor <= 0 {
		cfg.BreakerOpenFor = 5 * time.Second
	}
	if cfg.TokenRequestTTL <= 0 {
		cfg.TokenRequestTTL = 2 * time.Minute
	}
	if cfg.FeedTimeout <= 0 {
		cfg.FeedTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 1024
		tr.MaxIdleConnsPerHost = 512
		tr.IdleConnTimeout = 90 * time.Second
		cfg.HTTPClient = &http.Client{Transport: tr}
	}
	for d := range cfg.Permissions {
		if !d.Valid() {
			return nil, fmt.Errorf("registry client: permission number for unknown data set %q", d)
		}
	}
	for d := range cfg.Timeouts {
		if !d.Valid() {
			return nil, fmt.Errorf("registry client: timeout for unknown data set %q", d)
		}
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, base: base, http: cfg.HTTPClient, sets: map[Dataset]*datasetState{}, metrics: m, log: cfg.Log}
	for _, d := range Datasets() {
		st := &datasetState{
			dataset:    d,
			permission: DefaultPermissionNumber(d),
			timeout:    cfg.Timeout,
			slots:      make(chan struct{}, cfg.MaxConcurrent),
		}
		if p := cfg.Permissions[d]; p != "" {
			st.permission = p
		}
		if t := cfg.Timeouts[d]; t > 0 {
			st.timeout = t
		}
		gauge := m.breaker.WithLabelValues(string(d))
		st.breaker = newBreaker(cfg.BreakerFailures, cfg.BreakerOpenFor, cfg.Now, func(s BreakerState) {
			gauge.Set(float64(s))
			c.log.Warn("registry circuit breaker changed state", "dataset", string(d), "state", s.String())
		})
		gauge.Set(0)
		c.sets[d] = st
	}
	c.tokens = newTokenSource(c)
	return c, nil
}

// Timeout returns the lookup timeout of d.
func (c *Client) Timeout(d Dataset) time.Duration { return c.sets[d].timeout }

// BreakerState returns the state of d's circuit breaker.
func (c *Client) BreakerState(d Dataset) BreakerState { return c.sets[d].breaker.State() }

// Record returns the raw record of the person with personal code code in
// data set d: ErrNotFound when the registry holds none, an error wrapping
// ErrUnavailable when it cannot answer.
//
// Identical concurrent lookups share one request. The shared request runs
// on its own deadline, detached from any one caller, so that a caller who
// gives up (its request was cancelled) does not fail the others; each
// caller still returns as soon as its own context ends.
func (c *Client) Record(ctx context.Context, d Dataset, code string) ([]byte, error) {
	return c.lookup(ctx, d, string(d)+"/"+code, "/dagr/v1/"+url.PathEscape(string(d))+"/persons/"+url.PathEscape(code))
}

// Card returns the eID record of the holder of the eID card number.
func (c *Client) Card(ctx context.Context, number string) ([]byte, error) {
	return c.lookup(ctx, EID, "card/"+number, "/dagr/v1/eid/cards/"+url.PathEscape(number))
}

func (c *Client) lookup(ctx context.Context, d Dataset, key, path string) ([]byte, error) {
	st, ok := c.sets[d]
	if !ok {
		return nil, fmt.Errorf("registry: unknown data set %q", d)
	}
	ch := c.flights.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), st.timeout)
		defer cancel()
		return c.fetch(fctx, st, path)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]byte), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, d, ctx.Err())
	}
}

// fetch makes one guarded request: breaker, then a free slot, then the
// request with one retry after a fresh token if the token was refused.
func (c *Client) fetch(ctx context.Context, st *datasetState, path string) ([]byte, error) {
	start := c.cfg.Now()
	tk, allowed := st.breaker.allow()
	if !allowed {
		c.metrics.rejected.WithLabelValues(string(st.dataset)).Inc()
		return nil, fmt.Errorf("%w: %s: circuit breaker open", ErrUnavailable, st.dataset)
	}
	select {
	case st.slots <- struct{}{}:
	case <-ctx.Done():
		st.breaker.done(tk, false)
		c.metrics.observe(st.dataset, "timeout", c.cfg.Now().Sub(start))
		return nil, fmt.Errorf("%w: %s: no free connection slot in time", ErrUnavailable, st.dataset)
	}
	defer func() { <-st.slots }()

	body, err := c.get(ctx, st, path, false)
	outcome := outcomeOf(ctx, err)
	st.breaker.done(tk, outcome == "ok" || outcome == "not_found" || outcome == "cursor_expired")
	c.metrics.observe(st.dataset, outcome, c.cfg.Now().Sub(start))
	if outcome == "error" || outcome == "timeout" {
		c.log.Debug("registry lookup failed", "dataset", string(st.dataset), "outcome", outcome, "error", err)
	}
	return body, err
}

// fetchFeed reads a page of a changes feed. It stays out of the breaker
// and the lookup slots: the feed is background work, and a page that
// hangs must neither hold the breaker's half-open probe nor take a slot
// from the checks at the tills.
func (c *Client) fetchFeed(ctx context.Context, st *datasetState, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.FeedTimeout)
	defer cancel()
	start := c.cfg.Now()
	body, err := c.get(ctx, st, path, false)
	c.metrics.observeFeed(st.dataset, outcomeOf(ctx, err), c.cfg.Now().Sub(start))
	return body, err
}

// outcomeOf names how a registry request ended, for metrics and the
// breaker.
func outcomeOf(ctx context.Context, err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrCursorExpired):
		return "cursor_expired"
	case ctx.Err() != nil:
		return "timeout"
	default:
		return "error"
	}
}

// problemDoc is the part of a registry's problem+json answer the client
// reads.
type problemDoc struct {
	Type string `json:"type"`
}

func (c *Client) get(ctx context.Context, st *datasetState, path string, retried bool) ([]byte, error) {
	token, err := c.tokens.get(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+path, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, st.dataset, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Permission-Number", st.permission)
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, st.dataset, redactURLError(err))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: read answer: %w", ErrUnavailable, st.dataset, err)
	}
	switch {
	case res.StatusCode == http.StatusOK:
		return body, nil
	case res.StatusCode == http.StatusNotFound:
		// A 404 is "no record" only when the registry says so; a 404 for a
		// wrong URL must not turn into "not eligible".
		var p problemDoc
		_ = json.Unmarshal(body, &p)
		if strings.HasSuffix(p.Type, ":person-not-found") || strings.HasSuffix(p.Type, ":card-not-found") {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("%w: %s: 404 %s", ErrUnavailable, st.dataset, p.Type)
	case res.StatusCode == http.StatusGone, res.StatusCode == http.StatusBadRequest:
		var p problemDoc
		_ = json.Unmarshal(body, &p)
		// A registry that no longer knows a cursor says cursor-expired; one
		// that never issued it, having restarted (perhaps on other data)
		// since, says invalid-cursor. Either way the changes since the
		// cursor are unknown: the gateway only sends cursors it was given.
		if strings.HasSuffix(p.Type, ":cursor-expired") || strings.HasSuffix(p.Type, ":invalid-cursor") {
			return nil, fmt.Errorf("%s: %w (%d %s)", st.dataset, ErrCursorExpired, res.StatusCode, p.Type)
		}
		return nil, fmt.Errorf("%w: %s: status %d %s", ErrUnavailable, st.dataset, res.StatusCode, p.Type)
	case res.StatusCode == http.StatusUnauthorized && !retried:
		c.tokens.invalidate(token)
		return c.get(ctx, st, path, true)
	default:
		var p problemDoc
		_ = json.Unmarshal(body, &p)
		return nil, fmt.Errorf("%w: %s: status %d %s", ErrUnavailable, st.dataset, res.StatusCode, p.Type)
	}
}

// redactURLError drops the URL from a transport error: it holds a
// personal code, and errors end up in logs.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// tokenRequestDocument is the unsigned XML token request.
func tokenRequestDocument(clientID string, created, expires time.Time, nonce string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<TokenRequest><ClientId>")
	xmlEscape(&b, clientID)
	b.WriteString("</ClientId><Created>")
	b.WriteString(created.UTC().Format(time.RFC3339))
	b.WriteString("</Created><Expires>")
	b.WriteString(expires.UTC().Format(time.RFC3339))
	b.WriteString("</Expires><Nonce>")
	xmlEscape(&b, nonce)
	b.WriteString("</Nonce></TokenRequest>")
	return b.Bytes()
}

func xmlEscape(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
}
