package gateway

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/avis-lv/gateway/internal/ekk"
	"github.com/avis-lv/gateway/internal/eligibility"
	"github.com/avis-lv/gateway/internal/eligibilityapi"
	"github.com/avis-lv/gateway/internal/httpapi"
	"github.com/avis-lv/gateway/internal/means"
	"github.com/avis-lv/gateway/internal/registry"
	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/transactions"
)

// wireEligibility builds the registry client, the eligibility cache and
// check, identification means and transactions, and adds their handlers.
func (a *App) wireEligibility(ctx context.Context, deps *httpapi.Deps) error {
	cfg := a.Config
	master, err := store.Secret(ctx, a.Pool, "pseudonymisation")
	if err != nil {
		return err
	}
	var cacheSecret []byte
	if cfg.CacheKeyFile != "" {
		if cacheSecret, err = os.ReadFile(cfg.CacheKeyFile); err != nil {
			return fmt.Errorf("AVIS_CACHE_KEY_FILE: %w", err)
		}
	}
	keys, err := eligibility.DeriveKeys(master, cacheSecret)
	if err != nil {
		return err
	}

	// Without the gateway's key the registries cannot be asked and receipts
	// cannot be signed. A production gateway refuses to start so; a test or
	// demo one (AVIS_SIGNING_REQUIRED=false) starts and says so, and every
	// registry benefit answers unknown.
	signer, err := loadSigner(cfg.SigningKeyFile, cfg.SigningCertFile, time.Now())
	switch {
	case err != nil && cfg.SigningRequired:
		return fmt.Errorf("%w (development keys: go run ./scripts/devkeys -dir var/keys; AVIS_SIGNING_REQUIRED=false starts without signing, for tests and demos only)", err)
	case err != nil:
		a.Log.Warn("no signing identity: registry benefits answer unknown and receipts stay unsigned until one is configured (go run ./scripts/devkeys -dir var/keys)", "error", err)
		signer = nil
	default:
		cert := signer.Certificate()
		a.Log.Info("signing identity loaded", "certificate_sha256", signing.Fingerprint(cert), "subject", cert.Subject.CommonName, "expires", cert.NotAfter)
		if slices.Contains(cert.Subject.Organization, signing.DevelopmentOrganisation) {
			a.Log.Warn("the signing certificate is a development one (scripts/devkeys): registries and receipt verifiers outside this machine will not trust it")
		}
		expiry := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "avis_signing_certificate_expiry_timestamp_seconds",
			Help: "When the gateway's signing certificate expires (Unix seconds): alert well before, since after it registry benefits answer unknown and receipts stay unsigned.",
		})
		expiry.Set(float64(cert.NotAfter.Unix()))
		if err := a.registry.Register(expiry); err != nil {
			return fmt.Errorf("signing certificate metric: %w", err)
		}
		if left := time.Until(cert.NotAfter); left < 30*24*time.Hour {
			a.Log.Warn("the signing certificate expires soon: rotate it (receipts signed before stay valid)", "expires", cert.NotAfter)
		}
	}
	var reg eligibility.Registry = unavailableRegistry{}
	var feed eligibility.ChangesFeed
	if signer != nil {
		timeouts, err := datasetSettings("AVIS_REGISTRY_TIMEOUTS", cfg.RegistryTimeouts, func(v string) (time.Duration, error) { return time.ParseDuration(v) })
		if err != nil {
			return err
		}
		permissions, err := datasetSettings("AVIS_REGISTRY_PERMISSIONS", cfg.RegistryPermissions, func(v string) (string, error) { return v, nil })
		if err != nil {
			return err
		}
		client, err := registry.New(registry.Config{
			BaseURL: cfg.MocksURL, ClientID: cfg.RegistryClientID, Signer: signer,
			Permissions: permissions, Timeout: cfg.RegistryTimeout, Timeouts: timeouts,
			MaxConcurrent: cfg.RegistryMaxConcurrent, Registerer: a.registry, Log: a.Log,
		})
		if err != nil {
			return err
		}
		reg, feed = client, client
	}

	// The cache has its own Redis connections with short timeouts and no
	// retries: a Redis that hangs must cost a check milliseconds.
	rdb := redis.NewClient(&redis.Options{
		Addr: cfg.RedisAddr, Password: cfg.RedisPassword, DB: cfg.RedisDB,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond,
		PoolTimeout: 100 * time.Millisecond, MaxRetries: -1, DialerRetries: 1, ContextTimeoutEnabled: true,
	})
	cache, err := eligibility.NewCache(eligibility.CacheConfig{
		Client: rdb, Prefix: cfg.RedisPrefix, Keys: keys,
		FactsTTL: cfg.EligibilityCacheTTL, NegativeTTL: cfg.EligibilityNegativeTTL,
		Registerer: a.registry, Log: a.Log,
	})
	if err != nil {
		return err
	}

	if feed != nil && cfg.RegistryChangesEvery > 0 {
		follower, err := eligibility.NewChangeFollower(feed, store.NewChangeCursors(a.Pool), cache, cfg.RegistryChangesEvery, instanceName(), a.registry, a.Log)
		if err != nil {
			return err
		}
		a.background = append(a.background, follower.Run)
	}

	eligStore := store.NewEligibility(a.Pool, a.Log)
	eligStore.KeepAuditFor(cfg.AuditRetention)
	lists := store.NewLists(a.Pool)
	versions := eligibility.NewListVersionTracker(lists.CurrentVersion, a.Redis, cfg.RedisPrefix, 5*time.Second, a.Log)
	var elig *eligibility.Service
	meansSvc := means.NewService(store.NewMeans(a.Pool), func(ctx context.Context, t means.Type, number string) {
		elig.InvalidateMeans(ctx, t, number)
	}, nil)
	elig, err = eligibility.NewService(eligibility.Config{DecisionTTL: cfg.DecisionTTL}, eligibility.Deps{
		Store: eligStore, Registry: reg, Lists: lists, Versions: versions, Means: meansSvc,
		Cache: cache, Keys: keys, FeedHead: a.watcher.Head, Registerer: a.registry, Log: a.Log,
	})
	if err != nil {
		return err
	}

	classifier, err := ekk.Load()
	if err != nil {
		return err
	}
	txStore := store.NewTransactions(a.Pool, eligStore, func(code string) string {
		if c, ok := classifier.Lookup(code); ok {
			return c.NameLV
		}
		return ""
	})
	var receiptKey *transactions.ReceiptKey
	if signer != nil {
		if receiptKey, err = loadReceiptKey(cfg.SigningKeyFile, signer); err != nil {
			return err
		}
	}
	receipts, err := transactions.NewReceiptSigner(receiptKey, txStore, a.registry, a.Log)
	if err != nil {
		return err
	}
	if err := receipts.Register(ctx); err != nil {
		return err
	}
	txs := transactions.NewService(txStore, receipts, transactions.Config{
		Location: elig.Location(), Periods: elig.PeriodBounds, Log: a.Log,
	})

	h := &eligibilityapi.Handlers{Means: meansSvc, Eligibility: elig, Transactions: txs}
	deps.Means, deps.Eligibility, deps.Transactions = h, h, h
	deps.ErrorMappers = append(deps.ErrorMappers, eligibilityapi.ErrorMapper)
	prev := deps.Routes
	deps.Routes = func(e *echo.Echo) {
		if prev != nil {
			prev(e)
		}
		h.Routes(e)
	}
	a.background = append(a.background, eligStore.Run, txStore.Run, versions.Run, cache.Run, receipts.Run,
		func(ctx context.Context) { <-ctx.Done(); _ = rdb.Close() })
	return nil
}

