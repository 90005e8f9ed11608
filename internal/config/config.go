// Package config reads the gateway's settings from environment variables and
// command-line flags (flags win) into one struct.
package config

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Config is every setting of the gateway. Each field's variable is listed in
// the README's configuration table.
type Config struct {
	Addr             string
	PublicURL        string
	DatabaseURL      string
	DBMaxConns       int
	RedisAddr        string
	RedisPassword    string
	RedisDB          int
	RedisPrefix      string
	TokenKeyFile     string
	TokenTTL         time.Duration
	SigningKeyFile   string
	SigningCertFile  string
	MocksURL         string
	LogLevel         slog.Level
	LogFormat        string
	BodyLimit        int64
	ShutdownTimeout  time.Duration
	ShutdownDrain    time.Duration
	BenchRoutes      bool
	SigningRequired  bool
	DebugAddr        string
	MetricsAddr      string
	RequestTimeout   time.Duration
	TokenRateLimit   int
	UploadMaxBytes   int64
	UploadWorkers    int
	UploadLease      time.Duration
	ListSetRetention time.Duration
	AuditRetention   time.Duration
	// IdempotencyRetention is how long Idempotency-Key records of list
	// pushes and uploads are kept: the window in which a retry replays.
	IdempotencyRetention time.Duration
	// UploadReportRetention is how long a finished upload is kept with
	// its error report, which quotes the bad rows' personal codes.
	UploadReportRetention time.Duration
	// Registries, eligibility and transactions.
	RegistryClientID       string
	RegistryTimeout        time.Duration
	RegistryTimeouts       string
	RegistryPermissions    string
	RegistryMaxConcurrent  int
	RegistryChangesEvery   time.Duration
	DecisionTTL            time.Duration
	EligibilityCacheTTL    time.Duration
	EligibilityNegativeTTL time.Duration
	CacheKeyFile           string
}

type setting struct {
	env, flag, def, usage string
	secret                bool
	apply                 func(c *Config, v string) error
}

