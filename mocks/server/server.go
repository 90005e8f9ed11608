// Package server serves the registry mocks over HTTP: DAGR-style data set
// endpoints behind a signed-token-request login, and an admin API for
// scenarios, fixtures, the journal and trusted certificates.
package server

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/mocks/population"
	"github.com/avis-lv/gateway/mocks/registry"
)

// Config wires a Server.
type Config struct {
	Population *population.Population
	// TrustedCerts are trusted from start and survive /__admin/reset.
	TrustedCerts []*x509.Certificate
	// Permissions maps each data set to its expected X-Permission-Number;
	// data sets left out get DefaultPermissionNumber.
	Permissions map[registry.Dataset]string
	// TokenTTL is the lifetime of issued bearer tokens.
	TokenTTL time.Duration
	// ClockSkew is tolerated on a token request's Created and Expires.
	ClockSkew time.Duration
	// MaxRequestValidity caps Expires - Created of a token request.
	MaxRequestValidity time.Duration
	// JournalSize is the number of requests the journal keeps.
	JournalSize int
	Logger      *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// Defaults for the zero values of Config.
const (
	DefaultTokenTTL           = 15 * time.Minute
	DefaultClockSkew          = 2 * time.Minute
	DefaultMaxRequestValidity = 5 * time.Minute
	DefaultJournalSize        = 10_000
)

// MinTokenTTL is the shortest token lifetime: the token answer's
// expires_in counts whole seconds, and a client refuses a token that
// expires in 0.
const MinTokenTTL = time.Second

// Limits on stored state, so that a runaway client cannot exhaust memory.
const (
	maxTokens       = 100_000
	maxNonces       = 1_000_000
	maxLiveChanges  = 100_000 // per data set
	maxFixtures     = 100_000
	tokenRequestMax = 64 << 10
	adminBodyMax    = 1 << 20
)

// Server is the mocks' HTTP server state. It is safe for concurrent use.
type Server struct {
	pop         *population.Population
	permissions map[registry.Dataset]string
	tokenTTL    time.Duration
	skew        time.Duration
	maxValidity time.Duration
	log         *slog.Logger
	now         func() time.Time
	journal     *journal
	startCerts  []*x509.Certificate
	boot        string // this run's part of feed cursors

	// fixtureMu serialises fixture changes: each compares the records
	// served before and after it to journal live changes, which a
	// concurrent change of the same person would garble.
	fixtureMu  sync.Mutex
	mu         sync.Mutex
	trusted    map[string]trustedCert // by SHA-256 fingerprint
	tokens     map[string]tokenInfo
	nonces     map[string]time.Time // nonce → forget after
	scenarios  map[string]*activeScenario
	fixtures   map[personcode.Code]*fixture
	changes    map[registry.Dataset]*changeLog
	generation int
}

type trustedCert struct {
	cert    *x509.Certificate
	source  string // "startup" or "admin"
	addedAt time.Time
}

type tokenInfo struct {
	clientID    string
	fingerprint string
	expiresAt   time.Time
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Population == nil {
		return nil, errors.New("mocks server: population is required")
	}
	if cfg.TokenTTL > 0 && cfg.TokenTTL < MinTokenTTL {
		return nil, fmt.Errorf("mocks server: token lifetime %s is under %s", cfg.TokenTTL, MinTokenTTL)
	}
	s := &Server{
		pop:         cfg.Population,
		permissions: map[registry.Dataset]string{},
		tokenTTL:    orDefault(cfg.TokenTTL, DefaultTokenTTL),
		skew:        orDefault(cfg.ClockSkew, DefaultClockSkew),
		maxValidity: orDefault(cfg.MaxRequestValidity, DefaultMaxRequestValidity),
		log:         cfg.Logger,
		now:         cfg.Now,
		startCerts:  cfg.TrustedCerts,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	var boot [6]byte
	if _, err := rand.Read(boot[:]); err != nil {
		return nil, fmt.Errorf("mocks server: %w", err)
	}
	s.boot = hex.EncodeToString(boot[:])
	size := cfg.JournalSize
	if size <= 0 {
		size = DefaultJournalSize
	}
	s.journal = newJournal(size)
	for _, d := range registry.Datasets() {
		s.permissions[d] = d.DefaultPermissionNumber()
	}
	for d, n := range cfg.Permissions {
		if d.Index() < 0 {
			return nil, fmt.Errorf("mocks server: permission for unknown data set %q", d)
		}
		if n == "" {
			return nil, fmt.Errorf("mocks server: empty permission number for %s", d)
		}
		s.permissions[d] = n
	}
	s.resetLocked()
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// resetLocked restores the start state; the caller holds s.mu (or owns s).
func (s *Server) resetLocked() {
	s.trusted = map[string]trustedCert{}
	for _, c := range s.startCerts {
		s.trusted[signing.Fingerprint(c)] = trustedCert{cert: c, source: "startup", addedAt: s.now()}
	}
	s.tokens = map[string]tokenInfo{}
	s.nonces = map[string]time.Time{}
	s.scenarios = map[string]*activeScenario{}
	s.fixtures = map[personcode.Code]*fixture{}
	s.changes = map[registry.Dataset]*changeLog{}
	for _, d := range registry.Datasets() {
		s.changes[d] = &changeLog{}
	}
	s.generation++
	s.journal.clear()
}

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)

	mux.Handle("POST /dagr/v1/token", s.dagr("token", s.token))
	mux.Handle("GET /dagr/v1/{dataset}/persons/{personCode}", s.dagr("record", s.record))
	mux.Handle("GET /dagr/v1/{dataset}/changes", s.dagr("changes", s.changesFeed))
	mux.Handle("GET /dagr/v1/eid/cards/{number}", s.dagr("card", s.card))

	mux.Handle("GET /__admin/config", s.admin(s.adminConfig))
	mux.Handle("GET /__admin/scenarios", s.admin(s.listScenarios))
	mux.Handle("PUT /__admin/scenarios/{dataset}", s.admin(s.putScenario))
	mux.Handle("DELETE /__admin/scenarios/{dataset}", s.admin(s.deleteScenario))
	mux.Handle("GET /__admin/persons/{personCode}", s.admin(s.getPerson))
	mux.Handle("PUT /__admin/persons/{personCode}", s.admin(s.putPerson))
	mux.Handle("DELETE /__admin/persons/{personCode}", s.admin(s.deletePerson))
	mux.Handle("GET /__admin/population", s.admin(s.listPopulation))
	mux.Handle("GET /__admin/population/stats", s.admin(s.populationStats))
	mux.Handle("GET /__admin/journal", s.admin(s.getJournal))
	mux.Handle("DELETE /__admin/journal", s.admin(s.deleteJournal))
	mux.Handle("GET /__admin/trusted-certs", s.admin(s.listCerts))
	mux.Handle("POST /__admin/trusted-certs", s.admin(s.addCerts))
	mux.Handle("DELETE /__admin/trusted-certs/{fingerprint}", s.admin(s.deleteCert))
	mux.Handle("POST /__admin/reset", s.admin(s.reset))

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(&muxProblems{ResponseWriter: w}, r)
	})
}

