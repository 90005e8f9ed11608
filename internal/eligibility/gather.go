package eligibility

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/avis-lv/gateway/internal/means"
	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/internal/registry"
)

// gather collects the evidence the candidates need: PMLP person data
// always, the group data sets and lists they name, and what the person
// already received from benefits with a period limit. Cached answers are
// read in one Redis round trip; the misses are fetched in parallel and
// written back in one more.
func (s *Service) gather(ctx context.Context, code personcode.Code, cands []Benefit, day, at time.Time, personRef []byte) (Evidence, error) {
	ev := Evidence{Groups: map[Dataset]GroupFacts{}, Lists: map[string]Truth{}}
	if t, ok := code.BirthDate(); ok {
		ev.CodeBirthDate = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}

	// What to look up.
	datasets := []Dataset{registry.Person}
	type listNeed struct {
		id      string
		version int
	}
	var listNeeds []listNeed
	var spend []SpendQuery
	seenDS := map[Dataset]bool{registry.Person: true}
	seenList := map[string]bool{}
	for _, b := range cands {
		if g := b.RecipientGroup.RegistryGroup; g != "" {
			if ds, ok := GroupDataset(g); ok && !seenDS[ds] {
				seenDS[ds] = true
				datasets = append(datasets, ds)
			}
		}
		if id := b.RecipientGroup.PersonListID; id != "" && !seenList[id] && s.lists != nil && s.versions != nil {
			seenList[id] = true
			v, err := s.versions.Current(ctx, id)
			if err != nil {
				s.log.WarnContext(ctx, "person list version unavailable; its benefits are unknown", "list", id, "error", err)
				continue
			}
			listNeeds = append(listNeeds, listNeed{id, v})
		}
		if l := b.Discount.PerPersonLimit; l != nil {
			from, to := periodBounds(l.Period, at, s.cfg.Location)
			spend = append(spend, SpendQuery{BenefitID: b.ID, From: from, To: to})
		}
	}

	pk := s.cache.PersonKey(string(code))
	keys := make([]string, 0, len(datasets)+len(listNeeds))
	for _, d := range datasets {
		keys = append(keys, s.cache.factsKey(d, pk))
	}
	dayKey := day.Format("20060102")
	for _, l := range listNeeds {
		keys = append(keys, s.cache.listKey(l.id, dayKey, pk), s.cache.listVersionKey(l.id))
	}
	cached := s.cache.mget(ctx, keys)

	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		writes []write
	)
	// Spend totals come from PostgreSQL, in parallel with the rest.
	var spent map[string]int64
	var spentErr error
	if len(spend) > 0 {
		wg.Go(func() { spent, spentErr = s.store.Spent(ctx, personRef, spend) })
	}
	for i, d := range datasets {
		e := cached[i]
		if e.value != nil {
			s.cache.m.hits.WithLabelValues("facts").Inc()
			mu.Lock()
			applied := s.applyFacts(&ev, d, e.value)
			mu.Unlock()
			if applied {
				ttl := s.cache.cfg.FactsTTL
				if !factsFound(e.value) {
					ttl = s.cache.cfg.NegativeTTL
				}
				if !s.cache.fresh(e, ttl) {
					s.refreshFacts(d, code, keys[i])
				}
				continue
			}
		}
		s.cache.m.misses.WithLabelValues("facts").Inc()
		wg.Go(func() {
			val, ttl, err := s.fetchFacts(ctx, d, code)
			if err != nil {
				return // unknown: no entry in the evidence
			}
			mu.Lock()
			defer mu.Unlock()
			s.applyFacts(&ev, d, val)
			writes = append(writes, write{keys[i], val, ttl})
		})
	}
	for j, l := range listNeeds {
		e, vk := cached[len(datasets)+2*j], cached[len(datasets)+2*j+1]
		// The version to answer from: the newest of what this instance
		// knows and what the lists capability raised in Redis.
		want := l.version
		if rv, err := strconv.Atoi(vk.raw); err == nil && rv > want {
			want = rv
			s.versions.Seen(l.id, rv)
		}
		if v, member, ok := parseMembership(e.value); ok && v >= want {
			s.cache.m.hits.WithLabelValues("list").Inc()
			mu.Lock()
			ev.Lists[l.id] = truth(member)
			mu.Unlock()
			continue
		}
		s.cache.m.misses.WithLabelValues("list").Inc()
		key := keys[len(datasets)+2*j]
		wg.Go(func() {
			ok, version, err := s.lists.IsMember(ctx, l.id, code, day)
			if err != nil {
				s.log.WarnContext(ctx, "person list membership unavailable; its benefits are unknown", "list", l.id, "error", err)
				return
			}
			s.versions.Seen(l.id, version)
			mu.Lock()
			defer mu.Unlock()
			ev.Lists[l.id] = truth(ok)
			writes = append(writes, write{key, formatMembership(version, ok), s.cache.cfg.FactsTTL})
		})
	}
	wg.Wait()
	if spentErr != nil {
		return Evidence{}, fmt.Errorf("per-person spend: %w", spentErr)
	}
	ev.Spent = spent
	s.cache.set(ctx, writes)
	return ev, nil
}

