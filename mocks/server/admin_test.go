package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/mocks/registry"
)

func TestFixtures(t *testing.T) {
	h := newHarness(t)
	token := h.login()
	p := h.personWithout(registry.Disability)
	path := "/__admin/persons/" + p.Code.Hyphenated()

	res := h.putJSON(path, `{"records": {
		"disability": {"group": "II", "validFrom": "2025-01-01", "validTo": null},
		"pensioners": null
	}}`)
	if res.status != http.StatusOK {
		t.Fatalf("put: %d %s", res.status, res.body)
	}
	var v personView
	h.decode(res, &v)
	if !v.InPopulation || v.Index == nil || *v.Index != p.Index || v.Sources[registry.Disability] != "fixture" ||
		v.Sources[registry.Pensioners] != "fixture" || v.Sources[registry.Person] != "synthetic" {
		t.Errorf("view after put: %s", res.body)
	}
	if res := h.data(token, registry.Disability, "/dagr/v1/disability/persons/"+string(p.Code)); res.status != 200 || !contains(res.body, `"group": "II"`) {
		t.Errorf("fixture not served: %d %s", res.status, res.body)
	}
	h.wantProblem(h.data(token, registry.Pensioners, "/dagr/v1/pensioners/persons/"+string(p.Code)), 404, "person-not-found")

	// A person who exists only as a fixture.
	res = h.putJSON("/__admin/persons/32111111111", `{"records":{"person":{"givenName":"Test","familyName":"Persona","birthDate":"2019-01-01","sex":"F","status":"active","declaredAddress":{"municipality":{"atvk":"0005000","name":"Liepāja"},"validFrom":"2019-01-01"}}}}`)
	if res.status != 200 || !contains(res.body, `"inPopulation": false`) {
		t.Errorf("fixture-only person: %d %s", res.status, res.body)
	}
	if res := h.data(token, registry.Person, "/dagr/v1/person/persons/321111-11111"); res.status != 200 || !contains(res.body, "Persona") {
		t.Errorf("fixture-only person not served: %d %s", res.status, res.body)
	}

	// Errors name the field.
	bad := h.putJSON(path, `{"records": {"disability": {"group": "IV", "validFrom": "2025-01-01"}, "taxes": {}}}`)
	prob := h.wantProblem(bad, 400, "invalid-fixture")
	fields := map[string]bool{}
	for _, e := range prob.Errors {
		fields[e.Field] = true
	}
	if !fields["/records/disability/group"] || !fields["/records/taxes"] {
		t.Errorf("errors %+v", prob.Errors)
	}
	h.wantProblem(h.putJSON(path, `{}`), 400, "invalid-fixture")
	h.wantProblem(h.putJSON(path, `{"records": {}, "extra": 1}`), 400, "invalid-json")
	h.wantProblem(h.putJSON("/__admin/persons/123", `{"records": {}}`), 400, "invalid-personal-code")

	// Delete reverts to synthetic.
	if res := h.do(http.MethodDelete, path, nil, nil); res.status != 204 {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	h.wantProblem(h.do(http.MethodDelete, path, nil, nil), 404, "fixture-not-found")
	h.decode(h.do(http.MethodGet, path, nil, nil), &v)
	if v.Sources[registry.Disability] != "none" || v.Sources[registry.Person] != "synthetic" {
		t.Errorf("view after delete: %+v", v.Sources)
	}
}

func TestJournal(t *testing.T) {
	h := newHarness(t)
	token := h.login()
	p := h.person(registry.Learners, true)
	h.data(token, registry.Learners, "/dagr/v1/learners/persons/"+string(p.Code))
	h.data(token, registry.Person, "/dagr/v1/person/persons/"+string(p.Code))
	h.do(http.MethodGet, "/dagr/v1/person/persons/"+string(p.Code), nil, nil)
	h.clock.Advance(time.Minute)
	mid := h.clock.Now()
	h.clock.Advance(time.Minute)
	h.data(token, registry.Needy, "/dagr/v1/needy/changes?limit=1")
	h.do(http.MethodGet, "/__admin/config", nil, nil) // admin calls are not journaled

	get := func(q string) JournalPage {
		t.Helper()
		res := h.do(http.MethodGet, "/__admin/journal"+q, nil, nil)
		if res.status != 200 {
			t.Fatalf("journal%s: %d %s", q, res.status, res.body)
		}
		var page JournalPage
		h.decode(res, &page)
		return page
	}
	all := get("")
	if len(all.Entries) != 5 || all.NextSince != 5 {
		t.Fatalf("journal has %d entries (next %d), want 5: %+v", len(all.Entries), all.NextSince, all.Entries)
	}
	tok := all.Entries[0]
	if tok.Endpoint != "token" || tok.ClientID != "avis-gateway" || tok.Status != 200 || tok.Method != "POST" {
		t.Errorf("token entry %+v", tok)
	}
	learners := all.Entries[1]
	if learners.Dataset != "learners" || !learners.Authorized || learners.PermissionNumber != registry.Learners.DefaultPermissionNumber() || learners.RequestID == "" {
		t.Errorf("learners entry %+v", learners)
	}
	unauth := all.Entries[3]
	if unauth.Status != 401 || unauth.ProblemType != "token-missing" || unauth.Authorized {
		t.Errorf("unauthorised entry %+v", unauth)
	}

	for q, want := range map[string][]uint64{
		"?dataset=person":                        {3, 4},
		"?path=/dagr/v1/needy":                   {5},
		"?since=3":                               {4, 5},
		"?since=3&limit=1":                       {4},
		"?method=post":                           {1},
		"?since=" + mid.Format(time.RFC3339Nano): {5},
		"?dataset=token":                         {1},
	} {
		var got []uint64
		for _, e := range get(q).Entries {
			got = append(got, e.Seq)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("journal%s: seqs %v, want %v", q, got, want)
		}
	}
	h.wantProblem(h.do(http.MethodGet, "/__admin/journal?since=yesterday", nil, nil), 400, "invalid-since")
	h.wantProblem(h.do(http.MethodGet, "/__admin/journal?dataset=taxes", nil, nil), 400, "invalid-dataset")
	h.wantProblem(h.do(http.MethodGet, "/__admin/journal?limit=x", nil, nil), 400, "invalid-limit")

	if res := h.do(http.MethodDelete, "/__admin/journal", nil, nil); res.status != 204 {
		t.Fatal(res.status)
	}
	if page := get(""); len(page.Entries) != 0 {
		t.Errorf("journal after delete: %d entries", len(page.Entries))
	}
}

func TestJournalIsBounded(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.JournalSize = 3 })
	for range 5 {
		h.do(http.MethodGet, "/dagr/v1/person/persons/32000000001", nil, nil)
	}
	var page JournalPage
	h.decode(h.do(http.MethodGet, "/__admin/journal", nil, nil), &page)
	if len(page.Entries) != 3 || page.Entries[0].Seq != 3 || page.Entries[2].Seq != 5 {
		t.Errorf("ring kept %+v", page.Entries)
	}
	// ... and each entry keeps a bounded part of what it was sent.
	h.do(http.MethodGet, "/dagr/v1/person/persons/32000000001?x="+strings.Repeat("a", 10_000), nil,
		map[string]string{"X-Permission-Number": strings.Repeat("p", 10_000)})
	h.decode(h.do(http.MethodGet, "/__admin/journal", nil, nil), &page)
	if e := page.Entries[len(page.Entries)-1]; len(e.Query) > 1100 || len(e.PermissionNumber) > 1100 {
		t.Errorf("an entry kept a %d-byte query and a %d-byte header", len(e.Query), len(e.PermissionNumber))
	}
}

