package eligibility

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/avis-lv/gateway/internal/means"
	"github.com/avis-lv/gateway/internal/registry"
)

// ChangesFeed reads the registries' changed-records feeds.
type ChangesFeed interface {
	Changes(ctx context.Context, d registry.Dataset, cursor string, limit int) (registry.ChangesPage, error)
}

// ChangeCursors keeps how far each feed was followed, and leases each feed
// to one follower at a time, so that instances of the gateway do not all
// page through the same feeds.
type ChangeCursors interface {
	// ClaimChangeFeed leases d's feed to holder and returns its cursor
	// ("" at first); ok is false while another holder's lease runs.
	ClaimChangeFeed(ctx context.Context, d registry.Dataset, holder string, lease time.Duration) (cursor string, ok bool, err error)
	// SaveChangeCursor records the cursor and extends the lease, or fails
	// with ErrFeedLeaseLost.
	SaveChangeCursor(ctx context.Context, d registry.Dataset, holder, cursor string, lease time.Duration) error
	ReleaseChangeFeed(ctx context.Context, d registry.Dataset, holder string) error
}

// ErrFeedLeaseLost means another follower took a feed over (this one's
// lease ran out): it follows the feed from then on.
var ErrFeedLeaseLost = errors.New("changes feed lease lost to another follower")

// ChangeFollower drops the cached facts of every person a registry reports
// as changed, so that a death, a move or a lost status shows in answers
// within a poll interval instead of after the cache TTL. For the eID data
// set it also drops the cached resolution of every card the changed record
// lists, so that a card declared invalid, or a new card, is seen at once.
type ChangeFollower struct {
	feed     ChangesFeed
	cursors  ChangeCursors
	cache    *Cache
	every    time.Duration
	holder   string
	lease    time.Duration
	log      *slog.Logger
	datasets []Dataset

	changes *prometheus.CounterVec
	expired prometheus.Counter
}

const (
	changesPageSize = 1000
	// changesPagesPerRound bounds one round's work per data set; the rest
	// waits for the next round.
	changesPagesPerRound = 100
)

// NewChangeFollower polls every data set's feed every interval. holder
// names this follower (an instance of the gateway) in the feeds' leases.
// A lease lasts three intervals (at least ten seconds): a follower that
// stops without releasing its feeds hands them over after that.
func NewChangeFollower(feed ChangesFeed, cursors ChangeCursors, cache *Cache, every time.Duration, holder string, reg prometheus.Registerer, log *slog.Logger) (*ChangeFollower, error) {
	if holder == "" {
		return nil, errors.New("changes follower: a holder name is required")
	}
	f := &ChangeFollower{feed: feed, cursors: cursors, cache: cache, every: every, holder: holder,
		lease: max(3*every, 10*time.Second), log: log, datasets: registry.Datasets(),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avis_registry_changes_total",
			Help: "Changed records read from the registries' changes feeds (their cached facts dropped), by data set.",
		}, []string{"dataset"}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "avis_registry_changes_cursor_expired_total",
			Help: "Changes feeds followed again from their start because the registry no longer knew the cursor (their cached facts all dropped).",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{f.changes, f.expired} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// Run follows the feeds until ctx ends, then gives up their leases.
func (f *ChangeFollower) Run(ctx context.Context) {
	t := time.NewTicker(f.every)
	defer t.Stop()
	for {
		for _, d := range f.datasets {
			if err := f.Follow(ctx, d); err != nil && ctx.Err() == nil {
				f.log.Warn("registry changes feed not followed this round", "dataset", string(d), "error", err)
			}
		}
		select {
		case <-ctx.Done():
			f.release()
			return
		case <-t.C:
		}
	}
}

func (f *ChangeFollower) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, d := range f.datasets {
		if err := f.cursors.ReleaseChangeFeed(ctx, d, f.holder); err != nil {
			f.log.Warn("changes feed lease not released; another instance takes it over when it runs out", "dataset", string(d), "error", err)
		}
	}
}

// Follow reads d's feed from the saved cursor until it is caught up (or a
// round's worth of pages) and drops the changed persons' cached facts. The
// cursor is saved only after their entries are gone. While another
// follower holds d's lease it does nothing.
func (f *ChangeFollower) Follow(ctx context.Context, d Dataset) error {
	cursor, ok, err := f.cursors.ClaimChangeFeed(ctx, d, f.holder, f.lease)
	if err != nil || !ok {
		return err
	}
	for range changesPagesPerRound {
		page, err := f.feed.Changes(ctx, d, cursor, changesPageSize)
		if errors.Is(err, registry.ErrCursorExpired) {
			// Changes may have been missed: nothing cached of d can be
			// trusted to be current.
			f.expired.Inc()
			// Dropping a big data set can outlast the lease: it is
			// extended as the drop goes, or another follower would take
			// the feed over and start the same drop.
			extended := time.Now()
			keepAlive := func() error {
				if time.Since(extended) < f.lease/3 {
					return nil
				}
				extended = time.Now()
				return f.cursors.SaveChangeCursor(ctx, d, f.holder, cursor, f.lease)
			}
			if err := f.cache.dropDataset(ctx, d, keepAlive); err != nil {
				return err
			}
			// Card resolutions are read from eID records too, but cached
			// under the means keys, which dropDataset does not reach.
			if d == registry.EID {
				if err := f.cache.dropMeansType(ctx, string(means.EIDCard), keepAlive); err != nil {
					return err
				}
			}
			cursor = ""
			if err := f.cursors.SaveChangeCursor(ctx, d, f.holder, cursor, f.lease); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if len(page.Changes) > 0 {
			keys := make([]string, 0, len(page.Changes))
			for _, c := range page.Changes {
				keys = append(keys, f.cache.factsKey(d, f.cache.PersonKey(c.PersonCode)))
				if d == registry.EID {
					keys = append(keys, f.cardKeys(c)...)
				}
			}
			if err := f.cache.drop(ctx, keys); err != nil {
				return err
			}
			f.changes.WithLabelValues(string(d)).Add(float64(len(page.Changes)))
		}
		if page.NextCursor != cursor {
			cursor = page.NextCursor
			if err := f.cursors.SaveChangeCursor(ctx, d, f.holder, cursor, f.lease); err != nil {
				return err
			}
		}
		if !page.HasMore {
			return nil
		}
	}
	return nil
}

// cardKeys are the cache keys of the eID card resolutions a changed eID
// record names. A card the record no longer lists at all keeps its cached
// resolution until that expires (the means TTL at most).
func (f *ChangeFollower) cardKeys(c registry.Change) []string {
	if len(c.Record) == 0 {
		return nil
	}
	rec, err := registry.DecodeEID(c.Record)
	if err != nil {
		f.log.Warn("eID change record not understood; its cards stay cached until they expire", "error", err)
		return nil
	}
	keys := make([]string, 0, len(rec.Cards))
	for _, card := range rec.Cards {
		keys = append(keys, f.cache.meansKey(string(means.EIDCard), card.Number))
	}
	return keys
}
