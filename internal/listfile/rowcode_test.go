package listfile

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

// badRowCode is a bad row as the keep-current logic sees it: its row, its
// error code and the personal code the reader could still vouch for.
type badRowCode struct {
	Row        int
	Code       string
	PersonCode string
}

func badRowCodes(t *testing.T, r Reader) []badRowCode {
	t.Helper()
	var out []badRowCode
	for {
		_, err := r.Next()
		var re *RowError
		switch {
		case err == nil:
		case errors.As(err, &re):
			out = append(out, badRowCode{re.Row, re.Code, string(re.PersonCode)})
		case errors.Is(err, io.EOF):
			return out
		default:
			t.Fatalf("Next: %v", err)
		}
	}
}

// A bad row whose personal code is valid names that code, so a replacement
// can keep the person's current entry; a bad code, or a duplicate (whose
// person has a good row already), names none.
func TestRowErrorPersonCode(t *testing.T) {
	csv := "personas_kods;derīgs_no;derīgs_līdz\n" +
		"010190-10001;01.01.2026;31.12.2026\n" + // 2 good
		"010190-10002;01.01.2026;\n" + // 3 bad check digit
		"32000000001;31.02.2026;\n" + // 4 no such day
		"32000000002;;\n" + // 5 date missing
		"1019010001;01.01.2026;31.12.2025\n" + // 6 dates out of order (Excel lost the zero)
		"32000000003;01.01.2026;31.12;2026\n" + // 7 a stray separator in a date
		"010190-10001;01.01.2026;\n" + // 8 duplicate of row 2
		"x;y;z;w\n" // 9 too many fields, no code
	r, err := NewCSVReader(strings.NewReader(csv), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	want := []badRowCode{
		{3, CodePersonCodeChecksum, ""},
		{4, CodeDateInvalid, "32000000001"},
		{5, CodeDateRequired, "32000000002"},
		{6, CodeDateOrder, "01019010001"},
		{7, CodeRowColumns, "32000000003"},
		{8, CodeRowDuplicate, ""},
		{9, CodeRowColumns, ""},
	}
	if diff := cmp.Diff(want, badRowCodes(t, r)); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}

	// XLSX: a merged date cell leaves the cells under its top one empty.
	f := excelize.NewFile()
	defer f.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetRow("Sheet1", "A1", &[]any{"Personas kods", "Derīgs no", "Derīgs līdz"}))
	must(f.SetSheetRow("Sheet1", "A2", &[]any{"32000000001", "01.01.2026"}))
	must(f.SetSheetRow("Sheet1", "A3", &[]any{"32000000002"}))
	must(f.MergeCell("Sheet1", "B2", "B3"))
	must(f.SetSheetRow("Sheet1", "A4", &[]any{"010190-10002", "01.01.2026"}))
	var buf bytes.Buffer
	must(f.Write(&buf))
	xr, err := openXLSX(t, buf.Bytes(), xlsxLimits(t))
	if err != nil {
		t.Fatal(err)
	}
	want = []badRowCode{{3, CodeDateRequired, "32000000002"}, {4, CodePersonCodeChecksum, ""}}
	if diff := cmp.Diff(want, badRowCodes(t, xr)); diff != "" {
		t.Errorf("XLSX (-want +got):\n%s", diff)
	}

	// Signed XML rows are checked by RowFromStrings.
	if _, re := RowFromStrings(1, "32000000001", "2026-01-01", "2025-01-01"); re == nil || re.PersonCode != "32000000001" {
		t.Errorf("RowFromStrings bad date: %+v", re)
	}
	if _, re := RowFromStrings(2, "32000000001x", "2026-01-01", ""); re == nil || re.PersonCode != "" {
		t.Errorf("RowFromStrings bad code: %+v", re)
	}
}