func settings() []setting {
	str := func(dst func(*Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *dst(c) = v; return nil }
	}
	// Every number has bounds: a typo (a negative lifetime, a pool of
	// none) must stop the start, not the service.
	integer := func(dst func(*Config) *int, lo, hi int) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err == nil && (n < lo || n > hi) {
				err = fmt.Errorf("want %d to %d", lo, hi)
			}
			*dst(c) = n
			return err
		}
	}
	bytes := func(dst func(*Config) *int64, lo, hi int64) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil && (n < lo || n > hi) {
				err = fmt.Errorf("want %d to %d bytes", lo, hi)
			}
			*dst(c) = n
			return err
		}
	}
	dur := func(dst func(*Config) *time.Duration, lo, hi time.Duration) func(*Config, string) error {
		return func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err == nil && (d < lo || d > hi) {
				err = fmt.Errorf("want %s to %s", lo, hi)
			}
			*dst(c) = d
			return err
		}
	}
	return []setting{
		{"AVIS_ADDR", "addr", "127.0.0.1:8080", "address to listen on", false, str(func(c *Config) *string { return &c.Addr })},
		{"AVIS_PUBLIC_URL", "public-url", "http://127.0.0.1:8080", "URL integrators reach the gateway at (token issuer and audience); unset and AVIS_ADDR on a loopback address, it follows it: http://<AVIS_ADDR>", false, str(func(c *Config) *string { return &c.PublicURL })},
		{"AVIS_DATABASE_URL", "database-url", "postgres://postgres@127.0.0.1:5432/avis?sslmode=disable", "PostgreSQL connection URL. The gateway's connections end a transaction left idle for a minute (`idle_in_transaction_session_timeout`, sent at connect); the URL may set another value (`&idle_in_transaction_session_timeout=0` for none, or in `options`). A PgBouncer in front needs `ignore_startup_parameters` to include it. A connection attempt gives up after 5 s (`connect_timeout` in the URL sets another value)", true, str(func(c *Config) *string { return &c.DatabaseURL })},
		{"AVIS_DB_MAX_CONNS", "db-max-conns", "20", "largest PostgreSQL pool size", false, integer(func(c *Config) *int { return &c.DBMaxConns }, 4, 1000)},
		{"AVIS_REDIS_ADDR", "redis-addr", "127.0.0.1:6379", "Redis address", false, str(func(c *Config) *string { return &c.RedisAddr })},
		{"AVIS_REDIS_PASSWORD", "redis-password", "", "Redis password", true, str(func(c *Config) *string { return &c.RedisPassword })},
		{"AVIS_REDIS_DB", "redis-db", "0", "Redis database number", false, integer(func(c *Config) *int { return &c.RedisDB }, 0, 1<<20)},
		{"AVIS_REDIS_PREFIX", "redis-prefix", "avis:", "prefix of every Redis key", false, str(func(c *Config) *string { return &c.RedisPrefix })},
		{"AVIS_TOKEN_KEY_FILE", "token-key-file", "var/keys/token.key", "Ed25519 key (PKCS#8 PEM) that signs access tokens; created if missing (with a warning): every instance behind one address needs the same file", false, str(func(c *Config) *string { return &c.TokenKeyFile })},
		{"AVIS_TOKEN_TTL", "token-ttl", "5m", "lifetime of access tokens", false, dur(func(c *Config) *time.Duration { return &c.TokenTTL }, 30*time.Second, 24*time.Hour)},
		{"AVIS_SIGNING_KEY_FILE", "signing-key-file", "var/keys/gateway.key", "X.509 private key (PEM) for XML-DSig of registry requests and receipts", false, str(func(c *Config) *string { return &c.SigningKeyFile })},
		{"AVIS_SIGNING_CERT_FILE", "signing-cert-file", "var/keys/gateway.crt", "the gateway's X.509 certificate (PEM)", false, str(func(c *Config) *string { return &c.SigningCertFile })},
		{"AVIS_MOCKS_URL", "mocks-url", "http://127.0.0.1:8081", "base URL of the registries (the mock suite in development); unset, it follows AVIS_MOCKS_ADDR (where `make run` starts the mocks) when that is a loopback address: http://<AVIS_MOCKS_ADDR>", false, str(func(c *Config) *string { return &c.MocksURL })},
		{"AVIS_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", false, func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
		{"AVIS_LOG_FORMAT", "log-format", "json", "json or text", false, func(c *Config, v string) error {
			if v != "json" && v != "text" {
				return fmt.Errorf("want json or text")
			}
			c.LogFormat = v
			return nil
		}},
		{"AVIS_BODY_LIMIT", "body-limit", "1048576", "default largest JSON request body in bytes", false, bytes(func(c *Config) *int64 { return &c.BodyLimit }, 1<<10, 64<<20)},
		{"AVIS_SHUTDOWN_TIMEOUT", "shutdown-timeout", "20s", "how long to let requests finish on SIGTERM", false, dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout }, time.Second, 10*time.Minute)},
		{"AVIS_SHUTDOWN_DRAIN", "shutdown-drain", "0s", "after SIGTERM, how long /readyz answers 503 while requests are still served, before the listener closes: set it to the load balancer's check interval times its failure threshold", false, dur(func(c *Config) *time.Duration { return &c.ShutdownDrain }, 0, 10*time.Minute)},
		{"AVIS_REQUEST_TIMEOUT", "request-timeout", "30s", "how long a request may take before it is answered 504 and its database work is cancelled, so that a database that stopped answering does not hold tills waiting; it starts once the body is read (file uploads have their own read deadline, and list pushes, which may publish a national list, have none)", false, dur(func(c *Config) *time.Duration { return &c.RequestTimeout }, time.Second, 10*time.Minute)},
		{"AVIS_BENCH_ROUTES", "bench-routes", "false", "serve the bare /bench/bare routes the benchmarks compare against", false, func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.BenchRoutes = b
			return err
		}},
		{"AVIS_SIGNING_REQUIRED", "signing-required", "true", "refuse to start without a valid signing identity (AVIS_SIGNING_KEY_FILE and a current AVIS_SIGNING_CERT_FILE); false lets a test or demo gateway run with every registry benefit unknown and receipts unsigned", false, func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.SigningRequired = b
			return err
		}},
		{"AVIS_TOKEN_RATE_LIMIT", "token-rate-limit", "60", "tokens an authenticated client may get per minute, counted across instances in Redis (0 = no limit; failed attempts do not count: limit those per source at the edge); a client needs one token per AVIS_TOKEN_TTL", false, integer(func(c *Config) *int { return &c.TokenRateLimit }, 0, 1_000_000)},
		{"AVIS_METRICS_ADDR", "metrics-addr", "", "address of a separate listener serving /metrics, which is then no longer served on AVIS_ADDR (empty = /metrics on AVIS_ADDR; keep it off the public edge either way)", false, str(func(c *Config) *string { return &c.MetricsAddr })},
		{"AVIS_DEBUG_ADDR", "debug-addr", "", "address of a separate listener serving Go profiles at /debug/pprof/ (empty = off; keep it on loopback)", false, str(func(c *Config) *string { return &c.DebugAddr })},
		{"AVIS_UPLOAD_MAX_BYTES", "upload-max-bytes", "209715200", "largest person-list file upload in bytes (XLSX is further capped at 64 MiB, signed XML at 32 MiB)", false, bytes(func(c *Config) *int64 { return &c.UploadMaxBytes }, 1<<10, 10<<30)},
		{"AVIS_UPLOAD_WORKERS", "upload-workers", "2", "person-list upload workers per instance (0 = this instance processes no uploads)", false, integer(func(c *Config) *int { return &c.UploadWorkers }, 0, 64)},
		{"AVIS_UPLOAD_LEASE", "upload-lease", "30s", "how long an upload worker's lease lasts unrenewed; a killed instance's upload is resumed after it", false, dur(func(c *Config) *time.Duration { return &c.UploadLease }, time.Second, time.Hour)},
		{"AVIS_LIST_SET_RETENTION", "list-set-retention", "168h", "how long the members of a replaced person-list version are kept before they are dropped (the version record and its signed receipt stay)", false, dur(func(c *Config) *time.Duration { return &c.ListSetRetention }, time.Hour, 100*8760*time.Hour)},
		{"AVIS_AUDIT_RETENTION", "audit-retention", "8760h", "how long the audit of eligibility checks (which provider asked about which person, when; see gateway audit) is kept", false, dur(func(c *Config) *time.Duration { return &c.AuditRetention }, time.Hour, 100*8760*time.Hour)},
		{"AVIS_IDEMPOTENCY_RETENTION", "idempotency-retention", "720h", "how long the Idempotency-Key of a person-list push or upload is remembered: a retry within it gets the first answer, after it is a new request (transactions keep their keys for good)", false, dur(func(c *Config) *time.Duration { return &c.IdempotencyRetention }, time.Minute, 100*8760*time.Hour)},
		{"AVIS_UPLOAD_REPORT_RETENTION", "upload-report-retention", "2160h", "how long a finished person-list upload is kept with its error report (which quotes the bad rows, personal codes too); after it both are deleted and GET /v1/uploads/{id} and its /errors answer 404", false, dur(func(c *Config) *time.Duration { return &c.UploadReportRetention }, time.Minute, 100*8760*time.Hour)},
		{"AVIS_REGISTRY_CLIENT_ID", "registry-client-id", "avis-gateway", "the gateway's technical client id in signed DAGR token requests", false, str(func(c *Config) *string { return &c.RegistryClientID })},
		{"AVIS_REGISTRY_CHANGES_INTERVAL", "registry-changes-interval", "30s", "how often the registries' changed-records feeds are read to drop changed persons' cached facts (0 = never: facts live their TTL)", false, dur(func(c *Config) *time.Duration { return &c.RegistryChangesEvery }, 0, 24*time.Hour)},
		{"AVIS_REGISTRY_TIMEOUT", "registry-timeout", "800ms", "how long one registry lookup may take before its benefits answer unknown", false, dur(func(c *Config) *time.Duration { return &c.RegistryTimeout }, 10*time.Millisecond, time.Minute)},
		{"AVIS_REGISTRY_TIMEOUTS", "registry-timeouts", "", "per-data-set lookup timeouts overriding AVIS_REGISTRY_TIMEOUT, e.g. needy=2s,person=500ms", false, str(func(c *Config) *string { return &c.RegistryTimeouts })},
		{"AVIS_REGISTRY_PERMISSIONS", "registry-permissions", "", "DAGR permission numbers per data set, e.g. pensioners=DAGR-123,needy=DAGR-456 (default DAGR-<KEEPER>-<DATASET>)", false, str(func(c *Config) *string { return &c.RegistryPermissions })},
		{"AVIS_REGISTRY_MAX_CONCURRENT", "registry-max-concurrent", "64", "most lookups in flight to one registry data set per instance", false, integer(func(c *Config) *int { return &c.RegistryMaxConcurrent }, 1, 10_000)},
		{"AVIS_DECISION_TTL", "decision-ttl", "5m", "how long an eligibility decision may be referenced by a transaction (1s to 30m: decisions are deleted an hour after they were made)", false, func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err == nil && (d < time.Second || d > 30*time.Minute) {
				err = fmt.Errorf("want 1s to 30m: decisions are deleted an hour after they were made")
			}
			c.DecisionTTL = d
			return err
		}},
		{"AVIS_ELIGIBILITY_CACHE_TTL", "eligibility-cache-ttl", "15m", "how long registry facts and list membership are cached in Redis", false, dur(func(c *Config) *time.Duration { return &c.EligibilityCacheTTL }, time.Second, 24*time.Hour)},
		{"AVIS_ELIGIBILITY_NEGATIVE_TTL", "eligibility-negative-ttl", "5m", "how long a registry's 'no record' is cached", false, dur(func(c *Config) *time.Duration { return &c.EligibilityNegativeTTL }, time.Second, 24*time.Hour)},
		{"AVIS_CACHE_KEY_FILE", "cache-key-file", "", "file with at least 32 secret bytes keying the Redis cache's key hashes; empty: derived from a secret the gateway keeps in PostgreSQL", false, str(func(c *Config) *string { return &c.CacheKeyFile })},
	}
}

