package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/mocks/population"
	"github.com/avis-lv/gateway/mocks/registry"
)

// fixture overrides a person's records: a data set present in records with
// a nil value means "not in this data set"; absent means "as synthetic".
type fixture struct {
	records map[registry.Dataset]registry.Record
}

// Change is one entry of a changes feed.
type Change struct {
	PersonCode string          `json:"personCode"`
	Change     string          `json:"change"` // updated | removed
	ChangedAt  time.Time       `json:"changedAt"`
	Record     registry.Record `json:"record"`
}

// ChangesPage is the answer of GET /dagr/v1/{dataset}/changes.
type ChangesPage struct {
	Dataset    registry.Dataset `json:"dataset"`
	Changes    []Change         `json:"changes"`
	NextCursor string           `json:"nextCursor"`
	HasMore    bool             `json:"hasMore"`
}

// changeLog holds live changes (fixture puts and deletes) of one data set.
// Entries before base were dropped to bound memory.
type changeLog struct {
	base    int
	entries []Change
}

func (c *changeLog) add(ch Change) {
	c.entries = append(c.entries, ch)
	if len(c.entries) > maxLiveChanges {
		drop := len(c.entries) - maxLiveChanges
		c.entries = append([]Change(nil), c.entries[drop:]...)
		c.base += drop
	}
}

// Feed paging bounds.
const (
	defaultPageLimit = 100
	maxPageLimit     = 1000
	// maxScanPerPage bounds the synthetic persons examined per feed page so
	// a page never takes long; a page may then be short with hasMore true.
	maxScanPerPage = 200_000
)

func (s *Server) dataset(r *http.Request) (registry.Dataset, *problem) {
	d, err := registry.ParseDataset(r.PathValue("dataset"))
	if err != nil {
		return "", newProblem(http.StatusNotFound, "unknown-dataset", "No such data set", err.Error())
	}
	return d, nil
}

func parseCode(raw, field string) (personcode.Code, *problem) {
	c, err := personcode.Parse(raw)
	if err != nil {
		return "", newProblem(http.StatusBadRequest, "invalid-personal-code", "Personal code is not valid", err.Error()).
			withField(field, err.Error())
	}
	return c, nil
}

// effective returns the record of code in d as the mock currently serves
// it, and where it comes from: fixture, synthetic or none.
func (s *Server) effective(code personcode.Code, d registry.Dataset) (registry.Record, string) {
	s.mu.Lock()
	f := s.fixtures[code]
	s.mu.Unlock()
	if f != nil {
		if r, ok := f.records[d]; ok {
			if r == nil {
				return nil, "fixture"
			}
			return r, "fixture"
		}
	}
	if p, ok := s.pop.Lookup(code); ok {
		if r := p.Record(d); r != nil {
			return r, "synthetic"
		}
	}
	return nil, "none"
}

