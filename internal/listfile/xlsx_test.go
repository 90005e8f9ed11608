package listfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

func xlsxLimits(t testing.TB) Limits {
	lim := DefaultLimits()
	lim.TempDir = t.TempDir()
	return lim
}

func openXLSX(t testing.TB, b []byte, lim Limits) (Reader, error) {
	t.Helper()
	return NewXLSXReader(bytes.NewReader(b), int64(len(b)), lim)
}

func TestXLSXTestdata(t *testing.T) {
	tests := []struct {
		file    string
		openErr string
		want    []outcome
	}{
		{
			file: "list.xlsx",
			want: []outcome{
				ok(2, "01019010001", "2025-01-01", "2025-12-31"),
				ok(3, "31128512340", "2025-02-01", ""),
				ok(5, "32123456789", "2025-03-01", "2025-12-31"),
				bad(6, CodeDateOrder, "derīgs_līdz", "2024-12-31"),
				bad(7, CodePersonCodeChecksum, "personas_kods", "010190-10002"),
				dup(8, "personas_kods", "010190-10001", 2),
			},
		},
		{
			file: "date1904.xlsx",
			want: []outcome{ok(2, "01019010001", "2025-01-01", "2025-12-31")},
		},
		{
			file: "formulas.xlsx",
			want: []outcome{
				ok(2, "01019010001", "2025-01-01", ""),
				bad(3, CodePersonCodeCharacters, "person_code", "'=cmd|' /C calc'!A0"),
				bad(4, CodePersonCodeRequired, "person_code", ""),
				bad(5, CodeDateInvalid, "valid_from", "'@NOW()"),
			},
		},
		{file: "truncated.xlsx", openErr: CodeXLSXTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			lim := xlsxLimits(t)
			r, err := openXLSX(t, readTestdata(t, tc.file), lim)
			if fileErrCode(err) != tc.openErr {
				t.Fatalf("open: %v, want %q", err, tc.openErr)
			}
			if err != nil {
				assertNoTempFiles(t, lim.TempDir)
				return
			}
			got, fatal := drain(t, r)
			if fatal != nil {
				t.Fatalf("fatal: %v", fatal)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			assertNoTempFiles(t, lim.TempDir)
		})
	}
}

func assertNoTempFiles(t testing.TB, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("temporary file left behind: %s", e.Name())
	}
}

