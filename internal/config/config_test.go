package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestLoadPrecedence(t *testing.T) {
	env := map[string]string{"AVIS_ADDR": "127.0.0.1:9000", "AVIS_TOKEN_TTL": "2m"}
	c, err := Load("test", []string{"-token-ttl", "90s"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.TokenTTL != 90*time.Second || c.RedisAddr != "127.0.0.1:6379" {
		t.Fatalf("default < env < flag broken: %+v", c)
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	for _, kv := range [][2]string{{"AVIS_TOKEN_TTL", "soon"}, {"AVIS_DB_MAX_CONNS", "many"}, {"AVIS_LOG_FORMAT", "xml"}, {"AVIS_BENCH_ROUTES", "perhaps"}} {
		if _, err := Load("test", nil, func(k string) string {
			if k == kv[0] {
				return kv[1]
			}
			return ""
		}); err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s=%s: error %v should name the variable", kv[0], kv[1], err)
		}
	}
}

func TestSecretsAreMaskedInLogs(t *testing.T) {
	c, _ := Load("test", nil, func(k string) string {
		return map[string]string{"AVIS_DATABASE_URL": "postgres://u:hunter2@db/avis", "AVIS_REDIS_PASSWORD": "s3cret"}[k]
	})
	if s := c.LogValue().String(); strings.Contains(s, "hunter2") || strings.Contains(s, "s3cret") {
		t.Fatalf("secret in log value: %s", s)
	}
}

// The README documents every setting; this keeps it honest.
func TestReadmeDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Skip("README not found")
	}
	for _, s := range settings() {
		if !strings.Contains(string(readme), "`"+s.env+"`") {
			t.Errorf("README lacks %s: run 'make docs'", s.env)
		}
	}
}