// formatMembership is a cached list membership: "version:0|1".
func formatMembership(version int, member bool) []byte {
	b := strconv.AppendInt(nil, int64(version), 10)
	if member {
		return append(b, ':', '1')
	}
	return append(b, ':', '0')
}

func parseMembership(v []byte) (int, bool, bool) {
	i := bytes.IndexByte(v, ':')
	if i < 0 || i != len(v)-2 {
		return 0, false, false
	}
	n, err := strconv.Atoi(string(v[:i]))
	if err != nil {
		return 0, false, false
	}
	return n, v[i+1] == '1', true
}

// fetchFacts asks the registry and encodes its answer for the cache. A
// registry that cannot answer gives an error: nothing is cached.
func (s *Service) fetchFacts(ctx context.Context, d Dataset, code personcode.Code) ([]byte, time.Duration, error) {
	raw, err := s.registry.Record(ctx, d, string(code))
	var facts any
	ttl := s.cache.cfg.FactsTTL
	switch {
	case errors.Is(err, registry.ErrNotFound):
		ttl = s.cache.cfg.NegativeTTL
		if d == registry.Person {
			facts = PersonFacts{Found: false}
		} else {
			facts = GroupFacts{Found: false}
		}
	case err != nil:
		return nil, 0, err
	case d == registry.Person:
		p, err := registry.DecodePerson(raw)
		if err != nil {
			s.log.WarnContext(ctx, "registry answered an unreadable record", "dataset", string(d), "error", err)
			return nil, 0, fmt.Errorf("%w: %w", registry.ErrUnavailable, err)
		}
		facts = personFacts(p)
	default:
		st, err := registry.DecodeStatus(d, raw)
		if err != nil {
			s.log.WarnContext(ctx, "registry answered an unreadable record", "dataset", string(d), "error", err)
			return nil, 0, fmt.Errorf("%w: %w", registry.ErrUnavailable, err)
		}
		facts = GroupFacts{Found: true, Periods: []Period{{Kind: st.Kind, From: st.ValidFrom.Time, To: st.ValidTo.Ptr()}}}
	}
	var val []byte
	switch f := facts.(type) {
	case PersonFacts:
		val = f.AppendBinary(nil)
	case GroupFacts:
		val = f.AppendBinary(nil)
	}
	return val, ttl, nil
}

func personFacts(p registry.PersonRecord) PersonFacts {
	f := PersonFacts{
		Found:             true,
		BirthDate:         p.BirthDate.Time,
		Deceased:          p.Status == "deceased",
		DeathDate:         p.DateOfDeath.Ptr(),
		Municipality:      p.DeclaredAddress.Municipality.ATVK,
		MunicipalitySince: p.DeclaredAddress.ValidFrom.Time,
	}
	if pm := p.DeclaredAddress.PreviousMunicipality; pm != nil {
		f.PreviousMunicipality = pm.ATVK
	}
	return f
}

// applyFacts decodes a cached or fetched value into the evidence.
func (s *Service) applyFacts(ev *Evidence, d Dataset, val []byte) bool {
	if d == registry.Person {
		p, err := decodePerson(val)
		if err != nil {
			return false
		}
		ev.Person, ev.PersonKnown = p, true
		return true
	}
	g, err := decodeGroup(val)
	if err != nil {
		return false
	}
	ev.Groups[d] = g
	return true
}

// refreshFacts renews an entry that is about to expire, in the
// background, once per key at a time, while the old value keeps serving.
func (s *Service) refreshFacts(d Dataset, code personcode.Code, key string) {
	if _, busy := s.cache.refreshing.LoadOrStore(key, struct{}{}); busy {
		return
	}
	go func() {
		defer s.cache.refreshing.Delete(key)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		val, ttl, err := s.fetchFacts(ctx, d, code)
		if err != nil {
			return
		}
		s.cache.set(ctx, []write{{key, val, ttl}})
	}()
}

// meansEntry is a resolved means as cached (sealed: it holds a code).
type meansEntry struct {
	Found     bool       `json:"f"`
	Code      string     `json:"c,omitempty"`
	Status    string     `json:"s,omitempty"`
	ValidFrom *time.Time `json:"vf,omitempty"`
	ValidTo   *time.Time `json:"vt,omitempty"`
	// Card is set when the means was identified by PMLP as an eID card:
	// its validity is then the card's.
	Card bool `json:"card,omitempty"`
	// Grantor registered the means (not for a Card): the person it names
	// is taken on that grantor's word, for that grantor's benefits only.
	Grantor string `json:"g,omitempty"`
}

