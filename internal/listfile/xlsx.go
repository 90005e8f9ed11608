package listfile

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"
	"time"
)

// xlsxReader streams the first worksheet of an XLSX workbook straight out of
// the zip package: the sheet XML is tokenised as it inflates, and the
// shared-string table is kept as offsets into one byte arena (spilled to a
// temporary file when large). Nothing else of the package is read.
//
// excelize (OpenReader + Rows) was measured for this and rejected for
// reading: it keeps a Go struct per shared string, or a [][]uint index of
// them once the table is spilled, so a 1M-row list typed as text (Excel
// stores every such cell as a shared string) peaked at 138 MB of RSS and took
// 32 s; this reader peaks under 50 MB and takes 6 s. excelize remains the
// writer in listgen and the tests.
type xlsxReader struct {
	src      *countingReaderAt
	size     int64
	inData   bool // inside <sheetData>
	lim      Limits
	sheet    io.ReadCloser
	dec      *xml.Decoder
	guard    *tokenGuard
	sst      *stringTable
	date1904 bool
	v        *validator
	line     int     // row number of the row being read
	cells    []xCell // the current row, by column index
	fatal    error
}

// xCell is a cell's raw value; a shared string is resolved only when needed.
type xCell struct {
	set    bool
	shared bool   // val is an index into the shared-string table
	val    string // text, number, or shared-string index
}

// maxXLSXColumns bounds the cells kept per row; the list's columns are
// among the first few, and a row may not make the reader store 16384 cells.
const maxXLSXColumns = 256

// xmlTokenLimit bounds one XML token (text node or tag): Excel's own cell
// limit is 32767 characters, so a longer one is an attack on memory.
const xmlTokenLimit = 256 << 10

// NewXLSXReader opens the workbook and reads the header row of its first
// sheet. Cells may be text, numbers (a personal code that Excel turned into a
// number gets its lost leading zero back) or dates (Excel serial numbers, in
// the 1900 or 1904 date system).
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
	x := &xlsxReader{src: &countingReaderAt{r: r}, lim: lim, size: size}
	// The parser is ours, but a hostile file must never take the process
	// down: any panic becomes "damaged file".
	defer func() {
		if p := recover(); p != nil {
			x.release()
			rd, err = nil, &FileError{Code: CodeXLSXCorrupt, Err: fmt.Errorf("panic: %v", p)}
		}
	}()
	if err := x.open(size); err != nil {
		x.release()
		return nil, err
	}
	return x, nil
}

func (x *xlsxReader) open(size int64) error {
	zr, err := zip.NewReader(io.NewSectionReader(x.src, 0, size), size)
	if err != nil {
		if !hasEndOfCentralDirectory(x.src, size) {
			return &FileError{Code: CodeXLSXTruncated, Err: err}
		}
		return &FileError{Code: CodeXLSXCorrupt, Err: err}
	}
	if err := checkZipDirectory(zr, x.lim); err != nil {
		return err
	}
	files := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		files[partName(f.Name)] = f
	}
	wb, err := readWorkbook(files, x.lim)
	if err != nil {
		return err
	}
	x.date1904 = wb.date1904
	sheet := files[wb.sheet]
	if sheet == nil {
		return &FileError{Code: CodeXLSXNoSheet, Detail: wb.sheet}
	}
	if f := files[wb.sharedStrings]; f != nil {
		if x.sst, err = loadSharedStrings(f, x.lim); err != nil {
			return err
		}
	}
	if x.sheet, err = sheet.Open(); err != nil {
		return &FileError{Code: CodeXLSXCorrupt, Detail: sheet.Name, Err: err}
	}
	x.guard = &tokenGuard{r: x.sheet, max: xmlTokenLimit}
	x.dec = xml.NewDecoder(bufio.NewReaderSize(x.guard, 64<<10))
	for {
		ok, err := x.readRow()
		if err != nil {
			return err
		}
		if !ok {
			return &FileError{Code: CodeFileEmpty}
		}
		if x.blankRow() {
			continue
		}
		names := make([]string, len(x.cells))
		for i := range x.cells {
			if names[i], err = x.cellText(i); err != nil {
				return err
			}
		}
		hdr, ferr := parseHeader(names, x.line, x.lim.DatesIgnored)
		if ferr != nil {
			return ferr
		}
		// The duplicate table is sized like a CSV's: from the sheet's XML
		// read so far against all of it, whose size the zip directory
		// gives (and checkZipDirectory has bounded).
		lim := x.lim
		lim.SizeHint = int64(sheet.UncompressedSize64)
		x.v = newValidator(lim, hdr)
		x.v.consumed = x.dec.InputOffset
		return nil
	}
}

