package listsapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
	"github.com/avis-lv/gateway/internal/listfile"
	"github.com/avis-lv/gateway/internal/listfile/listgen"
	"github.com/avis-lv/gateway/internal/problem"
)

func TestUploadCSVApplied(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	u := uploadAndWait(h, tk.a, "riga-meals", form{file: csvFile(
		oldCode(t, 1)+";2026-01-01;2026-12-31",
		newCode(2)+";01.02.2026;",
	)})
	if u.Status != "applied" || u.ListVersion == nil || *u.ListVersion != 1 || *u.ValidRows != 2 {
		t.Fatalf("upload %+v", u)
	}
	// A finished upload has read its whole file: the progress a clerk
	// watches ends at bytesRead = bytes, however fast processing was.
	if u.RowsRead != 2 || u.Bytes == 0 || u.BytesRead != u.Bytes {
		t.Fatalf("progress of a finished upload: rowsRead %d, bytesRead %d of %d bytes", u.RowsRead, u.BytesRead, u.Bytes)
	}
	l := getList(h, tk.a, "riga-meals")
	if l.Version != 1 || l.Size != 2 {
		t.Fatalf("list %+v", l)
	}
}

func TestUploadStatuses(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t, func(c *config.Config) { c.UploadMaxBytes = 64 << 10 })
	tk := newTokens(h)
	if res := h.Do("POST", "/v1/lists/owned-by-b/members", tk.b, push{"replace", members(0, 1)}, "Idempotency-Key", "setup-b-0001"); res.Status != 200 {
		t.Fatalf("setup: %d %s", res.Status, res.Body)
	}
	okFile := csvFile(newCode(1) + ";2026-01-01;")
	okBody, okType := form{file: okFile}.encode(t)
	tests := []struct {
		name    string
		list    string
		token   string
		body    []byte
		ctype   string
		form    form
		status  int
		ptype   string
		pointer string
	}{
		{name: "csv", list: "st-ok", token: tk.a, body: okBody, ctype: okType, status: 202},
		{name: "fields before the file", list: "st-ok2", token: tk.a, form: form{file: okFile, policy: "skip-invalid", mode: "add", fileLast: true}, status: 202},
		{name: "no file", list: "st-bad", token: tk.a, form: form{noFile: true, policy: "skip-invalid"}, status: 400, ptype: problem.Validation.Type(), pointer: "/file"},
		{name: "empty file", list: "st-bad", token: tk.a, form: form{file: []byte{}}, status: 400, ptype: problem.Validation.Type(), pointer: "/file"},
		{name: "bad policy", list: "st-bad", token: tk.a, form: form{file: okFile, policy: "most"}, status: 400, ptype: problem.Validation.Type(), pointer: "/policy"},
		{name: "bad mode", list: "st-bad", token: tk.a, form: form{file: okFile, mode: "merge"}, status: 400, ptype: problem.Validation.Type(), pointer: "/mode"},
		{name: "pdf", list: "st-bad", token: tk.a, form: form{file: []byte("%PDF-1.7\n..."), filename: "list.pdf"}, status: 415, ptype: problem.UnsupportedMedia.Type()},
		{name: "old excel", list: "st-bad", token: tk.a, form: form{file: append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...), filename: "list.xls"}, status: 415, ptype: problem.UnsupportedMedia.Type()},
		{name: "json body", list: "st-bad", token: tk.a, body: []byte(`{"file":"x"}`), ctype: "application/json", status: 415, ptype: problem.UnsupportedMedia.Type()},
		{name: "too large", list: "st-bad", token: tk.a, form: form{file: bytes.Repeat(okFile, 2000)}, status: 413, ptype: problem.TooLarge.Type()},
		{name: "another grantor's list", list: "owned-by-b", token: tk.a, body: okBody, ctype: okType, status: 403, ptype: problem.NotOwner.Type()},
		{name: "provider", list: "st-prov", token: tk.prov, body: okBody, ctype: okType, status: 403, ptype: problem.Forbidden.Type()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, ctype := tc.body, tc.ctype
			if body == nil {
				body, ctype = tc.form.encode(t)
			}
			res := h.Do("POST", "/v1/lists/"+tc.list+"/uploads", tc.token, body, "Content-Type", ctype)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			if tc.status == 202 {
				var u uploadView
				res.JSON(t, &u)
				if u.Status != "queued" || u.ListID != tc.list || res.Header.Get("Location") != "/v1/uploads/"+u.ID {
					t.Fatalf("%+v %v", u, res.Header)
				}
				if w := waitUpload(h, tk.a, u.ID); w.Status != "applied" {
					t.Fatalf("ended %+v", w)
				}
				return
			}
			p := res.Problem(t)
			if p.Type != tc.ptype {
				t.Fatalf("type %s, want %s", p.Type, tc.ptype)
			}
			if tc.pointer != "" && (len(p.Errors) == 0 || p.Errors[0].Pointer != tc.pointer) {
				t.Fatalf("errors %+v, want pointer %s", p.Errors, tc.pointer)
			}
		})
	}
	// A refused file is explained in the clerk's language, in the field
	// error as in the problem's detail.
	body, ctype := form{file: []byte("%PDF-1.7\n..."), filename: "list.pdf"}.encode(t)
	res := h.Do("POST", "/v1/lists/st-bad/uploads", tk.a, body, "Content-Type", ctype, "Accept-Language", "lv")
	lv := listfile.FileError{Code: listfile.CodeFileFormat, Detail: "PDF"}.Message("lv")
	if p := res.Problem(t); res.Status != 415 || p.Detail != lv || len(p.Errors) != 1 || p.Errors[0].Code != listfile.CodeFileFormat || p.Errors[0].Detail != lv {
		t.Fatalf("Latvian refusal: %d %s", res.Status, res.Body)
	}
	// Refused uploads store nothing and create no list.
	if res := h.Do("GET", "/v1/lists/st-bad", tk.a, nil); res.Status != 404 {
		t.Fatalf("st-bad: %d %s", res.Status, res.Body)
	}
}

