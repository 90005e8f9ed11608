// Command avis-mocks serves the state registry mocks (PMLP, VSAA, IZM, SIF,
// VBTAI, SOPA, VDEĀVK) with DAGR-style REST, a deterministic synthetic
// population, fault scenarios and a request journal. See mocks/README.md.
//
//	go run ./mocks/cmd/avis-mocks [serve] [flags]
//	go run ./mocks/cmd/avis-mocks sign-token-request -key var/keys/gateway.key -cert var/keys/gateway.crt
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // Europe/Riga must resolve in minimal containers too

	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/mocks/registry"
	"github.com/avis-lv/gateway/mocks/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "avis-mocks:", err)
		}
		stop()
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "sign-token-request":
		return signTokenRequest(args, stdout, stderr, time.Now)
	default:
		return fmt.Errorf("unknown command %q: use serve or sign-token-request", cmd)
	}
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServeConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	level, _ := parseLevel(cfg.logLevel)
	opts := &slog.HandlerOptions{Level: level}
	var handler slog.Handler = slog.NewJSONHandler(stderr, opts)
	if cfg.logFormat == "text" {
		handler = slog.NewTextHandler(stderr, opts)
	}
	log := slog.New(handler)

	sc, err := cfg.serverConfig(time.Now(), log)
	if err != nil {
		return err
	}
	srv, err := server.New(sc)
	if err != nil {
		return err
	}
	if len(sc.TrustedCerts) == 0 {
		log.Warn("no trusted certificates: token requests are refused until one is added with -trusted-cert or POST /__admin/trusted-certs")
	}

	// Cancelling base stops requests that a latency or timeout scenario is
	// holding, so that shutdown does not wait for them.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Above the longest hold a scenario may ask for, so that a held
		// request still gets its answer.
		WriteTimeout:   server.MaxHold + 10*time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 64 << 10,
		BaseContext:    func(net.Listener) context.Context { return base },
		ErrorLog:       slog.NewLogLogger(handler, slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	pop := sc.Population
	log.Info("avis-mocks listening", "addr", ln.Addr().String(), "seed", pop.Seed(), "size", pop.Size(),
		"as_of", pop.AsOf().String(), "trusted_certs", len(sc.TrustedCerts))
	fmt.Fprintf(stdout, "avis-mocks listening on http://%s\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	cancelBase()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// signTokenRequest prints a signed TokenRequest, so that curl users and QA
// scripts can log in without writing XML-DSig code.
func signTokenRequest(args []string, stdout, stderr io.Writer, now func() time.Time) error {
	fl := flag.NewFlagSet("avis-mocks sign-token-request", flag.ContinueOnError)
	fl.SetOutput(stderr)
	keyFile := fl.String("key", "var/keys/gateway.key", "PEM private key of the technical client")
	certFile := fl.String("cert", "var/keys/gateway.crt", "PEM certificate registered with the mocks")
	clientID := fl.String("client-id", "avis-gateway", "ClientId to claim")
	ttl := fl.Duration("ttl", 5*time.Minute, "Expires - Created")
	created := fl.String("created", "", "Created as RFC 3339 (default now); set it in the past to test expiry")
	nonce := fl.String("nonce", "", "Nonce (default random); reuse one to test replay refusal")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fl.Args())
	}
	at := now()
	if *created != "" {
		t, err := time.Parse(time.RFC3339, *created)
		if err != nil {
			return fmt.Errorf("-created %q: not RFC 3339", *created)
		}
		at = t
	}
	req, err := registry.NewTokenRequest(*clientID, at, *ttl)
	if err != nil {
		return fmt.Errorf("token request: %w", err)
	}
	if *nonce != "" {
		req.Nonce = *nonce
	}
	signer, err := signing.LoadSigner(*keyFile, *certFile)
	if err != nil {
		return err
	}
	doc := req.Document()
	signed, err := signer.SignEnveloped(doc.Root())
	if err != nil {
		return err
	}
	doc.SetRoot(signed)
	doc.WriteSettings.CanonicalText = true
	doc.WriteSettings.CanonicalAttrVal = true
	if _, err := doc.WriteTo(stdout); err != nil {
		return fmt.Errorf("write token request: %w", err)
	}
	fmt.Fprintln(stdout)
	return nil
}
