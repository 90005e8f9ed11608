package listfile

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// xlsxReader streams the first worksheet of an XLSX workbook with excelize.
// Before excelize sees the package, precheckXLSX walks the zip directory and
// inflates every part once to verify its checksum, its real size and the
// shared-string count, so excelize only ever opens a package that fits the
// limits.
type xlsxReader struct {
	f        *excelize.File
	rows     *excelize.Rows
	v        *validator
	size     int64
	line     int
	date1904 bool
	fatal    error
	cleanup  func()
}

// NewXLSXReader opens the workbook and reads the header row of its first
// sheet. Cells may be text, numbers (a personal code that Excel turned into a
// number gets its lost leading zero back) or dates (Excel serial numbers).
func NewXLSXReader(r io.ReaderAt, size int64, lim Limits) (rd Reader, err error) {
	lim = lim.normalised()
	if size > lim.MaxXLSXFileBytes || size > lim.MaxFileBytes {
		return nil, &FileError{Code: CodeFileTooLarge, Detail: formatBytes(min(lim.MaxXLSXFileBytes, lim.MaxFileBytes))}
	}
	var head [8]byte
	if n, _ := r.ReadAt(head[:], 0); n < 4 {
		return nil, &FileError{Code: CodeXLSXTruncated}
	}
	if bytes.Equal(head[:], magicOLE) {
		return nil, &FileError{Code: CodeFileFormat, Detail: "Excel 97-2003 (.xls) or password-protected workbook"}
	}
	if !bytes.HasPrefix(head[:], magicZip) {
		return nil, &FileError{Code: CodeXLSXCorrupt, Detail: "not a zip package"}
	}
	if err := precheckXLSX(r, size, lim); err != nil {
		return nil, err
	}
	x := &xlsxReader{size: size}
	defer func() {
		if p := recover(); p != nil {
			x.release()
			rd, err = nil, &FileError{Code: CodeXLSXCorrupt, Err: fmt.Errorf("excelize panic: %v", p)}
		}
	}()
	path, cleanup, err := fileOnDisk(r, size, lim.TempDir)
	if err != nil {
		return nil, err
	}
	x.cleanup = cleanup
	x.f, err = excelize.OpenFile(path, excelize.Options{
		RawCellValue:      true,
		UnzipSizeLimit:    lim.MaxXLSXUncompressed,
		UnzipXMLSizeLimit: lim.XLSXSpillBytes,
		TmpDir:            lim.TempDir,
	})
	if err != nil {
		x.release()
		return nil, &FileError{Code: CodeXLSXCorrupt, Err: err}
	}
	sheets := x.f.GetSheetList()
	if len(sheets) == 0 {
		x.release()
		return nil, &FileError{Code: CodeXLSXNoSheet}
	}
	if props, err := x.f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		x.date1904 = *props.Date1904
	}
	if x.rows, err = x.f.Rows(sheets[0]); err != nil {
		x.release()
		return nil, &FileError{Code: CodeXLSXCorrupt, Err: err}
	}
	for x.rows.Next() {
		x.line++
		cells, err := x.rows.Columns()
		if err != nil {
			x.release()
			return nil, x.rowsError(err)
		}
		if blankCells(cells) {
			continue
		}
		hdr, ferr := parseHeader(cells, x.line)
		if ferr != nil {
			x.release()
			return nil, ferr
		}
		x.v = newValidator(lim, hdr)
		return x, nil
	}
	rowsErr := x.rows.Error()
	x.release()
	if rowsErr != nil {
		return nil, x.rowsError(rowsErr)
	}
	return nil, &FileError{Code: CodeFileEmpty}
}

// fileOnDisk gives excelize a file path: excelize.OpenReader would copy the
// whole package into memory (and grow the copy by doubling), OpenFile reads
// the zip in place. An *os.File that still exists under its name is used as
// is; anything else is spooled to a temporary file.
func fileOnDisk(r io.ReaderAt, size int64, dir string) (string, func(), error) {
	if f, ok := r.(*os.File); ok {
		if a, err := f.Stat(); err == nil {
			if b, err := os.Stat(f.Name()); err == nil && os.SameFile(a, b) && a.Size() == size {
				return f.Name(), func() {}, nil
			}
		}
	}
	tmp, err := os.CreateTemp(dir, "listfile-*.xlsx")
	if err != nil {
		return "", nil, &FileError{Code: CodeFileRead, Err: fmt.Errorf("spool xlsx: %w", err)}
	}
	cleanup := func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}
	if _, err := io.Copy(tmp, io.NewSectionReader(r, 0, size)); err != nil {
		cleanup()
		return "", nil, &FileError{Code: CodeFileRead, Err: fmt.Errorf("spool xlsx: %w", err)}
	}
	if err := tmp.Close(); err != nil {
		cleanup()
		return "", nil, &FileError{Code: CodeFileRead, Err: fmt.Errorf("spool xlsx: %w", err)}
	}
	return tmp.Name(), cleanup, nil
}

