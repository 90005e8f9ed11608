package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
)

const (
	grantorA  = "90000000001"
	grantorB  = "90000000002"
	providerX = "40000000001"
	providerY = "40000000002"
)

func instruction(changes ...func(map[string]any)) map[string]any {
	in := map[string]any{
		"name": "Bezmaksas braucieni", "category": "transport", "ekkCode": "6421",
		"validFrom": "2026-01-01", "validTo": "2026-12-31", "priority": 10, "combinable": false,
		"discount":       map[string]any{"type": "free"},
		"goodsCodes":     []string{"transport.ride"},
		"providers":      []string{providerX},
		"recipientGroup": map[string]any{"registryGroup": "pensioners"},
	}
	for _, c := range changes {
		c(in)
	}
	return in
}

func TestBenefitsAPI(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	ga := h.Token(grantorA, auth.RoleGrantor)
	gb := h.Token(grantorB, auth.RoleGrantor)
	px := h.Token(providerX, auth.RoleProvider)

	if r := h.Do("PUT", "/v1/benefits/b-1", ga, instruction()); r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}

	tests := []struct {
		name      string
		method    string
		path      string
		token     string
		body      any
		headers   []string
		status    int
		probType  string
		pointer   string
		parameter string
	}{
		{"create201", "PUT", "/v1/benefits/b-2", ga, instruction(), nil, 201, "", "", ""},
		{"update200", "PUT", "/v1/benefits/b-1", ga, instruction(func(m map[string]any) { m["priority"] = 5 }), nil, 200, "", "", ""},
		{"same body is no new version", "PUT", "/v1/benefits/b-2", ga, instruction(), nil, 200, "", "", ""},
		{"no token 401", "PUT", "/v1/benefits/b-3", "", instruction(), nil, 401, "unauthorized", "", ""},
		{"bad token 401", "GET", "/v1/benefits/b-1", "not-a-token", nil, nil, 401, "invalid-token", "", ""},
		{"provider may not put 403", "PUT", "/v1/benefits/b-3", px, instruction(), nil, 403, "forbidden", "", ""},
		{"other grantor put 403", "PUT", "/v1/benefits/b-1", gb, instruction(), nil, 403, "not-owner", "", ""},
		{"other grantor get 403", "GET", "/v1/benefits/b-1", gb, nil, nil, 403, "not-owner", "", ""},
		{"other grantor delete 403", "DELETE", "/v1/benefits/b-1", gb, nil, nil, 403, "not-owner", "", ""},
		{"get404", "GET", "/v1/benefits/nope", ga, nil, nil, 404, "not-found", "", ""},
		{"get version404", "GET", "/v1/benefits/b-1?version=99", ga, nil, nil, 404, "not-found", "", ""},
		{"bad id 400", "GET", "/v1/benefits/bad%20id", ga, nil, nil, 400, "validation", "", "benefitId"},
		{"bad id delete 400", "DELETE", "/v1/benefits/bad%20id", ga, nil, nil, 400, "validation", "", "benefitId"},
		{"missing field 400", "PUT", "/v1/benefits/b-3", ga, instruction(func(m map[string]any) { delete(m, "providers") }), nil, 400, "validation", "/providers", ""},
		{"wrong type 400", "PUT", "/v1/benefits/b-3", ga, instruction(func(m map[string]any) { m["priority"] = "high" }), nil, 400, "validation", "/priority", ""},
		{"unknown member 400", "PUT", "/v1/benefits/b-3", ga, instruction(func(m map[string]any) { m["discount"] = map[string]any{"type": "free", "extra": 1} }), nil, 400, "validation", "/discount/extra", ""},
		{"bad provider number 400", "PUT", "/v1/benefits/b-3", ga, instruction(func(m map[string]any) { m["providers"] = []string{"123"} }), nil, 400, "validation", "/providers/0", ""},
		{"impossible date 400", "PUT", "/v1/benefits/b-3", ga, instruction(func(m map[string]any) { m["validFrom"] = "2026-02-30" }), nil, 400, "validation", "/validFrom", ""},
		{"malformed json 400", "PUT", "/v1/benefits/b-3", ga, []byte(`{"name":`), nil, 400, "validation", "", ""},
		{"dates reversed 422", "PUT", "/v1/benefits/b-3", ga, instruction(func(m map[string]any) { m["validTo"] = "2025-01-01" }), nil, 422, "business-rule", "/validTo", ""},
		{"excluded kind 422", "PUT", "/v1/benefits/b-3", ga, instruction(func(m map[string]any) { m["category"] = "tax_or_fee" }), nil, 422, "excluded-benefit-kind", "/category", ""},
		{"cash EKK 422", "PUT", "/v1/benefits/b-3", ga, instruction(func(m map[string]any) { m["ekkCode"] = "6211" }), nil, 422, "excluded-benefit-kind", "/ekkCode", ""},
		{"If-Match stale 412", "PUT", "/v1/benefits/b-1", ga, instruction(func(m map[string]any) { m["priority"] = 7 }), []string{"If-Match", `"v1"`}, 412, "precondition-failed", "", ""},
		{"If-Match malformed 400", "PUT", "/v1/benefits/b-1", ga, instruction(), []string{"If-Match", "nonsense"}, 400, "validation", "", "If-Match"},
		{"wrong content type 415", "PUT", "/v1/benefits/b-3", ga, []byte(`name=x`), []string{"Content-Type", "text/plain"}, 415, "unsupported-media-type", "", ""},
		{"oversize 413", "PUT", "/v1/benefits/b-3", ga, []byte(`{"name":"` + strings.Repeat("x", 2<<20) + `"}`), nil, 413, "too-large", "", ""},
		{"unknown route 404", "GET", "/v1/nothing", ga, nil, nil, 404, "not-found", "", ""},
		{"list bad cursor 400", "GET", "/v1/benefits?cursor=abc", ga, nil, nil, 400, "validation", "", "cursor"},
		{"list bad limit 400", "GET", "/v1/benefits?limit=0", ga, nil, nil, 400, "validation", "", "limit"},
		{"feed bad since 400", "GET", "/v1/instructions?since=garbage", px, nil, nil, 400, "validation", "", "since"},
		{"feed list cursor as since 400", "GET", "/v1/instructions?since=YjE6Yi0x", px, nil, nil, 400, "validation", "", "since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.Do(tt.method, tt.path, tt.token, tt.body, tt.headers...)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if tt.probType == "" {
				return
			}
			p := r.Problem(t)
			if p.Type != "https://avis.gov.lv/problems/"+tt.probType {
				t.Errorf("type %s, want %s", p.Type, tt.probType)
			}
			if tt.pointer == "" && tt.parameter == "" {
				return
			}
			for _, e := range p.Errors {
				if (tt.pointer != "" && e.Pointer == tt.pointer) || (tt.parameter != "" && e.Parameter == tt.parameter) {
					return
				}
			}
			t.Errorf("no error names %q%q: %s", tt.pointer, tt.parameter, r.Body)
		})
	}
}

