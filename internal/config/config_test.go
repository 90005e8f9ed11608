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

func TestRetentionDefaults(t *testing.T) {
	c, err := Load("test", nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want time.Duration
	}{
		{"AVIS_LIST_SET_RETENTION", c.ListSetRetention, 7 * 24 * time.Hour},
		{"AVIS_AUDIT_RETENTION", c.AuditRetention, 365 * 24 * time.Hour},
		{"AVIS_IDEMPOTENCY_RETENTION", c.IdempotencyRetention, 30 * 24 * time.Hour},
		{"AVIS_UPLOAD_REPORT_RETENTION", c.UploadReportRetention, 90 * 24 * time.Hour},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	for _, kv := range [][2]string{{"AVIS_TOKEN_TTL", "soon"}, {"AVIS_DB_MAX_CONNS", "many"}, {"AVIS_LOG_FORMAT", "xml"}, {"AVIS_BENCH_ROUTES", "perhaps"},
		{"AVIS_IDEMPOTENCY_RETENTION", "0s"}, {"AVIS_IDEMPOTENCY_RETENTION", "-1h"}, {"AVIS_IDEMPOTENCY_RETENTION", "a month"},
		{"AVIS_UPLOAD_REPORT_RETENTION", "0s"}, {"AVIS_UPLOAD_REPORT_RETENTION", "-1h"}, {"AVIS_UPLOAD_REPORT_RETENTION", "240h"},
		{"AVIS_DECISION_TTL", "2h"}, {"AVIS_DECISION_TTL", "0s"},
		// Values out of range start nothing that cannot work: every token
		// expired at birth, a pool of no connections, a lease shorter than
		// its renewal, a URL without a scheme.
		{"AVIS_TOKEN_TTL", "-1m"}, {"AVIS_DB_MAX_CONNS", "-3"}, {"AVIS_UPLOAD_WORKERS", "-1"}, {"AVIS_SHUTDOWN_TIMEOUT", "0s"},
		{"AVIS_REGISTRY_TIMEOUT", "-1s"}, {"AVIS_REDIS_DB", "-1"}, {"AVIS_DB_MAX_CONNS", "2"}, {"AVIS_BODY_LIMIT", "-1"}, {"AVIS_TOKEN_RATE_LIMIT", "-5"},
		{"AVIS_UPLOAD_LEASE", "1ms"}, {"AVIS_AUDIT_RETENTION", "0s"}, {"AVIS_LIST_SET_RETENTION", "-1h"}, {"AVIS_UPLOAD_MAX_BYTES", "0"},
		{"AVIS_ELIGIBILITY_CACHE_TTL", "0s"}, {"AVIS_REQUEST_TIMEOUT", "0s"}, {"AVIS_REGISTRY_MAX_CONCURRENT", "0"},
		{"AVIS_PUBLIC_URL", "gateway.example.lv"}, {"AVIS_PUBLIC_URL", "http://:8080"}, {"AVIS_PUBLIC_URL", "ftp://gateway.example.lv"}, {"AVIS_MOCKS_URL", "127.0.0.1:8081"}} {
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
	for _, db := range []string{
		"postgres://u:hunter2@db/avis",
		"postgres://u@db/avis?password=hunter2",
		"host=db user=u password=hunter2 dbname=avis",
	} {
		c, err := Load("test", nil, func(k string) string {
			return map[string]string{"AVIS_DATABASE_URL": db, "AVIS_REDIS_PASSWORD": "s3cret"}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		s := c.LogValue().String()
		if strings.Contains(s, "hunter2") || strings.Contains(s, "s3cret") {
			t.Errorf("secret in log value: %s", s)
		}
		if !strings.Contains(s, "u@db:5432/avis") {
			t.Errorf("log value does not name the database: %s", s)
		}
	}
}

// Usage and flag errors print every flag's default; a secret from the
// environment must not be among them, yet still apply, and a flag still
// wins over it.
func TestSecretsStayOutOfUsage(t *testing.T) {
	env := map[string]string{"AVIS_DATABASE_URL": "postgres://u:hunter2@db/avis", "AVIS_REDIS_PASSWORD": "s3cret"}
	var usage strings.Builder
	_, err := load("test", []string{"-no-such-flag"}, func(k string) string { return env[k] }, &usage)
	if err == nil {
		t.Fatal("unknown flag accepted")
	}
	if strings.Contains(usage.String(), "hunter2") || strings.Contains(usage.String(), "s3cret") {
		t.Fatalf("secret in usage output:\n%s", usage.String())
	}
	c, err := Load("test", nil, func(k string) string { return env[k] })
	if err != nil || c.DatabaseURL != env["AVIS_DATABASE_URL"] || c.RedisPassword != "s3cret" {
		t.Fatalf("secrets from the environment not applied: %v %+v", err, c)
	}
	c, err = Load("test", []string{"-redis-password", "other"}, func(k string) string { return env[k] })
	if err != nil || c.RedisPassword != "other" {
		t.Fatalf("flag does not win over the environment: %v", err)
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
	// The table is generated: a hand edit would be lost at the next
	// 'make docs'.
	if !strings.Contains(string(readme), "-->\n"+strings.TrimSuffix(Markdown(), "\n")+"\n<!-- config:end -->") {
		t.Error("README's configuration table is not what 'gateway config-doc' prints: run 'make docs', and edit texts in config.go")
	}
}

// A loopback gateway or mocks address moved without its URL is followed by
// the URL.
func TestURLsFollowAddresses(t *testing.T) {
	for _, tt := range []struct {
		env           map[string]string
		args          []string
		public, mocks string
	}{
		{nil, nil, "http://127.0.0.1:8080", "http://127.0.0.1:8081"},
		{map[string]string{"AVIS_ADDR": "127.0.0.1:18280", "AVIS_MOCKS_ADDR": "127.0.0.1:18281"}, nil, "http://127.0.0.1:18280", "http://127.0.0.1:18281"},
		{nil, []string{"-addr", "127.0.0.1:9000"}, "http://127.0.0.1:9000", "http://127.0.0.1:8081"},
		{map[string]string{"AVIS_ADDR": "0.0.0.0:8080", "AVIS_PUBLIC_URL": "https://avis.example.lv", "AVIS_MOCKS_ADDR": "127.0.0.1:1", "AVIS_MOCKS_URL": "https://dagr.example.lv"},
			nil, "https://avis.example.lv", "https://dagr.example.lv"},
		{map[string]string{"AVIS_ADDR": "0.0.0.0:8080"}, []string{"-public-url", "https://avis.example.lv"}, "https://avis.example.lv", "http://127.0.0.1:8081"},
		// A wildcard or public address is not a URL anyone reaches, and a
		// deployment keeps the token issuer it had.
		{map[string]string{"AVIS_ADDR": "0.0.0.0:9000", "AVIS_MOCKS_ADDR": ":9001"}, nil, "http://127.0.0.1:8080", "http://127.0.0.1:8081"},
		{map[string]string{"AVIS_ADDR": "localhost:9000"}, nil, "http://localhost:9000", "http://127.0.0.1:8081"},
	} {
		c, err := Load("test", tt.args, func(k string) string { return tt.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if c.PublicURL != tt.public || c.MocksURL != tt.mocks {
			t.Errorf("%v %v: public %s mocks %s, want %s and %s", tt.env, tt.args, c.PublicURL, c.MocksURL, tt.public, tt.mocks)
		}
	}
}

// A longer idempotency window carries the upload report retention with it
// unless that is set.
func TestUploadReportRetentionFollowsIdempotency(t *testing.T) {
	env := map[string]string{"AVIS_IDEMPOTENCY_RETENTION": "4000h"}
	c, err := Load("test", nil, func(k string) string { return env[k] })
	if err != nil || c.UploadReportRetention != 4000*time.Hour {
		t.Fatalf("retention %s, %v", c.UploadReportRetention, err)
	}
	env["AVIS_UPLOAD_REPORT_RETENTION"] = "3000h"
	if _, err := Load("test", nil, func(k string) string { return env[k] }); err == nil {
		t.Error("a report retention set shorter than the idempotency window is accepted")
	}
}
