package listsapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
	"github.com/avis-lv/gateway/internal/problem"
)

// part is one part of a hand-built upload form.
type part struct {
	name, filename string
	header         map[string]string
	body           []byte
}

func encodeParts(t testing.TB, parts ...part) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := `form-data; name="` + p.name + `"`
		if p.filename != "" {
			cd += `; filename="` + p.filename + `"`
		}
		h.Set("Content-Disposition", cd)
		for k, v := range p.header {
			h.Set(k, v)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.body)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

// openTransactions counts the connections to the test's database, other
// than the asking one, that are in a transaction holding an id or idle in
// one: what holds back the xmin horizon and a pooled connection.
func openTransactions(t testing.TB, h *gatewaytest.Harness) int {
	t.Helper()
	var n int
	if err := h.App.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
		  AND (state LIKE 'idle in transaction%' OR backend_xid IS NOT NULL)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStalledFormHoldsNoTransaction sends the whole file, then stalls in the
// field after it: while the rest of the form is late, no transaction is
// open for the upload. Only once the body has ended is it stored, and 202
// comes after that.
func TestStalledFormHoldsNoTransaction(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t, func(c *config.Config) { c.UploadWorkers = 0 })
	tk := newTokens(h)
	body, ctype := encodeParts(t,
		part{name: "file", filename: "list.csv", body: csvFile(newCode(1)+";2026-01-01;", newCode(2)+";2026-01-01;")},
		part{name: "note", body: []byte("trickled")},
		part{name: "policy", body: []byte("skip-invalid")},
	)
	stallAt := bytes.Index(body, []byte("trickled")) + 1
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(errors.New("the test ended")) }) // before the server stops
	// No length: chunked, as a client trickling a body would send it.
	req, err := http.NewRequest("POST", h.URL+"/v1/lists/stalled/uploads", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tk.a)
	req.Header.Set("Content-Type", ctype)
	answered := make(chan int, 1)
	go func() {
		res, err := h.Client.Do(req)
		if err != nil {
			t.Errorf("upload: %v", err)
			answered <- 0
			return
		}
		res.Body.Close()
		answered <- res.StatusCode
	}()
	if _, err := pw.Write(body[:stallAt]); err != nil {
		t.Fatal(err)
	}
	// The file is in; the field after it is late. Storing the file used
	// to open the transaction at once and leave it idle until the body
	// ended.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if n := openTransactions(t, h); n != 0 {
			t.Fatalf("%d transactions open while the rest of the form is late", n)
		}
		select {
		case status := <-answered:
			t.Fatalf("answered %d before the body ended", status)
		default:
		}
	}
	for _, b := range body[stallAt:] {
		if _, err := pw.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
	}
	pw.Close()
	if status := <-answered; status != http.StatusAccepted {
		t.Fatalf("upload answered %d", status)
	}
	if n := openTransactions(t, h); n != 0 {
		t.Fatalf("%d transactions open after the upload", n)
	}
}

// TestUploadFormBounds: the form is read whole before anything is stored,
// so what is not the file is bounded (parts, their headers and fields) and
// refused with a problem naming the field.
func TestUploadFormBounds(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t, func(c *config.Config) { c.UploadWorkers = 0 })
	tk := newTokens(h)
	file := part{name: "file", filename: "list.csv", body: csvFile(newCode(1) + ";2026-01-01;")}
	field := func(name string, size int) part {
		return part{name: name, body: bytes.Repeat([]byte("x"), size)}
	}
	many := []part{file}
	for range 16 {
		many = append(many, field("extra", 1))
	}
	spread := []part{file}
	for range 12 {
		spread = append(spread, field("extra", 6<<10))
	}
	tests := []struct {
		name    string
		parts   []part
		status  int
		ptype   string
		code    string
		pointer string
	}{
		{name: "browser extras", parts: []part{field("submit", 6), file, field("note", 32<<10), {name: "mode", body: []byte("add")}}, status: 202},
		{name: "too many parts", parts: many, status: 400, ptype: problem.Validation.Type(), code: "upload.too_many_parts", pointer: "/extra"},
		{name: "a large field", parts: []part{file, field("note", 70<<10)}, status: 413, ptype: problem.TooLarge.Type(), code: "upload.fields_too_large", pointer: "/note"},
		{name: "a large field before the file", parts: []part{field("a/b", 70<<10), file}, status: 413, ptype: problem.TooLarge.Type(), code: "upload.fields_too_large", pointer: "/a~1b"},
		{name: "fields large together", parts: spread, status: 413, ptype: problem.TooLarge.Type(), code: "upload.fields_too_large", pointer: "/extra"},
		{name: "large part headers", parts: []part{file, {name: "note", header: map[string]string{"X-Pad": strings.Repeat("p", 70<<10)}}},
			status: 413, ptype: problem.TooLarge.Type(), code: "upload.fields_too_large"},
		{name: "a long policy", parts: []part{file, field("policy", 1000)}, status: 400, ptype: problem.Validation.Type(), code: "schema.enum", pointer: "/policy"},
		{name: "a second file", parts: []part{file, file}, status: 400, ptype: problem.Validation.Type(), code: "upload.file_repeated", pointer: "/file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, ctype := encodeParts(t, tc.parts...)
			res := h.Do("POST", "/v1/lists/bounds/uploads", tk.a, body, "Content-Type", ctype)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			if tc.status == 202 {
				return
			}
			p := res.Problem(t)
			if p.Type != tc.ptype || len(p.Errors) != 1 || p.Errors[0].Code != tc.code || p.Errors[0].Pointer != tc.pointer {
				t.Fatalf("got %s, want %s with %s at %q", res.Body, tc.ptype, tc.code, tc.pointer)
			}
		})
	}
}
