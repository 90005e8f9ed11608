package eligibility

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Keys are the secrets of pseudonymisation, derived from one master
// secret: PersonRef for the per-person references stored with
// transactions, Cache for Redis key names, Value for the encryption of the
// few cached values that hold a personal code (resolved means).
type Keys struct {
	PersonRef []byte
	Cache     []byte
	Value     []byte

	refMACs, cacheMACs *macPool
}

// macPool reuses keyed HMAC states: every check computes two.
type macPool struct{ p sync.Pool }

func newMACPool(key []byte) *macPool {
	mp := &macPool{}
	mp.p.New = func() any { return hmac.New(sha256.New, key) }
	return mp
}

// sum returns HMAC(key, parts...) into out.
func (mp *macPool) sum(out *[32]byte, parts ...string) {
	m := mp.p.Get().(hash.Hash)
	m.Reset()
	for _, p := range parts {
		m.Write([]byte(p))
	}
	m.Sum(out[:0])
	mp.p.Put(m)
}

// DeriveKeys derives the keys from a master secret of at least 32 bytes.
// cacheSecret, when not nil, replaces the master for Cache and Value, so
// that an operator can rotate the cache's keys without touching stored
// references.
func DeriveKeys(master, cacheSecret []byte) (Keys, error) {
	if len(master) < 32 {
		return Keys{}, fmt.Errorf("pseudonymisation secret has %d bytes, need at least 32", len(master))
	}
	if cacheSecret == nil {
		cacheSecret = master
	} else if len(cacheSecret) < 32 {
		return Keys{}, fmt.Errorf("cache key has %d bytes, need at least 32", len(cacheSecret))
	}
	derive := func(secret []byte, label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	k := Keys{
		PersonRef: derive(master, "avis person-ref v1"),
		Cache:     derive(cacheSecret, "avis cache-key v1"),
		Value:     derive(cacheSecret, "avis cache-value v1"),
	}
	k.refMACs, k.cacheMACs = newMACPool(k.PersonRef), newMACPool(k.Cache)
	return k, nil
}

// PersonRefOf is the keyed hash that stands for a person in stored
// transactions and decisions.
func (k Keys) PersonRefOf(code string) []byte {
	var out [32]byte
	k.refMACs.sum(&out, code)
	return out[:]
}

// CacheConfig configures the Redis cache.
type CacheConfig struct {
	// Client should have short timeouts: a Redis that hangs must cost a
	// check milliseconds, not seconds.
	Client *redis.Client
	Prefix string
	Keys   Keys
	// FactsTTL is how long a registry's answer is kept; NegativeTTL how
	// long "no record" is; MeansTTL how long a resolved means is.
	FactsTTL    time.Duration
	NegativeTTL time.Duration
	MeansTTL    time.Duration
	// RefreshAhead is the share of a TTL after which a hit also starts a
	// background refresh, so that hot entries never expire under load.
	RefreshAhead float64
	// DegradedFor is how long Redis is left alone after it failed.
	DegradedFor time.Duration
	// RewriteWindow is how long after a deletion its keys are deleted once
	// more: a check that read the old value (from PostgreSQL or a
	// registry) just before the deletion may write it back just after,
	// and that write must not live the whole TTL. It should exceed the
	// slowest registry call. Default 10 s.
	RewriteWindow time.Duration
	Registerer    prometheus.Registerer
	Log           *slog.Logger
	Now           func() time.Time
}

// Cache is the Redis cache of registry facts, list membership and
// resolved means. Every key is the prefix, a kind (with the data set, list
// or means type) and a keyed hash: never a personal code or a card
// number. It is only a cache: a miss, an error or a flush costs time,
// never correctness, and while Redis fails the cache steps aside for
// DegradedFor at a time.
type Cache struct {
	cfg  CacheConfig
	aead cipher.AEAD
	// rd sends the reads and writes of checks. Concurrent checks' commands
	// are pipelined together on a few connections (go-redis's
	// autopipelining), so that under load many checks share one write and
	// one read system call instead of each paying for its own.
	rd redis.Cmdable

	degradedUntil atomic.Int64 // unix nanos
	degraded      atomic.Bool
	refreshing    sync.Map // key → struct{}

	// invalidations that could not reach Redis, retried by Run; and keys
	// deleted lately, deleted again by Run when their time comes (see
	// CacheConfig.RewriteWindow).
	mu      sync.Mutex
	pending map[string]struct{}
	again   []dueKey // oldest first: every key waits the same window

	m *cacheMetrics
}

type cacheMetrics struct {
	hits, misses *prometheus.CounterVec
	errors       prometheus.Counter
	degraded     prometheus.Gauge
	roundTrips   prometheus.Counter
}

// NewCache builds the cache.
func NewCache(cfg CacheConfig) (*Cache, error) {
	if cfg.Client == nil {
		return nil, errors.New("eligibility cache: a Redis client is required")
	}
	if cfg.FactsTTL <= 0 {
		cfg.FactsTTL = 15 * time.Minute
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = 5 * time.Minute
	}
	if cfg.MeansTTL <= 0 {
		cfg.MeansTTL = 5 * time.Minute
	}
	if cfg.RefreshAhead <= 0 || cfg.RefreshAhead >= 1 {
		cfg.RefreshAhead = 0.8
	}
	if cfg.DegradedFor <= 0 {
		cfg.DegradedFor = time.Second
	}
	if cfg.RewriteWindow <= 0 {
		cfg.RewriteWindow = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	block, err := aes.NewCipher(cfg.Keys.Value)
	if err != nil {
		return nil, fmt.Errorf("eligibility cache: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("eligibility cache: %w", err)
	}
	m := &cacheMetrics{
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avis_eligibility_cache_hits_total", Help: "Eligibility cache hits by kind (facts, list, means).",
		}, []string{"kind"}),
		misses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avis_eligibility_cache_misses_total", Help: "Eligibility cache misses by kind (facts, list, means).",
		}, []string{"kind"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "avis_eligibility_cache_errors_total", Help: "Redis commands of the eligibility cache that failed.",
		}),
		degraded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "avis_eligibility_cache_degraded", Help: "1 while Redis fails and eligibility answers come from the registries and PostgreSQL alone.",
		}),
		roundTrips: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "avis_eligibility_redis_roundtrips_total", Help: "Round trips to Redis made by the eligibility cache.",
		}),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{m.hits, m.misses, m.errors, m.degraded, m.roundTrips} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("eligibility cache metrics: %w", err)
			}
		}
	}
	for _, k := range []string{"facts", "list", "means"} {
		m.hits.WithLabelValues(k)
		m.misses.WithLabelValues(k)
	}
	c := &Cache{cfg: cfg, aead: aead, pending: map[string]struct{}{}, m: m, rd: cfg.Client}
	if ap, err := cfg.Client.AutoPipeline(); err == nil {
		c.rd = ap
	} else {
		cfg.Log.Warn("Redis autopipelining unavailable; one round trip per command", "error", err)
	}
	return c, nil
}

