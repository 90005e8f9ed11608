package registry

import (
	"encoding/json"
	"fmt"
	"time"
)

// Date is a calendar date (no time of day, no zone) written as YYYY-MM-DD.
// Validity periods are inclusive dates in Europe/Riga, as the brief says.
type Date struct {
	t time.Time // midnight UTC
}

// NewDate returns the date y-m-d, normalising out-of-range values the way
// time.Date does.
func NewDate(y int, m time.Month, d int) Date {
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// DateOf returns t's calendar date in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return NewDate(y, m, d)
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d.t.IsZero() }

// Time returns midnight UTC of d.
func (d Date) Time() time.Time { return d.t }

// String returns YYYY-MM-DD.
func (d Date) String() string { return d.t.Format(time.DateOnly) }

// AddDays returns d plus n days.
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// AddYears returns d plus n years (29 February rolls to 1 March).
func (d Date) AddYears(n int) Date { return Date{d.t.AddDate(n, 0, 0)} }

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.t.Before(o.t) }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.t.After(o.t) }

// DaysUntil returns the number of days from d to o.
func (d Date) DaysUntil(o Date) int { return int(o.t.Sub(d.t).Hours() / 24) }

// Year returns d's year.
func (d Date) Year() int { return d.t.Year() }

// Ptr returns a pointer to a copy of d, for optional fields.
func (d Date) Ptr() *Date { return &d }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date must be a string YYYY-MM-DD")
	}
	p, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// AgeOn returns the age in whole years, on day, of someone born on birth.
func AgeOn(birth, day Date) int {
	age := day.t.Year() - birth.t.Year()
	if day.t.Month() < birth.t.Month() || (day.t.Month() == birth.t.Month() && day.t.Day() < birth.t.Day()) {
		age--
	}
	return age
}
