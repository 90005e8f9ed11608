package listfile

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRowFromStrings(t *testing.T) {
	d := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	tests := []struct {
		code, from, to string
		wantErr        string
		wantCol        string
		wantVal        string
		from0, to0     string
	}{
		{code: "010190-10001", from: "2025-01-01", to: "2025-12-31", from0: "2025-01-01", to0: "2025-12-31"},
		{code: "01019010001", from: "1.1.2025", from0: "2025-01-01"},
		{code: " 321234-56789 ", from: "31.12.2199", to: "31.12.2199", from0: "2199-12-31", to0: "2199-12-31"},
		{code: "150705-23459", from: "29.02.2024", from0: "2024-02-29"},
		{code: "010190-10001", from: "2025-01-01", to: "2025-01-01", from0: "2025-01-01", to0: "2025-01-01"},
		{code: "", from: "2025-01-01", wantErr: CodePersonCodeRequired, wantCol: "person_code"},
		{code: "12345", from: "2025-01-01", wantErr: CodePersonCodeLength, wantCol: "person_code", wantVal: "12345"},
		{code: "010190 10001", from: "2025-01-01", wantErr: CodePersonCodeCharacters, wantCol: "person_code", wantVal: "010190 10001"},
		{code: "320285-12345", from: "2025-01-01", from0: "2025-01-01"}, // new format: no date, no check digit
		{code: "300285-12345", from: "2025-01-01", wantErr: CodePersonCodeBirthDate, wantCol: "person_code", wantVal: "300285-12345"},
		{code: "010190-41234", from: "2025-01-01", wantErr: CodePersonCodeCentury, wantCol: "person_code", wantVal: "010190-41234"},
		{code: "010190-10002", from: "2025-01-01", wantErr: CodePersonCodeChecksum, wantCol: "person_code", wantVal: "010190-10002"},
		{code: "010190-10001", from: " ", wantErr: CodeDateRequired, wantCol: "valid_from"},
		{code: "010190-10001", from: "2025-02-29", wantErr: CodeDateInvalid, wantCol: "valid_from", wantVal: "2025-02-29"},
		{code: "010190-10001", from: "2025/01/01", wantErr: CodeDateInvalid, wantCol: "valid_from", wantVal: "2025/01/01"},
		{code: "010190-10001", from: "01.01.25", wantErr: CodeDateInvalid, wantCol: "valid_from", wantVal: "01.01.25"},
		{code: "010190-10001", from: "2025-1-1", wantErr: CodeDateInvalid, wantCol: "valid_from", wantVal: "2025-1-1"},
		{code: "010190-10001", from: "+025-01-01", wantErr: CodeDateInvalid, wantCol: "valid_from", wantVal: "'+025-01-01"},
		{code: "010190-10001", from: "32.01.2025", wantErr: CodeDateInvalid, wantCol: "valid_from", wantVal: "32.01.2025"},
		{code: "010190-10001", from: "2025-01-01", to: "2025-00-10", wantErr: CodeDateInvalid, wantCol: "valid_to", wantVal: "2025-00-10"},
		{code: "010190-10001", from: "1989-12-31", wantErr: CodeDateOutOfRange, wantCol: "valid_from", wantVal: "1989-12-31"},
		{code: "010190-10001", from: "2025-01-01", to: "01.01.2200", wantErr: CodeDateOutOfRange, wantCol: "valid_to", wantVal: "01.01.2200"},
		{code: "010190-10001", from: "2025-01-02", to: "2025-01-01", wantErr: CodeDateOrder, wantCol: "valid_to", wantVal: "2025-01-01"},
	}
	for _, tc := range tests {
		t.Run(tc.code+"/"+tc.from+"/"+tc.to, func(t *testing.T) {
			r, err := RowFromStrings(7, tc.code, tc.from, tc.to)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("got row %+v, want %s", r, tc.wantErr)
				}
				if err.Code != tc.wantErr || err.Row != 7 || err.Column != tc.wantCol || err.Value != tc.wantVal {
					t.Errorf("got %+v, want code %s column %q value %q", *err, tc.wantErr, tc.wantCol, tc.wantVal)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected %v", err)
			}
			if r.Line != 7 || !r.ValidFrom.Equal(d(tc.from0)) || r.ValidFrom.Location() != time.UTC {
				t.Errorf("row %+v, want from %s", r, tc.from0)
			}
			switch {
			case tc.to0 == "" && r.ValidTo != nil:
				t.Errorf("ValidTo = %v, want open-ended", r.ValidTo)
			case tc.to0 != "" && (r.ValidTo == nil || !r.ValidTo.Equal(d(tc.to0))):
				t.Errorf("ValidTo = %v, want %s", r.ValidTo, tc.to0)
			}
		})
	}
}