func (m meansEntry) validOn(day time.Time) bool {
	if !m.Found || m.Status != string(means.StatusActive) {
		return false
	}
	if m.ValidFrom != nil && day.Before(*m.ValidFrom) {
		return false
	}
	return m.ValidTo == nil || !day.After(*m.ValidTo)
}

// resolveMeans finds the person an identification means identifies on
// day, and the grantor whose benefits alone it may unlock: for an eID
// card, the card's holder as PMLP knows them (any grantor's benefits);
// for another means, the person its registering grantor named (that
// grantor's benefits: another grantor's word cannot make a card someone
// else's for them).
func (s *Service) resolveMeans(ctx context.Context, t means.Type, number string, day time.Time) (personcode.Code, string, error) {
	if !t.Valid() {
		return "", "", &ValidationError{Violations: []Violation{{Pointer: "/person/means/type", Code: "schema.enum", Detail: "use eid_card, etalons, school_card or municipal_card", DetailLV: "izmantojiet eid_card, etalons, school_card vai municipal_card"}}}
	}
	key := s.cache.meansKey(string(t), number)
	if e := s.cache.mget(ctx, []string{key})[0]; e.value != nil {
		if plain, ok := s.cache.open(e.value); ok {
			var m meansEntry
			// A registered means cached without its grantor was cached by
			// an earlier release: looked up again.
			if json.Unmarshal(plain, &m) == nil && (!m.Found || m.Card || m.Grantor != "") {
				s.cache.m.hits.WithLabelValues("means").Inc()
				if !m.validOn(day) {
					return "", "", ErrUnknownMeans
				}
				return personcode.Code(m.Code), m.Grantor, nil
			}
		}
	}
	s.cache.m.misses.WithLabelValues("means").Inc()
	entry, err := s.lookupMeans(ctx, t, number, day)
	if err != nil {
		return "", "", err
	}
	if plain, err := json.Marshal(entry); err == nil {
		ttl := s.cache.cfg.MeansTTL
		if entry.Card {
			ttl = min(ttl, s.cache.cfg.FactsTTL)
		}
		s.cache.set(ctx, []write{{key, s.cache.seal(plain), ttl}})
	}
	if !entry.validOn(day) {
		return "", "", ErrUnknownMeans
	}
	return personcode.Code(entry.Code), entry.Grantor, nil
}

func (s *Service) lookupMeans(ctx context.Context, t means.Type, number string, day time.Time) (meansEntry, error) {
	// eID cards are PMLP's: a registration of one (possible before
	// means.eid_card_registered) is not read.
	if t != means.EIDCard {
		m, err := s.means.Lookup(ctx, t, number)
		switch {
		case err == nil:
			return meansEntry{Found: true, Code: string(m.PersonCode), Status: string(m.Status), ValidFrom: m.ValidFrom, ValidTo: m.ValidTo, Grantor: m.Grantor}, nil
		case errors.Is(err, means.ErrNotFound):
			return meansEntry{Found: false}, nil
		default:
			return meansEntry{}, fmt.Errorf("look up means: %w", err)
		}
	}
	raw, err := s.registry.Card(ctx, number)
	if errors.Is(err, registry.ErrNotFound) {
		return meansEntry{Found: false}, nil
	}
	if err != nil {
		return meansEntry{}, fmt.Errorf("%w: %w", ErrIdentificationUnavailable, err)
	}
	rec, err := registry.DecodeEID(raw)
	if err != nil {
		return meansEntry{}, fmt.Errorf("%w: %w", ErrIdentificationUnavailable, err)
	}
	holder, err := personcode.Parse(rec.PersonCode)
	if err != nil {
		return meansEntry{}, fmt.Errorf("%w: the eID record holds no valid personal code", ErrIdentificationUnavailable)
	}
	e := meansEntry{Found: true, Code: string(holder), Status: string(means.StatusRevoked), Card: true}
	for _, c := range rec.Cards {
		if c.Number != number {
			continue
		}
		if c.Status == "valid" {
			e.Status = string(means.StatusActive)
		}
		e.ValidFrom, e.ValidTo = c.ValidFrom.Ptr(), c.ValidTo.Ptr()
	}
	return e, nil
}

// InvalidateMeans drops the cached resolution of a means; the means
// service calls it after every change.
func (s *Service) InvalidateMeans(ctx context.Context, t means.Type, number string) {
	s.cache.invalidate(ctx, s.cache.meansKey(string(t), number), s.cache.legacyMeansKey(string(t), number))
}