// PersonKey is the keyed hash that names a person in cache keys.
func (c *Cache) PersonKey(code string) string {
	var out [32]byte
	c.cfg.Keys.cacheMACs.sum(&out, "p:", code)
	return base64.RawURLEncoding.EncodeToString(out[:])
}

func (c *Cache) factsKey(d Dataset, pk string) string {
	return c.cfg.Prefix + "elig:f1:" + string(d) + ":" + pk
}

// listKey names a person's cached membership of a list on a day; the
// value carries the list version it was read from.
func (c *Cache) listKey(listID, day, pk string) string {
	return c.cfg.Prefix + "elig:l:" + listID + ":" + day + ":" + pk
}

// listVersionKey is where the lists capability raises a list's version
// after each change, before it answers the push (see wire_lists.go): read
// with the memberships, in the same round trip, it gives a check the
// version a grantor's last push made.
func (c *Cache) listVersionKey(listID string) string {
	return c.cfg.Prefix + "list:" + listID + ":version"
}

// meansKey names a means by its type and a keyed hash of its type and
// number. The type is in the clear (it is one of four names, and says
// nothing about a person) so that every cached resolution of one type can
// be found by a scan: eID card resolutions come from PMLP's eID data set,
// and go when its feed's cursor expires.
func (c *Cache) meansKey(t, number string) string {
	var out [32]byte
	c.cfg.Keys.cacheMACs.sum(&out, "m:", t, ":", number)
	return c.cfg.Prefix + "elig:m:" + t + ":" + base64.RawURLEncoding.EncodeToString(out[:])
}

// legacyMeansKey is where the previous release cached a means (without
// its type in the clear). A change is dropped from there too, so that its
// instances, while a rolling deploy runs, do not answer the old person.
// Remove it once no instance of that release runs.
func (c *Cache) legacyMeansKey(t, number string) string {
	var out [32]byte
	c.cfg.Keys.cacheMACs.sum(&out, "m:", t, ":", number)
	return c.cfg.Prefix + "elig:m:" + base64.RawURLEncoding.EncodeToString(out[:])
}