func TestTrustedCerts(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.TrustedCerts = nil })
	h.wantProblem(h.postToken(h.tokenRequest(h.signer, nil)), 401, "certificate-untrusted")

	res := h.do(http.MethodPost, "/__admin/trusted-certs", h.signer.CertificatePEM(), map[string]string{"Content-Type": "application/x-pem-file"})
	if res.status != http.StatusCreated {
		t.Fatalf("add: %d %s", res.status, res.body)
	}
	token := h.login()
	other, err := signerFor(t, "qa-client", time.Now().Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"pem": string(other.CertificatePEM())})
	if res := h.do(http.MethodPost, "/__admin/trusted-certs", body, map[string]string{"Content-Type": "application/json"}); res.status != 201 {
		t.Fatalf("add as JSON: %d %s", res.status, res.body)
	}
	var list []CertInfo
	h.decode(h.do(http.MethodGet, "/__admin/trusted-certs", nil, nil), &list)
	if len(list) != 2 || list[0].Source != "admin" {
		t.Fatalf("list: %+v", list)
	}
	fp := signing.Fingerprint(h.signer.Certificate())
	if res := h.do(http.MethodDelete, "/__admin/trusted-certs/"+fp, nil, nil); res.status != 204 {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	h.wantProblem(h.postToken(h.tokenRequest(h.signer, nil)), 401, "certificate-untrusted")
	// The token it got before goes with it.
	h.wantProblem(h.data(token, registry.Person, "/dagr/v1/person/persons/32000000001"), 401, "token-invalid")
	h.wantProblem(h.do(http.MethodDelete, "/__admin/trusted-certs/"+fp, nil, nil), 404, "certificate-not-found")
	h.wantProblem(h.do(http.MethodPost, "/__admin/trusted-certs", []byte("not pem"), nil), 400, "invalid-certificate")
}

