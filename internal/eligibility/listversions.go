package eligibility

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ListVersionTracker keeps the current version of person lists in memory
// for the cache keys of list membership. The lists capability publishes
// "<list id> <version>" on the Redis channel <prefix>lists after each new
// version; those hints move the version at once. Because a hint can be lost
// (Redis down when it was published), a version is read again from
// PostgreSQL after at most maxAge while subscribed, and after maxAge/5
// while not: that bounds how long a changed list can be answered from its
// old version.
type ListVersionTracker struct {
	current func(ctx context.Context, listID string) (int, error)
	rdb     *redis.Client
	channel string
	maxAge  time.Duration
	log     *slog.Logger
	now     func() time.Time

	mu         sync.Mutex
	versions   map[string]listVersion
	subscribed atomic.Bool
}

type listVersion struct {
	version int
	readAt  time.Time
}

// NewListVersionTracker returns a tracker that reads versions with current
// and listens on prefix+"lists" when Run is going.
func NewListVersionTracker(current func(ctx context.Context, listID string) (int, error), rdb *redis.Client, prefix string, maxAge time.Duration, log *slog.Logger) *ListVersionTracker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ListVersionTracker{current: current, rdb: rdb, channel: prefix + "lists", maxAge: maxAge, log: log, now: time.Now, versions: map[string]listVersion{}}
}

var _ ListVersions = (*ListVersionTracker)(nil)

// Current implements ListVersions.
func (l *ListVersionTracker) Current(ctx context.Context, listID string) (int, error) {
	now := l.now()
	maxAge := l.maxAge / 5
	if l.subscribed.Load() {
		maxAge = l.maxAge
	}
	l.mu.Lock()
	v, ok := l.versions[listID]
	l.mu.Unlock()
	if ok && now.Sub(v.readAt) < maxAge {
		return v.version, nil
	}
	version, err := l.current(ctx, listID)
	if err != nil {
		return 0, err
	}
	l.set(listID, version, true)
	return version, nil
}

// Seen implements ListVersions.
func (l *ListVersionTracker) Seen(listID string, version int) { l.set(listID, version, false) }

// set records a version. Versions only move forward, except that a read
// from PostgreSQL (authoritative) always wins.
func (l *ListVersionTracker) set(listID string, version int, authoritative bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.versions[listID]
	if ok && !authoritative && cur.version >= version {
		return
	}
	if ok && !authoritative {
		now = cur.readAt // a hint does not extend the time since PostgreSQL was read
	}
	l.versions[listID] = listVersion{version: version, readAt: now}
}

// Run subscribes to the version hints until ctx ends.
func (l *ListVersionTracker) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		l.listen(ctx)
		l.subscribed.Store(false)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (l *ListVersionTracker) listen(ctx context.Context) {
	sub := l.rdb.Subscribe(ctx, l.channel)
	// A blocked read does not watch ctx: closing the subscription ends it.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		_ = sub.Close()
	}()
	if _, err := sub.Receive(ctx); err != nil {
		return
	}
	// Hints missed while not subscribed are unknown: forget what we had.
	l.mu.Lock()
	clear(l.versions)
	l.mu.Unlock()
	l.subscribed.Store(true)
	for {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			return
		}
		id, v, ok := strings.Cut(msg.Payload, " ")
		if n, err := strconv.Atoi(v); ok && err == nil {
			l.Seen(id, n)
		}
	}
}
