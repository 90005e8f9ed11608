package gatewaytest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// Process is the real gateway binary run as a child process, for tests
// that kill it.
type Process struct {
	T   testing.TB
	Bin string
	Env []string
	URL string

	cmd *exec.Cmd
	log *bytes.Buffer
	// exited is closed once the process has ended and been waited for;
	// only one goroutine may call cmd.Wait.
	exited chan struct{}
}

// NewProcess builds the gateway binary and prepares it to run on a free
// loopback address with a database and a Redis prefix of its own, and one
// client (whose secret it returns). env is added to the environment. The
// pool, on the same database, is closed at the end of the test.
func NewProcess(t testing.TB, client auth.Client, env ...string) (*Process, *pgxpool.Pool, string) {
	t.Helper()
	bin := BuildBinary(t)
	dbURL := storetest.NewDatabase(t)
	_, prefix := storetest.NewRedis(t)
	pool, err := store.Open(context.Background(), dbURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	secret, err := auth.NewClientSecret()
	if err != nil {
		t.Fatal(err)
	}
	client.SecretHash = auth.HashSecret(secret)
	if err := store.NewClients(pool).AddClient(context.Background(), client); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	g := &Process{T: t, Bin: bin, URL: "http://" + addr, Env: append(append(os.Environ(),
		"AVIS_DATABASE_URL="+dbURL, "AVIS_ADDR="+addr, "AVIS_PUBLIC_URL=http://"+addr,
		"AVIS_REDIS_ADDR="+storetest.RedisAddr(), "AVIS_REDIS_PREFIX="+prefix,
		"AVIS_TOKEN_KEY_FILE="+filepath.Join(t.TempDir(), "token.key"),
		// Tests that sign pass their own keys in env.
		"AVIS_SIGNING_REQUIRED=false",
	), env...)}
	return g, pool, secret
}

// Token gets an access token for a client from the running process.
func (g *Process) Token(clientID, secret string) string {
	g.T.Helper()
	status, body := g.Do("POST", "/oauth/token", "", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
	}.Encode()), "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &tok) != nil {
		g.T.Fatalf("token: %d %s", status, body)
	}
	return tok.AccessToken
}

// BuildBinary builds cmd/gateway into the test's temporary directory.
func BuildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gateway")
	build := exec.Command("go", "build", "-o", bin, "github.com/avis-lv/gateway/cmd/gateway")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build gateway: %v\n%s", err, out)
	}
	return bin
}

// FreeAddr is a loopback address nothing listens on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

var processClient = &http.Client{Timeout: 30 * time.Second}

// Start runs `gateway serve` and waits until it is ready. The process is
// killed at the end of the test if it still runs.
func (g *Process) Start() {
	g.T.Helper()
	g.cmd = exec.Command(g.Bin, "serve")
	g.cmd.Env = g.Env
	g.log = &bytes.Buffer{}
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	if err := g.cmd.Start(); err != nil {
		g.T.Fatal(err)
	}
	cmd, exited := g.cmd, make(chan struct{})
	g.exited = exited
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	g.T.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := processClient.Get(g.URL + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.T.Fatalf("gateway did not start:\n%s", g.log)
}

// Kill sends SIGKILL and waits for the process to end.
func (g *Process) Kill() {
	g.T.Helper()
	g.Signal(syscall.SIGKILL)
	<-g.exited
}

// Terminate sends SIGTERM, as an orchestrator stopping the instance does,
// and returns a channel closed when the process has ended.
func (g *Process) Terminate() <-chan struct{} {
	g.T.Helper()
	g.Signal(syscall.SIGTERM)
	return g.exited
}

// Signal sends sig to the process and does not wait for it to end (after
// Terminate, its channel tells when it has).
func (g *Process) Signal(sig os.Signal) {
	g.T.Helper()
	if err := g.cmd.Process.Signal(sig); err != nil {
		g.T.Fatal(err)
	}
}

// Log is what the process wrote.
func (g *Process) Log() string { return g.log.String() }

// Do sends one request and fails the test if it gets no answer.
func (g *Process) Do(method, path, token string, body io.Reader, ctype string) (int, []byte) {
	g.T.Helper()
	status, b, err := g.Try(method, path, token, body, map[string]string{"Content-Type": ctype})
	if err != nil {
		g.T.Fatalf("%s %s: %v\n%s", method, path, err, g.log)
	}
	return status, b
}

// Try sends one request; an error is a request that got no answer.
func (g *Process) Try(method, path, token string, body io.Reader, headers map[string]string) (int, []byte, error) {
	req, err := http.NewRequest(method, g.URL+path, body)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	res, err := processClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}