func TestReset(t *testing.T) {
	h := newHarness(t)
	token := h.login()
	extra, err := signerFor(t, "extra", time.Now().Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h.do(http.MethodPost, "/__admin/trusted-certs", extra.CertificatePEM(), nil)
	h.scenario("person", `{"outage": true}`)
	h.putJSON("/__admin/persons/32000000001", `{"records":{"pensioners":{"pensionType":"old-age","validFrom":"2020-01-01"}}}`)

	if res := h.do(http.MethodPost, "/__admin/reset", nil, nil); res.status != 204 {
		t.Fatalf("reset: %d", res.status)
	}
	var page JournalPage
	h.decode(h.do(http.MethodGet, "/__admin/journal", nil, nil), &page)
	if len(page.Entries) != 0 {
		t.Errorf("journal survived reset: %d entries", len(page.Entries))
	}
	var scenarios map[string]Scenario
	h.decode(h.do(http.MethodGet, "/__admin/scenarios", nil, nil), &scenarios)
	if len(scenarios) != 0 {
		t.Errorf("scenarios survived reset: %v", scenarios)
	}
	var v personView
	h.decode(h.do(http.MethodGet, "/__admin/persons/32000000001", nil, nil), &v)
	if v.Sources[registry.Pensioners] != "none" {
		t.Errorf("fixture survived reset: %+v", v.Sources)
	}
	var certs []CertInfo
	h.decode(h.do(http.MethodGet, "/__admin/trusted-certs", nil, nil), &certs)
	if len(certs) != 1 || certs[0].Source != "startup" {
		t.Errorf("certificates after reset: %+v", certs)
	}
	h.wantProblem(h.data(token, registry.Person, "/dagr/v1/person/persons/32000000001"), 401, "token-invalid")
	h.login() // the startup certificate still works
}

func TestPopulationListing(t *testing.T) {
	h := newHarness(t)
	get := func(q string) PopulationPage {
		t.Helper()
		res := h.do(http.MethodGet, "/__admin/population"+q, nil, nil)
		if res.status != 200 {
			t.Fatalf("population%s: %d %s", q, res.status, res.body)
		}
		var page PopulationPage
		h.decode(res, &page)
		return page
	}
	page := get("?group=pensioners&status=active&limit=5")
	if len(page.Persons) != 5 || page.Next == nil {
		t.Fatalf("page: %+v", page)
	}
	for _, e := range page.Persons {
		p := h.pop.At(e.Index)
		if string(p.Code) != e.PersonCode || p.Record(registry.Pensioners) == nil || !p.Record(registry.Pensioners).Active(testAsOf) {
			t.Errorf("entry %+v is not an active pensioner", e)
		}
		if len(e.Datasets) < 2 || e.Datasets[0] != registry.Person {
			t.Errorf("entry lists data sets %v", e.Datasets)
		}
	}
	next := get("?group=pensioners&status=active&limit=5&after=" + strconv.Itoa(*page.Next))
	if next.Persons[0].Index <= page.Persons[4].Index {
		t.Errorf("second page starts at %d, first ended at %d", next.Persons[0].Index, page.Persons[4].Index)
	}
	for _, e := range get("?group=needy&status=inactive&limit=3").Persons {
		if h.pop.At(e.Index).Record(registry.Needy).Active(testAsOf) {
			t.Errorf("%d is active", e.Index)
		}
	}
	for _, e := range get("?municipality=0001000&limit=20").Persons {
		if e.Municipality.ATVK != "0001000" {
			t.Errorf("%d lives in %s", e.Index, e.Municipality.Name)
		}
	}
	for _, g := range []string{"deceased", "moved", "new-format", "old-format"} {
		pp := get("?group=" + g + "&limit=3")
		if len(pp.Persons) != 3 {
			t.Errorf("group %s: %d persons", g, len(pp.Persons))
		}
		for _, e := range pp.Persons {
			if (g == "deceased" && !e.Deceased) || (g == "moved" && !e.Moved) || (g == "new-format" && e.Format != "new") || (g == "old-format" && e.Format != "old") {
				t.Errorf("group %s: %+v", g, e)
			}
		}
	}
	whole := get("?group=orphans&limit=1000")
	if whole.Next != nil || whole.Scanned != h.pop.Size() {
		t.Errorf("a page to the end should have no next: next %v, scanned %d", whole.Next, whole.Scanned)
	}
	h.wantProblem(h.do(http.MethodGet, "/__admin/population?group=taxpayers", nil, nil), 400, "invalid-group")
	h.wantProblem(h.do(http.MethodGet, "/__admin/population?status=active", nil, nil), 400, "invalid-status")
	h.wantProblem(h.do(http.MethodGet, "/__admin/population?municipality=Riga", nil, nil), 400, "invalid-municipality")
	h.wantProblem(h.do(http.MethodGet, "/__admin/population?after=x", nil, nil), 400, "invalid-after")
}

func TestPopulationStatsAndConfig(t *testing.T) {
	h := newHarness(t)
	var st Stats
	h.decode(h.do(http.MethodGet, "/__admin/population/stats", nil, nil), &st)
	if st.Sample != h.pop.Size() || st.Datasets[registry.Person].Records != 1 || st.Datasets[registry.Pensioners].Target != 0.18 {
		t.Errorf("stats: %+v", st)
	}
	h.decode(h.do(http.MethodGet, "/__admin/population/stats?sample=100", nil, nil), &st)
	if st.Sample != 100 {
		t.Errorf("sample %d", st.Sample)
	}
	h.wantProblem(h.do(http.MethodGet, "/__admin/population/stats?sample=0", nil, nil), 400, "invalid-sample")

	res := h.do(http.MethodGet, "/__admin/config", nil, nil)
	for _, want := range []string{`"seed": 1`, `"size": 3000`, `"asOf": "2026-06-01"`, registry.Needy.DefaultPermissionNumber()} {
		if !contains(res.body, want) {
			t.Errorf("config lacks %s: %s", want, res.body)
		}
	}
	res = h.do(http.MethodGet, "/healthz", nil, nil)
	if res.status != 200 || !contains(res.body, `"status": "ok"`) {
		t.Errorf("healthz: %d %s", res.status, res.body)
	}
}

func TestEveryErrorIsAProblem(t *testing.T) {
	h := newHarness(t)
	h.wantProblem(h.do(http.MethodGet, "/nothing/here", nil, nil), 404, "not-found")
	h.wantProblem(h.do(http.MethodDelete, "/healthz", nil, nil), 405, "method-not-allowed")
	h.wantProblem(h.do(http.MethodGet, "/dagr/v1/token", nil, nil), 405, "method-not-allowed")
	res := h.do(http.MethodGet, "/dagr/v1/person/persons/32000000001", nil, map[string]string{"X-Request-Id": "qa-run-7"})
	if res.header.Get("X-Request-Id") != "qa-run-7" {
		t.Errorf("X-Request-Id not echoed: %q", res.header.Get("X-Request-Id"))
	}
	if strings.Contains(string(res.body), "32000000001") {
		t.Error("problem echoes the personal code")
	}
}

// personView is PersonView as a client decodes it.
type personView struct {
	PersonCode   string                               `json:"personCode"`
	InPopulation bool                                 `json:"inPopulation"`
	Index        *int                                 `json:"index"`
	Records      map[registry.Dataset]json.RawMessage `json:"records"`
	Sources      map[registry.Dataset]string          `json:"sources"`
}