func TestUploadIdempotency(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	f := form{file: csvFile(newCode(1) + ";2026-01-01;")}
	first := upload(h, tk.a, "idem", f, "Idempotency-Key", "upload-key-1")
	again := upload(h, tk.a, "idem", f, "Idempotency-Key", "upload-key-1")
	var u1, u2 uploadView
	first.JSON(t, &u1)
	again.JSON(t, &u2)
	if first.Status != 202 || again.Status != 202 || u1.ID != u2.ID {
		t.Fatalf("replay: %d %s / %d %s", first.Status, first.Body, again.Status, again.Body)
	}
	other := upload(h, tk.a, "idem", form{file: csvFile(newCode(2) + ";2026-01-01;")}, "Idempotency-Key", "upload-key-1")
	if other.Status != 422 || other.Problem(t).Type != problem.IdempotencyReuse.Type() {
		t.Fatalf("reuse: %d %s", other.Status, other.Body)
	}
	waitUpload(h, tk.a, u1.ID)
	if l := getList(h, tk.a, "idem"); l.Version != 1 {
		t.Fatalf("one upload, two versions? %+v", l)
	}
}

// GET /v1/uploads/{id} says how many listed persons with a bad row kept
// their entry in a skip-invalid replacement.
func TestUploadKeptRows(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	uploadAndWait(h, tk.a, "kept", form{file: csvFile(newCode(1)+";2026-01-01;", newCode(2)+";2026-01-01;")})
	u := uploadAndWait(h, tk.a, "kept", form{policy: "skip-invalid", file: csvFile(
		newCode(1)+";2026-02-30;",
		newCode(3)+";2026-01-01;",
	)})
	if u.Status != "applied" || *u.ValidRows != 1 || *u.InvalidRows != 1 || u.KeptRows == nil || *u.KeptRows != 1 {
		t.Fatalf("%+v", u)
	}
	if l := getList(h, tk.a, "kept"); l.Size != 2 || *l.Added != 1 || *l.Removed != 1 {
		t.Fatalf("%+v", l)
	}
}

