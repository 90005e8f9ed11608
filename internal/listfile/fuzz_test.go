package listfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/avis-lv/gateway/internal/listfile/listgen"
	"github.com/avis-lv/gateway/internal/personcode"
)

var knownRowCodes = map[string]bool{
	CodePersonCodeRequired: true, CodePersonCodeLength: true, CodePersonCodeCharacters: true,
	CodePersonCodeBirthDate: true, CodePersonCodeCentury: true, CodePersonCodeChecksum: true,
	CodeDateRequired: true, CodeDateInvalid: true, CodeDateOutOfRange: true, CodeDateOrder: true,
	CodeRowDuplicate: true, CodeRowColumns: true, CodeRowTooLong: true, CodeRowQuotes: true,
}

// checkReader drains r and checks the invariants every input must keep:
// it stops, rows are valid, errors are known and carry safe values.
func checkReader(t *testing.T, r Reader, maxRows int) {
	t.Helper()
	defer r.Close()
	last := 0
	for i := 0; ; i++ {
		if i > maxRows+2 {
			t.Fatalf("more than %d results", maxRows+2)
		}
		row, err := r.Next()
		var re *RowError
		var fe *FileError
		switch {
		case err == nil:
			if c, perr := personcode.Parse(string(row.PersonCode)); perr != nil || c != row.PersonCode {
				t.Fatalf("row %d: invalid code %q", row.Line, row.PersonCode)
			}
			if row.ValidTo != nil && row.ValidTo.Before(row.ValidFrom) {
				t.Fatalf("row %d: reversed dates", row.Line)
			}
			if row.Line <= last {
				t.Fatalf("row %d after %d", row.Line, last)
			}
			last = row.Line
		case errors.As(err, &re):
			if !knownRowCodes[re.Code] || re.Row <= last {
				t.Fatalf("bad row error %+v after row %d", re, last)
			}
			if !safeCell(re.Value) {
				t.Fatalf("value not neutralised: %q", re.Value)
			}
			last = re.Row
			_ = re.Message("lv")
		case errors.Is(err, io.EOF):
			return
		case errors.As(err, &fe):
			if fe.Message("lv") == "" || fe.Message("en") == "" {
				t.Fatalf("fatal without message: %v", fe)
			}
			return
		default:
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
	}
}

// safeCell reports whether s is safe in a spreadsheet: short, valid UTF-8,
// no control characters, and not starting like a formula.
func safeCell(s string) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxValueRunes+1 {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return !startsRisky(s)
}

func FuzzCSV(f *testing.F) {
	for _, name := range []string{"lv_bom_semicolon.csv", "en_comma.csv", "win1257.csv", "win1257_row3.csv", "formulas.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var gen bytes.Buffer
	if _, err := listgen.WriteCSV(&gen, listgen.Options{Rows: 50, BadShare: 0.3, Seed: 1}); err != nil {
		f.Fatal(err)
	}
	f.Add(gen.Bytes())
	f.Add([]byte("person_code,valid_from\n\"010190-10001\"\"x\",2025-01-01\n"))
	f.Add([]byte("person_code;valid_from\r\r\n\n\"a\nb\";\"\n"))
	f.Add([]byte("\ufeff\ufeffperson_code\tvalid_from\n010190-10001\t45658\n"))
	lim := Limits{MaxRows: 500, MaxRowBytes: 128, MaxLineBytes: 1024, MaxFileBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewCSVReader(bytes.NewReader(in), lim)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("open error %T %v", err, err)
			}
			return
		}
		checkReader(t, r, lim.MaxRows)
		if _, n := r.Progress(); n > int64(len(in)) {
			t.Fatalf("consumed %d of %d bytes", n, len(in))
		}
	})
}

func FuzzXLSX(f *testing.F) {
	for _, name := range []string{"list.xlsx", "formulas.xlsx", "date1904.xlsx", "truncated.xlsx"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var gen bytes.Buffer
	if _, err := listgen.WriteXLSX(&gen, listgen.Options{Rows: 30, BadShare: 0.3, Seed: 1}); err != nil {
		f.Fatal(err)
	}
	f.Add(gen.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, in []byte) {
		lim := Limits{
			MaxRows: 200, MaxXLSXFileBytes: 1 << 20, MaxXLSXUncompressed: 4 << 20,
			MaxXLSXInMemory: 2 << 20, XLSXSpillBytes: 64 << 10, MaxSharedStrings: 1000,
			TempDir: t.TempDir(),
		}
		r, err := NewXLSXReader(bytes.NewReader(in), int64(len(in)), lim)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("open error %T %v", err, err)
			}
			assertNoTempFiles(t, lim.TempDir)
			return
		}
		checkReader(t, r, lim.MaxRows)
		assertNoTempFiles(t, lim.TempDir)
	})
}
