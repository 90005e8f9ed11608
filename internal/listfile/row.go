package listfile

import (
	"strings"
	"time"
	"unicode"

	"github.com/avis-lv/gateway/internal/personcode"
)

// Row is one valid member of a person list.
type Row struct {
	// Line is the row number the clerk sees in Excel: the header is row 1
	// in a file without leading blank rows, and blank rows are counted.
	Line       int
	PersonCode personcode.Code
	// ValidFrom is a civil date (Europe/Riga calendar day) carried as
	// midnight UTC; compare dates, not instants.
	ValidFrom time.Time
	// ValidTo is the last day of validity, inclusive; nil is open-ended.
	ValidTo *time.Time
}

// Stable row-level error codes. They are part of the API: clients map them
// to their own texts, so never rename one.
const (
	CodePersonCodeRequired   = "person_code.required"
	CodePersonCodeLength     = "person_code.length"
	CodePersonCodeCharacters = "person_code.characters"
	CodePersonCodeBirthDate  = "person_code.birth_date"
	CodePersonCodeCentury    = "person_code.century"
	CodePersonCodeChecksum   = "person_code.invalid_checksum"
	CodeDateRequired         = "date.required"
	CodeDateInvalid          = "date.invalid"
	CodeDateOutOfRange       = "date.out_of_range"
	CodeDateOrder            = "date.order"
	CodeRowDuplicate         = "row.duplicate"
	CodeRowColumns           = "row.columns"
	CodeRowTooLong           = "row.too_long"
	CodeRowQuotes            = "row.quotes"
)

// RowError is a bad row. Reading continues with the next row.
type RowError struct {
	// Row is the row number as the clerk sees it in Excel.
	Row int `json:"row"`
	// Column is the header text of the offending column as written in the
	// file, or "" when the whole row is at fault.
	Column string `json:"column,omitempty"`
	// Code is one of the stable Code* constants.
	Code string `json:"code"`
	// Value is the offending value, neutralised by NeutraliseCell.
	Value string `json:"value,omitempty"`
	// FirstRow is, for row.duplicate, the row where the code first appeared.
	FirstRow int `json:"first_row,omitempty"`
	// Fields and HeaderFields are, for row.columns, the number of fields in
	// the row and in the header.
	Fields       int `json:"fields,omitempty"`
	HeaderFields int `json:"header_fields,omitempty"`
	// PersonCode is the row's personal code when that parsed and another
	// field is at fault, so a replacement can keep the person's current
	// entry instead of dropping them over a typo in a date; "" otherwise
	// (and for row.duplicate, whose person has a good row already). Never
	// serialised: the report shows Value, not the code behind it.
	PersonCode personcode.Code `json:"-"`
}

func (e *RowError) Error() string { return e.Message("en") }

// Dates outside this range are certainly mistakes (a birth date typed into
// the validity column, an Excel serial of 5, a two-digit year).
var (
	minDate = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDate = time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC)
)

// DateInRange reports whether the civil date t (midnight UTC) is one a list
// accepts, from 1990-01-01 to 2199-12-31; outside it is CodeDateOutOfRange.
// Pushed members are held to it as file rows are.
func DateInRange(t time.Time) bool {
	return !t.Before(minDate) && !t.After(maxDate)
}

// columns holds the header texts used to name a column in a RowError.
type columns struct {
	code, from, to string
}

// englishColumns names the columns when there is no header (XML, API).
var englishColumns = columns{code: "person_code", from: "valid_from", to: "valid_to"}

// RowFromStrings validates one row given as text and is the one row check
// that the CSV, XLSX and signed-XML readers share. Values are trimmed; the
// personal code may carry a hyphen; dates are YYYY-MM-DD or DD.MM.YYYY and
// to may be empty (open-ended). Columns are named person_code, valid_from
// and valid_to in the error.
func RowFromStrings(line int, code, from, to string) (Row, *RowError) {
	return englishColumns.row(line, code, from, to)
}