func TestUploadReadAndReport(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	u := uploadAndWait(h, tk.a, "report", form{policy: "skip-invalid", file: csvFile(
		newCode(1)+";2026-01-01;",
		badChecksum(t, 1)+";2026-01-01;",
		newCode(2)+";2026-13-01;",
		newCode(3)+";2026-05-01;2026-04-01",
		newCode(1)+";2026-01-01;",
		newCode(4)+";2026-01-01;",
	)})
	if u.Status != "applied" || *u.ValidRows != 2 || *u.InvalidRows != 4 || *u.RowsTotal != 6 || u.RowsRead != 6 || u.BytesRead != u.Bytes {
		t.Fatalf("%+v", u)
	}
	if l := getList(h, tk.a, "report"); l.Size != 2 {
		t.Fatalf("%+v", l)
	}
	// Paged JSON in Latvian, two lines a page.
	var all []string
	cursor := ""
	for page := 0; ; page++ {
		path := "/v1/uploads/" + u.ID + "/errors?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := h.Do("GET", path, tk.a, nil, "Accept-Language", "lv")
		if res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var p errorPage
		res.JSON(t, &p)
		if p.Total != 4 || p.Fatal {
			t.Fatalf("page %+v", p)
		}
		for _, it := range p.Items {
			all = append(all, fmt.Sprintf("%d %s %s", it.Row, it.Code, it.Column))
			if !strings.Contains(it.Message, "rinda") {
				t.Errorf("message not Latvian: %q", it.Message)
			}
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
		if page > 3 {
			t.Fatal("pages do not end")
		}
	}
	want := []string{
		"3 person_code.invalid_checksum personas_kods",
		"4 date.invalid derīgs_no",
		"5 date.order derīgs_līdz",
		"6 row.duplicate personas_kods",
	}
	if strings.Join(all, "\n") != strings.Join(want, "\n") {
		t.Fatalf("report:\n%s\nwant:\n%s", strings.Join(all, "\n"), strings.Join(want, "\n"))
	}
	for _, tc := range []struct {
		name, path, token string
		status            int
	}{
		{"own upload", "/v1/uploads/" + u.ID, tk.a, 200},
		{"another grantor's upload", "/v1/uploads/" + u.ID, tk.b, 403},
		{"another grantor's report", "/v1/uploads/" + u.ID + "/errors", tk.b, 403},
		{"provider", "/v1/uploads/" + u.ID, tk.prov, 403},
		{"unknown upload", "/v1/uploads/5f0c4bb8-5d7d-4a43-9b0f-4b1d1f3bd0a1", tk.a, 404},
		{"unknown report", "/v1/uploads/5f0c4bb8-5d7d-4a43-9b0f-4b1d1f3bd0a1/errors", tk.a, 404},
		{"not a uuid", "/v1/uploads/42", tk.a, 400},
		{"foreign cursor", "/v1/uploads/" + u.ID + "/errors?cursor=bm9wZQ", tk.a, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if res := h.Do("GET", tc.path, tc.token, nil); res.Status != tc.status {
				t.Fatalf("%d, want %d: %s", res.Status, tc.status, res.Body)
			}
		})
	}
}

func TestUploadModesAndXLSX(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	u := uploadAndWait(h, tk.a, "modes", form{file: xlsxFile(t, 500), filename: "list.xlsx", policy: "skip-invalid"})
	if u.Status != "applied" || u.Format != "xlsx" || *u.RowsTotal != 500 || u.RowsRead != 500 || u.BytesRead <= 0 || u.BytesRead > u.Bytes {
		t.Fatalf("xlsx: %+v", u)
	}
	base := getList(h, tk.a, "modes")
	if base.Size != *u.ValidRows {
		t.Fatalf("%+v vs %+v", base, u)
	}
	u = uploadAndWait(h, tk.a, "modes", form{mode: "add", file: csvFile(newCode(1)+";2026-01-01;", newCode(2)+";2026-01-01;")})
	if l := getList(h, tk.a, "modes"); u.Status != "applied" || l.Size != base.Size+2 || *l.Added != 2 {
		t.Fatalf("add: %+v %+v", u, l)
	}
	u = uploadAndWait(h, tk.a, "modes", form{mode: "remove", file: csvFile(newCode(1) + ";2026-01-01;")})
	if l := getList(h, tk.a, "modes"); u.Status != "applied" || l.Size != base.Size+1 || *l.Removed != 1 || l.Version != 3 {
		t.Fatalf("remove: %+v %+v", u, l)
	}
	// Removal needs codes only: no date column, or dates nobody checks.
	u = uploadAndWait(h, tk.a, "modes", form{mode: "remove", file: []byte("personas_kods\n" + newCode(2) + "\n")})
	if l := getList(h, tk.a, "modes"); u.Status != "applied" || l.Size != base.Size || *l.Removed != 1 || l.Version != 4 {
		t.Fatalf("remove by codes alone: %+v %+v", u, l)
	}
	u = uploadAndWait(h, tk.a, "modes", form{mode: "remove", file: csvFile(newCode(3) + ";not a date;")})
	if u.Status != "applied" || *u.InvalidRows != 0 {
		t.Fatalf("remove with a date nobody uses: %+v", u)
	}
	// Adding still needs the dates.
	if u := uploadAndWait(h, tk.a, "modes", form{mode: "add", file: []byte("personas_kods\n" + newCode(4) + "\n")}); u.Status != "rejected" {
		t.Fatalf("add without dates: %+v", u)
	}
}