// entry is a cached value with when it was fetched; raw is the value as
// Redis holds it, for keys the cache does not write itself.
type entry struct {
	fetched time.Time
	value   []byte
	raw     string
}

// fresh reports whether the entry is young enough not to need a refresh.
func (c *Cache) fresh(e entry, ttl time.Duration) bool {
	return c.cfg.Now().Sub(e.fetched) < time.Duration(float64(ttl)*c.cfg.RefreshAhead)
}

func encodeEntry(now time.Time, value []byte) []byte {
	out := make([]byte, 8, 8+len(value))
	binary.BigEndian.PutUint64(out, uint64(now.UnixMilli()))
	return append(out, value...)
}

func decodeEntry(raw []byte) (entry, bool) {
	if len(raw) < 8 {
		return entry{}, false
	}
	return entry{fetched: time.UnixMilli(int64(binary.BigEndian.Uint64(raw[:8]))), value: raw[8:]}, true
}

// available reports whether Redis may be asked now.
func (c *Cache) available() bool {
	return c.cfg.Now().UnixNano() >= c.degradedUntil.Load()
}

func (c *Cache) failed(err error) {
	c.m.errors.Inc()
	c.degradedUntil.Store(c.cfg.Now().Add(c.cfg.DegradedFor).UnixNano())
	if !c.degraded.Swap(true) {
		c.m.degraded.Set(1)
		c.cfg.Log.Warn("Redis failed; eligibility answers from the registries and PostgreSQL until it recovers", "error", err)
	}
}

func (c *Cache) succeeded() {
	if c.degraded.Swap(false) {
		c.m.degraded.Set(0)
		c.cfg.Log.Info("Redis answers again; eligibility cache back in use")
	}
}

// Degraded reports whether the cache is stepping aside for a failed Redis.
func (c *Cache) Degraded() bool { return c.degraded.Load() }

// mget reads keys in one round trip. Misses (and everything, while Redis
// fails) come back as nil.
func (c *Cache) mget(ctx context.Context, keys []string) []entry {
	out := make([]entry, len(keys))
	if len(keys) == 0 || !c.available() {
		return out
	}
	c.m.roundTrips.Inc()
	vals, err := c.rd.MGet(ctx, keys...).Result()
	if err != nil {
		c.failed(err)
		return out
	}
	c.succeeded()
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if e, ok := decodeEntry([]byte(s)); ok {
			out[i] = e
		}
		out[i].raw = s
	}
	return out
}

// write is one value to store with its TTL.
type write struct {
	key   string
	value []byte
	ttl   time.Duration
}

// set stores values in one pipelined round trip. A failure only costs the
// next check a miss.
func (c *Cache) set(ctx context.Context, ws []write) {
	if len(ws) == 0 || !c.available() {
		return
	}
	now := c.cfg.Now()
	c.m.roundTrips.Inc()
	cmds := make([]*redis.StatusCmd, len(ws))
	for i, w := range ws {
		cmds[i] = c.rd.Set(ctx, w.key, encodeEntry(now, w.value), w.ttl)
	}
	var err error
	for _, cmd := range cmds {
		if e := cmd.Err(); e != nil {
			err = e
		}
	}
	if err != nil {
		c.failed(err)
		return
	}
	c.succeeded()
}

// invalidate deletes keys. One that cannot be deleted now is remembered and
// retried by Run until Redis takes it, so a stale entry outlives a Redis
// outage by at most the retry interval.
func (c *Cache) invalidate(ctx context.Context, keys ...string) {
	c.m.roundTrips.Inc()
	if err := c.cfg.Client.Del(ctx, keys...).Err(); err != nil {
		c.failed(err)
		c.mu.Lock()
		for _, k := range keys {
			c.pending[k] = struct{}{}
		}
		c.mu.Unlock()
		return
	}
	c.succeeded()
	c.deleteAgainLater(keys)
}

// deleteAgainLater has Run delete keys once more after the rewrite window.
func (c *Cache) deleteAgainLater(keys []string) {
	due := c.cfg.Now().Add(c.cfg.RewriteWindow)
	c.mu.Lock()
	for _, k := range keys[:min(len(keys), max(maxSecondDeletions-len(c.again), 0))] {
		c.again = append(c.again, dueKey{key: k, due: due})
	}
	c.mu.Unlock()
}

