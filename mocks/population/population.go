// Package population generates the registry mocks' synthetic population:
// persons with valid personal codes of both formats, a declared
// municipality, and records in each registry data set at realistic shares.
//
// Nothing is stored. Person i is a pure function of (seed, i), and the
// personal code ↔ index mapping is a keyed permutation with an arithmetic
// inverse, so New is instant and Lookup costs microseconds for any size up
// to MaxSize. The same seed gives the same persons on every run and
// machine, and person i does not depend on -size either. Only validity
// dates depend on the as-of day, so that statuses stay current: pin AsOf to
// reproduce a run exactly.
package population

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/mocks/registry"
)

// FeedWindowDays is how far back from the as-of day a record's dates must
// reach for the person to appear in the synthetic changes feed.
const FeedWindowDays = 90

// Config chooses the population.
type Config struct {
	Seed uint64
	Size int
	// AsOf is "today" for the population: validity periods are placed
	// around it. It must not be before 2026-01-01 (the youngest synthetic
	// person is born 2025-12-31).
	AsOf registry.Date
}

// Population is an immutable synthetic population, safe for concurrent use.
type Population struct {
	seed      uint64
	size      int
	asOf      registry.Date
	codes     *codeSpace
	perm      permutation // index → slot
	cards     permutation // index (+ MaxSize for a previous card) → card number
	k         [9]float64  // per data set: scale from age weights to probabilities
	muniCum   []int
	muniTotal int
}

// Person is one synthetic person with their record in each data set.
type Person struct {
	Index     int
	Code      personcode.Code
	Deceased  bool
	Moved     bool
	records   [9]registry.Record
	changedOn [9]registry.Date
}

// Record returns the person's record in d, or nil if they are not in it.
func (p *Person) Record(d registry.Dataset) registry.Record {
	if i := d.Index(); i >= 0 {
		return p.records[i]
	}
	return nil
}

// Changed reports whether the person's record in d changed within the feed
// window and so appears in the synthetic changes feed.
func (p *Person) Changed(d registry.Dataset) bool {
	return !p.ChangedOn(d).IsZero()
}

// ChangedOn returns the day of the latest change of the person's record in
// d within the feed window (a validity start or end, a death, a move), or
// the zero Date.
func (p *Person) ChangedOn(d registry.Dataset) registry.Date {
	if i := d.Index(); i >= 0 {
		return p.changedOn[i]
	}
	return registry.Date{}
}

// shareTargets are the shares of the population holding a record (current
// or expired) in each data set; person and eid are not calibrated.
var shareTargets = map[registry.Dataset]float64{
	registry.Pensioners:     0.18,
	registry.Learners:       0.15,
	registry.HonourFamilies: 0.03,
	registry.Orphans:        0.005,
	registry.Needy:          0.04,
	registry.Disability:     0.08,
	registry.Repressed:      0.005,
}

// ShareTarget returns the intended share of the population in d, and false
// for data sets without one.
func ShareTarget(d registry.Dataset) (float64, bool) {
	s, ok := shareTargets[d]
	return s, ok
}

// ageWeight is the relative likelihood, by age at the reference day, of
// holding a record in d; it is scaled to hit shareTargets.
func ageWeight(d registry.Dataset, age int) float64 {
	switch d {
	case registry.Pensioners:
		switch {
		case age >= 65:
			return 1
		case age >= 18:
			return 0.04
		default:
			return 0.012
		}
	case registry.Learners:
		switch {
		case age >= 6 && age <= 18:
			return 1
		case age >= 19 && age <= 24:
			return 0.42
		case age >= 25 && age <= 35:
			return 0.03
		}
	case registry.HonourFamilies:
		switch {
		case age < 18:
			return 1
		case age >= 25 && age <= 55:
			return 0.45
		}
	case registry.Orphans:
		switch {
		case age < 18:
			return 1
		case age <= 24:
			return 0.35
		}
	case registry.Needy:
		return 1
	case registry.Disability:
		switch {
		case age < 18:
			return 0.35
		case age < 65:
			return 1
		default:
			return 1.9
		}
	case registry.Repressed:
		if age >= 75 {
			return 1
		}
	}
	return 0
}

// New returns the population for cfg.
func New(cfg Config) (*Population, error) {
	if cfg.AsOf.Before(popRef) {
		return nil, fmt.Errorf("as-of %s is before %s: the youngest synthetic person is born %s", cfg.AsOf, popRef, youngest)
	}
	cs, err := newCodeSpace()
	if err != nil {
		return nil, fmt.Errorf("population code space: %w", err)
	}
	if cfg.Size < 1 || uint64(cfg.Size) > cs.size() {
		return nil, fmt.Errorf("size %d: must be between 1 and %d", cfg.Size, cs.size())
	}
	p := &Population{
		seed:  cfg.Seed,
		size:  cfg.Size,
		asOf:  cfg.AsOf,
		codes: cs,
		perm:  newPermutation(cs.size(), cfg.Seed, 1),
		cards: newPermutation(26*10_000_000, cfg.Seed, 2),
	}
	for _, m := range municipalities {
		p.muniTotal += m.residents
		p.muniCum = append(p.muniCum, p.muniTotal)
	}
	if err := p.calibrate(); err != nil {
		return nil, err
	}
	return p, nil
}

