// Package gateway wires the gateway's parts together from a Config: the
// core store, the cache, the domain services and the HTTP server. main and
// the black-box tests both build the gateway through it.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/benefits"
	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/ekk"
	"github.com/avis-lv/gateway/internal/httpapi"
	"github.com/avis-lv/gateway/internal/httpx"
	"github.com/avis-lv/gateway/internal/idempotency"
	"github.com/avis-lv/gateway/internal/problem"
	"github.com/avis-lv/gateway/internal/ratelimit"
	"github.com/avis-lv/gateway/internal/store"
)

// App is a built gateway.
type App struct {
	Config   config.Config
	Log      *slog.Logger
	Pool     *pgxpool.Pool
	Redis    *redis.Client
	Echo     *echo.Echo
	Clients  *store.Clients
	Benefits *benefits.Service
	watcher  *store.FeedWatcher
	registry *prometheus.Registry
	tokens   *auth.Tokens
	// background holds the loops Start runs (feed listener, upload workers,
	// ...); each returns when its context ends.
	background []func(context.Context)
	cancel     context.CancelFunc
	// background work started by Start, waited for by Close.
	done chan struct{}
	// draining is set once a shutdown has begun: /readyz answers 503.
	draining atomic.Bool
	// onDrain is called when the shutdown begins, to stop taking on
	// background work (upload leases) that the shutdown would cut short.
	onDrain []func()
}

// Build connects to PostgreSQL and Redis, applies migrations and assembles
// the server. Call Start to begin background work and Close at the end.
func Build(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	pool, err := store.Open(ctx, cfg.DatabaseURL, int32(cfg.DBMaxConns))
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, Pool: pool, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			pool.Close()
		}
	}()
	if err := store.Migrate(ctx, pool, log); err != nil {
		return nil, err
	}
	// Redis may be down at start: the gateway degrades, it does not refuse.
	// Nothing it serves here (token rate limits, list version news) is
	// worth a request's waiting on a Redis that hangs: one short try and
	// one retry, and a caller's deadline is honoured.
	a.Redis = redis.NewClient(&redis.Options{
		Addr:                  cfg.RedisAddr,
		Password:              cfg.RedisPassword,
		DB:                    cfg.RedisDB,
		DialTimeout:           300 * time.Millisecond,
		ReadTimeout:           200 * time.Millisecond,
		WriteTimeout:          200 * time.Millisecond,
		PoolTimeout:           300 * time.Millisecond,
		MaxRetries:            1,
		ContextTimeoutEnabled: true,
	})

	if dir := filepath.Dir(cfg.TokenKeyFile); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("token key directory: %w", err)
		}
	}
	key, created, err := auth.LoadOrCreateKey(cfg.TokenKeyFile)
	if err != nil {
		return nil, err
	}
	if created {
		// Every instance behind one address must sign with the same key,
		// or a token from one is refused by the next.
		log.Warn("created a new token signing key: tokens issued before by other keys are no longer accepted here; give every instance this same file",
			"token_key_file", cfg.TokenKeyFile)
	}
	tokens := auth.NewTokens(key, cfg.PublicURL, cfg.TokenTTL, nil)
	a.Clients = store.NewClients(pool)
	authSvc := auth.NewService(a.Clients, tokens, cfg.PublicURL+"/oauth/token", log, nil)

	classifier, err := ekk.Load()
	if err != nil {
		return nil, err
	}
	benefitStore := store.NewBenefits(pool)
	a.Benefits = benefits.NewService(benefitStore, classifier, nil)
	a.watcher = store.NewFeedWatcher(pool, log)
	// Idempotency-Key records (list pushes and uploads) are remembered for
	// the replay window, then purged.
	a.background = append(a.background, idempotency.NewPurger(pool, cfg.IdempotencyRetention, log).Run)
	feedHead := func(ctx context.Context) (int64, error) {
		if head, current := a.watcher.Head(); current {
			return head, nil
		}
		return benefitStore.FeedHead(ctx)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	tokenLimiter, err := ratelimit.New(ratelimit.Config{Redis: a.Redis, Prefix: cfg.RedisPrefix, Name: "token",
		Limit: cfg.TokenRateLimit, Window: time.Minute, Registerer: reg})
	if err != nil {
		return nil, err
	}
	deps := httpapi.Deps{
		TokenLimiter: tokenLimiter,
		Log:          log,
		Auth:         authSvc,
		Tokens:       tokens,
		Benefits:     a.Benefits,
		FeedHead:     feedHead,
		Ready: []httpapi.ReadinessCheck{
			{Name: "postgres", Check: pool.Ping},
			{Name: "shutdown", Check: func(context.Context) error {
				if a.draining.Load() {
					return errDraining
				}
				return nil
			}},
			// Without Redis the gateway answers from PostgreSQL and the
			// registries, slower; token rate limits are not counted.
			{Name: "redis", Check: func(ctx context.Context) error { return a.Redis.Ping(ctx).Err() }, Degrades: true},
		},
		Registry:         reg,
		MetricsElsewhere: cfg.MetricsAddr != "",
		BodyLimit:        cfg.BodyLimit,
		RequestTimeout:   cfg.RequestTimeout,
		BenchRoutes:      cfg.BenchRoutes,
		ErrorMappers:     []httpx.ErrorMapper{databaseUnavailable},
	}
	a.registry = reg
	a.tokens = tokens
	if err := a.wireLists(ctx, &deps); err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	if err := a.wireEligibility(ctx, &deps); err != nil {
		return nil, fmt.Errorf("eligibility: %w", err)
	}
	a.wireUI(&deps)
	e, err := httpapi.New(ctx, deps)
	if err != nil {
		return nil, err
	}
	a.Echo = e
	ok = true
	return a, nil
}

