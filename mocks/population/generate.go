package population

import (
	"fmt"
	"time"

	"github.com/avis-lv/gateway/mocks/registry"
)

// facts is what the data sets' generators share about a person.
type facts struct {
	birth  registry.Date
	age    int // at popRef, so membership does not move with as-of
	death  *registry.Date
	muni   municipality
	female bool
}

// stream purposes: one independent stream per concern, so that changing how
// one data set is generated does not reshuffle the others.
const (
	purposeBasic   = 1
	purposeDataset = 10
)

// generate builds person i. With only set, it builds the person record and
// only's record, which is what feed and listing scans need.
func (p *Population) generate(i int, only registry.Dataset) *Person {
	slot := p.perm.forward(uint64(i))
	code, birth, hasBirth := p.codes.code(slot)
	s := newStream(p.seed, uint64(i), purposeBasic)
	if !hasBirth {
		if s.chance(newFormatYoung) {
			birth = newFirstDay.AddDays(s.intn(newFirstDay.DaysUntil(youngest) + 1))
		} else {
			birth = newBornOlderFirst.AddDays(s.intn(newBornOlderFirst.DaysUntil(oldLastDay) + 1))
		}
	}
	f := facts{birth: birth, age: registry.AgeOn(birth, popRef), female: s.chance(0.53)}
	person := &Person{Index: i, Code: code}
	a := p.asOf

	var given, family string
	sn := surnames[s.intn(len(surnames))]
	if f.female {
		given, family = femaleNames[s.intn(len(femaleNames))], sn[1]
	} else {
		given, family = maleNames[s.intn(len(maleNames))], sn[0]
	}
	f.muni = p.pickMunicipality(s)
	addr := registry.DeclaredAddress{Municipality: f.muni.wire()}
	if s.chance(0.03) {
		person.Moved = true
		prev := p.pickMunicipality(s)
		if prev.atvk == f.muni.atvk {
			prev = municipalities[(indexOf(prev)+1)%len(municipalities)]
		}
		pm := prev.wire()
		addr.PreviousMunicipality = &pm
		addr.ValidFrom = later(a.AddDays(-s.between(1, 365)), birth)
	} else {
		addr.ValidFrom = later(a.AddDays(-s.between(366, 30*365)), birth)
	}
	deathRate := 0.004
	switch {
	case f.age >= 80:
		deathRate = 0.10
	case f.age >= 65:
		deathRate = 0.03
	}
	rec := &registry.PersonRecord{
		PersonCode: string(code), GivenName: given, FamilyName: family, BirthDate: birth,
		Sex: "M", Status: "active", DeclaredAddress: addr,
	}
	if f.female {
		rec.Sex = "F"
	}
	if s.chance(deathRate) {
		d := later(a.AddDays(-s.between(1, 3*365)), birth.AddDays(1))
		f.death = &d
		person.Deceased = true
		rec.Status, rec.DateOfDeath = "deceased", d.Ptr()
	}
	person.set(registry.Person, rec, p.inWindow(birth, addr.ValidFrom, deref(f.death)))

	for _, d := range registry.Datasets()[1:] {
		if only != "" && d != only {
			continue
		}
		ds := newStream(p.seed, uint64(i), purposeDataset+uint64(d.Index()))
		var r registry.Record
		var dates []registry.Date
		if d == registry.EID {
			r, dates = p.eid(ds, person, f)
		} else if ds.chance(p.k[d.Index()] * ageWeight(d, f.age)) {
			r, dates = p.status(d, ds, string(code), f)
		}
		if r != nil {
			person.set(d, r, p.inWindow(dates...))
		}
	}
	return person
}

func (person *Person) set(d registry.Dataset, r registry.Record, changedOn registry.Date) {
	person.records[d.Index()] = r
	person.changedOn[d.Index()] = changedOn
}

