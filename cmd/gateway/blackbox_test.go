package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/avis-lv/gateway/api"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// TestBlackBox drives the built gateway binary the way an integrator does:
// the operator registers clients with the CLI, then a grantor and a provider
// use the HTTP API through the client generated from the contract.
func TestBlackBox(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gateway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := append(os.Environ(),
		"AVIS_DATABASE_URL="+storetest.NewDatabase(t),
		"AVIS_REDIS_ADDR="+storetest.RedisAddr(),
		"AVIS_REDIS_PREFIX=blackbox:"+filepath.Base(dir)+":",
		"AVIS_TOKEN_KEY_FILE="+filepath.Join(dir, "token.key"),
		fmt.Sprintf("AVIS_ADDR=127.0.0.1:%d", port),
		"AVIS_PUBLIC_URL="+base,
		"AVIS_LOG_LEVEL=warn",
		"AVIS_SIGNING_REQUIRED=false",
	)
	var stdin string // what the next cli call reads
	cli := func(args ...string) []byte {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gateway %v: %v\n%s", args, err, stderr.String())
		}
		return out
	}
	type creds struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	var grantor, provider creds
	json.Unmarshal(cli("clients", "add", "-id", "riga", "-org", "90000000001", "-org-name", "Rīga", "-roles", "grantor"), &grantor)
	json.Unmarshal(cli("clients", "add", "-id", "bus", "-org", "40000000001", "-org-name", "Bus SIA", "-roles", "provider"), &provider)
	if grantor.ClientSecret == "" || provider.ClientSecret == "" {
		t.Fatal("clients add printed no secret")
	}
	if list := string(cli("clients", "list")); !strings.Contains(list, "riga") || !strings.Contains(list, "bus") {
		t.Fatalf("clients list:\n%s", list)
	}

	srv := exec.Command(bin, "serve")
	srv.Env = env
	var logs bytes.Buffer
	srv.Stderr = &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() {
		_ = srv.Process.Kill()
	})
	waitReady(t, base+"/readyz")

	ctx := context.Background()
	token := func(c creds) string {
		cl, _ := api.NewClientWithResponses(base)
		id, secret := c.ClientID, c.ClientSecret
		res, err := cl.IssueTokenWithFormdataBodyWithResponse(ctx, nil, api.TokenRequest{GrantType: "client_credentials", ClientId: &id, ClientSecret: &secret})
		if err != nil || res.JSON200 == nil {
			t.Fatalf("token: %v %s", err, res.Body)
		}
		return res.JSON200.AccessToken
	}
	as := func(tok string) *api.ClientWithResponses {
		cl, err := api.NewClientWithResponses(base, api.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+tok)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	g, p := as(token(grantor)), as(token(provider))

	// A secret rotated with an overlap: both work until it ends.
	var rotated struct {
		creds
		Until string `json:"previous_secret_valid_until"`
	}
	json.Unmarshal(cli("clients", "rotate-secret", "-id", "riga", "-overlap", "1h"), &rotated)
	if rotated.ClientSecret == "" || rotated.ClientSecret == grantor.ClientSecret || rotated.Until == "" {
		t.Fatalf("clients rotate-secret printed %+v", rotated)
	}
	token(rotated.creds)
	token(grantor)

	group := api.RegistryGroup("pensioners")
	in := api.BenefitInstruction{
		Name: "Bezmaksas braucieni", Category: "transport", EkkCode: "6421",
		ValidFrom: openapi_types.Date{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		Priority:  10, Discount: api.Discount{Type: "free"},
		GoodsCodes: []string{"transport.ride"}, Providers: []string{"40000000001"},
		RecipientGroup: api.RecipientGroup{RegistryGroup: &group},
	}
	put, err := g.PutBenefitWithResponse(ctx, "riga-rides", nil, in)
	if err != nil || put.JSON201 == nil || put.JSON201.Version != 1 {
		t.Fatalf("create benefit: %v %d %s", err, put.StatusCode(), put.Body)
	}

	feed, err := p.ListInstructionsWithResponse(ctx, &api.ListInstructionsParams{})
	if err != nil || feed.JSON200 == nil || len(feed.JSON200.Items) != 1 || feed.JSON200.Items[0].BenefitId != "riga-rides" {
		t.Fatalf("provider feed: %v %s", err, feed.Body)
	}
	etag := feed.HTTPResponse.Header.Get("ETag")
	var notModified bool
	for range 30 { // the head follows a PostgreSQL notification
		again, err := p.ListInstructionsWithResponse(ctx, &api.ListInstructionsParams{IfNoneMatch: &etag})
		if err != nil {
			t.Fatal(err)
		}
		if again.StatusCode() == http.StatusNotModified {
			notModified = true
			break
		}
		etag = again.HTTPResponse.Header.Get("ETag")
		time.Sleep(50 * time.Millisecond)
	}
	if !notModified {
		t.Fatal("unchanged feed never answered 304")
	}

	var jelgava creds
	json.Unmarshal(cli("clients", "add", "-id", "jelgava", "-org", "90000000002", "-org-name", "Jelgava", "-roles", "grantor"), &jelgava)
	j := as(token(jelgava))
	forbidden, err := j.GetBenefitWithResponse(ctx, "riga-rides", nil)
	if err != nil || forbidden.StatusCode() != http.StatusForbidden || forbidden.ApplicationproblemJSON403 == nil {
		t.Fatalf("other grantor: %v %d %s", err, forbidden.StatusCode(), forbidden.Body)
	}

	bad, err := g.PutBenefitWithBodyWithResponse(ctx, "riga-rides", nil, "application/json", strings.NewReader(`{"name":"x","category":"transport","ekkCode":"64","validFrom":"2026-01-01","priority":1,"combinable":true,"discount":{"type":"free"},"goodsCodes":["*"],"providers":["40000000001"],"recipientGroup":{"registryGroup":"pensioners"}}`))
	if err != nil || bad.ApplicationproblemJSON400 == nil {
		t.Fatalf("malformed body: %v %d %s", err, bad.StatusCode(), bad.Body)
	}
	errs := bad.ApplicationproblemJSON400.Errors
	if errs == nil || len(*errs) != 1 || (*errs)[0].Pointer == nil || *(*errs)[0].Pointer != "/ekkCode" {
		t.Fatalf("problem does not name /ekkCode: %s", bad.Body)
	}

	// An eligibility check is audited: the operator can tell who asked about
	// the person, without the personal code stored anywhere.
	check, err := p.CheckEligibilityWithBodyWithResponse(ctx, nil, "application/json",
		strings.NewReader(`{"person":{"personCode":"010190-10001"},"pointOfSale":{"id":"till-1"}}`))
	if err != nil || check.StatusCode() != http.StatusOK {
		t.Fatalf("eligibility check: %v %d %s", err, check.StatusCode(), check.Body)
	}
	var audited []map[string]any
	for range 50 { // written with its decision's batch
		audited = audited[:0]
		stdin = "010190-10001\n" // the code stays out of ps
		for line := range strings.Lines(string(cli("audit", "-person-code", "-"))) {
			var c map[string]any
			if err := json.Unmarshal([]byte(line), &c); err != nil {
				t.Fatalf("audit line %q: %v", line, err)
			}
			audited = append(audited, c)
		}
		if len(audited) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(audited) != 1 || audited[0]["provider"] != "40000000001" {
		t.Fatalf("audit of the person's checks: %v", audited)
	}

	// Graceful shutdown on SIGTERM.
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("gateway did not stop on SIGTERM")
	}
	if strings.Contains(logs.String(), grantor.ClientSecret) {
		t.Fatal("a client secret reached the logs")
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitReady(t *testing.T, url string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", url)
}