func (s *Server) record(w http.ResponseWriter, r *http.Request) *problem {
	d, p := s.dataset(r)
	if p != nil {
		return p
	}
	if s.applyScenario(r.Context(), w, string(d)) {
		return nil
	}
	if p := s.authorize(w, r, d); p != nil {
		return p
	}
	code, p := parseCode(r.PathValue("personCode"), "path:personCode")
	if p != nil {
		return p
	}
	rec, _ := s.effective(code, d)
	if rec == nil {
		return newProblem(http.StatusNotFound, "person-not-found", "Person not in this data set",
			fmt.Sprintf("the %s registry (%s) holds no record for this personal code", d, d.Keeper()))
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}

// card answers GET /dagr/v1/eid/cards/{number}: the eID record of the card's
// holder, for identifying a person by card number.
func (s *Server) card(w http.ResponseWriter, r *http.Request) *problem {
	if s.applyScenario(r.Context(), w, string(registry.EID)) {
		return nil
	}
	if p := s.authorize(w, r, registry.EID); p != nil {
		return p
	}
	number := r.PathValue("number")
	notFound := newProblem(http.StatusNotFound, "card-not-found", "No such eID card", "no person holds this eID card number")
	if code, rec := s.fixtureCard(number); rec != nil {
		if eff, _ := s.effective(code, registry.EID); eff == rec {
			writeJSON(w, http.StatusOK, rec)
			return nil
		}
	}
	person, ok := s.pop.LookupCard(number)
	if !ok {
		return notFound
	}
	rec, _ := s.effective(person.Code, registry.EID)
	if rec == nil || !holdsCard(rec, number) {
		return notFound
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}

func (s *Server) fixtureCard(number string) (personcode.Code, registry.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for code, f := range s.fixtures {
		if r := f.records[registry.EID]; r != nil && holdsCard(r, number) {
			return code, r
		}
	}
	return "", nil
}

func holdsCard(r registry.Record, number string) bool {
	e, ok := r.(*registry.EIDRecord)
	if !ok {
		return false
	}
	for _, c := range e.Cards {
		if c.Number == number {
			return true
		}
	}
	return false
}

// Cursors are "<boot>.<generation>.<position>": positions 0..size-1 walk
// the synthetic population, later positions the live change log. boot is
// drawn when the server starts: a client keeps its cursor across restarts
// of the mocks, perhaps with another seed, size or as-of, where the same
// position means other persons, so a cursor of another run must be refused
// rather than read against this one. The generation changes on
// /__admin/reset, which expires older cursors.
func (s *Server) parseCursor(raw string, gen int) (int, *problem) {
	if raw == "" {
		return 0, nil
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return 0, invalidCursor(fmt.Sprintf("%q is not a cursor", raw))
	}
	gn, err1 := strconv.Atoi(parts[1])
	pn, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || gn < 1 || pn < 0 {
		return 0, invalidCursor(fmt.Sprintf("%q is not a cursor", raw))
	}
	switch {
	case parts[0] != s.boot:
		return 0, invalidCursor("issued by another run or instance of the mocks")
	case gn > gen:
		return 0, invalidCursor("from a generation not reached yet")
	case gn < gen:
		return 0, newProblem(http.StatusGone, "cursor-expired", "Cursor is from before a reset",
			"the mock was reset since this cursor was issued; start again without since").
			withField("query:since", "from an earlier generation")
	}
	return pn, nil
}

// invalidCursor refuses a cursor this run of the mocks never issued.
func invalidCursor(why string) *problem {
	return newProblem(http.StatusBadRequest, "invalid-cursor", "Cursor is not valid",
		"this run of the mocks did not issue the cursor; start again without since (and otherwise pass back nextCursor unchanged)").
		withField("query:since", why)
}

func pageLimit(r *http.Request, def, maxLimit int) (int, *problem) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxLimit {
		return 0, newProblem(http.StatusBadRequest, "invalid-limit", "limit is not valid",
			fmt.Sprintf("limit must be an integer from 1 to %d", maxLimit)).
			withField("query:limit", fmt.Sprintf("%q is not in 1..%d", raw, maxLimit))
	}
	return n, nil
}

func (s *Server) changesFeed(w http.ResponseWriter, r *http.Request) *problem {
	d, p := s.dataset(r)
	if p != nil {
		return p
	}
	if s.applyScenario(r.Context(), w, string(d)) {
		return nil
	}
	if p := s.authorize(w, r, d); p != nil {
		return p
	}
	limit, p := pageLimit(r, defaultPageLimit, maxPageLimit)
	if p != nil {
		return p
	}
	s.mu.Lock()
	gen := s.generation
	s.mu.Unlock()
	pos, p := s.parseCursor(r.URL.Query().Get("since"), gen)
	if p != nil {
		return p
	}

	size := s.pop.Size()
	page := ChangesPage{Dataset: d, Changes: []Change{}}
	if pos < size {
		pos = s.pop.Scan(pos, maxScanPerPage, d, func(person *population.Person) bool {
			if !person.Changed(d) || s.hasFixture(person.Code, d) {
				return true
			}
			page.Changes = append(page.Changes, Change{
				PersonCode: string(person.Code),
				Change:     "updated",
				ChangedAt:  syntheticChangeTime(person.ChangedOn(d), person.Index),
				Record:     person.Record(d),
			})
			return len(page.Changes) < limit
		})
	}
	s.mu.Lock()
	log := s.changes[d]
	end := size + log.base + len(log.entries)
	if pos >= size && pos < size+log.base {
		s.mu.Unlock()
		return newProblem(http.StatusGone, "cursor-expired", "Cursor points at dropped changes",
			fmt.Sprintf("the mock keeps the last %d live changes per data set; start again without since", maxLiveChanges))
	}
	if pos > end {
		s.mu.Unlock()
		return invalidCursor("beyond the head of the feed")
	}
	for pos >= size && pos < end && len(page.Changes) < limit {
		page.Changes = append(page.Changes, log.entries[pos-size-log.base])
		pos++
	}
	s.mu.Unlock()
	page.NextCursor = fmt.Sprintf("%s.%d.%d", s.boot, gen, pos)
	page.HasMore = pos < end
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) hasFixture(code personcode.Code, d registry.Dataset) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fixtures[code]
	if f == nil {
		return false
	}
	_, ok := f.records[d]
	return ok
}

// syntheticChangeTime places a synthetic change on the day its record
// changed, at a time of day derived from the person's index so that times
// look like a registry's working day (07:00-19:00 UTC). Feed order is
// cursor order, not time order.
func syntheticChangeTime(day registry.Date, index int) time.Time {
	const workday = 12 * time.Hour
	offset := time.Duration(uint64(index)*7919%uint64(workday/time.Second)) * time.Second
	return day.Time().Add(7*time.Hour + offset)
}
