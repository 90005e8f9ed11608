package listfile

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func TestCSV(t *testing.T) {
	const hdr = "person_code,valid_from,valid_to\n"
	tests := []struct {
		name      string
		in        string
		lim       Limits
		openErr   string // FileError code from NewCSVReader
		want      []outcome
		fatal     string // FileError code that ends reading, "" for EOF
		fatalRow  int
		fatalInfo string // expected Detail
	}{
		{
			name: "english comma",
			in:   hdr + "010190-10001,2025-01-01,2025-12-31\n31128512340,2025-02-01,\n",
			want: []outcome{ok(2, "01019010001", "2025-01-01", "2025-12-31"), ok(3, "31128512340", "2025-02-01", "")},
		},
		{
			name: "latvian semicolon any order, case and diacritics",
			in:   "DERĪGS_LĪDZ;Personas kods;derigs_no\r\n;010190-10001;01.01.2025\r\n",
			want: []outcome{ok(2, "01019010001", "2025-01-01", "")},
		},
		{
			name: "tab delimiter",
			in:   "person_code\tvalid_from\tvalid_to\n010190-10001\t2025-01-01\t\n",
			want: []outcome{ok(2, "01019010001", "2025-01-01", "")},
		},
		{
			name: "Excel's sep= line names the separator, and Excel does not show it as a row",
			in:   "sep=;\r\nperson_code;valid_from;valid_to\r\n010190-10001;2025-01-01;\r\n",
			want: []outcome{ok(2, "01019010001", "2025-01-01", "")},
		},
		{
			name: "no end-date column means open-ended",
			in:   "person_code;valid_from\n010190-10001;2025-01-01\n",
			want: []outcome{ok(2, "01019010001", "2025-01-01", "")},
		},
		{
			name: "BOM, CR-only line ends, trailing delimiters, extra columns ignored",
			in:   "\ufeffperson_code;valid_from;valid_to;name;;\r010190-10001;2025-01-01;;Anna;;\r",
			want: []outcome{ok(2, "01019010001", "2025-01-01", "")},
		},
		{
			name: "blank lines are counted as Excel rows but skipped",
			in:   "\n" + hdr + "\n  \n,,\n010190-10001,2025-01-01,\n",
			want: []outcome{ok(6, "01019010001", "2025-01-01", "")},
		},
		{
			name: "quoted field with delimiter, quote and newline is one row",
			in:   "person_code,valid_from,note\n\"010190-10001\",\"2025-01-01\",\"a,\"\"b\"\"\nc\"\n31128512340,2025-01-01,\n",
			want: []outcome{ok(2, "01019010001", "2025-01-01", ""), ok(3, "31128512340", "2025-01-01", "")},
		},
		{
			name: "no trailing newline",
			in:   hdr + "010190-10001,2025-01-01,",
			want: []outcome{ok(2, "01019010001", "2025-01-01", "")},
		},
		{
			name: "values trimmed including no-break spaces",
			in:   hdr + " 010190-10001\u00a0, 2025-01-01 ,\n",
			want: []outcome{ok(2, "01019010001", "2025-01-01", "")},
		},
		{
			name: "every row error code",
			in: hdr +
				",2025-01-01,\n" +
				"0101901000,2025-01-01,\n" +
				"010190-1000X,2025-01-01,\n" +
				"300285-12345,2025-01-01,\n" +
				"010190-31234,2025-01-01,\n" +
				"010190-10002,2025-01-01,\n" +
				"010190-10001,,\n" +
				"010190-10001,2025-02-30,\n" +
				"010190-10001,1985-01-01,\n" +
				"010190-10001,2025-03-01,2025-02-28\n" +
				"010190-10001,2025-01-01,\n" +
				"01019010001,2025-01-01,\n" +
				"010190-10001,2025-01-01,x,y\n" +
				"010190-10001\n" +
				"\"010190-10001\"x,2025-01-01,\n" +
				"\"010190-10001,2025-01-01,\n",
			want: []outcome{
				bad(2, CodePersonCodeRequired, "person_code", ""),
				bad(3, CodePersonCodeLength, "person_code", "0101901000"),
				bad(4, CodePersonCodeCharacters, "person_code", "010190-1000X"),
				bad(5, CodePersonCodeBirthDate, "person_code", "300285-12345"),
				bad(6, CodePersonCodeCentury, "person_code", "010190-31234"),
				bad(7, CodePersonCodeChecksum, "person_code", "010190-10002"),
				bad(8, CodeDateRequired, "valid_from", ""),
				bad(9, CodeDateInvalid, "valid_from", "2025-02-30"),
				bad(10, CodeDateOutOfRange, "valid_from", "1985-01-01"),
				bad(11, CodeDateOrder, "valid_to", "2025-02-28"),
				ok(12, "01019010001", "2025-01-01", ""),
				dup(13, "person_code", "010190-10001", 12),
				{Line: 14, Err: CodeRowColumns, From: "010190-10001,2025-01-01,x,y"},
				{Line: 15, Err: CodeRowColumns, From: "010190-10001"},
				{Line: 16, Err: CodeRowQuotes, From: "010190-10001x,2025-01-01,"},
				{Line: 17, Err: CodeRowQuotes, From: "010190-10001,2025-01-01,"},
			},
		},
		{
			name: "a leading zero Excel dropped is restored, as in XLSX",
			in:   "personas_kods;derīgs_no\n1019010001;01.01.2026\n01019010001;01.01.2026\n0101901000;01.01.2026\n",
			want: []outcome{
				ok(2, "01019010001", "2026-01-01", ""),
				dup(3, "personas_kods", "010190-10001", 2),
				bad(4, CodePersonCodeLength, "personas_kods", "0101901000"),
			},
		},
		{
			name: "a code rejected for its dates does not count as seen",
			in:   hdr + "010190-10001,2025-02-30,\n010190-10001,2025-01-01,\n",
			want: []outcome{bad(2, CodeDateInvalid, "valid_from", "2025-02-30"), ok(3, "01019010001", "2025-01-01", "")},
		},
		{
			name: "column names in errors are the header's",
			in:   "Personas kods;derīgs_no\n010190-10002;2025-01-01\n",
			want: []outcome{bad(2, CodePersonCodeChecksum, "Personas kods", "010190-10002")},
		},
		{
			name: "row too long is a row error",
			in:   hdr + "010190-10001,2025-01-01," + strings.Repeat("x", 100) + "\n31128512340,2025-01-01,\n",
			lim:  Limits{MaxRowBytes: 64},
			want: []outcome{
				{Line: 2, Err: CodeRowTooLong, From: "010190-10001,2025-01-01," + strings.Repeat("x", 39) + "…"},
				ok(3, "31128512340", "2025-01-01", ""),
			},
		},
		{
			name:      "line too long is fatal",
			in:        hdr + "010190-10001,2025-01-01,\n" + strings.Repeat("y", 5000) + "\n",
			lim:       Limits{MaxRowBytes: 64, MaxLineBytes: 1024},
			want:      []outcome{ok(2, "01019010001", "2025-01-01", "")},
			fatal:     CodeLineTooLong,
			fatalRow:  3,
			fatalInfo: "1 KiB",
		},
		{
			name:     "unclosed quote runs into the line limit",
			in:       hdr + "\"010190-10001,2025-01-01,\n" + strings.Repeat("010190-10001,2025-01-01,\n", 100),
			lim:      Limits{MaxRowBytes: 64, MaxLineBytes: 1024},
			fatal:    CodeLineTooLong,
			fatalRow: 2,
		},
		{
			name:     "too many rows",
			in:       hdr + "010190-10001,2025-01-01,\n31128512340,2025-01-01,\n",
			lim:      Limits{MaxRows: 1},
			want:     []outcome{ok(2, "01019010001", "2025-01-01", "")},
			fatal:    CodeFileTooManyRows,
			fatalRow: 3,
		},
		{
			name: "too many row errors",
			in:   hdr + "1,2025-01-01,\n2,2025-01-01,\n3,2025-01-01,\n",
			lim:  Limits{MaxRowErrors: 2},
			want: []outcome{
				bad(2, CodePersonCodeLength, "person_code", "1"),
				bad(3, CodePersonCodeLength, "person_code", "2"),
			},
			fatal:    CodeFileTooManyErrors,
			fatalRow: 4,
		},
		{
			name:    "file too large",
			in:      hdr + strings.Repeat("010190-10001,2025-01-01,\n", 10),
			lim:     Limits{MaxFileBytes: 100},
			openErr: CodeFileTooLarge,
		},
		{name: "header only", in: hdr + "\n\n", fatal: CodeFileNoRows},
		{name: "empty", in: "", openErr: CodeFileEmpty},
		{name: "only blank lines", in: "\r\n ; \r\n", openErr: CodeFileEmpty},
		{name: "header lacks code column", in: "kods;derīgs_no\n", openErr: CodeFileHeader},
		{name: "header lacks valid_from", in: "person_code,from\n", openErr: CodeFileHeader},
		{name: "data without header", in: "010190-10001;2025-01-01\n", openErr: CodeFileHeader},
		{name: "duplicate header column", in: "person_code,valid_from,personas_kods\n", openErr: CodeFileHeaderDup},
		{name: "UTF-16 BOM", in: "\xff\xfep\x00c\x00", openErr: CodeFileNotUTF8},
		{name: "UTF-16 without BOM", in: "p\x00e\x00r\x00s\x00o\x00n\x00_\x00c\x00o\x00d\x00e\x00,\x00v\x00a\x00l\x00i\x00d\x00_\x00f\x00r\x00o\x00m\x00\n\x00", openErr: CodeFileNotUTF8},
		{name: "header line too long", in: strings.Repeat("a", 200) + "\n", lim: Limits{MaxRowBytes: 64, MaxLineBytes: 100}, openErr: CodeLineTooLong},
		{
			name:     "invalid UTF-8 in a data row is fatal with its row",
			in:       hdr + "010190-10001,2025-01-01,\n31128512340,2025-01-01,R\xeega\n",
			want:     []outcome{ok(2, "01019010001", "2025-01-01", "")},
			fatal:    CodeFileNotUTF8,
			fatalRow: 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewCSVReader(strings.NewReader(tc.in), tc.lim)
			if got := fileErrCode(err); got != tc.openErr {
				t.Fatalf("NewCSVReader error = %v, want %q", err, tc.openErr)
			}
			if err != nil {
				return
			}
			got, fatal := drain(t, r)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if fileErrCode(fatal) != tc.fatal {
				t.Fatalf("fatal = %v, want %q", fatal, tc.fatal)
			}
			if fatal != nil && tc.fatalRow != 0 && fatal.Row != tc.fatalRow {
				t.Errorf("fatal row = %d, want %d", fatal.Row, tc.fatalRow)
			}
			if fatal != nil && tc.fatalInfo != "" && fatal.Detail != tc.fatalInfo {
				t.Errorf("fatal detail = %q, want %q", fatal.Detail, tc.fatalInfo)
			}
		})
	}
}

