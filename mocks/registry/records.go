package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
)

// Record is one data set's answer about one person. Every record type
// carries the person's code and knows whether it confers its status on a
// given day.
type Record interface {
	Dataset() Dataset
	// Active reports whether the record grants its status on day: the
	// person is alive, the card valid, the day within validFrom..validTo.
	Active(day Date) bool
	// Validate checks a fixture record and names the offending field.
	Validate() error
	// SetPersonCode fills the code from the URL a fixture was put at.
	SetPersonCode(code string)
	Code() string
}

// Municipality is a Latvian municipality or state city (since the 2021
// reform) by ATVK 2021 code.
type Municipality struct {
	ATVK string `json:"atvk"`
	Name string `json:"name"`
}

// PersonRecord is PMLP basic person data.
type PersonRecord struct {
	PersonCode      string          `json:"personCode"`
	GivenName       string          `json:"givenName"`
	FamilyName      string          `json:"familyName"`
	BirthDate       Date            `json:"birthDate"`
	Sex             string          `json:"sex"`    // F | M
	Status          string          `json:"status"` // active | deceased
	DateOfDeath     *Date           `json:"dateOfDeath,omitempty"`
	DeclaredAddress DeclaredAddress `json:"declaredAddress"`
}

// DeclaredAddress is where the person has declared residence, to the
// municipality level; previousMunicipality is set when they moved recently.
type DeclaredAddress struct {
	Municipality         Municipality  `json:"municipality"`
	ValidFrom            Date          `json:"validFrom"`
	PreviousMunicipality *Municipality `json:"previousMunicipality,omitempty"`
}

// EIDRecord lists a person's eID cards (PMLP).
type EIDRecord struct {
	PersonCode string    `json:"personCode"`
	Cards      []EIDCard `json:"cards"`
}

// EIDCard is one identity card: issued on validFrom, valid until validTo,
// status valid | expired | invalid (cancelled, e.g. after death or loss).
type EIDCard struct {
	Number    string `json:"number"`
	Status    string `json:"status"`
	ValidFrom Date   `json:"validFrom"`
	ValidTo   Date   `json:"validTo"`
}

// PensionerRecord is a VSAA state pension: old-age | disability | service |
// survivor. validTo null means open-ended.
type PensionerRecord struct {
	PersonCode  string `json:"personCode"`
	PensionType string `json:"pensionType"`
	ValidFrom   Date   `json:"validFrom"`
	ValidTo     *Date  `json:"validTo"`
}

// LearnerRecord is an IZM enrolment: basic | secondary | vocational | higher.
type LearnerRecord struct {
	PersonCode     string      `json:"personCode"`
	EducationLevel string      `json:"educationLevel"`
	Institution    Institution `json:"institution"`
	ValidFrom      Date        `json:"validFrom"`
	ValidTo        Date        `json:"validTo"`
}

// Institution is an educational institution (synthetic code and name).
type Institution struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// HonourFamilyRecord is a SIF Latvian Honour Family ("Goda ģimene") card:
// role parent | child, for a family of childrenCount (3 or more) children.
type HonourFamilyRecord struct {
	PersonCode    string `json:"personCode"`
	CardNumber    string `json:"cardNumber"`
	Role          string `json:"role"`
	ChildrenCount int    `json:"childrenCount"`
	ValidFrom     Date   `json:"validFrom"`
	ValidTo       Date   `json:"validTo"`
}

// OrphanRecord is a VBTAI status: orphan | without-parental-care.
type OrphanRecord struct {
	PersonCode string `json:"personCode"`
	Status     string `json:"status"`
	ValidFrom  Date   `json:"validFrom"`
	ValidTo    Date   `json:"validTo"`
}

// NeedyRecord is a SOPA status granted by a municipal social service:
// needy | low-income, by the municipality that granted it.
type NeedyRecord struct {
	PersonCode   string       `json:"personCode"`
	Status       string       `json:"status"`
	Municipality Municipality `json:"municipality"`
	ValidFrom    Date         `json:"validFrom"`
	ValidTo      Date         `json:"validTo"`
}

// DisabilityRecord is a VDEĀVK decision: group I | II | III for adults,
// child for persons under 18. validTo null means indefinite.
type DisabilityRecord struct {
	PersonCode string `json:"personCode"`
	Group      string `json:"group"`
	ValidFrom  Date   `json:"validFrom"`
	ValidTo    *Date  `json:"validTo"`
}

// RepressedRecord is a PMLP status: one or more of politically-repressed,
// national-resistance, wwii-participant.
type RepressedRecord struct {
	PersonCode string   `json:"personCode"`
	Categories []string `json:"categories"`
	ValidFrom  Date     `json:"validFrom"`
	ValidTo    *Date    `json:"validTo"`
}