// Load reads the settings: defaults, then environment, then flags in args.
func Load(name string, args []string, getenv func(string) string) (Config, error) {
	return load(name, args, getenv, os.Stderr)
}

func load(name string, args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(usage)
	values := map[string]*string{}
	for _, s := range settings() {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		if s.secret {
			// A flag's default is printed by -h and by every usage error,
			// which end up in service logs: a secret from the environment
			// is applied after parsing instead.
			values[s.flag] = fs.String(s.flag, "", s.usage+" ($"+s.env+"; prefer the variable: a flag shows in ps)")
			continue
		}
		values[s.flag] = fs.String(s.flag, v, s.usage+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	for _, s := range settings() {
		v := *values[s.flag]
		if s.secret && v == "" {
			v = s.def
			if e := getenv(s.env); e != "" {
				v = e
			}
		}
		if err := s.apply(&c, v); err != nil {
			shown := strconv.Quote(v)
			if s.secret {
				shown = "(not shown)"
			}
			return c, fmt.Errorf("%s / -%s = %s: %w", s.env, s.flag, shown, err)
		}
	}
	// An address moved without its URL would leave the gateway announcing,
	// or querying, the default one.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	// Only a loopback address is followed (development, make run): a
	// gateway on a public or wildcard address names its URL itself, and an
	// existing deployment keeps the token issuer it had.
	if !given["public-url"] && getenv("AVIS_PUBLIC_URL") == "" && loopback(c.Addr) {
		c.PublicURL = "http://" + c.Addr
	}
	if !given["mocks-url"] && getenv("AVIS_MOCKS_URL") == "" && loopback(getenv("AVIS_MOCKS_ADDR")) {
		c.MocksURL = "http://" + getenv("AVIS_MOCKS_ADDR")
	}
	// A retried upload within the idempotency window answers the first
	// upload's id, which must still be there to read.
	if !given["upload-report-retention"] && getenv("AVIS_UPLOAD_REPORT_RETENTION") == "" {
		c.UploadReportRetention = max(c.UploadReportRetention, c.IdempotencyRetention)
	}
	if c.UploadReportRetention < c.IdempotencyRetention {
		return c, fmt.Errorf("AVIS_UPLOAD_REPORT_RETENTION (%s) is shorter than AVIS_IDEMPOTENCY_RETENTION (%s): a retried upload would answer the id of one already deleted", c.UploadReportRetention, c.IdempotencyRetention)
	}
	for _, u := range []struct{ env, v string }{{"AVIS_PUBLIC_URL", c.PublicURL}, {"AVIS_MOCKS_URL", c.MocksURL}} {
		parsed, err := url.Parse(u.v)
		if err == nil && ((parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Hostname() == "") {
			err = fmt.Errorf("want an absolute http(s) URL, e.g. https://avis.example.lv")
		}
		if err != nil {
			return c, fmt.Errorf("%s = %q: %w", u.env, u.v, err)
		}
	}
	return c, nil
}

// loopback reports whether addr (host:port) listens on a loopback host.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LogValue prints the configuration with secrets masked, for the start-up
// log line.
func (c Config) LogValue() slog.Value {
	mask := func(s string) string {
		if s == "" {
			return ""
		}
		return "***"
	}
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("public_url", c.PublicURL),
		slog.String("database", databaseShown(c.DatabaseURL)),
		slog.Int("db_max_conns", c.DBMaxConns),
		slog.String("redis_addr", c.RedisAddr),
		slog.String("redis_password", mask(c.RedisPassword)),
		slog.Int("redis_db", c.RedisDB),
		slog.String("redis_prefix", c.RedisPrefix),
		slog.String("token_key_file", c.TokenKeyFile),
		slog.Duration("token_ttl", c.TokenTTL),
		slog.String("signing_cert_file", c.SigningCertFile),
		slog.String("mocks_url", c.MocksURL),
		slog.String("log_level", c.LogLevel.String()),
		slog.Int64("body_limit", c.BodyLimit),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Duration("shutdown_drain", c.ShutdownDrain),
		slog.Bool("bench_routes", c.BenchRoutes),
		slog.Bool("signing_required", c.SigningRequired),
		slog.String("debug_addr", c.DebugAddr),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.Int("token_rate_limit", c.TokenRateLimit),
	)
}

// Markdown renders the settings as the README's configuration table.
func Markdown() string {
	out := "| variable | flag | default | meaning |\n|---|---|---|---|\n"
	for _, s := range settings() {
		out += fmt.Sprintf("| `%s` | `-%s` | `%s` | %s |\n", s.env, s.flag, s.def, s.usage)
	}
	return out
}

// databaseShown names the database a connection string points at without
// anything else it may hold: a password can sit in the URL's user part,
// in its query or in a key=value string, and pgx accepts all three.
func databaseShown(conn string) string {
	cfg, err := pgconn.ParseConfig(conn)
	if err != nil {
		return "(unparsable connection string)"
	}
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}
