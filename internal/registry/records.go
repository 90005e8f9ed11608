package registry

import (
	"encoding/json"
	"fmt"
	"time"
)

// Dataset names a DAGR data set as it appears in the registries' URLs.
type Dataset string

// The data sets of seed 003, each with the institution that keeps it.
const (
	Person         Dataset = "person"          // PMLP: basic person data
	EID            Dataset = "eid"             // PMLP: eID cards
	Pensioners     Dataset = "pensioners"      // VSAA: state pension recipients
	Learners       Dataset = "learners"        // IZM: pupils and students
	HonourFamilies Dataset = "honour-families" // SIF: Honour Family card holders
	Orphans        Dataset = "orphans"         // VBTAI: orphans, children without parental care
	Needy          Dataset = "needy"           // SOPA: needy and low-income persons
	Disability     Dataset = "disability"      // VDEĀVK: persons with a disability
	Repressed      Dataset = "repressed"       // PMLP: repressed persons, resistance and WWII participants
)

// Datasets lists every data set the client knows, in a stable order.
func Datasets() []Dataset {
	return []Dataset{Person, EID, Pensioners, Learners, HonourFamilies, Orphans, Needy, Disability, Repressed}
}

// Keeper is the institution that keeps the data set.
func (d Dataset) Keeper() string {
	switch d {
	case Person, EID, Repressed:
		return "PMLP"
	case Pensioners:
		return "VSAA"
	case Learners:
		return "IZM"
	case HonourFamilies:
		return "SIF"
	case Orphans:
		return "VBTAI"
	case Needy:
		return "SOPA"
	case Disability:
		return "VDEĀVK"
	}
	return ""
}

// Valid reports whether d is a known data set.
func (d Dataset) Valid() bool { return d.Keeper() != "" }

// Date is a calendar date on the wire (YYYY-MM-DD), held as midnight UTC.
type Date struct{ time.Time }

// UnmarshalJSON reads "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date must be a string YYYY-MM-DD")
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	d.Time = t
	return nil
}

// Ptr returns nil for the zero date, else a pointer to its time.
func (d Date) Ptr() *time.Time {
	if d.IsZero() {
		return nil
	}
	t := d.Time
	return &t
}

// Municipality is a municipality by ATVK code.
type Municipality struct {
	ATVK string `json:"atvk"`
	Name string `json:"name"`
}

// PersonRecord is PMLP basic person data: what eligibility needs of it.
type PersonRecord struct {
	PersonCode      string `json:"personCode"`
	BirthDate       Date   `json:"birthDate"`
	Status          string `json:"status"` // active | deceased
	DateOfDeath     Date   `json:"dateOfDeath"`
	DeclaredAddress struct {
		Municipality         Municipality  `json:"municipality"`
		ValidFrom            Date          `json:"validFrom"`
		PreviousMunicipality *Municipality `json:"previousMunicipality"`
	} `json:"declaredAddress"`
}

// StatusRecord is the common shape of the group data sets: one status with
// its validity and, where the data set has them, a kind (pension type,
// needy | low-income, disability group, ...).
type StatusRecord struct {
	PersonCode string
	Kind       string
	ValidFrom  Date
	ValidTo    Date
}

// statusWire has every field a group data set may use for its kind.
type statusWire struct {
	PersonCode     string   `json:"personCode"`
	PensionType    string   `json:"pensionType"`
	EducationLevel string   `json:"educationLevel"`
	Role           string   `json:"role"`
	Status         string   `json:"status"`
	Group          string   `json:"group"`
	Categories     []string `json:"categories"`
	ValidFrom      Date     `json:"validFrom"`
	ValidTo        Date     `json:"validTo"`
}

// DecodeStatus reads a group data set's record.
func DecodeStatus(d Dataset, body []byte) (StatusRecord, error) {
	var w statusWire
	if err := json.Unmarshal(body, &w); err != nil {
		return StatusRecord{}, fmt.Errorf("decode %s record: %w", d, err)
	}
	if w.ValidFrom.IsZero() {
		return StatusRecord{}, fmt.Errorf("decode %s record: validFrom is missing", d)
	}
	r := StatusRecord{PersonCode: w.PersonCode, ValidFrom: w.ValidFrom, ValidTo: w.ValidTo}
	switch d {
	case Pensioners:
		r.Kind = w.PensionType
	case Learners:
		r.Kind = w.EducationLevel
	case HonourFamilies:
		r.Kind = w.Role
	case Orphans, Needy:
		r.Kind = w.Status
	case Disability:
		r.Kind = w.Group
	}
	return r, nil
}

// DecodePerson reads a PMLP person record.
func DecodePerson(body []byte) (PersonRecord, error) {
	var p PersonRecord
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("decode person record: %w", err)
	}
	if p.BirthDate.IsZero() || (p.Status != "active" && p.Status != "deceased") {
		return p, fmt.Errorf("decode person record: birthDate or status missing")
	}
	return p, nil
}

// EIDRecord lists a person's eID cards.
type EIDRecord struct {
	PersonCode string `json:"personCode"`
	Cards      []struct {
		Number    string `json:"number"`
		Status    string `json:"status"` // valid | expired | invalid
		ValidFrom Date   `json:"validFrom"`
		ValidTo   Date   `json:"validTo"`
	} `json:"cards"`
}

// DecodeEID reads a PMLP eID record.
func DecodeEID(body []byte) (EIDRecord, error) {
	var e EIDRecord
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("decode eID record: %w", err)
	}
	return e, nil
}

// CardValidOn reports whether the record holds card number, valid on day.
func (e EIDRecord) CardValidOn(number string, day time.Time) bool {
	for _, c := range e.Cards {
		if c.Number == number && c.Status == "valid" && !day.Before(c.ValidFrom.Time) && (c.ValidTo.IsZero() || !day.After(c.ValidTo.Time)) {
			return true
		}
	}
	return false
}
