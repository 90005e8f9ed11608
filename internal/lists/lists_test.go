package lists

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/listfile"
	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/internal/signing"
)

func date(y, m, d int) *time.Time {
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return &t
}

func oldCode(t testing.TB, serial int) string {
	first := fmt.Sprintf("0101901%03d", serial)
	d, err := personcode.CheckDigit(first)
	if err != nil {
		t.Fatal(err)
	}
	return first + string(d)
}

func TestValidateMembers(t *testing.T) {
	good := oldCode(t, 1)
	bad := good[:10] + string('0'+(good[10]-'0'+1)%10)
	tests := []struct {
		name  string
		mode  Mode
		in    []PushMember
		want  []string // pointer code, or nothing for success
		count int
	}{
		{name: "both formats", mode: ModeReplace, in: []PushMember{{PersonCode: good}, {PersonCode: "321234-56789", ValidFrom: date(2026, 1, 1)}}, count: 2},
		{name: "hyphen or not is the same person", mode: ModeAdd, in: []PushMember{{PersonCode: good}, {PersonCode: good[:6] + "-" + good[6:]}},
			want: []string{"/members/1/personCode members.duplicate"}},
		{name: "checksum", mode: ModeReplace, in: []PushMember{{PersonCode: bad}}, want: []string{"/members/0/personCode person_code.invalid_checksum"}},
		{name: "century", mode: ModeReplace, in: []PushMember{{PersonCode: "010190-30001"}}, want: []string{"/members/0/personCode person_code.century"}},
		{name: "dates reversed", mode: ModeReplace, in: []PushMember{{PersonCode: good, ValidFrom: date(2026, 2, 1), ValidTo: date(2026, 1, 31)}},
			want: []string{"/members/0/validTo date.order"}},
		{name: "dates ignored when removing", mode: ModeRemove, in: []PushMember{{PersonCode: good, ValidFrom: date(2026, 2, 1), ValidTo: date(2026, 1, 31)}}, count: 1},
		// The range of file rows: 0001-01-01 would be stored as no date.
		{name: "dates out of range", mode: ModeReplace, in: []PushMember{
			{PersonCode: good, ValidFrom: date(1, 1, 1)},
			{PersonCode: "321234-56789", ValidFrom: date(2026, 1, 1), ValidTo: date(2200, 1, 1)},
			{PersonCode: "321234-56780", ValidFrom: date(1989, 12, 31), ValidTo: date(1, 1, 1)},
		}, want: []string{"/members/0/validFrom date.out_of_range", "/members/1/validTo date.out_of_range", "/members/2/validFrom date.out_of_range", "/members/2/validTo date.out_of_range"}},
		{name: "dates at the ends of the range", mode: ModeAdd, in: []PushMember{{PersonCode: good, ValidFrom: date(1990, 1, 1), ValidTo: date(2199, 12, 31)}}, count: 1},
		{name: "range ignored when removing", mode: ModeRemove, in: []PushMember{{PersonCode: good, ValidFrom: date(1, 1, 1), ValidTo: date(9999, 1, 1)}}, count: 1},
		{name: "every bad member named", mode: ModeReplace, in: []PushMember{{PersonCode: bad}, {PersonCode: good}, {PersonCode: "1"}},
			want: []string{"/members/0/personCode person_code.invalid_checksum", "/members/2/personCode person_code.length"}},
		{name: "unknown mode", mode: "merge", want: []string{"/mode schema.enum"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ValidateMembers(tc.mode, tc.in)
			if len(tc.want) == 0 {
				if err != nil || len(got) != tc.count {
					t.Fatalf("%v %v", got, err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			var have []string
			for _, v := range ve.Violations {
				have = append(have, v.Pointer+" "+v.Code)
			}
			if strings.Join(have, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %v, want %v", have, tc.want)
			}
		})
	}
}

func TestValidateMembersBoundsTheRefusal(t *testing.T) {
	in := make([]PushMember, 500)
	for i := range in {
		in[i] = PushMember{PersonCode: "x"}
	}
	_, err := ValidateMembers(ModeReplace, in)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != maxViolations || ve.More != 500-maxViolations {
		t.Fatalf("%v", err)
	}
}

func TestCodeNumberRoundTrip(t *testing.T) {
	for _, s := range []string{oldCode(t, 1), oldCode(t, 999), "321234-56789", "329999-99999"} {
		c, err := personcode.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if back := FormatCode(CodeNumber(c)); back != c {
			t.Fatalf("%s -> %d -> %s", c, CodeNumber(c), back)
		}
	}
}

func TestMemberCovers(t *testing.T) {
	m := Member{ValidFrom: *date(2026, 1, 1), ValidTo: *date(2026, 1, 31)}
	riga, _ := time.LoadLocation("Europe/Riga")
	for _, tc := range []struct {
		day  time.Time
		want bool
	}{
		{*date(2025, 12, 31), false},
		{*date(2026, 1, 1), true},
		{time.Date(2026, 1, 31, 23, 30, 0, 0, riga), true}, // the calendar day counts, not the instant
		{*date(2026, 2, 1), false},
	} {
		if got := m.Covers(tc.day); got != tc.want {
			t.Errorf("%s: %v", tc.day, got)
		}
	}
	if !(Member{}).Covers(*date(1990, 1, 1)) {
		t.Error("open member does not cover")
	}
}

// Every failure code has a text in both languages, and the detail and row
// make it into the text.
func TestFailureMessages(t *testing.T) {
	for code, m := range messages {
		if m[0] == "" || m[1] == "" || m[0] == m[1] {
			t.Errorf("%s: %q", code, m)
		}
		if strings.Count(m[0], "%s") != strings.Count(m[1], "%s") {
			t.Errorf("%s: the texts differ in placeholders", code)
		}
	}
	f := Failure{Code: CodeInvalidRows, Detail: "17"}
	if en, lv := FailureMessage(f, "en"), FailureMessage(f, "lv"); !strings.Contains(en, ": 17.") || !strings.Contains(lv, ": 17.") {
		t.Errorf("%q / %q", en, lv)
	}
	f = Failure{Code: listfile.CodeLineTooLong, Row: 3, Detail: "64 KiB"}
	if got := FailureMessage(f, "lv"); !strings.Contains(got, "3. rinda") || !strings.Contains(got, "64 KiB") {
		t.Errorf("%q", got)
	}
	is := Issue{Row: 5, Column: "person_code", Code: listfile.CodeRowDuplicate, Value: "010190-10006", FirstRow: 2}
	if got := IssueMessage(is, "en"); !strings.Contains(got, "row 2") || !strings.Contains(got, "Row 5") {
		t.Errorf("%q", got)
	}
}

var testSigner = func() *signing.Signer {
	key, cert, err := signing.GenerateSelfSigned("Test grantor", 24*time.Hour)
	if err != nil {
		panic(err)
	}
	s, err := signing.NewSigner(key, cert)
	if err != nil {
		panic(err)
	}
	return s
}()

func signList(t testing.TB, body string) []byte {
	doc, err := testSigner.SignDocument([]byte(`<PersonList xmlns="urn:avis:person-list:1" listId="l1">` + body + `</PersonList>`))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func person(code, from, to string) string {
	s := "<Person><PersonCode>" + code + "</PersonCode>"
	if from != "" {
		s += "<ValidFrom>" + from + "</ValidFrom>"
	}
	if to != "" {
		s += "<ValidTo>" + to + "</ValidTo>"
	}
	return s + "</Person>"
}

// readAll drains a reader into "row code" lines for valid rows and
// "row error-code" for bad ones, ending with the fatal code or "EOF".
func readAll(rd listfile.Reader) []string {
	var out []string
	for {
		row, err := rd.Next()
		var re *listfile.RowError
		var fe *listfile.FileError
		switch {
		case err == nil:
			out = append(out, fmt.Sprintf("%d %s", row.Line, row.PersonCode))
		case errors.As(err, &re):
			out = append(out, fmt.Sprintf("%d %s", re.Row, re.Code))
		case errors.As(err, &fe):
			return append(out, fmt.Sprintf("fatal %d %s", fe.Row, fe.Code))
		case err == io.EOF:
			return append(out, "EOF")
		default:
			return append(out, err.Error())
		}
	}
}

func TestXMLList(t *testing.T) {
	certs := [][]byte{testSigner.CertificatePEM()}
	good := oldCode(t, 1)
	tests := []struct {
		name string
		body string
		lim  listfile.Limits
		want []string
	}{
		{name: "rows", body: person(good, "2026-01-01", "2026-12-31") + person("321234-56789", "01.02.2026", ""),
			want: []string{"1 " + good, "2 32123456789", "EOF"}},
		{name: "bad rows and a duplicate", body: person("1", "2026-01-01", "") + person(good, "", "") + person(good, "2026-01-01", "") + person(good, "2026-01-01", ""),
			want: []string{"1 person_code.length", "2 date.required", "3 " + good, "4 row.duplicate", "EOF"}},
		{name: "no persons", body: "", want: []string{"fatal 0 file.no_rows"}},
		{name: "foreign element", body: person(good, "2026-01-01", "") + "<Note>x</Note>", want: []string{"1 " + good, "fatal 2 xml.format"}},
		{name: "foreign field", body: "<Person><PersonCode>" + good + "</PersonCode><Name>Jānis</Name></Person>", want: []string{"fatal 1 xml.format"}},
		{name: "row limit", body: person(good, "2026-01-01", "") + person("321234-56789", "2026-01-01", ""), lim: listfile.Limits{MaxRows: 1},
			want: []string{"1 " + good, "fatal 2 file.too_many_rows"}},
		{name: "error limit", body: person("1", "", "") + person("2", "", ""), lim: listfile.Limits{MaxRows: 10, MaxRowErrors: 1},
			want: []string{"1 person_code.length", "fatal 2 file.too_many_errors"}},
		{name: "dates ignored when removing", body: person(good, "", "") + person("321234-56789", "not a date", "1800-01-01") + person("1", "", "") + person(good, "", ""),
			lim:  listfile.Limits{DatesIgnored: true},
			want: []string{"1 " + good, "2 32123456789", "3 person_code.length", "4 row.duplicate", "EOF"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd, fail := verifyXML(signList(t, tc.body), certs, "l1", 1<<20, tc.lim)
			if fail != nil {
				t.Fatalf("refused: %+v", fail)
			}
			if got := readAll(rd); strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
	if _, fail := verifyXML(signList(t, person(good, "2026-01-01", "")), certs, "l1", 100, listfile.Limits{}); fail == nil || fail.Code != CodeXMLTooLarge {
		t.Fatalf("size cap: %+v", fail)
	}
	if _, fail := verifyXML(signList(t, person(good, "2026-01-01", "")), [][]byte{[]byte("junk")}, "l1", 1<<20, listfile.Limits{}); fail == nil || fail.Code != CodeXMLNoCert {
		t.Fatalf("no usable certificate: %+v", fail)
	}
}

// FuzzXMLList feeds arbitrary documents to the signed-list reader: it must
// refuse or read them, never panic, and never yield a row from an unsigned
// document.
func FuzzXMLList(f *testing.F) {
	f.Add(string(signList(f, person("321234-56789", "2026-01-01", ""))))
	f.Add(`<PersonList xmlns="urn:avis:person-list:1" listId="l1">` + person("321234-56789", "2026-01-01", "") + `</PersonList>`)
	f.Add(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><PersonList/>`)
	f.Add("")
	certs := [][]byte{testSigner.CertificatePEM()}
	f.Fuzz(func(t *testing.T, doc string) {
		rd, fail := verifyXML([]byte(doc), certs, "l1", 1<<20, listfile.DefaultLimits())
		if fail != nil {
			if fail.Code == "" {
				t.Fatal("failure without a code")
			}
			return
		}
		if !strings.Contains(doc, "Signature") {
			t.Fatalf("an unsigned document was accepted: %q", doc)
		}
		for i := 0; i < 100000; i++ {
			_, err := rd.Next()
			var re *listfile.RowError
			if err != nil && !errors.As(err, &re) {
				return
			}
		}
		t.Fatal("the reader does not end")
	})
}