// TestUploadIsStreamed checks that an upload goes from the socket to
// storage in small pieces: the server must not hold the file in memory
// (a 200 MB upload would otherwise cost 200 MB, or more, per request).
// Not parallel: it reads the process's allocation counter.
func TestUploadIsStreamed(t *testing.T) {
	h := gatewaytest.New(t, func(c *config.Config) { c.UploadWorkers = 0 })
	tk := newTokens(h)
	var file bytes.Buffer
	if _, err := listgen.WriteCSV(&file, listgen.Options{Rows: 400_000, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	body, ctype := form{file: file.Bytes()}.encode(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := h.Do("POST", "/v1/lists/streamed/uploads", tk.a, body, "Content-Type", ctype)
	runtime.ReadMemStats(&after)
	if res.Status != 202 {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	if alloc > uint64(file.Len()/2) {
		t.Fatalf("storing a %d-byte upload allocated %d bytes: the body is buffered somewhere", file.Len(), alloc)
	}
	t.Logf("storing a %d-byte upload allocated %d bytes", file.Len(), alloc)
}

// TestSlowUploadHoldsNoTransaction sends a file slowly: while it arrives,
// no database connection is busy with it.
func TestSlowUploadHoldsNoTransaction(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t, func(c *config.Config) { c.UploadWorkers = 0 })
	tk := newTokens(h)
	var file bytes.Buffer
	if _, err := listgen.WriteCSV(&file, listgen.Options{Rows: 20_000, Seed: 6}); err != nil {
		t.Fatal(err)
	}
	body, ctype := form{file: file.Bytes()}.encode(t)
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", h.URL+"/v1/lists/slow/uploads", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tk.a)
	req.Header.Set("Content-Type", ctype)
	req.ContentLength = int64(len(body))
	answered := make(chan int, 1)
	go func() {
		res, err := h.Client.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		res.Body.Close()
		answered <- res.StatusCode
	}()
	if _, err := pw.Write(body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the first half is in, the rest is late
	var open int
	if err := h.App.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()
		  AND (state LIKE 'idle in transaction%' OR (state = 'active' AND query LIKE '%list_upload%'))`).Scan(&open); err != nil {
		t.Fatal(err)
	}
	if open != 0 {
		t.Errorf("%d database connections busy with the upload while the file arrives", open)
	}
	if _, err := pw.Write(body[len(body)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if status := <-answered; status != http.StatusAccepted {
		t.Fatalf("upload answered %d", status)
	}
}

// The 202 shows the upload's createdAt as its later status does.
func TestUploadAnswerInstantMatchesStatus(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	tk := newTokens(h)
	res := upload(h, tk.a, "riga-meals", form{file: csvFile(oldCode(t, 1) + ";2026-01-01;2026-12-31")})
	if res.Status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", res.Status, res.Body)
	}
	var accepted struct {
		ID        string `json:"id"`
		CreatedAt string `json:"createdAt"`
	}
	res.JSON(t, &accepted)
	later := accepted
	h.Do("GET", "/v1/uploads/"+accepted.ID, tk.a, nil).JSON(t, &later)
	if later.CreatedAt != accepted.CreatedAt || accepted.CreatedAt == "" {
		t.Errorf("202 createdAt %q, status createdAt %q", accepted.CreatedAt, later.CreatedAt)
	}
	waitUpload(h, tk.a, accepted.ID)
}
