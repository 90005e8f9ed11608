package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// Loading the samples again keeps the credentials a shell already
// sourced, and never brings back a client an operator revoked.
func TestSampleKeepsSecretsAndRevocations(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"AVIS_DATABASE_URL":     storetest.NewDatabase(t),
		"AVIS_REDIS_ADDR":       storetest.RedisAddr(),
		"AVIS_REDIS_PREFIX":     "sample-test:" + filepath.Base(dir) + ":",
		"AVIS_TOKEN_KEY_FILE":   filepath.Join(dir, "token.key"),
		"AVIS_SIGNING_REQUIRED": "false",
		"AVIS_LOG_LEVEL":        "error",
	}
	out := filepath.Join(dir, "creds.env")
	ctx := context.Background()
	run := func() map[string]string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := sampleCommand(ctx, []string{"-out", out}, func(k string) string { return env[k] }, &stdout, &stderr); err != nil {
			t.Fatalf("sample: %v\n%s", err, stderr.String())
		}
		return readEnvFile(out)
	}
	first := run()
	if first["AVIS_PROVIDER_SECRET"] == "" || first["AVIS_GRANTOR2_SECRET"] == "" {
		t.Fatalf("no credentials written: %v", first)
	}
	second := run()
	for k, v := range first {
		if strings.HasSuffix(k, "_SECRET") && second[k] != v {
			t.Errorf("%s changed on the second run", k)
		}
	}

	pool, err := store.Open(ctx, env["AVIS_DATABASE_URL"], 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := store.NewClients(pool).RevokeClient(ctx, "sample-provider-2", time.Now()); err != nil {
		t.Fatal(err)
	}
	third := run()
	if _, ok := third["AVIS_PROVIDER2_SECRET"]; ok {
		t.Error("a revoked sample client's credentials were written again")
	}
	c, err := store.NewClients(pool).Client(ctx, "sample-provider-2")
	if err != nil || c.RevokedAt == nil {
		t.Fatalf("the revoked sample client is active again: %v", err)
	}
	if third["AVIS_PROVIDER_SECRET"] != first["AVIS_PROVIDER_SECRET"] {
		t.Error("the other clients' secrets changed")
	}
}