// Enumerations, as accepted in fixtures.
var (
	Sexes            = []string{"F", "M"}
	PersonStatuses   = []string{"active", "deceased"}
	CardStatuses     = []string{"valid", "expired", "invalid"}
	PensionTypes     = []string{"old-age", "disability", "service", "survivor"}
	EducationLevels  = []string{"basic", "secondary", "vocational", "higher"}
	FamilyRoles      = []string{"parent", "child"}
	OrphanStatuses   = []string{"orphan", "without-parental-care"}
	NeedyStatuses    = []string{"needy", "low-income"}
	DisabilityGroups = []string{"I", "II", "III", "child"}
	RepressedKinds   = []string{"politically-repressed", "national-resistance", "wwii-participant"}
)

var atvkPattern = regexp.MustCompile(`^[0-9]{7}$`)

func (r *PersonRecord) Dataset() Dataset          { return Person }
func (r *EIDRecord) Dataset() Dataset             { return EID }
func (r *PensionerRecord) Dataset() Dataset       { return Pensioners }
func (r *LearnerRecord) Dataset() Dataset         { return Learners }
func (r *HonourFamilyRecord) Dataset() Dataset    { return HonourFamilies }
func (r *OrphanRecord) Dataset() Dataset          { return Orphans }
func (r *NeedyRecord) Dataset() Dataset           { return Needy }
func (r *DisabilityRecord) Dataset() Dataset      { return Disability }
func (r *RepressedRecord) Dataset() Dataset       { return Repressed }
func (r *PersonRecord) Code() string              { return r.PersonCode }
func (r *EIDRecord) Code() string                 { return r.PersonCode }
func (r *PensionerRecord) Code() string           { return r.PersonCode }
func (r *LearnerRecord) Code() string             { return r.PersonCode }
func (r *HonourFamilyRecord) Code() string        { return r.PersonCode }
func (r *OrphanRecord) Code() string              { return r.PersonCode }
func (r *NeedyRecord) Code() string               { return r.PersonCode }
func (r *DisabilityRecord) Code() string          { return r.PersonCode }
func (r *RepressedRecord) Code() string           { return r.PersonCode }
func (r *PersonRecord) SetPersonCode(c string)    { r.PersonCode = c }
func (r *EIDRecord) SetPersonCode(c string)       { r.PersonCode = c }
func (r *PensionerRecord) SetPersonCode(c string) { r.PersonCode = c }
func (r *LearnerRecord) SetPersonCode(c string)   { r.PersonCode = c }
func (r *HonourFamilyRecord) SetPersonCode(c string) {
	r.PersonCode = c
}
func (r *OrphanRecord) SetPersonCode(c string)     { r.PersonCode = c }
func (r *NeedyRecord) SetPersonCode(c string)      { r.PersonCode = c }
func (r *DisabilityRecord) SetPersonCode(c string) { r.PersonCode = c }
func (r *RepressedRecord) SetPersonCode(c string)  { r.PersonCode = c }

func within(day, from Date, to *Date) bool {
	return !day.Before(from) && (to == nil || !day.After(*to))
}

func (r *PersonRecord) Active(Date) bool { return r.Status == "active" }
func (r *EIDRecord) Active(day Date) bool {
	for _, c := range r.Cards {
		if c.Status == "valid" && within(day, c.ValidFrom, &c.ValidTo) {
			return true
		}
	}
	return false
}
func (r *PensionerRecord) Active(day Date) bool { return within(day, r.ValidFrom, r.ValidTo) }
func (r *LearnerRecord) Active(day Date) bool   { return within(day, r.ValidFrom, &r.ValidTo) }
func (r *HonourFamilyRecord) Active(day Date) bool {
	return within(day, r.ValidFrom, &r.ValidTo)
}
func (r *OrphanRecord) Active(day Date) bool     { return within(day, r.ValidFrom, &r.ValidTo) }
func (r *NeedyRecord) Active(day Date) bool      { return within(day, r.ValidFrom, &r.ValidTo) }
func (r *DisabilityRecord) Active(day Date) bool { return within(day, r.ValidFrom, r.ValidTo) }
func (r *RepressedRecord) Active(day Date) bool  { return within(day, r.ValidFrom, r.ValidTo) }

// fieldErr names a field of a fixture record.
func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// FieldErrors collects every FieldError in err's tree, in order.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			if x := u.Unwrap(); x != nil {
				walk(x)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

func oneOf(field, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		return fieldErr(field, "%q is not one of %v", v, allowed)
	}
	return nil
}

func required(field string, d Date) error {
	if d.IsZero() {
		return fieldErr(field, "is required (YYYY-MM-DD)")
	}
	return nil
}

func period(from Date, to *Date) error {
	if err := required("validFrom", from); err != nil {
		return err
	}
	if to != nil && to.Before(from) {
		return fieldErr("validTo", "%s is before validFrom %s", to, from)
	}
	return nil
}

func municipality(field string, m Municipality) error {
	if !atvkPattern.MatchString(m.ATVK) {
		return fieldErr(field+".atvk", "%q is not a 7-digit ATVK code", m.ATVK)
	}
	if m.Name == "" {
		return fieldErr(field+".name", "is required")
	}
	return nil
}