func TestBenefitVersionsAndWithdrawal(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	ga := h.Token(grantorA, auth.RoleGrantor)
	h.Do("PUT", "/v1/benefits/b-1", ga, instruction())
	r := h.Do("PUT", "/v1/benefits/b-1", ga, instruction(func(m map[string]any) { m["priority"] = 3 }), "If-Match", `"v1"`)
	if r.Status != 200 || r.Header.Get("ETag") != `"v2"` {
		t.Fatalf("update: %d etag %q %s", r.Status, r.Header.Get("ETag"), r.Body)
	}
	var v1 struct {
		Version  int `json:"version"`
		Priority int `json:"priority"`
	}
	h.Do("GET", "/v1/benefits/b-1?version=1", ga, nil).JSON(t, &v1)
	if v1.Version != 1 || v1.Priority != 10 {
		t.Fatalf("version 1 = %+v", v1)
	}
	if r := h.Do("DELETE", "/v1/benefits/b-1", ga, nil); r.Status != 204 {
		t.Fatalf("withdraw: %d %s", r.Status, r.Body)
	}
	if r := h.Do("DELETE", "/v1/benefits/b-1", ga, nil); r.Status != 204 {
		t.Fatalf("withdraw twice: %d %s", r.Status, r.Body)
	}
	var latest struct {
		Version int    `json:"version"`
		Status  string `json:"status"`
	}
	h.Do("GET", "/v1/benefits/b-1", ga, nil).JSON(t, &latest)
	if latest.Version != 3 || latest.Status != "withdrawn" {
		t.Fatalf("after withdrawal %+v", latest)
	}
	if r := h.Do("PUT", "/v1/benefits/b-1", ga, instruction()); r.Status != 409 {
		t.Fatalf("change after withdrawal: %d, want 409", r.Status)
	}
}