// CodeFromString is RowFromStrings for a row whose dates do not matter (a
// person to remove): only the personal code is checked, and the row has no
// dates.
func CodeFromString(line int, code string) (Row, *RowError) {
	return englishColumns.codeOnly(line, code)
}

// excelCode restores the leading zero of a personal code that Excel took
// for a number, in a workbook or in a CSV file it saved: 01019010001 (born
// on the 1st to 9th of a month) becomes 1019010001. Only one zero can be
// lost, so ten digits starting with 0 are a code cut short, not a number,
// and are left for the length check.
func excelCode(s string) string {
	s = trimCell(s)
	if len(s) == 10 && s[0] != '0' && isDigits(s) {
		return "0" + s
	}
	return s
}

// codeOnly checks the personal code of a row whose dates do not matter.
func (c columns) codeOnly(line int, code string) (Row, *RowError) {
	code = trimCell(code)
	if code == "" {
		return Row{}, &RowError{Row: line, Column: c.code, Code: CodePersonCodeRequired, Value: ""}
	}
	pc, err := personcode.Parse(code)
	if err != nil {
		return Row{}, &RowError{Row: line, Column: c.code, Code: personcode.ErrorCode(err), Value: NeutraliseCell(code)}
	}
	return Row{Line: line, PersonCode: pc}, nil
}

func (c columns) row(line int, code, from, to string) (Row, *RowError) {
	code, from, to = trimCell(code), trimCell(from), trimCell(to)
	var pc personcode.Code
	bad := func(col, errCode, val string) (Row, *RowError) {
		return Row{}, &RowError{Row: line, Column: col, Code: errCode, Value: NeutraliseCell(val), PersonCode: pc}
	}
	if code == "" {
		return bad(c.code, CodePersonCodeRequired, "")
	}
	pc, err := personcode.Parse(code)
	if err != nil {
		return bad(c.code, personcode.ErrorCode(err), code)
	}
	if from == "" {
		return bad(c.from, CodeDateRequired, "")
	}
	vf, ec := parseDate(from)
	if ec != "" {
		return bad(c.from, ec, from)
	}
	r := Row{Line: line, PersonCode: pc, ValidFrom: vf}
	if to != "" {
		vt, ec := parseDate(to)
		if ec != "" {
			return bad(c.to, ec, to)
		}
		if vt.Before(vf) {
			return bad(c.to, CodeDateOrder, to)
		}
		r.ValidTo = &vt
	}
	return r, nil
}

// trimCell removes the blanks spreadsheets and copy-paste leave around values,
// including no-break and zero-width spaces and a stray BOM.
func trimCell(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff'
	})
}

// parseDate accepts ISO 8601 YYYY-MM-DD and the Latvian D.M.YYYY with one- or
// two-digit day and month. It returns an error code, not an error, because
// the caller reports it per row.
func parseDate(s string) (time.Time, string) {
	var y, m, d int
	var ok bool
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		y, ok = atoiN(s[0:4])
		if ok {
			m, ok = atoiN(s[5:7])
		}
		if ok {
			d, ok = atoiN(s[8:10])
		}
	} else {
		parts := strings.Split(s, ".")
		if len(parts) == 3 && len(parts[0]) >= 1 && len(parts[0]) <= 2 &&
			len(parts[1]) >= 1 && len(parts[1]) <= 2 && len(parts[2]) == 4 {
			d, ok = atoiN(parts[0])
			if ok {
				m, ok = atoiN(parts[1])
			}
			if ok {
				y, ok = atoiN(parts[2])
			}
		}
	}
	if !ok || m < 1 || m > 12 || d < 1 {
		return time.Time{}, CodeDateInvalid
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, CodeDateInvalid
	}
	if !DateInRange(t) {
		return time.Time{}, CodeDateOutOfRange
	}
	return t, ""
}

func atoiN(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