func TestCSVTestdata(t *testing.T) {
	tests := []struct {
		file     string
		want     []outcome
		openErr  string
		fatal    string
		fatalRow int
	}{
		{
			file: "lv_bom_semicolon.csv",
			want: []outcome{
				ok(2, "01019010001", "2025-01-01", "2025-12-31"),
				ok(3, "31128512340", "2025-02-01", ""),
				ok(6, "32123456789", "2025-03-01", ""),
				bad(7, CodePersonCodeChecksum, "Personas_Kods", "010190-10002"),
				bad(8, CodeDateOrder, "DERĪGS_LĪDZ", "2024-12-31"),
				dup(9, "Personas_Kods", "010190-10001", 2),
			},
		},
		{
			file: "en_comma.csv",
			want: []outcome{
				ok(2, "29020021116", "2025-01-01", ""),
				ok(3, "05050512340", "2025-02-01", "2026-01-31"),
				bad(4, CodeDateInvalid, "valid_to", "2025-02-30"),
			},
		},
		{file: "win1257.csv", openErr: CodeFileNotUTF8},
		{
			file:     "win1257_row3.csv",
			want:     []outcome{ok(2, "01019010001", "2025-01-01", ""), ok(3, "31128512340", "2025-01-01", "")},
			fatal:    CodeFileNotUTF8,
			fatalRow: 4,
		},
		{
			file: "formulas.csv",
			want: []outcome{
				bad(2, CodePersonCodeCharacters, "person_code", "'=cmd|' /C calc'!A0"),
				bad(3, CodePersonCodeCharacters, "person_code", "'+37120000000"),
				bad(4, CodePersonCodeCharacters, "person_code", "'-1+1"),
				bad(5, CodePersonCodeCharacters, "person_code", "'@SUM(A1:A2)"),
				bad(6, CodePersonCodeCharacters, "person_code", "'=1+1"),
				bad(7, CodePersonCodeCharacters, "person_code", "'=2+2"),
				bad(8, CodeDateInvalid, "valid_from", "'=NOW()"),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			r, err := NewCSVReader(bytes.NewReader(readTestdata(t, tc.file)), DefaultLimits())
			if fileErrCode(err) != tc.openErr {
				t.Fatalf("open: %v, want %q", err, tc.openErr)
			}
			if err != nil {
				return
			}
			got, fatal := drain(t, r)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if fileErrCode(fatal) != tc.fatal || (fatal != nil && fatal.Row != tc.fatalRow) {
				t.Errorf("fatal = %v (row %d), want %q row %d", fatal, rowOf(fatal), tc.fatal, tc.fatalRow)
			}
		})
	}
}