// A grantor retrying a PUT whose answer was lost gets the first answer again,
// not 412; If-Match: * means "any current version".
func TestPutRetryAndIfMatchAny(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	ga := h.Token(grantorA, auth.RoleGrantor)
	h.Do("PUT", "/v1/benefits/b-1", ga, instruction())
	prio3 := instruction(func(m map[string]any) { m["priority"] = 3 })
	var version struct {
		Version int `json:"version"`
	}
	tests := []struct {
		name        string
		path        string
		body        any
		ifMatch     string
		status      int
		etag        string
		wantVersion int
	}{
		{"change on v1", "/v1/benefits/b-1", prio3, `"v1"`, 200, `"v2"`, 2},
		{"identical retry on v1", "/v1/benefits/b-1", prio3, `"v1"`, 200, `"v2"`, 2},
		{"different change on v1 412", "/v1/benefits/b-1", instruction(func(m map[string]any) { m["priority"] = 4 }), `"v1"`, 412, "", 0},
		{"* on an existing benefit", "/v1/benefits/b-1", instruction(func(m map[string]any) { m["priority"] = 5 }), "*", 200, `"v3"`, 3},
		{"* identical", "/v1/benefits/b-1", instruction(func(m map[string]any) { m["priority"] = 5 }), "*", 200, `"v3"`, 3},
		// If-Match compares strongly: the weak form of the current tag
		// matches nothing.
		{"weak tag of the current version 412", "/v1/benefits/b-1", instruction(func(m map[string]any) { m["priority"] = 6 }), `W/"v3"`, 412, "", 0},
		{"* on a new benefit 412", "/v1/benefits/b-2", instruction(), "*", 412, "", 0},
	}
	for _, tt := range tests {
		r := h.Do("PUT", tt.path, ga, tt.body, "If-Match", tt.ifMatch)
		if r.Status != tt.status {
			t.Fatalf("%s: status %d, want %d: %s", tt.name, r.Status, tt.status, r.Body)
		}
		if tt.status != 200 {
			continue
		}
		r.JSON(t, &version)
		if r.Header.Get("ETag") != tt.etag || version.Version != tt.wantVersion {
			t.Fatalf("%s: ETag %s version %d, want %s %d", tt.name, r.Header.Get("ETag"), version.Version, tt.etag, tt.wantVersion)
		}
	}
	var latest struct {
		Version int `json:"version"`
	}
	h.Do("GET", "/v1/benefits/b-1", ga, nil).JSON(t, &latest)
	if latest.Version != 3 {
		t.Fatalf("latest version %d, want 3", latest.Version)
	}
	if r := h.Do("GET", "/v1/benefits/b-2", ga, nil); r.Status != 404 {
		t.Fatalf("b-2 after a refused If-Match: *: %d, want 404", r.Status)
	}
}

