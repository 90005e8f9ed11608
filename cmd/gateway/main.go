// Command gateway runs the AVIS integration gateway and its operator
// commands:
//
//	gateway [serve] [flags]        run the HTTP server (the default)
//	gateway migrate [flags]        apply database migrations and exit
//	gateway clients add|list|revoke|rotate-secret  manage API clients
//	gateway certificates add|list|revoke  trust grantors' list-signing certificates
//	gateway sample [flags]         load sample organisations, clients and benefits
//	gateway config-doc             print the configuration table (Markdown)
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/gateway"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one ends the process at once, as an
	// operator pressing Ctrl-C twice expects, instead of waiting out the
	// drain and the graceful shutdown.
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stderr)
	case "migrate":
		pool, _, err := openStore(ctx, "migrate", args, getenv, stderr)
		if err != nil {
			return err
		}
		pool.Close()
		return nil
	case "clients":
		return clientsCommand(ctx, args, getenv, stdout, stderr)
	case "certificates":
		return certificatesCommand(ctx, args, getenv, stdout, stderr)
	case "sample":
		return sampleCommand(ctx, args, getenv, stdout, stderr)
	case "audit":
		return auditCommand(ctx, args, getenv, stdin, stdout, stderr)
	case "config-doc":
		_, err := io.WriteString(stdout, config.Markdown())
		return err
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

const usage = `usage:
  gateway [serve] [flags]                 run the HTTP server
  gateway migrate [flags]                 apply database migrations
  gateway clients add -id ID -org REGNO -org-name NAME -roles grantor,provider [-public-key FILE] [-description TEXT]
  gateway clients list
  gateway clients revoke -id ID
  gateway clients rotate-secret -id ID [-overlap 24h]   a new secret; the old one works for -overlap more
  gateway certificates add -org REGNO -cert FILE.pem   trust a grantor's certificate for signed XML lists
  gateway certificates list -org REGNO
  gateway certificates revoke -org REGNO -fingerprint HEX
  gateway audit -person-code CODE [-since YYYY-MM-DD]   which providers checked a person's eligibility, and when
  gateway sample [-out FILE]              load sample organisations, clients and benefits
  gateway config-doc                      print every setting as a Markdown table
Every command also takes the settings' flags (see 'gateway serve -h').
`

func setup(name string, args []string, getenv func(string) string, stderr io.Writer) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(name, args, getenv)
	if err != nil {
		return cfg, nil, err
	}
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewJSONHandler(stderr, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(stderr, opts)
	}
	return cfg, slog.New(h), nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, log, err := setup("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	// go-redis logs through a package-level logger of its own (in plain
	// text, on every failed dial while Redis is down); the composition
	// root points it at the structured log.
	redis.SetLogger(&redisLog{log: log, every: 10 * time.Second, now: time.Now})
	log.Info("starting gateway", "config", cfg)
	app, err := gateway.Build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	// The background work (decision and transaction writers, upload
	// workers, feed followers) outlives the signal: requests still in
	// flight during the graceful shutdown need it, and Close stops it
	// after Serve has drained them.
	app.Start(context.WithoutCancel(ctx))
	return app.Serve(ctx)
}

// redisLog writes go-redis's messages to the structured log, at most one
// every interval: while Redis is down it reports every failed dial, and
// the log would be nothing else.
type redisLog struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (r *redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.mu.Lock()
	now := r.now()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	suppressed := r.suppressed
	r.last, r.suppressed = now, 0
	r.mu.Unlock()
	r.log.WarnContext(ctx, "redis client", "message", fmt.Sprintf(format, v...), "suppressed_since_last", suppressed)
}
