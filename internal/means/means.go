// Package means keeps the identification means (identifikācijas līdzekļi)
// grantors issue — e-talons transport cards, school cards, municipal cards,
// eID cards — and the person each one identifies, so that a provider's till
// can ask about a card instead of a personal code.
package means

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/avis-lv/gateway/internal/personcode"
)

// Type is the kind of identification means.
type Type string

// The kinds of means the gateway knows.
const (
	EIDCard       Type = "eid_card"
	Etalons       Type = "etalons"
	SchoolCard    Type = "school_card"
	MunicipalCard Type = "municipal_card"
)

// Valid reports whether t is a known kind.
func (t Type) Valid() bool {
	switch t {
	case EIDCard, Etalons, SchoolCard, MunicipalCard:
		return true
	}
	return false
}

// Status of a registered means.
type Status string

const (
	StatusActive  Status = "active"
	StatusRevoked Status = "revoked"
)

// Means is one registered identification means.
type Means struct {
	Type       Type
	Number     string
	Grantor    string
	PersonCode personcode.Code
	// ValidFrom and ValidTo are inclusive calendar dates (midnight UTC
	// standing for the date); nil means open.
	ValidFrom *time.Time
	ValidTo   *time.Time
	Status    Status
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ValidOn reports whether the means identifies its person on day (a date at
// midnight UTC).
func (m Means) ValidOn(day time.Time) bool {
	if m.Status != StatusActive {
		return false
	}
	if m.ValidFrom != nil && day.Before(*m.ValidFrom) {
		return false
	}
	if m.ValidTo != nil && day.After(*m.ValidTo) {
		return false
	}
	return true
}

// Registration is what a grantor sends to register a means.
type Registration struct {
	PersonCode string
	ValidFrom  *time.Time
	ValidTo    *time.Time
}

// Caller is the organisation acting, as authenticated.
type Caller struct {
	OrgRegNo string
}

// Sentinel errors; the HTTP layer maps them to problems.
var (
	ErrNotFound = errors.New("identification means not found")
	ErrNotOwner = errors.New("identification means was issued by another grantor")
)

// Violation is one invalid field of a registration, by JSON pointer or
// parameter name.
type Violation struct {
	Pointer   string
	Parameter string
	Code      string
	Detail    string
	// DetailLV is Detail in Latvian; without it a Latvian answer has the
	// code's catalogue text alone.
	DetailLV string
}

// ValidationError lists what is wrong with a registration.
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	s := "invalid identification means"
	for _, v := range e.Violations {
		s += "; " + v.Pointer + v.Parameter + ": " + v.Code
	}
	return s
}

// Store is what the service needs from the core store.
type Store interface {
	// Get returns a means by type and number, or ErrNotFound.
	Get(ctx context.Context, t Type, number string) (Means, error)
	// Upsert registers m, or updates it when m.Grantor already owns it. It
	// returns ErrNotOwner when another grantor owns the number, and whether
	// a row was created.
	Upsert(ctx context.Context, m Means) (Means, bool, error)
	// Revoke marks the means revoked; ErrNotFound or ErrNotOwner.
	Revoke(ctx context.Context, t Type, number, grantor string, at time.Time) error
}

// Service registers, revokes and resolves means. After every change it
// calls the change hooks so caches forget the old answer.
type Service struct {
	store    Store
	now      func() time.Time
	onChange func(ctx context.Context, t Type, number string)
}

// NewService builds the service. onChange (may be nil) runs after each
// committed change; now may be nil for time.Now.
func NewService(store Store, onChange func(ctx context.Context, t Type, number string), now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if onChange == nil {
		onChange = func(context.Context, Type, string) {}
	}
	return &Service{store: store, now: now, onChange: onChange}
}

var numberPattern = regexp.MustCompile(`^[A-Za-z0-9-]{4,32}$`)

// Put registers a means for a person or changes its registration. It
// reports whether it was created.
func (s *Service) Put(ctx context.Context, caller Caller, t Type, number string, reg Registration) (Means, bool, error) {
	var vs []Violation
	if !t.Valid() {
		vs = append(vs, Violation{Parameter: "type", Code: "schema.enum", Detail: "use eid_card, etalons, school_card or municipal_card", DetailLV: "izmantojiet eid_card, etalons, school_card vai municipal_card"})
	}
	if t == EIDCard {
		// PMLP says whose an eID card is; a grantor's word for it would let
		// any grantor make a card someone else's.
		vs = append(vs, Violation{Parameter: "type", Code: "means.eid_card_registered", Detail: "register only the means you issued", DetailLV: "reģistrējiet tikai pašu izsniegtos līdzekļus"})
	}
	if !numberPattern.MatchString(number) {
		vs = append(vs, Violation{Parameter: "number", Code: "schema.pattern", Detail: "4-32 characters of A-Z, a-z, 0-9 and -", DetailLV: "4–32 rakstzīmes no A–Z, a–z, 0–9 un -"})
	}
	code, err := personcode.Parse(reg.PersonCode)
	if err != nil {
		// The code's catalogue text says what err says.
		vs = append(vs, Violation{Pointer: "/personCode", Code: personcode.ErrorCode(err)})
	}
	if reg.ValidFrom != nil && reg.ValidTo != nil && reg.ValidTo.Before(*reg.ValidFrom) {
		vs = append(vs, Violation{Pointer: "/validTo", Code: "dates.order"})
	}
	if len(vs) > 0 {
		return Means{}, false, &ValidationError{Violations: vs}
	}
	now := s.now().UTC().Truncate(time.Microsecond) // the database's precision: a later read shows the same instant
	m := Means{
		Type: t, Number: number, Grantor: caller.OrgRegNo, PersonCode: code,
		ValidFrom: dateOnly(reg.ValidFrom), ValidTo: dateOnly(reg.ValidTo),
		Status: StatusActive, CreatedAt: now, UpdatedAt: now,
	}
	saved, created, err := s.store.Upsert(ctx, m)
	if err != nil {
		if errors.Is(err, ErrNotOwner) {
			return Means{}, false, err
		}
		return Means{}, false, fmt.Errorf("register means %s: %w", t, err)
	}
	s.onChange(ctx, t, number)
	return saved, created, nil
}

// Revoke revokes a means the caller issued.
func (s *Service) Revoke(ctx context.Context, caller Caller, t Type, number string) error {
	if !t.Valid() || !numberPattern.MatchString(number) {
		return ErrNotFound
	}
	if err := s.store.Revoke(ctx, t, number, caller.OrgRegNo, s.now().UTC().Truncate(time.Microsecond)); err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotOwner) {
			return err
		}
		return fmt.Errorf("revoke means %s: %w", t, err)
	}
	s.onChange(ctx, t, number)
	return nil
}

// Lookup returns the registration of a means, active or not.
func (s *Service) Lookup(ctx context.Context, t Type, number string) (Means, error) {
	if !t.Valid() || !numberPattern.MatchString(number) {
		return Means{}, ErrNotFound
	}
	m, err := s.store.Get(ctx, t, number)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Means{}, err
		}
		return Means{}, fmt.Errorf("look up means %s: %w", t, err)
	}
	return m, nil
}

func dateOnly(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	y, m, d := t.Date()
	v := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return &v
}
