package listsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/listfile/listgen"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// gatewayProcess is the real gateway binary run as a child process.
type gatewayProcess struct {
	t   *testing.T
	bin string
	env []string
	url string
	cmd *exec.Cmd
	log *bytes.Buffer
}

func (g *gatewayProcess) start() {
	g.t.Helper()
	g.cmd = exec.Command(g.bin, "serve")
	g.cmd.Env = g.env
	g.log = &bytes.Buffer{}
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	if err := g.cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := crashClient.Get(g.url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.t.Fatalf("gateway did not start:\n%s", g.log)
}

func (g *gatewayProcess) kill() {
	g.t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		g.t.Fatal(err)
	}
	_ = g.cmd.Wait()
}

func (g *gatewayProcess) do(method, path, token string, body io.Reader, ctype string) (int, []byte) {
	g.t.Helper()
	req, err := http.NewRequest(method, g.url+path, body)
	if err != nil {
		g.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := crashClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v\n%s", method, path, err, g.log)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

var crashClient = &http.Client{Timeout: 30 * time.Second}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestKilledWhileProcessing runs the gateway binary, kills it with SIGKILL
// while it applies a large upload, and starts it again: the upload must end
// (applied, or failed with a reason), the list must be the old version or
// the complete new one at every moment, and the upload must not be lost.
func TestKilledWhileProcessing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway binary")
	}
	t.Parallel()
	const rows = 300_000
	dir := t.TempDir()
	bin := filepath.Join(dir, "gateway")
	build := exec.Command("go", "build", "-o", bin, "github.com/avis-lv/gateway/cmd/gateway")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build gateway: %v\n%s", err, out)
	}
	dbURL := storetest.NewDatabase(t)
	_, prefix := storetest.NewRedis(t)
	ctx := context.Background()
	pool, err := store.Open(ctx, dbURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	secret, _ := auth.NewClientSecret()
	if err := store.NewClients(pool).AddClient(ctx, auth.Client{ID: "crash-grantor", OrgRegNo: grantorA, OrgName: "Crash", Roles: []auth.Role{auth.RoleGrantor}, SecretHash: auth.HashSecret(secret)}); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	g := &gatewayProcess{t: t, bin: bin, url: "http://" + addr, env: append(os.Environ(),
		"AVIS_DATABASE_URL="+dbURL,
		"AVIS_ADDR="+addr,
		"AVIS_PUBLIC_URL=http://"+addr,
		"AVIS_REDIS_ADDR="+storetest.RedisAddr(),
		"AVIS_REDIS_PREFIX="+prefix,
		"AVIS_TOKEN_KEY_FILE="+filepath.Join(dir, "token.key"),
		"AVIS_UPLOAD_LEASE=2s",
		"AVIS_LOG_LEVEL=info",
	)}
	g.start()
	defer func() {
		if g.cmd.ProcessState == nil {
			g.kill()
		}
	}()

	status, body := g.do("POST", "/oauth/token", "", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"crash-grantor"}, "client_secret": {secret},
	}.Encode()), "application/x-www-form-urlencoded")
	if status != 200 {
		t.Fatalf("token: %d %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(body, &tok)

	var file bytes.Buffer
	if _, err := listgen.WriteCSV(&file, listgen.Options{Rows: rows, BadShare: 0, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "big.csv")
	fw.Write(file.Bytes())
	mw.Close()
	status, body = g.do("POST", "/v1/lists/crash/uploads", tok.AccessToken, &form, mw.FormDataContentType())
	if status != 202 {
		t.Fatalf("upload: %d %s", status, body)
	}
	var u uploadView
	json.Unmarshal(body, &u)

	// Kill it once processing has really started.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body = g.do("GET", "/v1/uploads/"+u.ID, tok.AccessToken, nil, "")
		json.Unmarshal(body, &u)
		if u.Status == "processing" || u.Status == "applied" || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	g.kill()
	t.Logf("killed with the upload %s (%d rows read)", u.Status, u.RowsRead)

	// While it is down: the list is old (version 0, empty) or complete.
	checkList := func(when string) (int, int64) {
		var version int
		var size, members int64
		var set *int64
		err := pool.QueryRow(ctx, `SELECT current_version, size, current_set FROM person_lists WHERE id = 'crash'`).Scan(&version, &size, &set)
		if err == nil && set != nil {
			err = pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM list_sets.s%d`, *set)).Scan(&members)
		}
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if !(version == 0 && members == 0) && !(version == 1 && members == rows && size == rows) {
			t.Fatalf("%s: half-applied list: version %d, size %d, %d members", when, version, size, members)
		}
		return version, members
	}
	checkList("after the kill")
	var stored string
	if err := pool.QueryRow(ctx, `SELECT status FROM list_uploads WHERE id = $1`, u.ID).Scan(&stored); err != nil {
		t.Fatalf("the acknowledged upload is gone: %v", err)
	}

	g.start()
	deadline = time.Now().Add(40 * time.Second)
	for {
		_, body = g.do("GET", "/v1/uploads/"+u.ID, tok.AccessToken, nil, "")
		json.Unmarshal(body, &u)
		if u.Status == "applied" || u.Status == "failed" || u.Status == "rejected" {
			break
		}
		checkList("while resuming")
		if time.Now().After(deadline) {
			t.Fatalf("upload still %s after restart\n%s", u.Status, g.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	switch u.Status {
	case "applied":
		if v, n := checkList("after restart"); v != 1 || n != rows {
			t.Fatalf("applied, but list version %d with %d members", v, n)
		}
	case "failed":
		if u.FailureReason == "" {
			t.Fatal("failed without a reason")
		}
		checkList("after failure")
	default:
		t.Fatalf("upload ended %s: %s", u.Status, body)
	}
	var attempts int
	pool.QueryRow(ctx, `SELECT attempts FROM list_uploads WHERE id = $1`, u.ID).Scan(&attempts)
	t.Logf("upload ended %s after %d attempts (it was %s when killed)", u.Status, attempts, stored)
	if stored == "processing" && attempts < 2 {
		t.Fatalf("the upload was being processed when killed, but ended after %d attempt", attempts)
	}
}
