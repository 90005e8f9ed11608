package gateway

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/avis-lv/gateway/internal/httpapi"
	"github.com/avis-lv/gateway/internal/lists"
	"github.com/avis-lv/gateway/internal/listsapi"
	"github.com/avis-lv/gateway/internal/store"
)

// wireLists builds person lists and uploads (issue: recipient lists) and
// adds their handlers, routes and background workers.
func (a *App) wireLists(ctx context.Context, deps *httpapi.Deps) error {
	cfg := lists.DefaultConfig()
	cfg.Registerer = a.registry
	if a.Config.UploadMaxBytes > 0 {
		cfg.MaxUploadBytes = a.Config.UploadMaxBytes
	}
	if a.Config.UploadLease > 0 {
		cfg.Lease = a.Config.UploadLease
		// A short lease (tests, fast fail-over) also means polling often
		// enough to notice an expired one.
		cfg.Poll = min(cfg.Poll, a.Config.UploadLease/2)
	}
	cfg.SetRetention = a.Config.ListSetRetention
	cfg.ReportRetention = a.Config.UploadReportRetention
	notify := &listVersionNotifier{rdb: a.Redis, prefix: a.Config.RedisPrefix, log: a.Log}
	listStore := store.NewLists(a.Pool)
	svc := lists.NewService(listStore, notify, cfg, a.Log)
	// Releases before upload files were unlinked at once left them behind
	// after a crash, with the personal codes in them.
	if n, err := lists.SweepTempFiles(svc.Config().TempDir, time.Now()); err != nil {
		a.Log.Warn("stale upload files not removed", "error", err)
	} else if n > 0 {
		a.Log.Info("stale upload files removed", "files", n)
	}
	a.Benefits.CheckListsWith(listStore)

	deps.Lists = listsapi.New(svc)
	deps.ErrorMappers = append(deps.ErrorMappers, listsapi.ErrorMapper)
	if deps.BodyLimits == nil {
		deps.BodyLimits = map[string]int64{}
	}
	deps.BodyLimits[listsapi.PushOperation] = listsapi.PushBodyLimit
	deps.Streamed = append(deps.Streamed, listsapi.UploadOperation)
	// A push of 100 000 members may publish a version of a national
	// list: it is not cut short by AVIS_REQUEST_TIMEOUT.
	deps.Unbounded = append(deps.Unbounded, listsapi.PushOperation)
	for i := range a.Config.UploadWorkers {
		owner := lists.NewWorkerID(i)
		a.background = append(a.background, func(ctx context.Context) { svc.RunWorker(ctx, owner) })
	}
	a.background = append(a.background, svc.RunPruner, svc.RunReportPurger)
	a.onDrain = append(a.onDrain, svc.Drain)
	return nil
}

// listVersionNotifier tells caches in every instance that a list has a new
// version: it publishes "<list id> <version>" on the channel <prefix>lists
// and raises <prefix>list:<id>:version. Both are hints; readers that must be
// right compare the version in PostgreSQL.
type listVersionNotifier struct {
	rdb    *redis.Client
	prefix string
	log    *slog.Logger
}

// raiseVersion sets the key only upwards, so a late notification of an
// older version cannot move it back.
var raiseVersion = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`)

func (n *listVersionNotifier) ListChanged(ctx context.Context, listID string, version int) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	v := strconv.Itoa(version)
	if err := raiseVersion.Run(ctx, n.rdb, []string{n.prefix + "list:" + listID + ":version"}, v).Err(); err != nil {
		n.log.WarnContext(ctx, "list version to redis", "list_id", listID, "version", version, "error", err)
		return
	}
	if err := n.rdb.Publish(ctx, n.prefix+"lists", listID+" "+v).Err(); err != nil {
		n.log.WarnContext(ctx, "publish list version", "list_id", listID, "version", version, "error", err)
	}
}