// loadReceiptKey reads the gateway's private key again for the receipt
// signer, which signs a fixed template instead of a parsed document.
func loadReceiptKey(keyFile string, signer *signing.Signer) (*transactions.ReceiptKey, error) {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("receipt key: %w", err)
	}
	key, err := signing.ParsePrivateKeyPEM(pem)
	if err != nil {
		return nil, fmt.Errorf("receipt key %s: %w", keyFile, err)
	}
	return transactions.NewReceiptKey(key, signer.Certificate())
}

// datasetSettings parses "dataset=value,..." for a per-data-set setting.
func datasetSettings[T any](name, raw string, parse func(string) (T, error)) (map[registry.Dataset]T, error) {
	out := map[registry.Dataset]T{}
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		d := registry.Dataset(strings.TrimSpace(k))
		if !ok || !d.Valid() {
			return nil, fmt.Errorf("%s: %q is not DATASET=VALUE with a data set of %v", name, part, registry.Datasets())
		}
		val, err := parse(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, d, err)
		}
		out[d] = val
	}
	return out, nil
}

// unavailableRegistry stands in when the gateway has no signing identity:
// every lookup is unavailable, so registry benefits answer unknown.
type unavailableRegistry struct{}

func (unavailableRegistry) Record(context.Context, registry.Dataset, string) ([]byte, error) {
	return nil, fmt.Errorf("%w: no signing identity configured", registry.ErrUnavailable)
}

func (unavailableRegistry) Card(context.Context, string) ([]byte, error) {
	return nil, fmt.Errorf("%w: no signing identity configured", registry.ErrUnavailable)
}

// instanceName names this process in leases, so that an operator can tell
// which instance holds what: host, process id and a random part (two
// containers may share a host name and a pid).
func instanceName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), r)
}

// loadSigner loads the signing identity and refuses a certificate that is
// not valid at now: every signature made with it would fail verification.
func loadSigner(keyFile, certFile string, now time.Time) (*signing.Signer, error) {
	signer, err := signing.LoadSigner(keyFile, certFile)
	if err != nil {
		return nil, fmt.Errorf("signing identity: %w", err)
	}
	if err := signing.CheckValidAt(signer.Certificate(), now); err != nil {
		return nil, fmt.Errorf("signing identity %s, not now: %w", certFile, err)
	}
	return signer, nil
}