func TestNeutraliseCell(t *testing.T) {
	long := strings.Repeat("ā", 100)
	tests := []struct{ in, want string }{
		{"", ""},
		{"010190-10001", "010190-10001"},
		{"=1+1", "'=1+1"},
		{"+371", "'+371"},
		{"-5", "'-5"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'=1"},
		{"\r=1", "'=1"},
		{"\tplain", "'plain"},
		{"  =1+1", "'  =1+1"},
		{"\x01=1", "'=1"},
		{"a\x00b\x1bc\u2028d", "abcd"},
		{"＝1", "'＝1"},
		{"R\xeega", "R\uFFFDga"},
		{long, strings.Repeat("ā", 63) + "…"},
		{"=" + long, "'=" + strings.Repeat("ā", 62) + "…"},
	}
	for _, tc := range tests {
		got := NeutraliseCell(tc.in)
		if got != tc.want {
			t.Errorf("NeutraliseCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !safeCell(got) {
			t.Errorf("NeutraliseCell(%q) = %q is not safe", tc.in, got)
		}
	}
}

// Every error code has its own clear text in both languages that names the
// row, the column and the value; no code falls through to the generic text.
func TestMessages(t *testing.T) {
	rowCodes := []string{
		CodePersonCodeRequired, CodePersonCodeLength, CodePersonCodeCharacters, CodePersonCodeBirthDate,
		CodePersonCodeCentury, CodePersonCodeChecksum, CodeDateRequired, CodeDateInvalid, CodeDateOutOfRange,
		CodeDateOrder, CodeRowDuplicate, CodeRowColumns, CodeRowTooLong, CodeRowQuotes,
	}
	fileCodes := []string{
		CodeFileEmpty, CodeFileNoRows, CodeFileHeader, CodeFileHeaderDup, CodeFileNotUTF8, CodeFileTooLarge,
		CodeFileTooManyRows, CodeFileTooManyErrors, CodeFileZipBomb, CodeFileFormat, CodeFileRead,
		CodeLineTooLong, CodeXLSXCorrupt, CodeXLSXTruncated, CodeXLSXTooManyStrings, CodeXLSXNoSheet, CodeXLSXCellTooLong,
	}
	formatBug := regexp.MustCompile(`%!|\(MISSING\)|EXTRA`)
	seen := map[string]string{}
	check := func(kind, code, lang, msg string) {
		t.Helper()
		if msg == "" || formatBug.MatchString(msg) || strings.Contains(msg, "("+code+")") {
			t.Errorf("%s %s %s: bad message %q", kind, code, lang, msg)
		}
		if prev, dup := seen[lang+msg]; dup {
			t.Errorf("%s and %s share the %s message %q", prev, code, lang, msg)
		}
		seen[lang+msg] = code
	}
	for _, code := range rowCodes {
		e := &RowError{Row: 12, Column: "personas_kods", Code: code, Value: "'=X1", FirstRow: 3, Fields: 4, HeaderFields: 3}
		lv, en := e.Message("lv"), e.Message("en")
		check("row", code, "lv", lv)
		check("row", code, "en", en)
		if !strings.HasPrefix(lv, `12. rinda, kolonna "personas_kods": `) || !strings.HasPrefix(en, `Row 12, column "personas_kods": `) {
			t.Errorf("%s: row/column not named: %q / %q", code, lv, en)
		}
		if lv == en {
			t.Errorf("%s: Latvian text equals English", code)
		}
		if e.Error() != en || e.Message("lv-LV") != lv || e.Message("") != en {
			t.Errorf("%s: language selection broken", code)
		}
		switch code {
		case CodePersonCodeRequired, CodeDateRequired, CodeRowTooLong, CodeRowQuotes, CodeRowColumns:
		default:
			if !strings.Contains(lv, "'=X1") || !strings.Contains(en, "'=X1") {
				t.Errorf("%s: value not shown: %q / %q", code, lv, en)
			}
		}
	}
	dupe := &RowError{Row: 9, Code: CodeRowDuplicate, Value: "010190-10001", FirstRow: 2}
	if !strings.Contains(dupe.Message("lv"), "2. rindā") || !strings.Contains(dupe.Message("en"), "row 2") {
		t.Errorf("duplicate does not name the first row: %q / %q", dupe.Message("lv"), dupe.Message("en"))
	}
	cols := &RowError{Row: 9, Code: CodeRowColumns, Fields: 4, HeaderFields: 3}
	if !strings.Contains(cols.Message("en"), "4 fields but the header has 3") {
		t.Errorf("row.columns message lacks counts: %q", cols.Message("en"))
	}
	for _, code := range fileCodes {
		e := &FileError{Code: code, Row: 5, Detail: "derīgs_no"}
		lv, en := e.Message("lv"), e.Message("en")
		check("file", code, "lv", lv)
		check("file", code, "en", en)
		if !strings.HasPrefix(lv, "5. rinda: ") || !strings.HasPrefix(en, "Row 5: ") || lv == en {
			t.Errorf("%s: %q / %q", code, lv, en)
		}
	}
	if got := (&FileError{Code: CodeFileHeader, Detail: "derīgs_no"}).Message("lv"); !strings.Contains(got, `"derīgs_no"`) {
		t.Errorf("header message does not name the column: %q", got)
	}
	wrapped := &FileError{Code: CodeFileRead, Err: fmt.Errorf("disk")}
	if !strings.Contains(wrapped.Error(), "disk") || strings.Contains(wrapped.Message("en"), "disk") {
		t.Errorf("cause must be in Error() for logs, not in the clerk's message: %q", wrapped.Error())
	}
}

func TestHeaderNames(t *testing.T) {
	tests := []struct {
		in   string
		kind string
		lv   bool
	}{
		{"personas_kods", "code", true},
		{" Personas kods ", "code", true},
		{"PERSONAS-KODS", "code", true},
		{"person_code", "code", false},
		{"Personal code", "code", false},
		{"derīgs_no", "from", true},
		{"derigs_no", "from", true},
		{"Derīgs no", "from", true},
		{"valid_from", "from", false},
		{"derīgs_līdz", "to", true},
		{"DERIGS_LIDZ", "to", true},
		{"valid_to", "to", false},
		{`"valid_to"`, "to", false},
		{"vārds", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		kind, lv := canonicalColumn(tc.in)
		if kind != tc.kind || (kind != "" && lv != tc.lv) {
			t.Errorf("canonicalColumn(%q) = %q, %v; want %q, %v", tc.in, kind, lv, tc.kind, tc.lv)
		}
	}
	_, err := parseHeader([]string{"personas_kods", "vārds"}, 1, false)
	if err == nil || err.Code != CodeFileHeader || err.Detail != "derīgs_no" {
		t.Errorf("Latvian header missing a column: %+v, want the Latvian name", err)
	}
	_, err = parseHeader([]string{"valid_from"}, 1, false)
	if err == nil || err.Detail != "person_code" {
		t.Errorf("English header missing the code: %+v", err)
	}
}
