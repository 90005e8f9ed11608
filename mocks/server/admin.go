package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/mocks/population"
	"github.com/avis-lv/gateway/mocks/registry"
)

// readJSON decodes an admin request body into v, refusing unknown fields.
func readJSON(w http.ResponseWriter, r *http.Request, v any) *problem {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, adminBodyMax))
	if err != nil {
		return newProblem(http.StatusRequestEntityTooLarge, "request-too-large", "Request body too large",
			fmt.Sprintf("admin request bodies may be at most %d bytes", adminBodyMax))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		p := newProblem(http.StatusBadRequest, "invalid-json", "Request body is not valid", err.Error())
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			p.withField("/"+typeErr.Field, "expected "+typeErr.Type.String())
		}
		return p
	}
	if dec.More() {
		return newProblem(http.StatusBadRequest, "invalid-json", "Request body is not valid", "trailing data after the JSON value")
	}
	return nil
}

// DatasetInfo describes a data set in GET /__admin/config.
type DatasetInfo struct {
	Name             registry.Dataset `json:"name"`
	Keeper           string           `json:"keeper"`
	PermissionNumber string           `json:"permissionNumber"`
	ShareTarget      float64          `json:"shareTarget,omitempty"`
}

func (s *Server) adminConfig(w http.ResponseWriter, _ *http.Request) *problem {
	var ds []DatasetInfo
	for _, d := range registry.Datasets() {
		share, _ := population.ShareTarget(d)
		ds = append(ds, DatasetInfo{Name: d, Keeper: d.Keeper(), PermissionNumber: s.permissions[d], ShareTarget: share})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"seed":                      s.pop.Seed(),
		"size":                      s.pop.Size(),
		"maxSize":                   population.MaxSize(),
		"asOf":                      s.pop.AsOf(),
		"datasets":                  ds,
		"tokenTtlSeconds":           int(s.tokenTTL.Seconds()),
		"clockSkewSeconds":          int(s.skew.Seconds()),
		"maxRequestValiditySeconds": int(s.maxValidity.Seconds()),
		"journalSize":               s.journal.size,
		"feedWindowDays":            population.FeedWindowDays,
	})
	return nil
}

// scenarioKey accepts a data set name or "token".
func scenarioKey(r *http.Request) (string, *problem) {
	key := r.PathValue("dataset")
	if key == "token" {
		return key, nil
	}
	if _, err := registry.ParseDataset(key); err != nil {
		return "", newProblem(http.StatusNotFound, "unknown-dataset", "No such data set", err.Error()+`, or "token"`)
	}
	return key, nil
}

func (s *Server) listScenarios(w http.ResponseWriter, _ *http.Request) *problem {
	s.mu.Lock()
	out := map[string]Scenario{}
	for k, v := range s.scenarios {
		out[k] = v.Scenario
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) putScenario(w http.ResponseWriter, r *http.Request) *problem {
	key, p := scenarioKey(r)
	if p != nil {
		return p
	}
	var sc Scenario
	if p := readJSON(w, r, &sc); p != nil {
		return p
	}
	if errs := sc.validate(); len(errs) > 0 {
		p := newProblem(http.StatusBadRequest, "invalid-scenario", "Scenario is not valid", "see errors")
		p.errors = errs
		return p
	}
	as := newActiveScenario(sc, s.pop.Seed(), key)
	s.mu.Lock()
	s.scenarios[key] = as
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, as.Scenario) // with the defaults that apply
	return nil
}

