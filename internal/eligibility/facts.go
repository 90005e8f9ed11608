package eligibility

import (
	"time"

	"github.com/avis-lv/gateway/internal/registry"
)

// Truth is a three-valued answer: a registry that could not answer makes a
// condition Unknown, never No.
type Truth int8

const (
	No Truth = iota
	Unknown
	Yes
)

func (t Truth) String() string {
	switch t {
	case Yes:
		return "yes"
	case Unknown:
		return "unknown"
	}
	return "no"
}

// and combines two answers: No wins over Unknown, Unknown over Yes.
func and(a, b Truth) Truth { return min(a, b) }

func truth(b bool) Truth {
	if b {
		return Yes
	}
	return No
}

// Dataset names a registry data set.
type Dataset = registry.Dataset

// The registry data sets the recipient groups are read from (seed 003).
const (
	DatasetPensioners     = registry.Pensioners     // VSAA
	DatasetLearners       = registry.Learners       // IZM
	DatasetHonourFamilies = registry.HonourFamilies // SIF
	DatasetOrphans        = registry.Orphans        // VBTAI
	DatasetNeedy          = registry.Needy          // SOPA (needy and low-income)
	DatasetDisability     = registry.Disability     // VDEĀVK
	DatasetRepressed      = registry.Repressed      // PMLP
)

// groupDatasets maps each registry recipient group of the instructions to
// the data set that says who belongs to it, and the record kinds that count
// (nil: any record). A needy person (trūcīga persona) also meets a
// low-income (maznodrošināta) test: the needy threshold is the lower one.
var groupDatasets = map[string]struct {
	dataset Dataset
	kinds   []string
}{
	"pensioners":      {DatasetPensioners, nil},
	"learners":        {DatasetLearners, nil},
	"honour_families": {DatasetHonourFamilies, nil},
	"orphans":         {DatasetOrphans, nil},
	"needy":           {DatasetNeedy, []string{"needy"}},
	"low_income":      {DatasetNeedy, []string{"needy", "low-income"}},
	"disability":      {DatasetDisability, nil},
	"repressed":       {DatasetRepressed, nil},
}

// GroupDataset returns the data set of a registry recipient group.
func GroupDataset(group string) (Dataset, bool) {
	g, ok := groupDatasets[group]
	return g.dataset, ok
}

// PersonFacts is what PMLP says about a person. Dates are calendar dates at
// midnight UTC.
type PersonFacts struct {
	Found                bool
	BirthDate            time.Time
	Deceased             bool
	DeathDate            *time.Time
	Municipality         string
	MunicipalitySince    time.Time
	PreviousMunicipality string
}

// aliveOn reports whether the person was alive on day.
func (p PersonFacts) aliveOn(day time.Time) Truth {
	if !p.Deceased {
		return Yes
	}
	if p.DeathDate == nil {
		return No
	}
	return truth(day.Before(*p.DeathDate))
}

// municipalityOn is the ATVK code of the declared residence on day.
func (p PersonFacts) municipalityOn(day time.Time) (string, Truth) {
	if p.Municipality == "" {
		return "", Unknown
	}
	if p.MunicipalitySince.IsZero() || !day.Before(p.MunicipalitySince) {
		return p.Municipality, Yes
	}
	if p.PreviousMunicipality != "" {
		return p.PreviousMunicipality, Yes
	}
	return "", Unknown
}

// Period is one registry status with its inclusive validity. Kind is the
// record's status or type where a group needs it (needy | low-income).
type Period struct {
	Kind string
	From time.Time
	To   *time.Time
}

func (p Period) covers(day time.Time) bool {
	return !day.Before(p.From) && (p.To == nil || !day.After(*p.To))
}

// GroupFacts is what a group data set says about a person: nothing (not
// found) or the periods of its statuses.
type GroupFacts struct {
	Found   bool
	Periods []Period
}

// memberOn reports whether any period of an accepted kind covers day.
func (g GroupFacts) memberOn(day time.Time, kinds []string) bool {
	for _, p := range g.Periods {
		if !p.covers(day) {
			continue
		}
		if kinds == nil {
			return true
		}
		for _, k := range kinds {
			if p.Kind == k {
				return true
			}
		}
	}
	return false
}

// ageOn is the age in whole years on day of someone born on birth.
func ageOn(birth, day time.Time) int {
	age := day.Year() - birth.Year()
	if day.Month() < birth.Month() || (day.Month() == birth.Month() && day.Day() < birth.Day()) {
		age--
	}
	return age
}

// civil returns the calendar date of t in loc, as midnight UTC.
func civil(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