// Start begins the background work; it runs until ctx ends or Close. Give
// it a context that outlives Serve's, so that requests in flight during a
// graceful shutdown still have their writers.
func (a *App) Start(ctx context.Context) {
	ctx, a.cancel = context.WithCancel(ctx)
	loops := append([]func(context.Context){a.watcher.Run}, a.background...)
	var wg sync.WaitGroup
	for _, loop := range loops {
		wg.Go(func() { loop(ctx) })
	}
	go func() {
		wg.Wait()
		close(a.done)
	}()
}

// Serve listens on the configured address until ctx ends, then shuts down
// gracefully: in-flight requests get ShutdownTimeout to finish.
func (a *App) Serve(ctx context.Context) error {
	srv := httpapi.NewHTTPServer(a.Config.Addr, a.Echo, a.Log)
	for _, l := range []struct {
		name string
		addr string
		new  func() *http.Server
	}{
		{"debug listener", a.Config.DebugAddr, func() *http.Server { return httpapi.NewDebugServer(a.Config.DebugAddr, a.Log) }},
		{"metrics listener", a.Config.MetricsAddr, func() *http.Server { return httpapi.NewMetricsServer(a.Config.MetricsAddr, a.registry, a.Log) }},
	} {
		if l.addr == "" {
			continue
		}
		// Bound before the public listener, so that a taken port stops
		// the start instead of leaving an instance nobody can scrape.
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		srv := l.new()
		go func() {
			a.Log.Info(l.name, "addr", ln.Addr().String())
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.Log.Error(l.name, "err", err)
			}
		}()
		defer srv.Close()
	}
	errc := make(chan error, 1)
	go func() {
		a.Log.Info("gateway listening", "addr", a.Config.Addr)
		errc <- srv.ListenAndServe()
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("listen: %w", err)
	case <-ctx.Done():
	}
	// Told unready first, the load balancer stops sending before the
	// listener closes; requests meanwhile are served as usual.
	a.draining.Store(true)
	for _, f := range a.onDrain {
		f()
	}
	if a.Config.ShutdownDrain > 0 {
		a.Log.Info("draining: /readyz answers 503 before the listener closes", "for", a.Config.ShutdownDrain)
		time.Sleep(a.Config.ShutdownDrain)
	}
	a.Log.Info("shutting down", "timeout", a.Config.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.Config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops background work and closes the connections.
func (a *App) Close() {
	if a.cancel != nil {
		a.cancel()
		<-a.done
	}
	_ = a.Redis.Close()
	a.Pool.Close()
}

var errDraining = errors.New("shutting down")

// databaseUnavailable answers 503 with Retry-After when PostgreSQL (or
// another dependency, for a refused dial) cannot be reached: a till must
// be able to tell "try again" from a defect, and an outage of a dependency
// should not page anyone as a 500.
func databaseUnavailable(err error) *problem.Problem {
	if !store.IsUnavailable(err) {
		return nil
	}
	p := &problem.Problem{Kind: problem.Unavailable, Cause: err}
	p.Headers = map[string]string{"Retry-After": "5"}
	return p
}
