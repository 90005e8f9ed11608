// Package ratelimit counts requests per key in fixed windows kept in Redis,
// so that every gateway instance counts against the same budget. It fails
// open: while Redis cannot answer, requests are allowed (and counted in
// the errors metric), because refusing every client would be worse than
// not limiting for a while.
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Limiter allows at most Limit requests per key in each Window.
type Limiter struct {
	rdb    *redis.Client
	prefix string
	name   string
	limit  int64
	window time.Duration
	now    func() time.Time

	refused, errors prometheus.Counter
}

// Config of one limiter. Name tells limiters apart in keys and metrics.
type Config struct {
	Redis      *redis.Client
	Prefix     string
	Name       string
	Limit      int
	Window     time.Duration
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// New builds a limiter. A Limit of 0 or less turns it off (Allow always
// allows).
func New(cfg Config) (*Limiter, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Window <= 0 {
		cfg.Window = time.Minute
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "avis_rate_limit_total",
		Help: "Rate limiter outcomes by limiter: refused requests, and Redis errors (the request was allowed).",
	}, []string{"limiter", "outcome"})
	l := &Limiter{rdb: cfg.Redis, prefix: cfg.Prefix, name: cfg.Name, limit: int64(cfg.Limit), window: cfg.Window, now: cfg.Now,
		refused: vec.WithLabelValues(cfg.Name, "refused"), errors: vec.WithLabelValues(cfg.Name, "redis_error")}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(vec); err != nil {
			return nil, fmt.Errorf("rate limit metrics: %w", err)
		}
	}
	return l, nil
}

// allowWithin bounds how long Allow waits for Redis.
const allowWithin = 250 * time.Millisecond

// Allow counts one request for key. When the key's budget for the current
// window is spent it returns false and how long until the window ends.
func (l *Limiter) Allow(ctx context.Context, key string) (bool, time.Duration) {
	if l == nil || l.limit <= 0 {
		return true, 0
	}
	now := l.now()
	window := now.UnixNano() / int64(l.window)
	k := l.prefix + "rl:" + l.name + ":" + strconv.FormatInt(window, 10) + ":" + key
	// A limit that cannot be counted at once is not counted: a token
	// request must not wait on a Redis that hangs.
	ctx, cancel := context.WithTimeout(ctx, allowWithin)
	defer cancel()
	var incr *redis.IntCmd
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, k)
		p.PExpire(ctx, k, l.window+time.Second)
		return nil
	})
	if err != nil {
		l.errors.Inc()
		return true, 0
	}
	if incr.Val() <= l.limit {
		return true, 0
	}
	l.refused.Inc()
	end := time.Unix(0, (window+1)*int64(l.window))
	return false, end.Sub(now)
}
