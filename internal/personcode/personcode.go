// Package personcode parses, validates and normalises Latvian personal codes
// (personas kods) in both formats: the old DDMMYY-CNNNZ code that embeds the
// birth date and a check digit, and the new 3XNNNN-NNNNN code (X from 2 to 9) issued since
// 1 July 2017 that carries neither.
package personcode

import (
	"errors"
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Riga must resolve on hosts without zoneinfo
)

// Code is a personal code in its normalised form: eleven digits, no hyphen.
type Code string

// Format tells which of the two personal-code formats a code uses.
type Format int

const (
	// FormatOld is DDMMYY-CNNNZ with an embedded birth date and a check digit.
	FormatOld Format = iota + 1
	// FormatNew is 3XNNNN-NNNNN (X in 2..9): no birth date, no check digit.
	FormatNew
)

// Sentinel errors let callers map a failure to a stable error code.
var (
	ErrLength     = errors.New("personal code must have 11 digits, optionally with a hyphen after the sixth")
	ErrCharacters = errors.New("personal code may contain only digits and one hyphen after the sixth digit")
	ErrDate       = errors.New("personal code holds an impossible birth date")
	// ErrFutureBirthDate is an ErrDate (the same stable code): a birth date
	// after today, such as 010199-2NNNN for 1 January 2099.
	ErrFutureBirthDate = fmt.Errorf("%w: the birth date is after today", ErrDate)
	ErrCentury         = errors.New("personal code has an unknown century digit")
	ErrChecksum        = errors.New("personal code check digit does not match")
)

var weights = [10]int{1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// riga is the calendar birth dates are compared in: a code is valid from
// the first minute of the birth day in Latvia.
var riga = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Riga")
	if err != nil {
		panic(fmt.Sprintf("personcode: %v", err)) // time/tzdata is linked in
	}
	return loc
}()

// Parse validates s and returns its normalised form. It accepts the code with
// or without the hyphen and with surrounding spaces trimmed by the caller.
// An old-format code born after today (Europe/Riga) is refused; ParseAt
// takes the day for tests.
func Parse(s string) (Code, error) {
	return ParseAt(s, time.Now())
}

// ParseAt is Parse on the day now falls on in Europe/Riga.
func ParseAt(s string, now time.Time) (Code, error) {
	var digits [11]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == 11 {
				return "", ErrLength
			}
			digits[n] = c
			n++
		case c == '-' && n == 6 && i == 6:
		default:
			return "", ErrCharacters
		}
	}
	if n != 11 || (len(s) == 12 && s[6] != '-') {
		return "", ErrLength
	}
	if digits[0] == '3' && digits[1] >= '2' {
		return Code(digits[:]), nil
	}
	born, err := birthDate(digits)
	if err != nil {
		return "", err
	}
	y, m, d := now.In(riga).Date()
	if born.After(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
		return "", ErrFutureBirthDate
	}
	if !checksumOK(digits) {
		return "", ErrChecksum
	}
	return Code(digits[:]), nil
}

// MustParse is Parse for test fixtures and constants; it panics on error.
func MustParse(s string) Code {
	c, err := Parse(s)
	if err != nil {
		panic(fmt.Sprintf("personcode.MustParse: %v", err))
	}
	return c
}

// Format reports the code's format. It assumes c came from Parse.
func (c Code) Format() Format {
	if len(c) == 11 && c[0] == '3' && c[1] >= '2' {
		return FormatNew
	}
	return FormatOld
}

// Hyphenated returns the code as people write it: NNNNNN-NNNNN.
func (c Code) Hyphenated() string {
	if len(c) != 11 {
		return string(c)
	}
	return string(c[:6]) + "-" + string(c[6:])
}

// BirthDate returns the birth date of an old-format code; ok is false for a
// new-format code, which carries none.
func (c Code) BirthDate() (t time.Time, ok bool) {
	if c.Format() != FormatOld {
		return time.Time{}, false
	}
	var d [11]byte
	copy(d[:], c)
	t, err := birthDate(d)
	return t, err == nil
}

func birthDate(d [11]byte) (time.Time, error) {
	day := int(d[0]-'0')*10 + int(d[1]-'0')
	month := int(d[2]-'0')*10 + int(d[3]-'0')
	yy := int(d[4]-'0')*10 + int(d[5]-'0')
	var century int
	switch d[6] {
	case '0':
		century = 1800
	case '1':
		century = 1900
	case '2':
		century = 2000
	default:
		return time.Time{}, ErrCentury
	}
	year := century + yy
	if month < 1 || month > 12 || day < 1 {
		return time.Time{}, ErrDate
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day || int(t.Month()) != month {
		return time.Time{}, ErrDate
	}
	return t, nil
}

// CheckDigit computes the check digit of the first ten digits of an
// old-format code: (1101 - Σ wᵢdᵢ) mod 11 with weights 1,6,3,7,9,10,5,8,4,2.
//
// A result of 10 cannot be written as one digit. We accept 0 in that place,
// as python-stdnum's lv.pvn does ((1101-Σ) mod 11 mod 10): refusing those
// codes would lock a real person out at the till, whereas accepting a code
// that was never issued only yields "person not found" downstream. See the
// README's "Personal codes" section.
func CheckDigit(first10 string) (byte, error) {
	if len(first10) != 10 {
		return 0, ErrLength
	}
	sum := 0
	for i := 0; i < 10; i++ {
		c := first10[i]
		if c < '0' || c > '9' {
			return 0, ErrCharacters
		}
		sum += int(c-'0') * weights[i]
	}
	r := (1101 - sum) % 11
	if r < 0 {
		r += 11
	}
	return byte('0' + r%10), nil
}

func checksumOK(d [11]byte) bool {
	want, err := CheckDigit(string(d[:10]))
	return err == nil && want == d[10]
}

// ErrorCode is the stable code of a Parse failure, the same wherever a
// personal code is refused (API fields, file rows, eligibility checks).
func ErrorCode(err error) string {
	switch {
	case errors.Is(err, ErrChecksum):
		return "person_code.invalid_checksum"
	case errors.Is(err, ErrDate):
		return "person_code.birth_date"
	case errors.Is(err, ErrCentury):
		return "person_code.century"
	case errors.Is(err, ErrCharacters):
		return "person_code.characters"
	default:
		return "person_code.length"
	}
}
