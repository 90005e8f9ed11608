package httpapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/listsapi"
	"github.com/avis-lv/gateway/internal/problem"
)

// newServerWithToken builds the server with the push's body limit, as the
// gateway wires it, and a token for every role.
func newServerWithToken(t *testing.T) (http.Handler, string) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens(key, "avis-test", time.Hour, time.Now)
	e, err := New(context.Background(), Deps{
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry:   prometheus.NewRegistry(),
		Tokens:     tokens,
		BodyLimits: map[string]int64{listsapi.PushOperation: listsapi.PushBodyLimit},
	})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := tokens.Issue(auth.Principal{ClientID: "c", OrgRegNo: "40003000000", Roles: []auth.Role{auth.RoleGrantor, auth.RoleProvider, auth.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	return e, token
}

// repeat joins n copies of item with commas.
func repeat(item string, n int) string {
	return strings.TrimSuffix(strings.Repeat(item+",", n), ",")
}

// A large bad body is answered with its first errors at a cost of a few
// times its size. kin-openapi decoded it into maps and built every error:
// 100 000 bad members (4.9 MB) cost 540 MB and 4 s, the 16 MiB push of
// the review 1.8 GB and 14 s, for a 199 MB answer.
func TestLargeBadBodiesCostLittle(t *testing.T) {
	h, token := newServerWithToken(t)
	const member = `{"personCode":"x","validFrom":"y","validTo":"z"}`
	benefit := func(goodsCodes string) string {
		return `{"name":"x","category":"transport","ekkCode":"6322","validFrom":"2026-01-01","priority":1,"combinable":true,` +
			`"discount":{"type":"free"},"goodsCodes":[` + goodsCodes + `],"providers":["40003000000"],"recipientGroup":{"personListId":"l1"}}`
	}
	tests := []struct {
		name, method, path, body string
		first                    problem.FieldError
	}{
		{"100 000 bad members", http.MethodPost, "/v1/lists/l1/members",
			`{"mode":"replace","members":[` + repeat(member, 100_000) + `]}`,
			problem.FieldError{Pointer: "/members/0/personCode", Code: "schema.pattern"}},
		{"the review's 16 MiB push", http.MethodPost, "/v1/lists/l1/members",
			`{"mode":"replace","members":[` + repeat(member, 342_391) + `]}`,
			problem.FieldError{Pointer: "/members", Code: "schema.maxItems"}},
		{"a benefit of 250 000 bad goods codes", http.MethodPut, "/v1/benefits/b1",
			benefit(repeat(`"A"`, 250_000)),
			problem.FieldError{Pointer: "/goodsCodes", Code: "schema.maxItems"}},
		{"a report of 60 000 bad benefits", http.MethodPost, "/v1/transactions",
			`{"decisionId":"0190b7a0-1111-7000-8000-000000000001","receiptNumber":"B-1","occurredAt":"2026-11-22T10:00:00Z","benefits":[` + repeat(`{"benefitId":1}`, 60_000) + `]}`,
			problem.FieldError{Pointer: "/benefits", Code: "schema.maxItems"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The time to read the body once as JSON, a measure of this
			// machine's (and the race detector's) speed.
			start := time.Now()
			if !json.Valid([]byte(tt.body)) {
				t.Fatal("not JSON")
			}
			pass := time.Since(start)

			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "01a2060c-b7a1-7bb8-838e-3c19ef13da72")
			rec := httptest.NewRecorder()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start = time.Now()
			h.ServeHTTP(rec, req)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes: %d bytes allocated, %v (%.1f passes), answer of %d bytes", len(tt.body), alloc, took, float64(took)/float64(pass), rec.Body.Len())

			var p problem.Body
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 400 || p.Type != problem.Validation.Type() {
				t.Fatalf("%d %.300s", rec.Code, rec.Body)
			}
			if len(p.Errors) != problem.MaxErrors || !p.ErrorsTruncated || p.Errors[0].Pointer != tt.first.Pointer || p.Errors[0].Code != tt.first.Code {
				t.Fatalf("%d errors, truncated %v, first %+v", len(p.Errors), p.ErrorsTruncated, p.Errors[0])
			}
			if limit := 8*uint64(len(tt.body)) + 32<<20; alloc > limit {
				t.Errorf("a %d-byte body cost %d bytes, over %d", len(tt.body), alloc, limit)
			}
			if limit := 30*pass + 100*time.Millisecond; took > limit {
				t.Errorf("a %d-byte body took %v, over %v", len(tt.body), took, limit)
			}
		})
	}
}

// A bad body's errors follow the parameters' and are those kin-openapi
// named, up to problem.MaxErrors in all; the answer says when it left
// some out.
func TestBadBodyErrorsAreCapped(t *testing.T) {
	h, token := newServerWithToken(t)
	ct, err := newContract(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const member = `{"personCode":"x","validFrom":"y","validTo":"z"}` // three errors each
	for _, tt := range []struct {
		name      string
		members   int
		key       bool
		errors    int
		truncated bool
	}{
		{"99 body errors and a missing key", 33, false, 100, false},
		{"99 body errors", 33, true, 99, false},
		{"102 body errors", 34, true, 100, true},
		{"102 body errors and a missing key", 34, false, 100, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"mode":"replace","members":[` + repeat(member, tt.members) + `]}`
			req := httptest.NewRequest(http.MethodPost, "/v1/lists/l1/members", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			if tt.key {
				req.Header.Set("Idempotency-Key", "01a2060c-b7a1-7bb8-838e-3c19ef13da72")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var p problem.Body
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 400 {
				t.Fatalf("%d %.300s", rec.Code, rec.Body)
			}
			if len(p.Errors) != tt.errors || p.ErrorsTruncated != tt.truncated || (p.Detail != "") != tt.truncated {
				t.Fatalf("%d errors, truncated %v, detail %q", len(p.Errors), p.ErrorsTruncated, p.Detail)
			}
			want := kinFields(t, pushOperation(t, ct), []byte(body))
			if !tt.key {
				want = append([]problem.FieldError{{Parameter: "Idempotency-Key", Code: "parameter.required"}}, want...)
			}
			for i, e := range p.Errors {
				if e.Pointer != want[i].Pointer || e.Parameter != want[i].Parameter || e.Code != want[i].Code {
					t.Fatalf("error %d is %+v, want %+v", i, e, want[i])
				}
			}
		})
	}
}

func pushOperation(t *testing.T, ct *contract) *openapi3.Operation {
	for op := range ct.fast {
		if op.OperationID == listsapi.PushOperation {
			return op
		}
	}
	t.Fatal("no push operation")
	return nil
}