// calibrate sets each data set's scale so that Σ share(age)·p(age) hits the
// target, from the age distribution the code space implies.
func (p *Population) calibrate() error {
	ages := p.ageDistribution()
	for d, target := range shareTargets {
		var mass float64
		for age, share := range ages {
			mass += share * ageWeight(d, age)
		}
		if mass == 0 {
			return fmt.Errorf("calibrate %s: no age group can hold it", d)
		}
		k := target / mass
		for age := range ages {
			if k*ageWeight(d, age) > 0.97 {
				return fmt.Errorf("calibrate %s: share %.3f needs probability %.2f at age %d", d, target, k*ageWeight(d, age), age)
			}
		}
		p.k[d.Index()] = k
	}
	return nil
}

// ageDistribution returns the share of the population by age at popRef.
func (p *Population) ageDistribution() []float64 {
	cs := p.codes
	total := float64(cs.size())
	ages := make([]float64, 120)
	add := func(birth registry.Date, w float64) {
		if a := registry.AgeOn(birth, popRef); a >= 0 && a < len(ages) {
			ages[a] += w
		}
	}
	newShare := float64(cs.newSlots) / total
	youngDays := newFirstDay.DaysUntil(youngest) + 1
	oldNewDays := newBornOlderFirst.DaysUntil(oldLastDay) + 1
	for d := oldFirstDay; !d.After(youngest); d = d.AddDays(1) {
		if !d.After(oldLastDay) {
			add(d, float64(cs.perDay[d.Year()-cs.firstYear])/total)
			if !d.Before(newBornOlderFirst) {
				add(d, newShare*(1-newFormatYoung)/float64(oldNewDays))
			}
		} else {
			add(d, newShare*newFormatYoung/float64(youngDays))
		}
	}
	return ages
}

// New-format codes: most belong to children born since July 2017; the rest
// to adults who asked for a new code (born from 1940 on).
var newBornOlderFirst = registry.NewDate(1940, time.January, 1)

const newFormatYoung = 0.75

// Size returns the number of persons.
func (p *Population) Size() int { return p.size }

// Seed returns the seed.
func (p *Population) Seed() uint64 { return p.seed }

// AsOf returns the population's "today".
func (p *Population) AsOf() registry.Date { return p.asOf }

// MaxSize returns the largest size this code space supports.
func MaxSize() int {
	cs, err := newCodeSpace()
	if err != nil {
		return 0
	}
	return int(cs.size())
}

// At returns person i, 0 <= i < Size().
func (p *Population) At(i int) *Person {
	if i < 0 || i >= p.size {
		return nil
	}
	return p.generate(i, "")
}

// Lookup returns the person with code c, if the population has one.
func (p *Population) Lookup(c personcode.Code) (*Person, bool) {
	slot, ok := p.codes.slot(c)
	if !ok {
		return nil, false
	}
	i := p.perm.inverse(slot)
	if i >= uint64(p.size) {
		return nil, false
	}
	return p.generate(int(i), ""), true
}

// LookupCard returns the person holding eID card number, current or
// previous, if any.
func (p *Population) LookupCard(number string) (*Person, bool) {
	if len(number) != 9 || number[0] != 'P' || number[1] < 'A' || number[1] > 'Z' {
		return nil, false
	}
	n, err := strconv.Atoi(number[2:])
	if err != nil || n < 0 {
		return nil, false
	}
	x := p.cards.inverse(uint64(number[1]-'A')*10_000_000 + uint64(n))
	maxSize := p.codes.size()
	idx := x
	if x >= maxSize {
		idx = x - maxSize
	}
	if idx >= uint64(p.size) {
		return nil, false
	}
	person := p.generate(int(idx), registry.EID)
	if rec, ok := person.Record(registry.EID).(*registry.EIDRecord); ok {
		for _, c := range rec.Cards {
			if c.Number == number {
				return person, true
			}
		}
	}
	return nil, false
}

func (p *Population) cardNumber(x uint64) string {
	y := p.cards.forward(x)
	return fmt.Sprintf("P%c%07d", 'A'+byte(y/10_000_000), y%10_000_000)
}

func (p *Population) pickMunicipality(s *stream) municipality {
	n := s.intn(p.muniTotal)
	return municipalities[sort.SearchInts(p.muniCum, n+1)]
}

// Scan visits persons from index from upward, until visit returns false,
// maxScan persons have been visited, or the population ends, and returns the
// index to continue from (Size() at the end). With only set, persons carry
// just their person record and only's record, which makes scans of one
// data set several times faster.
func (p *Population) Scan(from, maxScan int, only registry.Dataset, visit func(*Person) bool) int {
	i := max(from, 0)
	end := p.size
	if maxScan < end-i {
		end = i + maxScan
	}
	for i < end {
		person := p.generate(i, only)
		i++
		if !visit(person) {
			break
		}
	}
	return i
}
