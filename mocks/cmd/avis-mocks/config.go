package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/mocks/population"
	"github.com/avis-lv/gateway/mocks/registry"
	"github.com/avis-lv/gateway/mocks/server"
)

// config is everything `avis-mocks serve` needs. Each field has a flag and
// an AVIS_MOCKS_* environment variable; a flag wins over the variable.
type config struct {
	addr            string
	seed            uint64
	size            int
	asOf            string
	trustedCerts    []string
	permissions     []string
	tokenTTL        time.Duration
	clockSkew       time.Duration
	maxValidity     time.Duration
	journalSize     int
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
}

// envVar documents one setting; the README's table is written from these.
type envVar struct {
	name, flag, def, help string
}

var settings = []envVar{
	{"AVIS_MOCKS_ADDR", "addr", "127.0.0.1:8081", "listen address (host:port; port 0 picks a free port)"},
	{"AVIS_MOCKS_SEED", "seed", "1", "population seed: the same seed and size give the same persons"},
	{"AVIS_MOCKS_SIZE", "size", "20000", "population size"},
	{"AVIS_MOCKS_AS_OF", "as-of", "", "population's today (YYYY-MM-DD, default today in Europe/Riga); pin it for exactly reproducible validity dates"},
	{"AVIS_MOCKS_TRUSTED_CERTS", "trusted-cert", "", "PEM certificate file trusted for token requests; flag repeatable, variable comma-separated"},
	{"AVIS_MOCKS_PERMISSIONS", "permission", "", "DATASET=NUMBER expected in X-Permission-Number; flag repeatable, variable comma-separated"},
	{"AVIS_MOCKS_TOKEN_TTL", "token-ttl", "15m", "lifetime of issued bearer tokens, at least 1s"},
	{"AVIS_MOCKS_CLOCK_SKEW", "clock-skew", "2m", "tolerance on a token request's Created and Expires"},
	{"AVIS_MOCKS_MAX_REQUEST_VALIDITY", "max-request-validity", "5m", "largest Expires - Created accepted in a token request"},
	{"AVIS_MOCKS_JOURNAL_SIZE", "journal-size", "10000", "requests kept in the journal"},
	{"AVIS_MOCKS_LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"AVIS_MOCKS_LOG_FORMAT", "log-format", "json", "json or text"},
	{"AVIS_MOCKS_SHUTDOWN_TIMEOUT", "shutdown-timeout", "10s", "grace period for open requests on SIGINT/SIGTERM"},
}

// listFlag is a repeatable flag whose first use replaces the value taken
// from the environment.
type listFlag struct {
	values  *[]string
	fromEnv bool
}

func (l *listFlag) String() string {
	if l.values == nil {
		return ""
	}
	return strings.Join(*l.values, ",")
}

func (l *listFlag) Set(v string) error {
	if l.fromEnv {
		*l.values, l.fromEnv = nil, false
	}
	*l.values = append(*l.values, v)
	return nil
}

func parseServeConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var errs []error
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	defaults := map[string]string{}
	for _, s := range settings {
		defaults[s.flag] = env(s.name, s.def)
	}
	help := map[string]string{}
	for _, s := range settings {
		help[s.flag] = s.help + " [" + s.name + "]"
	}
	num := func(name string, bits int) uint64 {
		for _, s := range settings {
			if s.flag == name {
				n, err := strconv.ParseUint(defaults[name], 10, bits)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s=%q: not a non-negative integer", s.name, defaults[name]))
				}
				return n
			}
		}
		return 0
	}
	dur := func(name string) time.Duration {
		d, err := time.ParseDuration(defaults[name])
		if err != nil {
			for _, s := range settings {
				if s.flag == name {
					errs = append(errs, fmt.Errorf("%s=%q: not a duration like 90s or 5m", s.name, defaults[name]))
				}
			}
		}
		return d
	}
	split := func(v string) []string {
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}

	fl := flag.NewFlagSet("avis-mocks serve", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&c.addr, "addr", defaults["addr"], help["addr"])
	fl.Uint64Var(&c.seed, "seed", num("seed", 64), help["seed"])
	fl.IntVar(&c.size, "size", int(num("size", 31)), help["size"])
	fl.StringVar(&c.asOf, "as-of", defaults["as-of"], help["as-of"])
	c.trustedCerts = split(defaults["trusted-cert"])
	fl.Var(&listFlag{values: &c.trustedCerts, fromEnv: true}, "trusted-cert", help["trusted-cert"])
	c.permissions = split(defaults["permission"])
	fl.Var(&listFlag{values: &c.permissions, fromEnv: true}, "permission", help["permission"])
	fl.DurationVar(&c.tokenTTL, "token-ttl", dur("token-ttl"), help["token-ttl"])
	fl.DurationVar(&c.clockSkew, "clock-skew", dur("clock-skew"), help["clock-skew"])
	fl.DurationVar(&c.maxValidity, "max-request-validity", dur("max-request-validity"), help["max-request-validity"])
	fl.IntVar(&c.journalSize, "journal-size", int(num("journal-size", 31)), help["journal-size"])
	fl.StringVar(&c.logLevel, "log-level", defaults["log-level"], help["log-level"])
	fl.StringVar(&c.logFormat, "log-format", defaults["log-format"], help["log-format"])
	fl.DurationVar(&c.shutdownTimeout, "shutdown-timeout", dur("shutdown-timeout"), help["shutdown-timeout"])
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if err := fl.Parse(args); err != nil {
		return c, err
	}
	if fl.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fl.Args())
	}
	switch {
	case c.size < 1 || c.size > population.MaxSize():
		return c, fmt.Errorf("-size %d: must be from 1 to %d", c.size, population.MaxSize())
	case c.journalSize < 1 || c.journalSize > 1_000_000:
		return c, fmt.Errorf("-journal-size %d: must be from 1 to 1000000", c.journalSize)
	case c.tokenTTL < server.MinTokenTTL:
		return c, fmt.Errorf("-token-ttl (AVIS_MOCKS_TOKEN_TTL) %s: must be at least %s, since expires_in counts whole seconds and clients refuse a token that expires in 0",
			c.tokenTTL, server.MinTokenTTL)
	case c.clockSkew < 0, c.maxValidity <= 0, c.shutdownTimeout <= 0:
		return c, errors.New("-max-request-validity and -shutdown-timeout must be positive, -clock-skew not negative")
	}
	if _, err := parseLevel(c.logLevel); err != nil {
		return c, err
	}
	if c.logFormat != "json" && c.logFormat != "text" {
		return c, fmt.Errorf("-log-format %q: use json or text", c.logFormat)
	}
	return c, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("-log-level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// serverConfig resolves c into a server.Config: builds the population,
// reads certificates, parses permissions.
func (c config) serverConfig(now time.Time, log *slog.Logger) (server.Config, error) {
	asOf, err := resolveAsOf(c.asOf, now)
	if err != nil {
		return server.Config{}, err
	}
	pop, err := population.New(population.Config{Seed: c.seed, Size: c.size, AsOf: asOf})
	if err != nil {
		return server.Config{}, fmt.Errorf("population: %w", err)
	}
	var certs []*x509.Certificate
	for _, path := range c.trustedCerts {
		data, err := os.ReadFile(path)
		if err != nil {
			return server.Config{}, fmt.Errorf("-trusted-cert: %w", err)
		}
		parsed, err := signing.ParseCertificatesPEM(data)
		if err != nil {
			return server.Config{}, fmt.Errorf("-trusted-cert %s: %w", path, err)
		}
		certs = append(certs, parsed...)
	}
	perms := map[registry.Dataset]string{}
	for _, p := range c.permissions {
		name, number, ok := strings.Cut(p, "=")
		if !ok || number == "" {
			return server.Config{}, fmt.Errorf("-permission %q: want DATASET=NUMBER", p)
		}
		d, err := registry.ParseDataset(name)
		if err != nil {
			return server.Config{}, fmt.Errorf("-permission %q: %w", p, err)
		}
		perms[d] = number
	}
	return server.Config{
		Population:         pop,
		TrustedCerts:       certs,
		Permissions:        perms,
		TokenTTL:           c.tokenTTL,
		ClockSkew:          c.clockSkew,
		MaxRequestValidity: c.maxValidity,
		JournalSize:        c.journalSize,
		Logger:             log,
	}, nil
}

func resolveAsOf(raw string, now time.Time) (registry.Date, error) {
	if raw == "" {
		riga, err := time.LoadLocation("Europe/Riga")
		if err != nil {
			return registry.Date{}, fmt.Errorf("load Europe/Riga: %w", err)
		}
		return registry.DateOf(now.In(riga)), nil
	}
	d, err := registry.ParseDate(raw)
	if err != nil {
		return registry.Date{}, fmt.Errorf("-as-of: %w", err)
	}
	return d, nil
}
