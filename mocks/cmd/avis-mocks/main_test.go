package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/mocks/registry"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigPrecedence(t *testing.T) {
	c, err := parseServeConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:8081" || c.size != 20000 || c.seed != 1 || c.tokenTTL != 15*time.Minute || len(c.trustedCerts) != 0 {
		t.Errorf("defaults: %+v", c)
	}
	vars := env(map[string]string{
		"AVIS_MOCKS_ADDR":          ":9000",
		"AVIS_MOCKS_SIZE":          "500",
		"AVIS_MOCKS_SEED":          "42",
		"AVIS_MOCKS_TRUSTED_CERTS": "a.crt, b.crt",
		"AVIS_MOCKS_PERMISSIONS":   "needy=N-1",
		"AVIS_MOCKS_TOKEN_TTL":     "1m",
	})
	c, err = parseServeConfig(nil, vars, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != ":9000" || c.size != 500 || c.seed != 42 || strings.Join(c.trustedCerts, "|") != "a.crt|b.crt" ||
		strings.Join(c.permissions, "|") != "needy=N-1" || c.tokenTTL != time.Minute {
		t.Errorf("from environment: %+v", c)
	}
	c, err = parseServeConfig([]string{"-size", "7", "-trusted-cert", "c.crt", "-trusted-cert", "d.crt", "-permission", "eid=E-1"}, vars, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.size != 7 || strings.Join(c.trustedCerts, "|") != "c.crt|d.crt" || strings.Join(c.permissions, "|") != "eid=E-1" || c.seed != 42 {
		t.Errorf("flags over environment: %+v", c)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{env: map[string]string{"AVIS_MOCKS_SIZE": "many"}, want: "AVIS_MOCKS_SIZE"},
		{env: map[string]string{"AVIS_MOCKS_TOKEN_TTL": "forever"}, want: "AVIS_MOCKS_TOKEN_TTL"},
		// expires_in would say 0, and clients refuse such a token.
		{env: map[string]string{"AVIS_MOCKS_TOKEN_TTL": "999ms"}, want: "-token-ttl (AVIS_MOCKS_TOKEN_TTL) 999ms: must be at least 1s"},
		{args: []string{"-token-ttl", "500ms"}, want: "-token-ttl (AVIS_MOCKS_TOKEN_TTL) 500ms: must be at least 1s"},
		{args: []string{"-token-ttl", "0s"}, want: "-token-ttl"},
		{args: []string{"-size", "0"}, want: "-size"},
		{args: []string{"-journal-size", "0"}, want: "-journal-size"},
		{args: []string{"-log-level", "loud"}, want: "-log-level"},
		{args: []string{"-log-format", "xml"}, want: "-log-format"},
		{args: []string{"extra"}, want: "unexpected"},
	}
	for _, tc := range tests {
		_, err := parseServeConfig(tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: err = %v, want it to name %s", tc.args, tc.env, err, tc.want)
		}
	}
	if c, err := parseServeConfig([]string{"-token-ttl", "1s"}, env(nil), io.Discard); err != nil || c.tokenTTL != time.Second {
		t.Errorf("-token-ttl 1s: %v", err)
	}
	c, _ := parseServeConfig([]string{"-permission", "taxes=1"}, env(nil), io.Discard)
	if _, err := c.serverConfig(time.Now(), nil); err == nil || !strings.Contains(err.Error(), "taxes") {
		t.Errorf("unknown data set in -permission: %v", err)
	}
	c, _ = parseServeConfig([]string{"-trusted-cert", "/nonexistent.crt"}, env(nil), io.Discard)
	if _, err := c.serverConfig(time.Now(), nil); err == nil || !strings.Contains(err.Error(), "-trusted-cert") {
		t.Errorf("missing certificate file: %v", err)
	}
	c, _ = parseServeConfig([]string{"-as-of", "2025-01-01"}, env(nil), io.Discard)
	if _, err := c.serverConfig(time.Now(), nil); err == nil || !strings.Contains(err.Error(), "as-of") {
		t.Errorf("as-of before the population: %v", err)
	}
}

func TestResolveAsOfDefaultsToRigaToday(t *testing.T) {
	// 23:30 UTC on 31 May is already 1 June in Riga.
	d, err := resolveAsOf("", time.Date(2026, 5, 31, 23, 30, 0, 0, time.UTC))
	if err != nil || d != registry.NewDate(2026, 6, 1) {
		t.Errorf("as-of = %s, %v", d, err)
	}
}

func writeKeys(t *testing.T) (keyFile, certFile string) {
	t.Helper()
	key, cert, err := signing.GenerateSelfSigned("avis-gateway-dev", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPEM, err := signing.EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, certFile = filepath.Join(dir, "gateway.key"), filepath.Join(dir, "gateway.crt")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, signing.EncodeCertificatePEM(cert), 0o600); err != nil {
		t.Fatal(err)
	}
	return keyFile, certFile
}

// TestServeEndToEnd runs the real command on a free port, logs in with a
// request from sign-token-request, reads a record, and shuts down.
func TestServeEndToEnd(t *testing.T) {
	keyFile, certFile := writeKeys(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-size", "500", "-as-of", "2026-06-01",
			"-trusted-cert", certFile, "-log-level", "error"}, env(nil), outW, io.Discard)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v", err)
	}
	go io.Copy(io.Discard, outR)
	base := strings.TrimSpace(strings.TrimPrefix(line, "avis-mocks listening on "))

	var signed bytes.Buffer
	if err := run(ctx, []string{"sign-token-request", "-key", keyFile, "-cert", certFile}, env(nil), &signed, io.Discard); err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(base+"/dagr/v1/token", "application/xml", &signed)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "access_token") {
		t.Fatalf("token: %d %s", res.StatusCode, body)
	}

	res, err = http.Get(base + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v on shutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestSignTokenRequestOptions(t *testing.T) {
	keyFile, certFile := writeKeys(t)
	var out bytes.Buffer
	args := []string{"-key", keyFile, "-cert", certFile, "-client-id", "qa-1", "-created", "2020-01-01T00:00:00Z", "-ttl", "1m", "-nonce", "fixed-nonce-0123456789"}
	if err := signTokenRequest(args, &out, io.Discard, time.Now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<ClientId>qa-1</ClientId>", "<Created>2020-01-01T00:00:00Z</Created>", "<Expires>2020-01-01T00:01:00Z</Expires>", "<Nonce>fixed-nonce-0123456789</Nonce>", "ds:Signature"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %s:\n%s", want, out.String())
		}
	}
	if err := signTokenRequest([]string{"-key", "/nope", "-cert", certFile}, io.Discard, io.Discard, time.Now); err == nil {
		t.Error("missing key accepted")
	}
	if err := signTokenRequest([]string{"-key", keyFile, "-cert", certFile, "-created", "yesterday"}, io.Discard, io.Discard, time.Now); err == nil {
		t.Error("bad -created accepted")
	}
	if err := run(context.Background(), []string{"frobnicate"}, env(nil), io.Discard, io.Discard); err == nil {
		t.Error("unknown command accepted")
	}
}