// inWindow returns the latest of dates that falls within the feed window
// ending on the as-of day, or the zero Date if none does.
func (p *Population) inWindow(dates ...registry.Date) registry.Date {
	from := p.asOf.AddDays(-(FeedWindowDays - 1))
	var latest registry.Date
	for _, d := range dates {
		if !d.IsZero() && !d.Before(from) && !d.After(p.asOf) && d.After(latest) {
			latest = d
		}
	}
	return latest
}

func (p *Population) eid(s *stream, person *Person, f facts) (registry.Record, []registry.Date) {
	rate := 0.10
	switch {
	case f.age >= 15:
		rate = 0.93
	case f.age >= 7:
		rate = 0.35
	}
	if !s.chance(rate) {
		return nil, nil
	}
	a := p.asOf
	const validYears = 5
	issued := later(a.AddDays(-s.between(0, validYears*365+180)), f.birth.AddDays(30))
	card := func(x uint64, from registry.Date) registry.EIDCard {
		c := registry.EIDCard{Number: p.cardNumber(x), Status: "valid", ValidFrom: from, ValidTo: from.AddYears(validYears).AddDays(-1)}
		switch {
		case f.death != nil || s.chance(0.01):
			c.Status = "invalid"
		case c.ValidTo.Before(a):
			c.Status = "expired"
		}
		return c
	}
	rec := &registry.EIDRecord{PersonCode: string(person.Code)}
	current := card(uint64(person.Index), issued)
	dates := []registry.Date{current.ValidFrom, current.ValidTo}
	if f.age >= 25 && s.chance(0.15) {
		prev := card(uint64(person.Index)+p.codes.size(), issued.AddYears(-validYears))
		if prev.Status == "valid" {
			prev.Status = "expired"
		}
		rec.Cards = append(rec.Cards, prev)
		dates = append(dates, prev.ValidTo)
	}
	rec.Cards = append(rec.Cards, current)
	if f.death != nil {
		dates = append(dates, *f.death)
	}
	return rec, dates
}