func nonEmpty(field, v string) error {
	if v == "" {
		return fieldErr(field, "is required")
	}
	return nil
}

func (r *PersonRecord) Validate() error {
	return errors.Join(
		nonEmpty("givenName", r.GivenName),
		nonEmpty("familyName", r.FamilyName),
		required("birthDate", r.BirthDate),
		oneOf("sex", r.Sex, Sexes),
		oneOf("status", r.Status, PersonStatuses),
		func() error {
			if r.Status == "deceased" && r.DateOfDeath == nil {
				return fieldErr("dateOfDeath", "is required when status is deceased")
			}
			if r.Status == "active" && r.DateOfDeath != nil {
				return fieldErr("dateOfDeath", "must be absent when status is active")
			}
			return nil
		}(),
		municipality("declaredAddress.municipality", r.DeclaredAddress.Municipality),
		required("declaredAddress.validFrom", r.DeclaredAddress.ValidFrom),
	)
}

func (r *EIDRecord) Validate() error {
	var errs []error
	for i, c := range r.Cards {
		p := fmt.Sprintf("cards[%d].", i)
		errs = append(errs,
			nonEmpty(p+"number", c.Number),
			oneOf(p+"status", c.Status, CardStatuses),
			required(p+"validFrom", c.ValidFrom),
			required(p+"validTo", c.ValidTo),
		)
	}
	if r.Cards == nil {
		errs = append(errs, fieldErr("cards", "is required (may be empty)"))
	}
	return errors.Join(errs...)
}

func (r *PensionerRecord) Validate() error {
	return errors.Join(oneOf("pensionType", r.PensionType, PensionTypes), period(r.ValidFrom, r.ValidTo))
}

func (r *LearnerRecord) Validate() error {
	return errors.Join(
		oneOf("educationLevel", r.EducationLevel, EducationLevels),
		nonEmpty("institution.code", r.Institution.Code),
		nonEmpty("institution.name", r.Institution.Name),
		required("validTo", r.ValidTo),
		period(r.ValidFrom, &r.ValidTo),
	)
}

func (r *HonourFamilyRecord) Validate() error {
	var count error
	if r.ChildrenCount < 3 {
		count = fieldErr("childrenCount", "%d, an honour family has at least 3 children", r.ChildrenCount)
	}
	return errors.Join(
		nonEmpty("cardNumber", r.CardNumber),
		oneOf("role", r.Role, FamilyRoles),
		count,
		required("validTo", r.ValidTo),
		period(r.ValidFrom, &r.ValidTo),
	)
}

func (r *OrphanRecord) Validate() error {
	return errors.Join(oneOf("status", r.Status, OrphanStatuses), required("validTo", r.ValidTo), period(r.ValidFrom, &r.ValidTo))
}

func (r *NeedyRecord) Validate() error {
	return errors.Join(
		oneOf("status", r.Status, NeedyStatuses),
		municipality("municipality", r.Municipality),
		required("validTo", r.ValidTo),
		period(r.ValidFrom, &r.ValidTo),
	)
}

func (r *DisabilityRecord) Validate() error {
	return errors.Join(oneOf("group", r.Group, DisabilityGroups), period(r.ValidFrom, r.ValidTo))
}

func (r *RepressedRecord) Validate() error {
	var errs []error
	if len(r.Categories) == 0 {
		errs = append(errs, fieldErr("categories", "needs at least one of %v", RepressedKinds))
	}
	for i, c := range r.Categories {
		errs = append(errs, oneOf(fmt.Sprintf("categories[%d]", i), c, RepressedKinds))
	}
	errs = append(errs, period(r.ValidFrom, r.ValidTo))
	return errors.Join(errs...)
}

// NewRecord returns an empty record of d's type.
func NewRecord(d Dataset) Record {
	switch d {
	case Person:
		return &PersonRecord{}
	case EID:
		return &EIDRecord{}
	case Pensioners:
		return &PensionerRecord{}
	case Learners:
		return &LearnerRecord{}
	case HonourFamilies:
		return &HonourFamilyRecord{}
	case Orphans:
		return &OrphanRecord{}
	case Needy:
		return &NeedyRecord{}
	case Disability:
		return &DisabilityRecord{}
	case Repressed:
		return &RepressedRecord{}
	}
	return nil
}

// DecodeRecord decodes a fixture record for data set d, refusing unknown
// fields, and validates it. personCode may be omitted; if present it must be
// code.
func DecodeRecord(d Dataset, raw json.RawMessage, code string) (Record, error) {
	r := NewRecord(d)
	if r == nil {
		return nil, fmt.Errorf("unknown data set %q", d)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		return nil, fmt.Errorf("%s: %w", d, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: trailing data after the record", d)
	}
	if pc := r.Code(); pc != "" && pc != code {
		return nil, fmt.Errorf("%s: %w", d, fieldErr("personCode", "%q differs from the personal code in the URL", pc))
	}
	r.SetPersonCode(code)
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", d, err)
	}
	return r, nil
}