// dueKey is a key to delete again, and when.
type dueKey struct {
	key string
	due time.Time
}

// Run retries failed invalidations and makes the second deletions until
// ctx ends.
func (c *Cache) Run(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		retry := make([]string, 0, min(len(c.pending), maxDeletesPerTick))
		for k := range c.pending {
			if len(retry) == maxDeletesPerTick {
				break
			}
			retry = append(retry, k)
		}
		now, n := c.cfg.Now(), 0
		for n < len(c.again) && n < maxDeletesPerTick && !now.Before(c.again[n].due) {
			n++
		}
		again := make([]string, n)
		for i := range n {
			again[i] = c.again[i].key
		}
		if n > 0 {
			c.again = slices.Clone(c.again[n:])
		}
		c.mu.Unlock()
		c.deleteChunks(ctx, retry, true)
		// A second deletion that fails is given up: it is a safety net, and
		// a write-back it was meant for failed too while Redis did.
		c.deleteChunks(ctx, again, false)
	}
}

const (
	// maxDeletesPerTick bounds the keys Run deletes in one tick, in DELs
	// of deleteChunk keys with a timeout each.
	maxDeletesPerTick = 20_000
	deleteChunk       = 1000
	// maxSecondDeletions bounds the keys waiting for their second
	// deletion; beyond it (a burst of changes) they get only the first.
	maxSecondDeletions = 100_000
)

// deleteChunks deletes keys deleteChunk at a time; pending keys leave the
// pending set when deleted, and stay in it when not.
func (c *Cache) deleteChunks(ctx context.Context, keys []string, pending bool) {
	for chunk := range slices.Chunk(keys, deleteChunk) {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		err := c.cfg.Client.Del(dctx, chunk...).Err()
		cancel()
		if err != nil || !pending {
			continue
		}
		c.mu.Lock()
		for _, k := range chunk {
			delete(c.pending, k)
		}
		c.mu.Unlock()
	}
}

// seal encrypts a value that holds personal data.
func (c *Cache) seal(plain []byte) []byte {
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(plain)+c.aead.Overhead())
	_, _ = rand.Read(nonce)
	return c.aead.Seal(nonce, nonce, plain, nil)
}

func (c *Cache) open(sealed []byte) ([]byte, bool) {
	n := c.aead.NonceSize()
	if len(sealed) < n {
		return nil, false
	}
	out, err := c.aead.Open(nil, sealed[:n], sealed[n:], nil)
	return out, err == nil
}

// drop deletes keys now; unlike invalidate, a failure is returned (the
// changes follower then keeps its cursor and tries again).
func (c *Cache) drop(ctx context.Context, keys []string) error {
	c.m.roundTrips.Inc()
	if err := c.cfg.Client.Del(ctx, keys...).Err(); err != nil {
		c.failed(err)
		return fmt.Errorf("drop cached facts: %w", err)
	}
	c.succeeded()
	c.deleteAgainLater(keys)
	return nil
}

// dropDataset deletes every cached fact of data set d.
func (c *Cache) dropDataset(ctx context.Context, d Dataset, keepAlive func() error) error {
	return c.dropMatching(ctx, c.cfg.Prefix+"elig:f1:"+string(d)+":*", "cached facts of "+string(d), keepAlive)
}

// dropMeansType deletes every cached resolution of means of type t.
func (c *Cache) dropMeansType(ctx context.Context, t string, keepAlive func() error) error {
	return c.dropMatching(ctx, c.cfg.Prefix+"elig:m:"+t+":*", "cached "+t+" resolutions", keepAlive)
}

// dropMatching deletes every key matching pattern, a chunk at a time,
// calling keepAlive after each chunk.
func (c *Cache) dropMatching(ctx context.Context, pattern, what string, keepAlive func() error) error {
	iter := c.cfg.Client.Scan(ctx, 0, pattern, deleteChunk).Iterator()
	batch := make([]string, 0, deleteChunk)
	flush := func() error {
		c.m.roundTrips.Inc()
		if err := c.cfg.Client.Del(ctx, batch...).Err(); err != nil {
			c.failed(err)
			return fmt.Errorf("drop %s: %w", what, err)
		}
		batch = batch[:0]
		return keepAlive()
	}
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == deleteChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scan %s: %w", what, err)
	}
	if len(batch) > 0 {
		return flush()
	}
	return nil
}