// partName normalises a zip entry name for lookup: forward slashes, no
// leading slash, lower case (Excel tolerates any case).
func partName(name string) string {
	return strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(name, `\`, "/"), "/"))
}

// checkZipDirectory refuses a package whose directory already shows it is a
// zip bomb. Declared sizes can lie, but archive/zip fails a read that
// inflates past the declared size, so every part is held to its declaration.
func checkZipDirectory(zr *zip.Reader, lim Limits) error {
	if len(zr.File) > lim.MaxZipEntries {
		return &FileError{Code: CodeFileZipBomb, Detail: fmt.Sprintf("%d parts", len(zr.File))}
	}
	var total uint64
	for _, f := range zr.File {
		u, c := f.UncompressedSize64, f.CompressedSize64
		total += u
		if u > uint64(lim.MaxXLSXUncompressed) || total > uint64(lim.MaxXLSXUncompressed) {
			return &FileError{Code: CodeFileZipBomb, Detail: "> " + formatBytes(lim.MaxXLSXUncompressed)}
		}
		if u > 1<<20 && (c == 0 || u/c > uint64(lim.MaxCompressionRatio)) {
			return &FileError{Code: CodeFileZipBomb, Detail: fmt.Sprintf("%s %d:1", f.Name, u/max(c, 1))}
		}
	}
	return nil
}

// hasEndOfCentralDirectory tells a truncated upload (the directory at the
// end of a zip is missing or cut) from a damaged one.
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

// zipReadError classifies an error met while inflating a part.
func zipReadError(part string, row int, err error) *FileError {
	var fe *FileError
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.Is(err, errTokenTooLong):
		return &FileError{Code: CodeLineTooLong, Row: row, Detail: formatBytes(xmlTokenLimit), Err: err}
	case errors.Is(err, errCellTooLong):
		return &FileError{Code: CodeXLSXCellTooLong, Row: row, Detail: part, Err: err}
	case errors.Is(err, zip.ErrFormat):
		// The part inflates past the size its header declares.
		return &FileError{Code: CodeFileZipBomb, Row: row, Detail: part, Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &FileError{Code: CodeXLSXTruncated, Row: row, Detail: part, Err: err}
	default:
		return &FileError{Code: CodeXLSXCorrupt, Row: row, Detail: part, Err: err}
	}
}

type workbookInfo struct {
	sheet, sharedStrings string
	date1904             bool
}

// readWorkbook finds the first sheet's part, the shared-string part and the
// date system, following the package relationships as Excel does.
func readWorkbook(files map[string]*zip.File, lim Limits) (workbookInfo, error) {
	var wb workbookInfo
	wbPath := "xl/workbook.xml"
	if f := files["_rels/.rels"]; f != nil {
		rels, err := readRels(f, "", lim)
		if err != nil {
			return wb, err
		}
		for _, r := range rels {
			if strings.HasSuffix(r.typ, "/officeDocument") {
				wbPath = r.target
				break
			}
		}
	}
	f := files[wbPath]
	if f == nil {
		return wb, &FileError{Code: CodeXLSXCorrupt, Detail: "no " + wbPath}
	}
	var sheetID string
	err := scanXML(f, lim, func(d *xml.Decoder, t xml.StartElement) error {
		switch t.Name.Local {
		case "workbookPr":
			v := attr(t, "date1904")
			wb.date1904 = v == "1" || v == "true"
		case "sheet":
			if sheetID == "" {
				if sheetID = attr(t, "id"); sheetID == "" {
					return &FileError{Code: CodeXLSXCorrupt, Detail: "sheet without r:id"}
				}
			}
		}
		return nil
	})
	if err != nil {
		return wb, err
	}
	if sheetID == "" {
		return wb, &FileError{Code: CodeXLSXNoSheet}
	}
	dir := path.Dir(wbPath)
	relsFile := files[path.Join(dir, "_rels", path.Base(wbPath)+".rels")]
	if relsFile == nil {
		return wb, &FileError{Code: CodeXLSXCorrupt, Detail: "no workbook relationships"}
	}
	rels, err := readRels(relsFile, dir, lim)
	if err != nil {
		return wb, err
	}
	wb.sharedStrings = "xl/sharedstrings.xml"
	for id, r := range rels {
		if id == sheetID {
			wb.sheet = r.target
		}
		if strings.HasSuffix(r.typ, "/sharedStrings") {
			wb.sharedStrings = r.target
		}
	}
	if wb.sheet == "" {
		return wb, &FileError{Code: CodeXLSXNoSheet, Detail: sheetID}
	}
	return wb, nil
}

type rel struct{ typ, target string }

// readRels reads a relationships part; targets are resolved against dir and
// returned as part names.
func readRels(f *zip.File, dir string, lim Limits) (map[string]rel, error) {
	rels := map[string]rel{}
	err := scanXML(f, lim, func(d *xml.Decoder, t xml.StartElement) error {
		if t.Name.Local != "Relationship" || attr(t, "TargetMode") == "External" {
			return nil
		}
		target := attr(t, "Target")
		if strings.HasPrefix(target, "/") {
			target = partName(target)
		} else {
			target = partName(path.Join(dir, target))
		}
		rels[attr(t, "Id")] = rel{typ: attr(t, "Type"), target: target}
		return nil
	})
	return rels, err
}

// scanXML calls fn for each start element of a small part (at most
// MaxXLSXInMemory bytes are read).
func scanXML(f *zip.File, lim Limits, fn func(*xml.Decoder, xml.StartElement) error) error {
	rc, err := f.Open()
	if err != nil {
		return &FileError{Code: CodeXLSXCorrupt, Detail: f.Name, Err: err}
	}
	defer rc.Close()
	lr := &io.LimitedReader{R: rc, N: lim.MaxXLSXInMemory + 1}
	d := xml.NewDecoder(&tokenGuard{r: lr, max: xmlTokenLimit})
	for {
		tok, err := d.RawToken()
		if lr.N <= 0 {
			return &FileError{Code: CodeFileTooLarge, Detail: f.Name + " > " + formatBytes(lim.MaxXLSXInMemory)}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return zipReadError(f.Name, 0, err)
		}
		if t, ok := tok.(xml.StartElement); ok {
			if err := fn(d, t); err != nil {
				return err
			}
		}
	}
}

func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// readRow advances to the next <row> and reads its cells into x.cells.
// It returns false at the end of the sheet data.
func (x *xlsxReader) readRow() (bool, error) {
	for {
		tok, err := x.dec.RawToken()
		if errors.Is(err, io.EOF) {
			if !x.inData {
				// A chart sheet, or no worksheet markup at all.
				return false, &FileError{Code: CodeXLSXNoSheet}
			}
			// Every real sheet closes its sheetData; a stream that just
			// stops was cut short.
			return false, &FileError{Code: CodeXLSXTruncated, Row: x.line, Detail: "worksheet"}
		}
		if err != nil {
			return false, zipReadError("worksheet", x.line+1, err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if t.Name.Local == "sheetData" {
				return false, x.drainSheet()
			}
		case xml.StartElement:
			if t.Name.Local == "sheetData" {
				x.inData = true
			}
			if t.Name.Local != "row" {
				continue
			}
			next := x.line + 1
			if r := attr(t, "r"); r != "" {
				n, err := strconv.Atoi(r)
				if err != nil || n <= x.line {
					return false, &FileError{Code: CodeXLSXCorrupt, Row: x.line, Detail: "row number " + NeutraliseCell(r)}
				}
				next = n
			}
			if next > xlsxMaxRows {
				return false, &FileError{Code: CodeFileTooManyRows, Row: next, Detail: strconv.Itoa(xlsxMaxRows)}
			}
			x.line = next
			return true, x.readCells()
		}
	}
}

// xlsxMaxRows is Excel's sheet size; a larger row number is not Excel's.
const xlsxMaxRows = 1 << 20

// drainSheet reads the rest of the worksheet so that archive/zip verifies
// its checksum: damage in the last block must not pass silently.
func (x *xlsxReader) drainSheet() error {
	if _, err := io.Copy(io.Discard, x.guard); err != nil && !errors.Is(err, errTokenTooLong) {
		return zipReadError("worksheet", 0, err)
	}
	return nil
}

func (x *xlsxReader) readCells() error {
	for i := range x.cells {
		x.cells[i] = xCell{}
	}
	col := -1
	for {
		tok, err := x.dec.RawToken()
		if err != nil {
			return x.tokenError(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if t.Name.Local == "row" {
				return nil
			}
		case xml.StartElement:
			if t.Name.Local != "c" {
				if err := x.skip(); err != nil {
					return err
				}
				continue
			}
			col++
			if ref := attr(t, "r"); ref != "" {
				c, ok := columnIndex(ref)
				if !ok {
					return &FileError{Code: CodeXLSXCorrupt, Row: x.line, Detail: "cell reference " + NeutraliseCell(ref)}
				}
				col = c
			}
			cell, err := x.readCell(attr(t, "t"))
			if err != nil {
				return err
			}
			if col < maxXLSXColumns && cell.set {
				for len(x.cells) <= col {
					x.cells = append(x.cells, xCell{})
				}
				x.cells[col] = cell
			}
		}
	}
}

func (x *xlsxReader) tokenError(err error) error {
	if errors.Is(err, io.EOF) {
		return &FileError{Code: CodeXLSXTruncated, Row: x.line, Detail: "worksheet"}
	}
	return zipReadError("worksheet", x.line, err)
}

// skip consumes the element whose start tag was just read.
func (x *xlsxReader) skip() error {
	for depth := 1; depth > 0; {
		tok, err := x.dec.RawToken()
		if err != nil {
			return x.tokenError(err)
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// readCell reads one <c> element: the value <v>, or the inline string <is>;
// a formula <f> is skipped, so its cached result is what counts.
func (x *xlsxReader) readCell(typ string) (xCell, error) {
	var cell xCell
	for {
		tok, err := x.dec.RawToken()
		if err != nil {
			return cell, x.tokenError(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if t.Name.Local == "c" {
				return cell, nil
			}
		case xml.StartElement:
			switch t.Name.Local {
			case "v":
				s, err := x.text("v")
				if err != nil {
					return cell, err
				}
				cell = xCell{set: true, val: s, shared: typ == "s"}
			case "is":
				s, err := richText(x.dec, "is")
				if err != nil {
					return cell, x.tokenError(err)
				}
				cell = xCell{set: true, val: s}
			default:
				if err := x.skip(); err != nil {
					return cell, err
				}
			}
		}
	}
}

// maxCellBytes is Excel's own limit on a cell, 32 767 characters, in
// UTF-8. Text split over many elements could otherwise grow a cell without
// bound, each piece within xmlTokenLimit.
const maxCellBytes = 32767 * 4

var errCellTooLong = errors.New("cell longer than Excel allows")

// text returns the character data of a simple element such as <v>.
func (x *xlsxReader) text(local string) (string, error) {
	var sb strings.Builder
	for {
		tok, err := x.dec.RawToken()
		if err != nil {
			return "", x.tokenError(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if sb.Len()+len(t) > maxCellBytes {
				return "", x.tokenError(errCellTooLong)
			}
			sb.Write(t)
		case xml.EndElement:
			if t.Name.Local == local {
				return sb.String(), nil
			}
		}
	}
}

// richText returns the text of an <si> or <is> element: its <t> elements
// (plain or in rich-text runs), leaving out phonetic guides (<rPh>).
func richText(d *xml.Decoder, local string) (string, error) {
	var sb strings.Builder
	depth, inT, inPhonetic := 0, 0, 0
	for {
		tok, err := d.RawToken()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch t.Name.Local {
			case "t":
				inT++
			case "rPh":
				inPhonetic++
			}
		case xml.EndElement:
			if depth == 0 {
				if t.Name.Local != local {
					return "", fmt.Errorf("unexpected </%s> in <%s>", t.Name.Local, local)
				}
				return sb.String(), nil
			}
			depth--
			switch t.Name.Local {
			case "t":
				inT = max(inT-1, 0)
			case "rPh":
				inPhonetic = max(inPhonetic-1, 0)
			}
		case xml.CharData:
			if inT > 0 && inPhonetic == 0 {
				if sb.Len()+len(t) > maxCellBytes {
					return "", errCellTooLong
				}
				sb.Write(t)
			}
		}
	}
}

// columnIndex turns a cell reference such as "AB12" into 27 (0-based).
func columnIndex(ref string) (int, bool) {
	col, i := 0, 0
	for ; i < len(ref); i++ {
		c := ref[i] | 0x20 // lower case
		if c < 'a' || c > 'z' {
			break
		}
		col = col*26 + int(c-'a'+1)
		if col > 16384 {
			return 0, false
		}
	}
	if i == 0 || i == len(ref) || !isDigits(ref[i:]) {
		return 0, false
	}
	return col - 1, true
}

func (x *xlsxReader) blankRow() bool {
	for i := range x.cells {
		if !x.cells[i].set {
			continue
		}
		if x.cells[i].shared {
			s, err := x.cellText(i)
			if err != nil || trimCell(s) != "" {
				return false // a bad reference is reported by the row check
			}
			continue
		}
		if trimCell(x.cells[i].val) != "" {
			return false
		}
	}
	return true
}

// cellText returns the text of column i, resolving a shared string.
func (x *xlsxReader) cellText(i int) (string, error) {
	if i < 0 || i >= len(x.cells) || !x.cells[i].set {
		return "", nil
	}
	c := x.cells[i]
	if !c.shared {
		return c.val, nil
	}
	idx, err := strconv.Atoi(strings.TrimSpace(c.val))
	if err != nil || x.sst == nil || idx < 0 || idx >= x.sst.len() {
		return "", &FileError{Code: CodeXLSXCorrupt, Row: x.line, Detail: "shared string " + NeutraliseCell(c.val)}
	}
	s, err := x.sst.get(idx)
	if err != nil {
		return "", &FileError{Code: CodeFileRead, Row: x.line, Err: err}
	}
	return s, nil
}

func (x *xlsxReader) Next() (row Row, err error) {
	if x.fatal != nil {
		return Row{}, x.fatal
	}
	defer func() {
		if p := recover(); p != nil {
			row, err = Row{}, x.fail(&FileError{Code: CodeXLSXCorrupt, Row: x.line, Err: fmt.Errorf("panic: %v", p)})
		}
	}()
	for {
		ok, err := x.readRow()
		if err != nil {
			return Row{}, x.fail(err)
		}
		if !ok {
			if x.v.rows == 0 {
				return Row{}, x.fail(&FileError{Code: CodeFileNoRows})
			}
			return Row{}, x.fail(io.EOF)
		}
		if x.blankRow() {
			continue
		}
		if ferr := x.v.countRow(x.line); ferr != nil {
			return Row{}, x.fail(ferr)
		}
		h := x.v.hdr
		var vals [3]string
		for i, c := range [3]int{h.code, h.from, h.to} {
			if vals[i], err = x.cellText(c); err != nil {
				return Row{}, x.fail(err)
			}
		}
		row, err := x.v.check(x.line, xlsxCode(vals[0]), x.xlsxDate(vals[1]), x.xlsxDate(vals[2]))
		if err != nil {
			var fe *FileError
			if errors.As(err, &fe) {
				return Row{}, x.fail(fe)
			}
			return Row{}, err
		}
		return row, nil
	}
}

// xlsxCode restores a personal code that Excel stored as a number: the
// workbook may hold it in exponent form (exact, unlike the rounded form a
// CSV file shows), and its leading zero is lost (excelCode).
func xlsxCode(s string) string {
	s = trimCell(s)
	if strings.ContainsAny(s, ".eE") {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && f >= 1e9 && f < 1e11 {
			s = strconv.FormatInt(int64(f), 10)
		}
	}
	return excelCode(s)
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

// release closes the worksheet stream, removes the shared-string file and
// gives the duplicate table's mapping back.
func (x *xlsxReader) release() {
	x.v.close()
	if x.sheet != nil {
		_ = x.sheet.Close()
		x.sheet = nil
	}
	if x.sst != nil {
		x.sst.close()
	}
}

func (x *xlsxReader) Progress() (int, int64) {
	rows := 0
	if x.v != nil {
		rows = x.v.rows
	}
	return rows, min(x.src.n.Load(), x.size)
}

func (x *xlsxReader) Close() error {
	if x.fatal == nil {
		x.fatal = &FileError{Code: CodeFileRead, Err: errors.New("reader closed")}
	}
	x.release()
	return nil
}

// tokenGuard fails a stream in which two '<' are further apart than max
// bytes, so one XML token cannot exhaust memory.
type tokenGuard struct {
	r     io.Reader
	max   int
	since int
}

var errTokenTooLong = errors.New("xml token too long")

func (g *tokenGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	chunk := p[:n]
	for {
		i := bytes.IndexByte(chunk, '<')
		if i < 0 {
			g.since += len(chunk)
			break
		}
		if g.since+i > g.max {
			return 0, errTokenTooLong
		}
		g.since = 0
		chunk = chunk[i+1:]
	}
	if g.since > g.max {
		return 0, errTokenTooLong
	}
	return n, err
}
