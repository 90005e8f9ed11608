package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/avis-lv/gateway/mocks/population"
	"github.com/avis-lv/gateway/mocks/registry"
)

func TestRecord(t *testing.T) {
	h := newHarness(t)
	token := h.login()
	for _, d := range registry.Datasets() {
		t.Run(string(d), func(t *testing.T) {
			p := h.person(d, true)
			res := h.data(token, d, "/dagr/v1/"+string(d)+"/persons/"+p.Code.Hyphenated())
			if res.status != http.StatusOK {
				t.Fatalf("%d %s", res.status, res.body)
			}
			want, _ := json.Marshal(p.Record(d))
			var got, wantAny any
			_ = json.Unmarshal(res.body, &got)
			_ = json.Unmarshal(want, &wantAny)
			if diff := cmp.Diff(wantAny, got); diff != "" {
				t.Errorf("record (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("not in data set", func(t *testing.T) {
		p := h.personWithout(registry.Orphans)
		h.wantProblem(h.data(token, registry.Orphans, "/dagr/v1/orphans/persons/"+string(p.Code)), 404, "person-not-found")
	})
	t.Run("not in population", func(t *testing.T) {
		h.wantProblem(h.data(token, registry.Person, "/dagr/v1/person/persons/32999999999"), 404, "person-not-found")
	})
	t.Run("invalid personal code", func(t *testing.T) {
		p := h.wantProblem(h.data(token, registry.Person, "/dagr/v1/person/persons/010190-10003"), 400, "invalid-personal-code")
		if len(p.Errors) != 1 || p.Errors[0].Field != "path:personCode" {
			t.Errorf("errors %+v", p.Errors)
		}
	})
	t.Run("unknown data set", func(t *testing.T) {
		h.wantProblem(h.data(token, registry.Person, "/dagr/v1/taxes/persons/32999999999"), 404, "unknown-dataset")
	})
	t.Run("expired status is still answered", func(t *testing.T) {
		p := h.person(registry.Needy, false)
		res := h.data(token, registry.Needy, "/dagr/v1/needy/persons/"+string(p.Code))
		var rec registry.NeedyRecord
		h.decode(res, &rec)
		if res.status != 200 || rec.Active(testAsOf) {
			t.Errorf("inactive needy record: %d %s", res.status, res.body)
		}
	})
}

func TestAuthorization(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Permissions = map[registry.Dataset]string{registry.Pensioners: "VSAA-42"} })
	token := h.login()
	p := h.person(registry.Pensioners, true)
	path := "/dagr/v1/pensioners/persons/" + string(p.Code)
	tests := []struct {
		name    string
		headers map[string]string
		status  int
		slug    string
	}{
		{"no token", map[string]string{"X-Permission-Number": "VSAA-42"}, 401, "token-missing"},
		{"basic auth", map[string]string{"Authorization": "Basic eDp5", "X-Permission-Number": "VSAA-42"}, 401, "token-missing"},
		{"unknown token", map[string]string{"Authorization": "Bearer nope", "X-Permission-Number": "VSAA-42"}, 401, "token-invalid"},
		{"no permission", map[string]string{"Authorization": "Bearer " + token}, 403, "permission-missing"},
		{"default permission no longer valid", map[string]string{"Authorization": "Bearer " + token, "X-Permission-Number": registry.Pensioners.DefaultPermissionNumber()}, 403, "permission-denied"},
		{"another data set's permission", map[string]string{"Authorization": "Bearer " + token, "X-Permission-Number": registry.Needy.DefaultPermissionNumber()}, 403, "permission-denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(http.MethodGet, path, nil, tc.headers)
			h.wantProblem(res, tc.status, tc.slug)
			if tc.status == 401 && res.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	ok := h.do(http.MethodGet, path, nil, map[string]string{"Authorization": "bearer " + token, "X-Permission-Number": "VSAA-42"})
	if ok.status != http.StatusOK {
		t.Fatalf("configured permission: %d %s", ok.status, ok.body)
	}
	h.clock.Advance(DefaultTokenTTL + time.Second)
	h.wantProblem(h.do(http.MethodGet, path, nil, map[string]string{"Authorization": "Bearer " + token, "X-Permission-Number": "VSAA-42"}), 401, "token-expired")
}

func TestCard(t *testing.T) {
	h := newHarness(t)
	token := h.login()
	p := h.person(registry.EID, true)
	card := p.Record(registry.EID).(*registry.EIDRecord).Cards[0].Number
	res := h.data(token, registry.EID, "/dagr/v1/eid/cards/"+card)
	if res.status != http.StatusOK || !contains(res.body, string(p.Code)) {
		t.Fatalf("card lookup: %d %s", res.status, res.body)
	}
	h.wantProblem(h.data(token, registry.EID, "/dagr/v1/eid/cards/PZ0000000"), 404, "card-not-found")
	h.wantProblem(h.data(token, registry.Person, "/dagr/v1/eid/cards/"+card), 403, "permission-denied")

	// A fixture card is found too, and a fixture that drops the synthetic
	// card hides it.
	h.putJSON("/__admin/persons/32000000001", `{"records":{"eid":{"cards":[{"number":"PX1234567","status":"valid","validFrom":"2026-01-01","validTo":"2030-12-31"}]}}}`)
	if res := h.data(token, registry.EID, "/dagr/v1/eid/cards/PX1234567"); res.status != 200 || !contains(res.body, "32000000001") {
		t.Errorf("fixture card: %d %s", res.status, res.body)
	}
	h.putJSON("/__admin/persons/"+string(p.Code), `{"records":{"eid":null}}`)
	h.wantProblem(h.data(token, registry.EID, "/dagr/v1/eid/cards/"+card), 404, "card-not-found")
}

// readFeed follows the feed of d from since to the end.
func readFeed(t *testing.T, h *harness, token string, d registry.Dataset, since string, limit int) ([]Change, string) {
	t.Helper()
	var all []Change
	for pages := 0; pages < 10000; pages++ {
		q := fmt.Sprintf("/dagr/v1/%s/changes?limit=%d", d, limit)
		if since != "" {
			q += "&since=" + since
		}
		res := h.data(token, d, q)
		if res.status != http.StatusOK {
			t.Fatalf("%s: %d %s", q, res.status, res.body)
		}
		var page struct {
			Changes    []json.RawMessage `json:"changes"`
			NextCursor string            `json:"nextCursor"`
			HasMore    bool              `json:"hasMore"`
		}
		h.decode(res, &page)
		if len(page.Changes) > limit {
			t.Fatalf("page of %d changes, limit %d", len(page.Changes), limit)
		}
		for _, raw := range page.Changes {
			var c struct {
				PersonCode string          `json:"personCode"`
				Change     string          `json:"change"`
				ChangedAt  time.Time       `json:"changedAt"`
				Record     json.RawMessage `json:"record"`
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			ch := Change{PersonCode: c.PersonCode, Change: c.Change, ChangedAt: c.ChangedAt}
			if string(c.Record) != "null" {
				rec, err := registry.DecodeRecord(d, c.Record, c.PersonCode)
				if err != nil {
					t.Fatalf("feed record does not decode: %v", err)
				}
				ch.Record = rec
			}
			all = append(all, ch)
		}
		since = page.NextCursor
		if !page.HasMore {
			return all, since
		}
	}
	t.Fatal("feed does not end")
	return nil, ""
}

func TestChangesFeed(t *testing.T) {
	h := newHarness(t)
	token := h.login()
	d := registry.Needy
	var want []string
	for i := 0; i < h.pop.Size(); i++ {
		if p := h.pop.At(i); p.Changed(d) {
			want = append(want, string(p.Code))
		}
	}
	if len(want) < 20 {
		t.Fatalf("only %d synthetic changes in needy", len(want))
	}
	changes, cursor := readFeed(t, h, token, d, "", 7)
	var got []string
	window := testAsOf.AddDays(-90).Time()
	for _, c := range changes {
		got = append(got, c.PersonCode)
		if c.ChangedAt.Before(window) || c.ChangedAt.After(testAsOf.Time().Add(24*time.Hour)) {
			t.Errorf("changedAt %s outside the feed window", c.ChangedAt)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("feed (-want +got):\n%s", diff)
	}

	// Caught up: an empty page and the same cursor.
	more, again := readFeed(t, h, token, d, cursor, 50)
	if len(more) != 0 || again != cursor {
		t.Errorf("caught-up feed returned %d changes, cursor %s → %s", len(more), cursor, again)
	}

	// A fixture shows up as live changes after the cursor.
	p := h.person(d, true)
	res := h.putJSON("/__admin/persons/"+string(p.Code), `{"records":{"needy":null}}`)
	if res.status != 200 {
		t.Fatalf("put fixture: %d %s", res.status, res.body)
	}
	q := h.personWithout(d)
	h.putJSON("/__admin/persons/"+string(q.Code), `{"records":{"needy":{"status":"low-income","municipality":{"atvk":"0001000","name":"Rīga"},"validFrom":"2026-05-01","validTo":"2026-10-31"}}}`)
	live, cursor2 := readFeed(t, h, token, d, cursor, 50)
	if len(live) != 2 || live[0].Change != "removed" || live[0].PersonCode != string(p.Code) || live[0].Record != nil ||
		live[1].Change != "updated" || live[1].PersonCode != string(q.Code) {
		t.Fatalf("live changes: %+v", live)
	}
	// The same fixture again changes nothing.
	h.putJSON("/__admin/persons/"+string(p.Code), `{"records":{"needy":null}}`)
	if more, _ := readFeed(t, h, token, d, cursor2, 50); len(more) != 0 {
		t.Errorf("unchanged fixture produced %d changes", len(more))
	}
	// Reading from the start again, the overridden person's synthetic
	// change is gone; their live change remains.
	fromStart, _ := readFeed(t, h, token, d, "", 100)
	for _, c := range fromStart[:len(fromStart)-2] {
		if c.PersonCode == string(p.Code) {
			t.Error("synthetic change of a fixture-overridden person still in the feed")
		}
	}

	// Bad cursors and limits.
	h.wantProblem(h.data(token, d, "/dagr/v1/needy/changes?since=abc"), 400, "invalid-cursor")
	h.wantProblem(h.data(token, d, "/dagr/v1/needy/changes?limit=0"), 400, "invalid-limit")
	h.wantProblem(h.data(token, d, "/dagr/v1/needy/changes?limit=1001"), 400, "invalid-limit")
	h.do(http.MethodPost, "/__admin/reset", nil, nil)
	token = h.login()
	h.wantProblem(h.data(token, d, "/dagr/v1/needy/changes?since="+cursor), 410, "cursor-expired")
}

func TestChangesFeedBoundsAScanPage(t *testing.T) {
	h := newHarness(t)
	token := h.login()
	// Repressed changes are rare; with a tiny limit the feed still ends.
	changes, _ := readFeed(t, h, token, registry.Repressed, "", 1)
	for _, c := range changes {
		if c.Record == nil {
			t.Error("synthetic change without a record")
		}
	}
}

// A cursor this run of the mocks never issued is refused as invalid-cursor:
// one of another run (a client keeps its cursor while the mocks restart,
// perhaps with another seed, where its position means other persons), of
// the format before runs were told apart, or beyond the feed's head.
func TestChangesFeedRefusesCursorsNotIssued(t *testing.T) {
	h := newHarness(t)
	token := h.login()
	d := registry.Needy
	_, head := readFeed(t, h, token, d, "", 1000)
	parts := strings.Split(head, ".")
	if len(parts) != 3 {
		t.Fatalf("cursor %q", head)
	}
	pos, _ := strconv.Atoi(parts[2])
	for _, since := range []string{
		"1.7", "1.20000", // the cursors of earlier versions of the mocks
		parts[0] + ".1." + strconv.Itoa(pos+1),
		parts[0] + ".2.0",
		"000000000000.1.0",
	} {
		h.wantProblem(h.data(token, d, "/dagr/v1/needy/changes?since="+since), 400, "invalid-cursor")
	}

	// Another run of the mocks, even with the same seed, does not know the
	// cursors of this one.
	other := newHarness(t, func(c *Config) {
		pop, err := population.New(population.Config{Seed: 2, Size: 3000, AsOf: testAsOf})
		if err != nil {
			t.Fatal(err)
		}
		c.Population = pop
	})
	same := newHarness(t)
	for _, o := range []*harness{other, same} {
		otherToken := o.login()
		for _, since := range []string{head, parts[0] + ".1.7"} {
			o.wantProblem(o.data(otherToken, d, "/dagr/v1/needy/changes?since="+since), 400, "invalid-cursor")
		}
	}

	// The head itself stays good.
	if more, again := readFeed(t, h, token, d, head, 10); len(more) != 0 || again != head {
		t.Errorf("at the head: %d changes, cursor %s", len(more), again)
	}
}