// status builds the record of one of the status data sets.
func (p *Population) status(d registry.Dataset, s *stream, code string, f facts) (registry.Record, []registry.Date) {
	a := p.asOf
	since := func(minDays, maxDays int) registry.Date {
		return later(a.AddDays(-s.between(minDays, maxDays)), f.birth.AddDays(1))
	}
	var (
		r    registry.Record
		from registry.Date
		to   *registry.Date
		trim func() // ends the period on the day of death
	)
	switch d {
	case registry.Pensioners:
		rec := &registry.PensionerRecord{PersonCode: code}
		switch {
		case f.age >= 65:
			rec.PensionType = "old-age"
			rec.ValidFrom = f.birth.AddYears(s.between(62, 65))
		case f.age >= 18:
			rec.PensionType = pick(s, []string{"disability", "service", "survivor"}, []float64{0.6, 0.25, 0.15})
			rec.ValidFrom = since(30, 10*365)
			if rec.PensionType == "disability" && s.chance(0.5) {
				rec.ValidTo = a.AddDays(s.between(-300, 1500)).Ptr()
			}
		default:
			rec.PensionType = "survivor"
			rec.ValidFrom = since(30, 10*365)
			rec.ValidTo = f.birth.AddYears(18).AddDays(-1).Ptr()
		}
		if rec.ValidTo != nil && rec.ValidTo.Before(rec.ValidFrom) {
			rec.ValidFrom = rec.ValidTo.AddDays(-365)
		}
		r, from, to = rec, rec.ValidFrom, rec.ValidTo
		trim = func() { rec.ValidTo = endAtDeath(rec.ValidFrom, rec.ValidTo, f.death) }
	case registry.Learners:
		rec := &registry.LearnerRecord{PersonCode: code}
		rec.EducationLevel, rec.Institution = p.school(s, f)
		yearStart := schoolYearStart(a)
		rec.ValidFrom = later(registry.NewDate(yearStart-s.between(0, 3), time.September, 1), f.birth.AddYears(6))
		if s.chance(0.10) {
			rec.ValidTo = a.AddDays(-s.between(1, 180))
		} else {
			rec.ValidTo = registry.NewDate(yearStart+1+s.between(0, 3), time.June, 30)
		}
		if rec.ValidTo.Before(rec.ValidFrom) {
			rec.ValidFrom = rec.ValidTo.AddDays(-270)
		}
		r, from, to = rec, rec.ValidFrom, rec.ValidTo.Ptr()
		trim = func() { rec.ValidTo = *endAtDeath(rec.ValidFrom, &rec.ValidTo, f.death) }
	case registry.HonourFamilies:
		rec := &registry.HonourFamilyRecord{PersonCode: code, ChildrenCount: 3}
		for rec.ChildrenCount < 9 && s.chance(0.45) {
			rec.ChildrenCount++
		}
		rec.CardNumber = fmt.Sprintf("GK%08d", s.intn(100_000_000))
		rec.ValidFrom = since(0, 4*365)
		if f.age < 18 {
			rec.Role = "child"
			rec.ValidTo = f.birth.AddYears(18).AddDays(-1)
		} else {
			rec.Role = "parent"
			rec.ValidTo = a.AddDays(s.between(-120, 5*365))
		}
		if rec.ValidTo.Before(rec.ValidFrom) {
			rec.ValidFrom = rec.ValidTo.AddDays(-365)
		}
		r, from, to = rec, rec.ValidFrom, rec.ValidTo.Ptr()
		trim = func() { rec.ValidTo = *endAtDeath(rec.ValidFrom, &rec.ValidTo, f.death) }
	case registry.Orphans:
		rec := &registry.OrphanRecord{PersonCode: code, Status: pick(s, registry.OrphanStatuses, []float64{0.25, 0.75})}
		rec.ValidFrom = since(30, 12*365)
		if f.age < 18 {
			rec.ValidTo = f.birth.AddYears(18).AddDays(-1)
		} else {
			rec.ValidTo = f.birth.AddYears(24).AddDays(-1)
		}
		if rec.ValidTo.Before(rec.ValidFrom) {
			rec.ValidFrom = rec.ValidTo.AddDays(-365)
		}
		r, from, to = rec, rec.ValidFrom, rec.ValidTo.Ptr()
		trim = func() { rec.ValidTo = *endAtDeath(rec.ValidFrom, &rec.ValidTo, f.death) }
	case registry.Needy:
		rec := &registry.NeedyRecord{PersonCode: code, Municipality: f.muni.wire()}
		rec.Status = pick(s, registry.NeedyStatuses, []float64{0.55, 0.45})
		months := []int{3, 6}
		if rec.Status == "low-income" {
			months = []int{6, 12}
		}
		days := months[s.intn(2)] * 30
		if s.chance(0.15) {
			rec.ValidTo = a.AddDays(-s.between(1, 150))
			rec.ValidFrom = rec.ValidTo.AddDays(-(days - 1))
		} else {
			rec.ValidFrom = a.AddDays(-s.between(0, days-1))
			rec.ValidTo = rec.ValidFrom.AddDays(days - 1)
		}
		r, from, to = rec, rec.ValidFrom, rec.ValidTo.Ptr()
		trim = func() { rec.ValidTo = *endAtDeath(rec.ValidFrom, &rec.ValidTo, f.death) }
	case registry.Disability:
		rec := &registry.DisabilityRecord{PersonCode: code}
		rec.ValidFrom = since(30, 15*365)
		if f.age < 18 {
			rec.Group = "child"
			rec.ValidTo = f.birth.AddYears(18).AddDays(-1).Ptr()
		} else {
			rec.Group = pick(s, []string{"I", "II", "III"}, []float64{0.12, 0.48, 0.40})
			if s.chance(0.6) {
				rec.ValidTo = a.AddDays(s.between(-365, 5*365)).Ptr()
			}
		}
		if rec.ValidTo != nil && rec.ValidTo.Before(rec.ValidFrom) {
			rec.ValidFrom = rec.ValidTo.AddDays(-365)
		}
		r, from, to = rec, rec.ValidFrom, rec.ValidTo
		trim = func() { rec.ValidTo = endAtDeath(rec.ValidFrom, rec.ValidTo, f.death) }
	case registry.Repressed:
		rec := &registry.RepressedRecord{PersonCode: code}
		if s.chance(0.85) {
			rec.Categories = append(rec.Categories, "politically-repressed")
		}
		if f.birth.Year() <= 1935 && s.chance(0.10) {
			rec.Categories = append(rec.Categories, "national-resistance")
		}
		if f.birth.Year() <= 1927 && s.chance(0.5) {
			rec.Categories = append(rec.Categories, "wwii-participant")
		}
		if len(rec.Categories) == 0 {
			rec.Categories = []string{"politically-repressed"}
		}
		first := registry.NewDate(1991, time.January, 1)
		rec.ValidFrom = first.AddDays(s.intn(first.DaysUntil(registry.NewDate(2015, time.December, 31)) + 1))
		r, from, to = rec, rec.ValidFrom, nil
		trim = func() { rec.ValidTo = endAtDeath(rec.ValidFrom, nil, f.death) }
	}
	trim()
	dates := []registry.Date{from}
	if to != nil {
		dates = append(dates, *to)
	}
	if f.death != nil {
		dates = append(dates, *f.death)
	}
	return r, dates
}

