package listfile

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxValueRunes is how much of an offending value an error report repeats:
// enough to recognise it, not enough to smuggle a payload.
const maxValueRunes = 64

// NeutraliseCell makes s safe to write into a CSV or spreadsheet error report
// that a clerk will open in Excel: a value that a spreadsheet would evaluate
// as a formula (starting with =, +, -, @, tab or CR, possibly after spaces)
// gets a leading apostrophe, control characters are removed, invalid UTF-8 is
// replaced, and the result is cut to 64 characters with an ellipsis.
func NeutraliseCell(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	risky := startsRisky(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return -1
		}
		return r
	}, s)
	// Removing control characters may expose a formula character that
	// followed them, so look again.
	risky = risky || startsRisky(s)
	if utf8.RuneCountInString(s) > maxValueRunes {
		n := 0
		for i := range s {
			if n == maxValueRunes-1 {
				s = s[:i] + "…"
				break
			}
			n++
		}
	}
	if risky {
		s = "'" + s
	}
	return s
}

func startsRisky(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '\t' || s[0] == '\r' {
		return true
	}
	t := strings.TrimLeft(s, " \u00a0")
	if t == "" {
		return false
	}
	switch t[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	// Full-width variants are folded to ASCII by some spreadsheet locales.
	r, _ := utf8.DecodeRuneInString(t)
	return r == '＝' || r == '＋' || r == '－' || r == '＠'
}
