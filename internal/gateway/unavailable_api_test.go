package gateway_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// A request that meets a pooled connection that went dead while it sat
// idle (reset by a restarted pooler or load balancer, or a firewall)
// answers 503 with Retry-After, not 500: nothing of it reached the
// database, so a till may simply ask again. Each dead connection costs one
// request at most; then the gateway answers as before.
func TestDeadPooledConnectionAnswers503(t *testing.T) {
	t.Parallel()
	var proxy *storetest.Proxy
	h := gatewaytest.New(t, func(c *config.Config) {
		proxy, c.DatabaseURL = storetest.NewProxy(t, c.DatabaseURL)
		c.UploadWorkers = 0
	})
	token := h.Token(providerX, auth.RoleProvider)
	path := "/v1/receipts/" + uuid.NewString()
	if res := h.Do("GET", path, token, nil); res.Status != 404 {
		t.Fatalf("before: %d %s", res.Status, res.Body)
	}

	// Every pooled connection is used now, so that the pool lends it
	// unchecked for the next second, and then reset.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conns := make([]*pgxpool.Conn, 4)
	for i := range conns {
		var err error
		if conns[i], err = h.App.Pool.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range conns {
		c.Release()
	}
	proxy.Reset()

	res := h.Do("GET", path, token, nil)
	if res.Status != 503 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("dead pooled connection: %d (Retry-After %q) %s", res.Status, res.Header.Get("Retry-After"), res.Body)
	}
	if p := res.Problem(t); !strings.HasSuffix(p.Type, "/unavailable") {
		t.Fatalf("problem type %q", p.Type)
	}
	for i := 1; ; i++ {
		res := h.Do("GET", path, token, nil)
		if res.Status == 404 {
			break
		}
		if res.Status != 503 || i > len(conns) {
			t.Fatalf("request %d after the connections were reset: %d %s", i, res.Status, res.Body)
		}
	}
}
