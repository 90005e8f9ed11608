package main_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/avis-lv/gateway/internal/store/storetest"
)

// TestReadmeWalkthrough runs the README's curl walk-throughs, as written,
// against freshly built binaries, a new database and the sample data that
// `make run` loads: the README is the integrators' first contact, and a
// step that fails there is a defect like any other.
func TestReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	for _, tool := range []string{"curl", "jq", "xmlsec1", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing: scripts/testtools.sh installs it", tool)
			}
			t.Skipf("%s is missing (scripts/testtools.sh installs it)", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	var first, walk, lists string
	for _, b := range blocks {
		switch {
		case strings.Contains(b[1], "/v1/lists/demo-lunch/uploads") && lists == "":
			lists = b[1]
		case strings.Contains(b[1], "demo-half-price-pass") && first == "":
			first = b[1]
		case strings.Contains(b[1], "/v1/transactions") && strings.Contains(b[1], "xmlsec1") && walk == "":
			walk = b[1]
		}
	}
	if first == "" || walk == "" || lists == "" {
		t.Fatal("the README's walk-throughs are not where this test looks for them")
	}

	dir := t.TempDir()
	gw, mocks := filepath.Join(dir, "gateway"), filepath.Join(dir, "avis-mocks")
	for bin, pkg := range map[string]string{gw: ".", mocks: "../../mocks/cmd/avis-mocks"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	keys := filepath.Join(dir, "keys")
	if out, err := exec.Command("go", "run", "../../scripts/devkeys", "-dir", keys).CombinedOutput(); err != nil {
		t.Fatalf("devkeys: %v\n%s", err, out)
	}
	gwPort, mocksPort := freePort(t), freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", gwPort)
	mocksURL := fmt.Sprintf("http://127.0.0.1:%d", mocksPort)
	// A prefix of this run's own, its keys deleted when the test ends:
	// concurrent runs (other worktrees, -count) must not share cached
	// facts or list versions, and none may be left behind.
	_, redisPrefix := storetest.NewRedis(t)
	env := append(os.Environ(),
		"AVIS_DATABASE_URL="+storetest.NewDatabase(t),
		"AVIS_REDIS_ADDR="+storetest.RedisAddr(),
		"AVIS_REDIS_PREFIX="+redisPrefix,
		"AVIS_TOKEN_KEY_FILE="+filepath.Join(keys, "token.key"),
		"AVIS_SIGNING_KEY_FILE="+filepath.Join(keys, "gateway.key"),
		"AVIS_SIGNING_CERT_FILE="+filepath.Join(keys, "gateway.crt"),
		fmt.Sprintf("AVIS_ADDR=127.0.0.1:%d", gwPort),
		"AVIS_PUBLIC_URL="+base,
		"AVIS_MOCKS_URL="+mocksURL,
		"AVIS_LOG_LEVEL=warn",
	)
	creds := filepath.Join(dir, "sample-credentials.env")
	sample := exec.Command(gw, "sample", "-out", creds)
	sample.Env = env
	if out, err := sample.CombinedOutput(); err != nil {
		t.Fatalf("gateway sample: %v\n%s", err, out)
	}
	start := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("%s output:\n%s", filepath.Base(name), tail(logs.String(), 3000))
			}
		})
	}
	start(mocks, "-addr", fmt.Sprintf("127.0.0.1:%d", mocksPort), "-trusted-cert", filepath.Join(keys, "gateway.crt"), "-log-level", "warn")
	start(gw, "serve")
	waitReady(t, base+"/readyz")
	waitReady(t, mocksURL+"/healthz")
	// With a signing identity, its expiry is there to alert on.
	if res, err := http.Get(base + "/metrics"); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(body), "avis_signing_certificate_expiry_timestamp_seconds ") {
			t.Error("/metrics lacks the signing certificate's expiry")
		}
	}

	// The README's paths and addresses, pointed at this run's.
	adapt := func(script string) string {
		script = strings.ReplaceAll(script, "var/sample-credentials.env", creds)
		script = strings.ReplaceAll(script, "http://127.0.0.1:8081", mocksURL)
		script = strings.ReplaceAll(script, "/tmp/receipt.xml", filepath.Join(dir, "receipt.xml"))
		script = strings.ReplaceAll(script, "/tmp/gateway.pem", filepath.Join(dir, "gateway.pem"))
		script = strings.ReplaceAll(script, "/tmp/demo-lunch.csv", filepath.Join(dir, "demo-lunch.csv"))
		return script
	}
	run := func(name, script string) string {
		t.Helper()
		cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", adapt(script))
		cmd.Env = env
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		return string(out)
	}

	out := run("first walk-through", first)
	for _, want := range []string{
		"HTTP/1.1 201 Created", // the benefit
		"HTTP/1.1 304 Not Modified",
		`"items":[]`, // nothing new since the cursor
		"problems/not-owner",
		`"pointer":"/priority"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first walk-through: %q missing from its output:\n%s", want, tail(out, 4000))
		}
	}

	out = run("token → … → report walk-through", walk)
	for _, want := range []string{
		`"benefitId": "sample-pensioner-transport"`,
		`"discountCents": 150`,
		`"status": "accepted"`,
		`"signatureValid": true`,
		"\nOK\n", // xmlsec1
		`"totalDiscountCents": 150`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("walk-through: %q missing from its output:\n%s", want, tail(out, 6000))
		}
	}
	if strings.Contains(out, "problems/") {
		t.Errorf("walk-through answered a problem:\n%s", tail(out, 6000))
	}
	// The retry with the same key named the same transaction.
	ids := regexp.MustCompile(`(?m)^"([0-9a-f-]{36})"$`).FindAllStringSubmatch(out, -1)
	if len(ids) != 1 || !strings.Contains(out, `"id": "`+ids[0][1]+`"`) {
		t.Errorf("the retry did not name the first transaction (%v):\n%s", ids, tail(out, 6000))
	} else if !strings.Contains(out, `{"found":["`+ids[0][1]+`"]}`) {
		t.Errorf("the provider's reported transactions did not find it by receipt number:\n%s", tail(out, 6000))
	}

	out = run("person lists walk-through", lists)
	for _, want := range []string{
		`"version": 1`, // the push
		`"status": "applied"`,
		`"validRows": 1`,
		`"invalidRows": 1`,
		"person_code.invalid_checksum", // the error report
		`"status": "active"`,           // the benefit on the list
		`"version": 2`,                 // the list after the upload
	} {
		if !strings.Contains(out, want) {
			t.Errorf("person lists walk-through: %q missing from its output:\n%s", want, tail(out, 6000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