func (s *Server) deleteScenario(w http.ResponseWriter, r *http.Request) *problem {
	key, p := scenarioKey(r)
	if p != nil {
		return p
	}
	s.mu.Lock()
	delete(s.scenarios, key)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// PersonView is the admin view of one person across all data sets.
type PersonView struct {
	PersonCode   string                               `json:"personCode"`
	InPopulation bool                                 `json:"inPopulation"`
	Index        *int                                 `json:"index,omitempty"`
	Records      map[registry.Dataset]registry.Record `json:"records"`
	Sources      map[registry.Dataset]string          `json:"sources"`
}

// PersonFixture is the body of PUT /__admin/persons/{personCode}.
type PersonFixture struct {
	Records map[string]json.RawMessage `json:"records"`
}

func (s *Server) view(code personcode.Code) PersonView {
	v := PersonView{PersonCode: string(code), Records: map[registry.Dataset]registry.Record{}, Sources: map[registry.Dataset]string{}}
	if p, ok := s.pop.Lookup(code); ok {
		v.InPopulation = true
		v.Index = &p.Index
	}
	for _, d := range registry.Datasets() {
		v.Records[d], v.Sources[d] = s.effective(code, d)
	}
	return v
}

func (s *Server) getPerson(w http.ResponseWriter, r *http.Request) *problem {
	code, p := parseCode(r.PathValue("personCode"), "path:personCode")
	if p != nil {
		return p
	}
	writeJSON(w, http.StatusOK, s.view(code))
	return nil
}

func (s *Server) putPerson(w http.ResponseWriter, r *http.Request) *problem {
	code, p := parseCode(r.PathValue("personCode"), "path:personCode")
	if p != nil {
		return p
	}
	var body PersonFixture
	if p := readJSON(w, r, &body); p != nil {
		return p
	}
	if body.Records == nil {
		return newProblem(http.StatusBadRequest, "invalid-fixture", "Fixture is not valid",
			`the body must be {"records": {"<data set>": {...} or null, ...}}`).withField("/records", "missing")
	}
	f := &fixture{records: map[registry.Dataset]registry.Record{}}
	bad := newProblem(http.StatusBadRequest, "invalid-fixture", "Fixture is not valid", "see errors")
	names := make([]string, 0, len(body.Records))
	for name := range body.Records {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		raw := body.Records[name]
		d, err := registry.ParseDataset(name)
		if err != nil {
			bad.withField("/records/"+name, err.Error())
			continue
		}
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			f.records[d] = nil
			continue
		}
		rec, err := registry.DecodeRecord(d, raw, string(code))
		if err != nil {
			fes := registry.FieldErrors(err)
			if len(fes) == 0 {
				bad.withField("/records/"+name, err.Error())
			}
			for _, fe := range fes {
				bad.withField("/records/"+name+"/"+jsonPointer(fe.Field), fe.Reason)
			}
			continue
		}
		f.records[d] = rec
	}
	if len(bad.errors) > 0 {
		return bad
	}
	if p := s.replaceFixture(code, f); p != nil {
		return p
	}
	writeJSON(w, http.StatusOK, s.view(code))
	return nil
}

// jsonPointer turns a record field path such as cards[0].number into the
// JSON pointer cards/0/number.
func jsonPointer(field string) string {
	r := strings.NewReplacer("[", "/", "]", "", ".", "/")
	return r.Replace(field)
}