func TestXLSXCellConversions(t *testing.T) {
	tests := []struct{ in, code string }{
		{"1019010001", "01019010001"},
		{"01019010001", "01019010001"},
		{"0101901000", "0101901000"}, // cut short, not a number Excel shortened
		{"1.019010001E9", "01019010001"},
		{"3.2123456789E10", "32123456789"},
		{"010190-10001", "010190-10001"},
		{"123", "123"},
		{"1.5", "1.5"},
	}
	for _, tc := range tests {
		if got := xlsxCode(tc.in); got != tc.code {
			t.Errorf("xlsxCode(%q) = %q, want %q", tc.in, got, tc.code)
		}
	}
	x := &xlsxReader{}
	dates := []struct{ in, want string }{
		{"45658", "2025-01-01"},
		{"45658.99", "2025-01-01"},
		{"2025-01-01T00:00:00Z", "2025-01-01"},
		{"01.01.2025", "01.01.2025"},
		{"0", "0"},
		{"-45658", "-45658"},
		{"NaN", "NaN"},
		{"Inf", "Inf"},
		{"1e300", "1e300"},
	}
	for _, tc := range dates {
		if got := x.xlsxDate(tc.in); got != tc.want {
			t.Errorf("xlsxDate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	x.date1904 = true
	if got := x.xlsxDate("44196"); got != "2025-01-01" {
		t.Errorf("1904 serial = %q", got)
	}
}

func TestXLSXErrors(t *testing.T) {
	hdrRow := row(1, iCell("A1", "person_code"), iCell("B1", "valid_from"))
	good := hdrRow + row(2, iCell("A2", "010190-10001"), iCell("B2", "2025-01-01"))
	valid := buildXLSX(t, good, "", false)

	// A sheet of 16 MiB of blanks deflates about 1000:1.
	bomb := buildXLSX(t, hdrRow+strings.Repeat(" ", 16<<20), "", false)

	// A header that declares 100 bytes for a part that inflates to 2 MiB.
	base := []xlsxPart{
		staticPart("[Content_Types].xml", xlsxContentTypes),
		staticPart("_rels/.rels", xlsxRootRels),
		staticPart("xl/workbook.xml", xlsxWorkbook(false)),
		staticPart("xl/_rels/workbook.xml.rels", xlsxWorkbookRels),
	}
	lying := lyingZip(t, base, "xl/worksheets/sheet1.xml",
		[]byte(sheetHead+good+strings.Repeat(" ", 2<<20)+sheetTail), 100)

	manyStrings := make([]string, 3000)
	for i := range manyStrings {
		manyStrings[i] = fmt.Sprintf("s%d", i)
	}
	hugeSST := buildXLSX(t, good, sst(manyStrings...), false)
	// The same table with its uniqueCount removed must be counted, not trusted.
	quietSST := buildXLSX(t, good, strings.Replace(sst(manyStrings...), `uniqueCount="3000"`, "", 1), false)

	corrupt := bytes.Clone(valid)
	if i := bytes.Index(corrupt, []byte("xl/worksheets/sheet1.xml")); i > 0 {
		// Flip bytes inside the sheet's compressed data (after its local header).
		for j := i + 40; j < i+60 && j < len(corrupt); j++ {
			corrupt[j] ^= 0xFF
		}
	}

	noWorkbook := func() []byte {
		var buf bytes.Buffer
		if err := writeZip(&buf, []xlsxPart{staticPart("hello.txt", "hi")}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()

	small := xlsxLimits(t)
	small.MaxSharedStrings = 1000

	tests := []struct {
		name string
		in   []byte
		lim  func(*Limits)
		want string
	}{
		{"valid", valid, nil, ""},
		{"truncated at every tenth", valid[:len(valid)/10], nil, CodeXLSXTruncated},
		{"truncated at half", valid[:len(valid)/2], nil, CodeXLSXTruncated},
		{"missing last byte", valid[:len(valid)-1], nil, CodeXLSXTruncated},
		{"damaged data", corrupt, nil, CodeXLSXCorrupt},
		{"zip bomb by ratio", bomb, nil, CodeFileZipBomb},
		{"zip bomb by lying header", lying, nil, CodeFileZipBomb},
		{"too much uncompressed", valid, func(l *Limits) { l.MaxXLSXUncompressed = 1000 }, CodeFileZipBomb},
		{"workbook part too big", valid, func(l *Limits) { l.MaxXLSXInMemory = 100 }, CodeFileTooLarge},
		{"huge shared strings", hugeSST, func(l *Limits) { l.MaxSharedStrings = 1000 }, CodeXLSXTooManyStrings},
		{"huge shared strings, count not declared", quietSST, func(l *Limits) { l.MaxSharedStrings = 1000 }, CodeXLSXTooManyStrings},
		{"too many parts", valid, func(l *Limits) { l.MaxZipEntries = 3 }, CodeFileZipBomb},
		{"file too large", valid, func(l *Limits) { l.MaxXLSXFileBytes = 100 }, CodeFileTooLarge},
		{"not a workbook", noWorkbook, nil, CodeXLSXCorrupt},
		{"not a zip", []byte("person_code,valid_from\n"), nil, CodeXLSXCorrupt},
		{"old xls", append(bytes.Clone(magicOLE), make([]byte, 100)...), nil, CodeFileFormat},
		{"empty", nil, nil, CodeXLSXTruncated},
		{"empty sheet", buildXLSX(t, "", "", false), nil, CodeFileEmpty},
		{"header only", buildXLSX(t, hdrRow, "", false), nil, CodeFileNoRows},
		{"bad header", buildXLSX(t, row(1, iCell("A1", "kods")), "", false), nil, CodeFileHeader},
		{"shared string index out of range", buildXLSX(t, hdrRow+row(2, sCell("A2", 99), iCell("B2", "2025-01-01")), sst("x"), false), nil, CodeXLSXCorrupt},
		{"row number beyond Excel's limit", buildXLSX(t, good+row(1048577, iCell("A1048577", "x")), "", false), nil, CodeFileTooManyRows},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lim := xlsxLimits(t)
			if tc.lim != nil {
				tc.lim(&lim)
			}
			r, err := openXLSX(t, tc.in, lim)
			var fatal *FileError
			if err == nil {
				_, fatal = drain(t, r)
				_ = r.Close()
			}
			got := fileErrCode(err)
			if got == "" {
				got = fileErrCode(fatal)
			}
			if got != tc.want {
				t.Errorf("got %q (open: %v, read: %v), want %q", got, err, fatal, tc.want)
			}
			if err != nil {
				var fe *FileError
				if !asFileError(err, &fe) || fe.Message("lv") == "" || fe.Message("en") == "" {
					t.Errorf("error without messages: %v", err)
				}
			}
			assertNoTempFiles(t, lim.TempDir)
		})
	}
}

func asFileError(err error, fe **FileError) bool {
	e, ok := err.(*FileError)
	*fe = e
	return ok
}

// A workbook is read in place from an *os.File (as the gateway spools
// uploads), and Progress counts the bytes of it that were read.
func TestXLSXFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "list.xlsx")
	if err := os.WriteFile(path, readTestdata(t, "list.xlsx"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	r, err := NewXLSXReader(f, st.Size(), xlsxLimits(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, n := r.Progress(); n <= 0 || n > st.Size() {
		t.Errorf("bytes read after the header = %d of %d", n, st.Size())
	}
	got, fatal := drain(t, r)
	if fatal != nil || len(got) != 6 {
		t.Errorf("%d outcomes, fatal %v", len(got), fatal)
	}
	rows, n := r.Progress()
	if rows != 6 || n <= 0 || n > st.Size() {
		t.Errorf("Progress = %d rows, %d bytes of %d", rows, n, st.Size())
	}
}

// Closing early removes the shared-string file, and Next then fails.
func TestXLSXCloseEarly(t *testing.T) {
	lim := xlsxLimits(t)
	lim.XLSXSpillBytes = 1 // force the shared strings to a temporary file
	r, err := openXLSX(t, readTestdata(t, "list.xlsx"), lim)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err == nil || err == io.EOF {
		t.Errorf("Next after Close = %v", err)
	}
	assertNoTempFiles(t, lim.TempDir)
}

// A spilled shared-string table has no name on disk even while it is read:
// a crash mid-file leaves no file of personal codes behind.
func TestXLSXSpillHasNoName(t *testing.T) {
	lim := xlsxLimits(t)
	lim.XLSXSpillBytes = 1 // force the shared strings to a temporary file
	r, err := openXLSX(t, readTestdata(t, "list.xlsx"), lim)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	assertNoTempFiles(t, lim.TempDir)
	if _, err := r.Next(); err != nil {
		t.Fatalf("the unlinked table is no longer readable: %v", err)
	}
}

// A workbook written by excelize (as the list generator does) reads back.
func TestXLSXFromExcelize(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	style, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetRow("Sheet1", "A1", &[]any{"Personas kods", "Derīgs no", "Derīgs līdz"}))
	must(f.SetCellInt("Sheet1", "A2", 1019010001))
	must(f.SetCellValue("Sheet1", "B2", 45658))
	must(f.SetCellStyle("Sheet1", "B2", "B2", style))
	must(f.SetCellStr("Sheet1", "A3", "321234-56789"))
	must(f.SetCellStr("Sheet1", "B3", "15.03.2025"))
	var buf bytes.Buffer
	must(f.Write(&buf))
	r, err := openXLSX(t, buf.Bytes(), xlsxLimits(t))
	if err != nil {
		t.Fatal(err)
	}
	got, fatal := drain(t, r)
	want := []outcome{ok(2, "01019010001", "2025-01-01", ""), ok(3, "32123456789", "2025-03-15", "")}
	if diff := cmp.Diff(want, got); diff != "" || fatal != nil {
		t.Errorf("fatal %v, outcomes (-want +got):\n%s", fatal, diff)
	}
}