func TestListBenefitsPagesOwnOnly(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	ga := h.Token(grantorA, auth.RoleGrantor)
	gb := h.Token(grantorB, auth.RoleGrantor)
	for _, id := range []string{"a-1", "a-2", "a-3"} {
		h.Do("PUT", "/v1/benefits/"+id, ga, instruction())
	}
	h.Do("PUT", "/v1/benefits/b-1", gb, instruction())
	var ids []string
	path := "/v1/benefits?limit=2"
	for range 5 {
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor string `json:"nextCursor"`
		}
		h.Do("GET", path, ga, nil).JSON(t, &page)
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.NextCursor == "" {
			break
		}
		path = "/v1/benefits?limit=2&cursor=" + page.NextCursor
	}
	if strings.Join(ids, ",") != "a-1,a-2,a-3" {
		t.Fatalf("pages gave %v", ids)
	}
}

type feedPage struct {
	Items []struct {
		BenefitID string  `json:"benefitId"`
		Status    string  `json:"status"`
		Version   int     `json:"version"`
		Name      *string `json:"name"`
	} `json:"items"`
	NextCursor string `json:"nextCursor"`
	HasMore    bool   `json:"hasMore"`
}

func TestInstructionFeed(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	ga := h.Token(grantorA, auth.RoleGrantor)
	px := h.Token(providerX, auth.RoleProvider)
	py := h.Token(providerY, auth.RoleProvider)
	both := func(m map[string]any) { m["providers"] = []string{providerX, providerY} }
	h.Do("PUT", "/v1/benefits/b-1", ga, instruction(both))
	h.Do("PUT", "/v1/benefits/b-2", ga, instruction())

	// The in-memory feed head follows PostgreSQL notifications; wait until
	// it has caught up with the writes above before relying on the ETag.
	r := h.Do("GET", "/v1/instructions", py, nil)
	waitFor(t, func() bool {
		prev := r.Header.Get("ETag")
		r = h.Do("GET", "/v1/instructions", py, nil)
		return r.Header.Get("ETag") == prev
	})
	var page feedPage
	r.JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].BenefitID != "b-1" || page.Items[0].Status != "active" {
		t.Fatalf("provider Y sees %s; want only b-1", r.Body)
	}
	if strings.Contains(string(r.Body), "recipientGroup") || strings.Contains(string(r.Body), "pensioners") {
		t.Fatalf("the feed tells a provider who the recipients are: %s", r.Body)
	}
	etag := r.Header.Get("ETag")
	if r := h.Do("GET", "/v1/instructions", py, nil, "If-None-Match", etag); r.Status != 304 {
		t.Fatalf("unchanged feed: %d, want 304", r.Status)
	}
	// A bad cursor is refused, whatever If-None-Match says.
	if r := h.Do("GET", "/v1/instructions?since=bad", py, nil, "If-None-Match", "*"); r.Status != 400 {
		t.Fatalf("bad cursor with If-None-Match: %d, want 400", r.Status)
	}
	cursor := page.NextCursor
	if r := h.Do("GET", "/v1/instructions?since="+cursor, py, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"items":[]`) {
		t.Fatalf("caught-up feed: %d %s", r.Status, r.Body)
	}

	// Y loses admission: its feed says withdrawn once, without details.
	h.Do("PUT", "/v1/benefits/b-1", ga, instruction())
	if r := h.Do("GET", "/v1/instructions", py, nil, "If-None-Match", etag); r.Status == 304 {
		// The in-memory head follows PostgreSQL notifications; give it a moment.
		waitFor(t, func() bool { return h.Do("GET", "/v1/instructions", py, nil, "If-None-Match", etag).Status == 200 })
	}
	page = feedPage{}
	h.Do("GET", "/v1/instructions?since="+cursor, py, nil).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].Status != "withdrawn" || page.Items[0].Name != nil {
		t.Fatalf("after losing admission Y sees %+v", page.Items)
	}

	// Paging is stable and complete for X.
	var seen []string
	path := "/v1/instructions?limit=1"
	for range 5 {
		page = feedPage{}
		h.Do("GET", path, px, nil).JSON(t, &page)
		for _, it := range page.Items {
			seen = append(seen, it.BenefitID)
		}
		if !page.HasMore {
			break
		}
		path = "/v1/instructions?limit=1&since=" + page.NextCursor
	}
	if strings.Join(seen, ",") != "b-2,b-1" {
		t.Fatalf("X's feed in change order: %v", seen)
	}

	if r := h.Do("GET", "/v1/instructions", ga, nil); r.Status != 403 {
		t.Fatalf("grantor reading the feed: %d, want 403", r.Status)
	}
	if r := h.Do("GET", "/v1/instructions?since=bogus", px, nil); r.Status != 400 {
		t.Fatalf("forged cursor: %d, want 400", r.Status)
	}
}

func TestProblemsSpeakLatvian(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	ga := h.Token(grantorA, auth.RoleGrantor)
	r := h.Do("PUT", "/v1/benefits/b-1", ga, instruction(func(m map[string]any) { delete(m, "name") }), "Accept-Language", "lv-LV,lv;q=0.9,en;q=0.5")
	p := r.Problem(t)
	if p.Title != "Pieprasījums nav derīgs" || len(p.Errors) != 1 || !strings.HasPrefix(p.Errors[0].Detail, "ir obligāts") || p.Errors[0].Pointer != "/name" {
		body, _ := json.Marshal(p)
		t.Fatalf("latvian problem: %s", body)
	}
	if r.Header.Get("Content-Language") != "lv" {
		t.Errorf("Content-Language %q", r.Header.Get("Content-Language"))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 50 {
		if cond() {
			return
		}
		sleep()
	}
	t.Fatal("condition not met in time")
}

// An answer to a write shows the instants a later read shows: a client that
// stores or compares them sees no change that did not happen.
func TestWriteAnswerInstantsMatchLaterReads(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	ga := h.Token(grantorA, auth.RoleGrantor)
	type instants struct {
		CreatedAt string `json:"createdAt"`
		UpdatedAt string `json:"updatedAt"`
	}
	for _, status := range []int{201, 200} {
		r := h.Do("PUT", "/v1/benefits/b-1", ga, instruction(func(m map[string]any) { m["priority"] = status }))
		if r.Status != status {
			t.Fatalf("put: %d %s", r.Status, r.Body)
		}
		var written, read instants
		r.JSON(t, &written)
		h.Do("GET", "/v1/benefits/b-1", ga, nil).JSON(t, &read)
		if written != read || written.UpdatedAt == "" {
			t.Errorf("PUT %d answered %+v, GET shows %+v", status, written, read)
		}
	}
}

// A 405 says which methods the resource takes (RFC 9110 15.5.6), in its
// Allow header.
func TestMethodNotAllowedListsAllow(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	ga := h.Token(grantorA, auth.RoleGrantor)
	for path, want := range map[string]string{
		"/v1/benefits/b-1": "GET, PUT, DELETE",
		"/v1/benefits":     "GET",
		// echo's own routes: echo lists OPTIONS too, which it answers.
		"/openapi.yaml": "OPTIONS, GET",
	} {
		r := h.Do("PATCH", path, ga, nil)
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != want {
			t.Errorf("PATCH %s: %d, Allow %q, want 405 and %q", path, r.Status, r.Header.Get("Allow"), want)
		}
	}
}

// An organisation's own reads are not for shared caches: each says
// private, as the answers with personal data say no-store.
func TestOrganisationReadsArePrivate(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	ga := h.Token(grantorA, auth.RoleGrantor)
	px := h.Token(providerX, auth.RoleProvider)
	if r := h.Do("PUT", "/v1/benefits/b-1", ga, instruction()); r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	for _, tt := range []struct{ path, token string }{
		{"/v1/benefits/b-1", ga},
		{"/v1/benefits", ga},
		{"/v1/instructions", px},
		{"/v1/reports/spend?from=2026-01-01&to=2026-01-31&groupBy=benefit", ga},
	} {
		r := h.Do("GET", tt.path, tt.token, nil)
		if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "private, no-cache" {
			t.Errorf("GET %s: %d, Cache-Control %q, want 200 and private, no-cache", tt.path, r.Status, r.Header.Get("Cache-Control"))
		}
	}
}