// school picks an education level and institution fitting the age.
func (p *Population) school(s *stream, f facts) (string, registry.Institution) {
	level := "higher"
	switch {
	case f.age <= 15:
		level = "basic"
	case f.age <= 18:
		level = pick(s, []string{"secondary", "vocational"}, []float64{0.7, 0.3})
	case f.age == 19:
		level = pick(s, []string{"secondary", "vocational", "higher"}, []float64{0.3, 0.2, 0.5})
	default:
		level = pick(s, []string{"higher", "vocational"}, []float64{0.85, 0.15})
	}
	m := f.muni
	n := 1 + s.intn(max(1, m.residents/15))
	switch level {
	case "basic":
		return level, registry.Institution{Code: fmt.Sprintf("%s-%03d", m.atvk, n), Name: fmt.Sprintf("%s %d. pamatskola", m.genitive, n)}
	case "secondary":
		return level, registry.Institution{Code: fmt.Sprintf("%s-%03d", m.atvk, 100+n), Name: fmt.Sprintf("%s %d. vidusskola", m.genitive, n)}
	case "vocational":
		return level, registry.Institution{Code: m.atvk + "-T01", Name: m.genitive + " tehnikums"}
	}
	u := s.intn(len(universities))
	return level, registry.Institution{Code: fmt.Sprintf("HE-%02d", u+1), Name: universities[u]}
}

// schoolYearStart is the calendar year in which the school year holding day
// began (school years start on 1 September).
func schoolYearStart(day registry.Date) int {
	if day.Time().Month() >= time.September {
		return day.Year()
	}
	return day.Year() - 1
}

// endAtDeath ends an open or later-ending period on the day of death.
func endAtDeath(from registry.Date, to *registry.Date, death *registry.Date) *registry.Date {
	if death == nil {
		return to
	}
	if to != nil && to.Before(*death) {
		return to
	}
	if death.Before(from) {
		return from.Ptr()
	}
	return death.Ptr()
}

func pick(s *stream, values []string, weights []float64) string {
	u := s.float()
	for i, w := range weights {
		if u < w {
			return values[i]
		}
		u -= w
	}
	return values[len(values)-1]
}

func later(a, b registry.Date) registry.Date {
	if a.Before(b) {
		return b
	}
	return a
}

func deref(d *registry.Date) registry.Date {
	if d == nil {
		return registry.Date{}
	}
	return *d
}

func indexOf(m municipality) int {
	for i, x := range municipalities {
		if x.atvk == m.atvk {
			return i
		}
	}
	return 0
}
