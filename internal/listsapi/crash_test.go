package listsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
	"github.com/avis-lv/gateway/internal/listfile/listgen"
)

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
	g, pool, secret := gatewaytest.NewProcess(t,
		auth.Client{ID: "crash-grantor", OrgRegNo: grantorA, OrgName: "Crash", Roles: []auth.Role{auth.RoleGrantor}},
		"AVIS_UPLOAD_LEASE=2s", "AVIS_LOG_LEVEL=info")
	ctx := context.Background()
	g.Start()
	token := g.Token("crash-grantor", secret)

	var file bytes.Buffer
	if _, err := listgen.WriteCSV(&file, listgen.Options{Rows: rows, BadShare: 0, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "big.csv")
	fw.Write(file.Bytes())
	mw.Close()
	status, body := g.Do("POST", "/v1/lists/crash/uploads", token, &form, mw.FormDataContentType())
	if status != 202 {
		t.Fatalf("upload: %d %s", status, body)
	}
	var u uploadView
	json.Unmarshal(body, &u)

	// Kill it once processing has really started.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body = g.Do("GET", "/v1/uploads/"+u.ID, token, nil, "")
		json.Unmarshal(body, &u)
		if u.Status == "processing" || u.Status == "applied" || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	g.Kill()
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

	g.Start()
	deadline = time.Now().Add(40 * time.Second)
	for {
		_, body = g.Do("GET", "/v1/uploads/"+u.ID, token, nil, "")
		json.Unmarshal(body, &u)
		if u.Status == "applied" || u.Status == "failed" || u.Status == "rejected" {
			break
		}
		checkList("while resuming")
		if time.Now().After(deadline) {
			t.Fatalf("upload still %s after restart\n%s", u.Status, g.Log())
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