// recorder captures what the journal and the log need about an answer.
type recorder struct {
	http.ResponseWriter
	status      int
	problemType string
	scenario    string
	clientID    string
	authorized  bool
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// handlerFunc answers a request or returns the problem to answer with.
type handlerFunc func(w http.ResponseWriter, r *http.Request) *problem

// dagr wraps a registry endpoint: request id, journal, log.
func (s *Server) dagr(endpoint string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		rec := &recorder{ResponseWriter: w}
		reqID := requestID(r)
		w.Header().Set("X-Request-Id", reqID)
		if p := h(rec, r); p != nil {
			writeProblem(rec, p)
		}
		status := rec.status
		if status == 0 {
			status = 499 // client went away while a scenario held the request
		}
		dataset := r.PathValue("dataset")
		switch endpoint {
		case "token":
			dataset = "token"
		case "card":
			dataset = string(registry.EID)
		}
		dur := s.now().Sub(start)
		s.journal.add(JournalEntry{
			Time:             start.UTC(),
			RequestID:        reqID,
			Method:           r.Method,
			Path:             clip(r.URL.Path),
			Query:            clip(r.URL.RawQuery),
			Endpoint:         endpoint,
			Dataset:          dataset,
			Status:           status,
			DurationMs:       dur.Milliseconds(),
			ClientID:         rec.clientID,
			PermissionNumber: clip(r.Header.Get("X-Permission-Number")),
			Authorized:       rec.authorized,
			Scenario:         rec.scenario,
			ProblemType:      rec.problemType,
		})
		// The route pattern, not the path: paths carry personal codes.
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("route", r.Pattern), slog.Int("status", status),
			slog.Float64("duration_ms", float64(dur.Microseconds())/1000), slog.String("request_id", reqID),
			slog.String("scenario", rec.scenario), slog.String("problem", rec.problemType))
	})
}

// admin wraps an admin endpoint.
func (s *Server) admin(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := h(w, r); p != nil {
			writeProblem(w, p)
		}
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "admin request", slog.String("route", r.Pattern))
	})
}

func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 {
		return id
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok",
		"population": map[string]any{
			"seed": s.pop.Seed(), "size": s.pop.Size(), "asOf": s.pop.AsOf(),
		},
	})
}

// trustedList returns the currently trusted certificates.
func (s *Server) trustedList() []*x509.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*x509.Certificate, 0, len(s.trusted))
	for _, t := range s.trusted {
		out = append(out, t.cert)
	}
	return out
}

// journalFieldMax bounds what one journal entry keeps of a request's path,
// query and headers, so that the journal's size bounds its memory.
const journalFieldMax = 1024

func clip(v string) string {
	if len(v) <= journalFieldMax {
		return v
	}
	return v[:journalFieldMax] + "…"
}