// precheckXLSX refuses packages that would make excelize use too much memory
// or disk, before excelize opens them. Declared sizes can lie, but
// archive/zip fails a read that inflates past the declared size, and every
// part is inflated here once, so a lie is caught too.
func precheckXLSX(r io.ReaderAt, size int64, lim Limits) error {
	zr, err := zip.NewReader(io.NewSectionReader(r, 0, size), size)
	if err != nil {
		if !hasEndOfCentralDirectory(r, size) {
			return &FileError{Code: CodeXLSXTruncated, Err: err}
		}
		return &FileError{Code: CodeXLSXCorrupt, Err: err}
	}
	if len(zr.File) > lim.MaxZipEntries {
		return &FileError{Code: CodeFileZipBomb, Detail: fmt.Sprintf("%d parts", len(zr.File))}
	}
	var total, inMemory int64
	hasWorkbook := false
	for _, f := range zr.File {
		u, c := f.UncompressedSize64, f.CompressedSize64
		if u > uint64(lim.MaxXLSXUncompressed) {
			return &FileError{Code: CodeFileZipBomb, Detail: f.Name + " > " + formatBytes(lim.MaxXLSXUncompressed)}
		}
		total += int64(u)
		if total > lim.MaxXLSXUncompressed {
			return &FileError{Code: CodeFileZipBomb, Detail: "> " + formatBytes(lim.MaxXLSXUncompressed)}
		}
		if u > 1<<20 && (c == 0 || u/c > uint64(lim.MaxCompressionRatio)) {
			return &FileError{Code: CodeFileZipBomb, Detail: fmt.Sprintf("%s %d:1", f.Name, u/max(c, 1))}
		}
		name := strings.ToLower(strings.ReplaceAll(f.Name, `\`, "/"))
		spilled := (strings.HasPrefix(name, "xl/worksheets/sheet") || name == "xl/sharedstrings.xml") &&
			int64(u) > lim.XLSXSpillBytes
		if !spilled {
			inMemory += int64(u)
			if inMemory > lim.MaxXLSXInMemory {
				return &FileError{Code: CodeFileTooLarge, Detail: f.Name + " > " + formatBytes(lim.MaxXLSXInMemory)}
			}
		}
		if name == "xl/workbook.xml" {
			hasWorkbook = true
		}
	}
	if !hasWorkbook {
		return &FileError{Code: CodeXLSXCorrupt, Detail: "no xl/workbook.xml"}
	}
	for _, f := range zr.File {
		if err := inflatePart(f, lim); err != nil {
			return err
		}
	}
	return nil
}

// inflatePart reads one part to its end, which makes archive/zip verify the
// CRC and the declared size, and counts the shared strings.
func inflatePart(f *zip.File, lim Limits) error {
	rc, err := f.Open()
	if err != nil {
		return &FileError{Code: CodeXLSXCorrupt, Detail: f.Name, Err: err}
	}
	defer rc.Close()
	name := strings.ToLower(strings.ReplaceAll(f.Name, `\`, "/"))
	var src io.Reader = rc
	if name == "xl/sharedstrings.xml" {
		cr := &countingReader{r: rc}
		if err := countSharedStrings(cr, lim.MaxSharedStrings); err != nil {
			if cr.err != nil {
				return zipReadError(f.Name, cr.err)
			}
			return err
		}
	}
	if _, err := io.Copy(io.Discard, src); err != nil {
		return zipReadError(f.Name, err)
	}
	return nil
}

func zipReadError(name string, err error) error {
	switch {
	case errors.Is(err, zip.ErrFormat):
		// The part inflates past the size its header declares.
		return &FileError{Code: CodeFileZipBomb, Detail: name, Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &FileError{Code: CodeXLSXTruncated, Detail: name, Err: err}
	default:
		return &FileError{Code: CodeXLSXCorrupt, Detail: name, Err: err}
	}
}

// countingReader remembers the underlying read error, which xml.Decoder
// would otherwise report as a syntax error.
type countingReader struct {
	r   io.Reader
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = err
	}
	return n, err
}

// countSharedStrings refuses a table with more than limit strings, trusting
// neither the declared uniqueCount nor its absence.
func countSharedStrings(r io.Reader, limit int) error {
	d := xml.NewDecoder(r)
	depth, n := 0, 0
	tooMany := &FileError{Code: CodeXLSXTooManyStrings, Detail: strconv.Itoa(limit)}
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &FileError{Code: CodeXLSXCorrupt, Detail: "xl/sharedStrings.xml", Err: err}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				for _, a := range t.Attr {
					if a.Name.Local == "uniqueCount" {
						if declared, err := strconv.Atoi(a.Value); err == nil && declared > limit {
							return tooMany
						}
					}
				}
			}
			if depth == 2 && t.Name.Local == "si" {
				if n++; n > limit {
					return tooMany
				}
			}
		case xml.EndElement:
			depth--
		}
	}
}

// hasEndOfCentralDirectory tells a truncated upload (the directory at the
// end of a zip is missing) from a damaged one.
func hasEndOfCentralDirectory(r io.ReaderAt, size int64) bool {
	const recLen, maxTail = 22, 65535 + 22
	n := min(size, maxTail)
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	i := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	if i < 0 || i+recLen > len(buf) {
		return false
	}
	comment := int(buf[i+20]) | int(buf[i+21])<<8
	return i+recLen+comment <= len(buf)
}

func blankCells(cells []string) bool {
	for _, c := range cells {
		if trimCell(c) != "" {
			return false
		}
	}
	return true
}

func cellAt(cells []string, i int) string {
	if i < 0 || i >= len(cells) {
		return ""
	}
	return cells[i]
}

func (x *xlsxReader) Next() (row Row, err error) {
	if x.fatal != nil {
		return Row{}, x.fatal
	}
	defer func() {
		if p := recover(); p != nil {
			row, err = Row{}, x.fail(&FileError{Code: CodeXLSXCorrupt, Row: x.line, Err: fmt.Errorf("excelize panic: %v", p)})
		}
	}()
	for x.rows.Next() {
		x.line++
		cells, err := x.rows.Columns()
		if err != nil {
			return Row{}, x.fail(x.rowsError(err))
		}
		if blankCells(cells) {
			continue
		}
		if ferr := x.v.countRow(x.line); ferr != nil {
			return Row{}, x.fail(ferr)
		}
		h := x.v.hdr
		row, err := x.v.check(x.line,
			xlsxCode(cellAt(cells, h.code)), x.xlsxDate(cellAt(cells, h.from)), x.xlsxDate(cellAt(cells, h.to)))
		if err != nil {
			var fe *FileError
			if errors.As(err, &fe) {
				return Row{}, x.fail(fe)
			}
			return Row{}, err
		}
		return row, nil
	}
	if err := x.rows.Error(); err != nil {
		return Row{}, x.fail(x.rowsError(err))
	}
	if x.v.rows == 0 {
		return Row{}, x.fail(&FileError{Code: CodeFileNoRows})
	}
	return Row{}, x.fail(io.EOF)
}

// rowsError classifies an error of excelize's row iterator.
func (x *xlsxReader) rowsError(err error) *FileError {
	if errors.Is(err, excelize.ErrMaxRows) {
		return &FileError{Code: CodeFileTooManyRows, Row: x.line, Detail: strconv.Itoa(excelize.TotalRows), Err: err}
	}
	return &FileError{Code: CodeXLSXCorrupt, Row: x.line, Err: err}
}

// xlsxCode restores a personal code that Excel stored as a number: a code
// starting with 0 loses that digit (01019010001 becomes 1019010001), and a
// number may be written in exponent form.
func xlsxCode(s string) string {
	s = trimCell(s)
	if strings.ContainsAny(s, ".eE") {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && f >= 1e9 && f < 1e11 {
			s = strconv.FormatInt(int64(f), 10)
		}
	}
	if len(s) == 10 && isDigits(s) {
		return "0" + s
	}
	return s
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Excel serial day 0 is 1899-12-30 in the 1900 date system (which counts a
// non-existent 29 Feb 1900, so serials before 61 are a day off; they are
// before minDate anyway) and 1904-01-01 in the 1904 system.
var (
	excelEpoch1900 = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	excelEpoch1904 = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
)

// xlsxDate turns an Excel date serial into YYYY-MM-DD; text dates pass
// through to the shared check, ISO date-time cells lose their time.
func (x *xlsxReader) xlsxDate(s string) string {
	s = trimCell(s)
	if s == "" {
		return s
	}
	if isSerial(s) {
		f, _ := strconv.ParseFloat(s, 64)
		days := math.Floor(f)
		if days < 1 || days > 2958465 { // 9999-12-31
			return s
		}
		epoch := excelEpoch1900
		if x.date1904 {
			epoch = excelEpoch1904
		}
		return epoch.AddDate(0, 0, int(days)).Format(time.DateOnly)
	}
	if len(s) > 10 && s[10] == 'T' {
		return s[:10]
	}
	return s
}

// isSerial accepts the plain decimal numbers Excel writes for date cells.
func isSerial(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' && !dot && i > 0:
			dot = true
		case c < '0' || c > '9':
			return false
		}
	}
	return s != ""
}

func (x *xlsxReader) fail(err error) error {
	x.fatal = err
	x.release()
	return err
}

// release closes the rows iterator and removes excelize's temporary files.
func (x *xlsxReader) release() {
	if x.rows != nil {
		_ = x.rows.Close()
		x.rows = nil
	}
	if x.f != nil {
		_ = x.f.Close()
		x.f = nil
	}
	if x.cleanup != nil {
		x.cleanup()
		x.cleanup = nil
	}
}

func (x *xlsxReader) Progress() (int, int64) {
	rows := 0
	if x.v != nil {
		rows = x.v.rows
	}
	return rows, x.size
}

func (x *xlsxReader) Close() error {
	if x.fatal == nil {
		x.fatal = &FileError{Code: CodeFileRead, Err: errors.New("reader closed")}
	}
	x.release()
	return nil
}