func rowOf(fe *FileError) int {
	if fe == nil {
		return 0
	}
	return fe.Row
}

// A 10 MB line must stop the reader at the line limit, without the reader
// buffering it: the source is a generator, never a 10 MB string.
func TestCSVHugeLineIsBounded(t *testing.T) {
	src := io.MultiReader(
		strings.NewReader("person_code,valid_from,valid_to\n010190-10001,2025-01-01,\n"),
		io.LimitReader(repeatReader('9'), 10<<20),
		strings.NewReader("\n"),
	)
	cr := &countReader{r: src}
	r, err := NewCSVReader(cr, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	var fe *FileError
	if !errors.As(err, &fe) || fe.Code != CodeLineTooLong || fe.Row != 3 {
		t.Fatalf("got %v, want line.too_long at row 3", err)
	}
	if limit := int64(DefaultLimits().MaxLineBytes + 2*csvBufSize); cr.n > limit {
		t.Errorf("read %d bytes of the 10 MB line before stopping, want ≤ %d", cr.n, limit)
	}
	if !strings.Contains(fe.Message("lv"), "3. rinda") || !strings.Contains(fe.Message("en"), "Row 3") {
		t.Errorf("messages do not name the row: %q / %q", fe.Message("lv"), fe.Message("en"))
	}
}

type repeatReader byte

func (b repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Reading byte by byte, or with errors mid-stream, must give the same rows.
func TestCSVReaderShapes(t *testing.T) {
	in := readTestdata(t, "lv_bom_semicolon.csv")
	read := func(src io.Reader) []outcome {
		r, err := NewCSVReader(src, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		got, fatal := drain(t, r)
		if fatal != nil {
			t.Fatal(fatal)
		}
		return got
	}
	want := read(bytes.NewReader(in))
	if diff := cmp.Diff(want, read(iotest.OneByteReader(bytes.NewReader(in)))); diff != "" {
		t.Errorf("one byte reader differs:\n%s", diff)
	}
	if diff := cmp.Diff(want, read(iotest.DataErrReader(bytes.NewReader(in)))); diff != "" {
		t.Errorf("data+EOF reader differs:\n%s", diff)
	}

	boom := errors.New("disk on fire")
	r, err := NewCSVReader(io.MultiReader(bytes.NewReader(in), iotest.ErrReader(boom)), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	_, fatal := drain(t, r)
	if fatal == nil || fatal.Code != CodeFileRead || !errors.Is(fatal, boom) {
		t.Errorf("read error: got %v, want file.read wrapping the cause", fatal)
	}
}

func TestCSVProgress(t *testing.T) {
	in := "person_code,valid_from,valid_to\n010190-10001,2025-01-01,\n\nbad,2025-01-01,\n"
	r, err := NewCSVReader(strings.NewReader(in), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if rows, _ := r.Progress(); rows != 0 {
		t.Errorf("rows before reading = %d", rows)
	}
	drain(t, r)
	rows, n := r.Progress()
	if rows != 2 || n != int64(len(in)) {
		t.Errorf("Progress = %d rows, %d bytes; want 2, %d", rows, n, len(in))
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}
}