func (s *Server) deletePerson(w http.ResponseWriter, r *http.Request) *problem {
	code, p := parseCode(r.PathValue("personCode"), "path:personCode")
	if p != nil {
		return p
	}
	if p := s.replaceFixture(code, nil); p != nil {
		return p
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// replaceFixture installs f (nil removes the fixture) and appends a live
// change for every data set whose served record changed.
func (s *Server) replaceFixture(code personcode.Code, f *fixture) *problem {
	s.fixtureMu.Lock()
	defer s.fixtureMu.Unlock()
	if f == nil {
		s.mu.Lock()
		_, ok := s.fixtures[code]
		s.mu.Unlock()
		if !ok {
			return newProblem(http.StatusNotFound, "fixture-not-found", "No fixture for this person", "nothing to delete")
		}
	}
	before := map[registry.Dataset][]byte{}
	for _, d := range registry.Datasets() {
		rec, _ := s.effective(code, d)
		before[d], _ = json.Marshal(rec)
	}
	s.mu.Lock()
	if _, exists := s.fixtures[code]; f != nil && !exists && len(s.fixtures) >= maxFixtures {
		s.mu.Unlock()
		return newProblem(http.StatusInsufficientStorage, "too-many-fixtures", "Too many fixtures",
			fmt.Sprintf("the mock keeps at most %d fixture persons; POST /__admin/reset", maxFixtures))
	}
	if f == nil {
		delete(s.fixtures, code)
	} else {
		s.fixtures[code] = f
	}
	s.mu.Unlock()
	now := s.now().UTC()
	for _, d := range registry.Datasets() {
		rec, _ := s.effective(code, d)
		after, _ := json.Marshal(rec)
		if bytes.Equal(before[d], after) {
			continue
		}
		ch := Change{PersonCode: string(code), Change: "updated", ChangedAt: now, Record: rec}
		if rec == nil {
			ch.Change = "removed"
		}
		s.mu.Lock()
		s.changes[d].add(ch)
		s.mu.Unlock()
	}
	return nil
}

// PopulationEntry is one person in GET /__admin/population.
type PopulationEntry struct {
	Index        int                   `json:"index"`
	PersonCode   string                `json:"personCode"`
	Format       string                `json:"format"` // old | new
	Municipality registry.Municipality `json:"municipality"`
	Deceased     bool                  `json:"deceased"`
	Moved        bool                  `json:"moved"`
	Datasets     []registry.Dataset    `json:"datasets"`
	Active       []registry.Dataset    `json:"active"`
}

// PopulationPage is the answer of GET /__admin/population.
type PopulationPage struct {
	Persons []PopulationEntry `json:"persons"`
	// Next is the index to pass as after for the next page, null at the end.
	Next    *int `json:"next"`
	Scanned int  `json:"scanned"`
}

var specialGroups = []string{"all", "deceased", "moved", "new-format", "old-format"}

var atvkQuery = regexp.MustCompile(`^[0-9]{7}$`)

func (s *Server) listPopulation(w http.ResponseWriter, r *http.Request) *problem {
	q := r.URL.Query()
	group := q.Get("group")
	if group == "" {
		group = "all"
	}
	var ds registry.Dataset
	if !slices.Contains(specialGroups, group) {
		d, err := registry.ParseDataset(group)
		if err != nil {
			return newProblem(http.StatusBadRequest, "invalid-group", "Unknown group", err.Error()+fmt.Sprintf(", or one of %v", specialGroups)).
				withField("query:group", group)
		}
		ds = d
	}
	status := q.Get("status")
	switch status {
	case "", "any":
		status = "any"
	case "active", "inactive":
		if ds == "" {
			return newProblem(http.StatusBadRequest, "invalid-status", "status needs a data set group",
				"status=active|inactive filters a data set group, e.g. group=pensioners&status=active").withField("query:status", status)
		}
	default:
		return newProblem(http.StatusBadRequest, "invalid-status", "Unknown status", "use any, active or inactive").withField("query:status", status)
	}
	muni := q.Get("municipality")
	if muni != "" && !atvkQuery.MatchString(muni) {
		return newProblem(http.StatusBadRequest, "invalid-municipality", "Municipality must be an ATVK code",
			"use a 7-digit ATVK 2021 code such as 0001000 (Rīga)").withField("query:municipality", muni)
	}
	limit, p := pageLimit(r, 10, maxPageLimit)
	if p != nil {
		return p
	}
	from := 0
	if raw := q.Get("after"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < -1 {
			return newProblem(http.StatusBadRequest, "invalid-after", "after must be an index",
				"pass back next from the previous page").withField("query:after", raw)
		}
		from = n + 1
	}
	asOf := s.pop.AsOf()
	page := PopulationPage{Persons: []PopulationEntry{}}
	next := s.pop.Scan(from, maxScanPerPage, ds, func(person *population.Person) bool {
		page.Scanned++
		if !matches(person, group, ds, status, muni, asOf) {
			return true
		}
		// Scan built only the filtered data set; the entry lists all.
		page.Persons = append(page.Persons, entry(s.pop.At(person.Index), asOf))
		return len(page.Persons) < limit
	})
	if next < s.pop.Size() {
		last := next - 1
		page.Next = &last
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func matches(p *population.Person, group string, ds registry.Dataset, status, muni string, asOf registry.Date) bool {
	if muni != "" {
		pr, _ := p.Record(registry.Person).(*registry.PersonRecord)
		if pr == nil || pr.DeclaredAddress.Municipality.ATVK != muni {
			return false
		}
	}
	switch group {
	case "all":
		return true
	case "deceased":
		return p.Deceased
	case "moved":
		return p.Moved
	case "new-format":
		return p.Code.Format() == personcode.FormatNew
	case "old-format":
		return p.Code.Format() == personcode.FormatOld
	}
	rec := p.Record(ds)
	if rec == nil {
		return false
	}
	switch status {
	case "active":
		return rec.Active(asOf)
	case "inactive":
		return !rec.Active(asOf)
	}
	return true
}

func entry(p *population.Person, asOf registry.Date) PopulationEntry {
	e := PopulationEntry{Index: p.Index, PersonCode: string(p.Code), Format: "old", Deceased: p.Deceased, Moved: p.Moved,
		Datasets: []registry.Dataset{}, Active: []registry.Dataset{}}
	if p.Code.Format() == personcode.FormatNew {
		e.Format = "new"
	}
	if pr, ok := p.Record(registry.Person).(*registry.PersonRecord); ok {
		e.Municipality = pr.DeclaredAddress.Municipality
	}
	for _, d := range registry.Datasets() {
		if rec := p.Record(d); rec != nil {
			e.Datasets = append(e.Datasets, d)
			if rec.Active(asOf) {
				e.Active = append(e.Active, d)
			}
		}
	}
	return e
}

// Stats is the answer of GET /__admin/population/stats.
type Stats struct {
	Sample    int                         `json:"sample"`
	Datasets  map[registry.Dataset]Shares `json:"datasets"`
	Deceased  float64                     `json:"deceased"`
	Moved     float64                     `json:"moved"`
	NewFormat float64                     `json:"newFormat"`
}

// Shares are fractions of the sample.
type Shares struct {
	Records float64 `json:"records"`
	Active  float64 `json:"active"`
	InFeed  float64 `json:"inFeed"`
	Target  float64 `json:"target,omitempty"`
}

const defaultStatsSample = 100_000

func (s *Server) populationStats(w http.ResponseWriter, r *http.Request) *problem {
	sample := min(s.pop.Size(), defaultStatsSample)
	if raw := r.URL.Query().Get("sample"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > s.pop.Size() {
			return newProblem(http.StatusBadRequest, "invalid-sample", "sample is not valid",
				fmt.Sprintf("sample must be from 1 to the population size %d", s.pop.Size())).withField("query:sample", raw)
		}
		sample = n
	}
	var records, active, feed [9]int
	var deceased, moved, newFormat int
	asOf := s.pop.AsOf()
	s.pop.Scan(0, sample, "", func(p *population.Person) bool {
		if p.Deceased {
			deceased++
		}
		if p.Moved {
			moved++
		}
		if p.Code.Format() == personcode.FormatNew {
			newFormat++
		}
		for i, d := range registry.Datasets() {
			if rec := p.Record(d); rec != nil {
				records[i]++
				if rec.Active(asOf) {
					active[i]++
				}
			}
			if p.Changed(d) {
				feed[i]++
			}
		}
		return true
	})
	n := float64(sample)
	st := Stats{Sample: sample, Datasets: map[registry.Dataset]Shares{},
		Deceased: float64(deceased) / n, Moved: float64(moved) / n, NewFormat: float64(newFormat) / n}
	for i, d := range registry.Datasets() {
		target, _ := population.ShareTarget(d)
		st.Datasets[d] = Shares{Records: float64(records[i]) / n, Active: float64(active[i]) / n, InFeed: float64(feed[i]) / n, Target: target}
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// JournalPage is the answer of GET /__admin/journal.
type JournalPage struct {
	Entries []JournalEntry `json:"entries"`
	// NextSince is the seq to pass as since to get only newer entries.
	NextSince uint64 `json:"nextSince"`
}

func (s *Server) getJournal(w http.ResponseWriter, r *http.Request) *problem {
	q := r.URL.Query()
	f := journalFilter{dataset: q.Get("dataset"), pathPrefix: q.Get("path"), method: q.Get("method")}
	if f.dataset != "" {
		if _, err := registry.ParseDataset(f.dataset); err != nil && f.dataset != "token" {
			return newProblem(http.StatusBadRequest, "invalid-dataset", "Unknown data set", err.Error()).withField("query:dataset", f.dataset)
		}
	}
	if raw := q.Get("since"); raw != "" {
		if n, err := strconv.ParseUint(raw, 10, 64); err == nil {
			f.sinceSeq = n
		} else if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
			f.sinceTime = t
		} else {
			return newProblem(http.StatusBadRequest, "invalid-since", "since is not valid",
				"since is a journal seq number or an RFC 3339 time").withField("query:since", raw)
		}
	}
	limit, p := pageLimit(r, 100, maxPageLimit)
	if p != nil {
		return p
	}
	f.limit = limit
	entries := s.journal.find(f)
	page := JournalPage{Entries: entries, NextSince: f.sinceSeq}
	if len(entries) > 0 {
		page.NextSince = entries[len(entries)-1].Seq
	} else if f.sinceSeq == 0 {
		page.NextSince = s.journal.lastSeq()
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) deleteJournal(w http.ResponseWriter, _ *http.Request) *problem {
	s.journal.clear()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// CertInfo describes a trusted certificate.
type CertInfo struct {
	Fingerprint string    `json:"fingerprintSha256"`
	Subject     string    `json:"subject"`
	NotBefore   time.Time `json:"notBefore"`
	NotAfter    time.Time `json:"notAfter"`
	Source      string    `json:"source"`
}

func certInfo(t trustedCert) CertInfo {
	return CertInfo{
		Fingerprint: signing.Fingerprint(t.cert),
		Subject:     t.cert.Subject.String(),
		NotBefore:   t.cert.NotBefore.UTC(),
		NotAfter:    t.cert.NotAfter.UTC(),
		Source:      t.source,
	}
}

func (s *Server) listCerts(w http.ResponseWriter, _ *http.Request) *problem {
	s.mu.Lock()
	out := []CertInfo{}
	for _, t := range s.trusted {
		out = append(out, certInfo(t))
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Fingerprint < out[j].Fingerprint })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) addCerts(w http.ResponseWriter, r *http.Request) *problem {
	var pemData []byte
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		var body struct {
			PEM string `json:"pem"`
		}
		if p := readJSON(w, r, &body); p != nil {
			return p
		}
		pemData = []byte(body.PEM)
	} else {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, adminBodyMax))
		if err != nil {
			return newProblem(http.StatusRequestEntityTooLarge, "request-too-large", "Request body too large",
				fmt.Sprintf("at most %d bytes", adminBodyMax))
		}
		pemData = b
	}
	certs, err := signing.ParseCertificatesPEM(pemData)
	if err != nil {
		return newProblem(http.StatusBadRequest, "invalid-certificate", "Body is not a PEM certificate", err.Error())
	}
	added := []CertInfo{}
	s.mu.Lock()
	for _, c := range certs {
		fp := signing.Fingerprint(c)
		t, exists := s.trusted[fp]
		if !exists {
			t = trustedCert{cert: c, source: "admin", addedAt: s.now()}
			s.trusted[fp] = t
		}
		added = append(added, certInfo(t))
	}
	s.mu.Unlock()
	s.log.Info("trusted certificates added", "count", len(certs))
	writeJSON(w, http.StatusCreated, added)
	return nil
}

func (s *Server) deleteCert(w http.ResponseWriter, r *http.Request) *problem {
	fp := r.PathValue("fingerprint")
	s.mu.Lock()
	_, ok := s.trusted[fp]
	delete(s.trusted, fp)
	// Withdrawing a certificate withdraws the tokens it got, as a real
	// registry revoking a client would.
	for tok, info := range s.tokens {
		if info.fingerprint == fp {
			delete(s.tokens, tok)
		}
	}
	s.mu.Unlock()
	if !ok {
		return newProblem(http.StatusNotFound, "certificate-not-found", "No such trusted certificate",
			"use the fingerprintSha256 shown by GET /__admin/trusted-certs").withField("path:fingerprint", fp)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) reset(w http.ResponseWriter, _ *http.Request) *problem {
	s.mu.Lock()
	s.resetLocked()
	s.mu.Unlock()
	s.log.Info("mocks reset")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
