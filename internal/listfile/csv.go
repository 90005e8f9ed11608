package listfile

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/avis-lv/gateway/internal/personcode"
)

// csvBufSize is the read buffer; the header line is looked for in it.
const csvBufSize = 64 << 10

// csvReader is a small RFC 4180 parser written for bounded memory: unlike
// encoding/csv it never holds more than MaxRowBytes of a record, and it
// stops on a record longer than MaxLineBytes without buffering it.
type csvReader struct {
	src     io.Reader
	lim     Limits
	buf     []byte
	r, w    int
	srcEOF  bool
	read    int64 // bytes taken from src
	skipLF  bool  // the last record ended in CR; a following LF belongs to it
	line    int   // row number of the last record, as Excel counts rows
	delim   byte
	sepHint bool   // the file starts with Excel's "sep=;" line
	rec     []byte // the current record's field contents, unquoted
	ends    []int  // end offset in rec of each field
	v       *validator
	fatal   error
}

type recStatus struct {
	eof, blank, tooLong, badQuote bool
}

// NewCSVReader reads the header and returns a reader positioned at the first
// data row. The header and the file's encoding are checked here, so a wrong
// file fails before any row is read.
func NewCSVReader(r io.Reader, lim Limits) (Reader, error) {
	c := &csvReader{src: r, lim: lim.normalised(), buf: make([]byte, csvBufSize)}
	if err := c.start(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *csvReader) start() error {
	for c.w-c.r < 4 && !c.srcEOF {
		if err := c.fill(); err != nil {
			return err
		}
	}
	head := c.buf[c.r:c.w]
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		c.r += 3
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return &FileError{Code: CodeFileNotUTF8, Row: 1, Detail: "UTF-16"}
	}
	if err := c.detectDelimiter(); err != nil {
		return err
	}
	hint := c.sepHint
	for c.sepHint {
		st, err := c.readRecord()
		if err != nil {
			return err
		}
		if st.eof {
			return &FileError{Code: CodeFileEmpty}
		}
		c.sepHint = st.blank
	}
	if hint {
		// Excel reads the sep= line as a setting and does not show it: rows
		// are numbered as the clerk sees them there.
		c.line--
	}
	for {
		st, err := c.readRecord()
		if err != nil {
			return err
		}
		if st.eof {
			return &FileError{Code: CodeFileEmpty}
		}
		if st.blank || len(bytes.Trim(c.rec, " \t;,\"")) == 0 {
			// A line of separators only (Excel's empty row) is no header.
			continue
		}
		if st.tooLong {
			return &FileError{Code: CodeLineTooLong, Row: c.line, Detail: formatBytes(int64(c.lim.MaxRowBytes))}
		}
		s := string(c.rec)
		fields := make([]string, len(c.ends))
		for i := range c.ends {
			fields[i] = c.field(s, i)
		}
		hdr, ferr := parseHeader(fields, c.line, c.lim.DatesIgnored)
		if ferr != nil {
			return ferr
		}
		c.v = newValidator(c.lim, hdr)
		c.v.consumed = func() int64 { return c.read - int64(c.w-c.r) }
		return nil
	}
}

// detectDelimiter picks ';', ',' or tab from the first line with content:
// the one that splits it into the known column names, else the most
// frequent one, else ',' (a one-column file then fails on the header).
func (c *csvReader) detectDelimiter() error {
	for {
		seg := c.buf[c.r:c.w]
		line, complete := firstContentLine(seg)
		if complete || c.srcEOF || c.w-c.r == len(c.buf) {
			// Excel writes and honours a first line "sep=;" naming the
			// separator.
			if l := bytes.TrimSpace(line); len(l) == 5 && bytes.HasPrefix(bytes.ToLower(l), []byte("sep=")) {
				c.delim, c.sepHint = l[4], true
				return nil
			}
			c.delim = chooseDelimiter(line)
			return nil
		}
		if err := c.fill(); err != nil {
			return err
		}
	}
}

func firstContentLine(seg []byte) (line []byte, complete bool) {
	for len(seg) > 0 {
		i := bytes.IndexAny(seg, "\r\n")
		if i < 0 {
			return seg, false
		}
		if l := seg[:i]; len(bytes.Trim(l, " \t;,\"")) > 0 {
			return l, true
		}
		seg = seg[i+1:]
	}
	return nil, false
}

func chooseDelimiter(line []byte) byte {
	best, bestN := byte(','), 0
	for _, d := range []byte{';', ',', '\t'} {
		fields := splitQuoted(line, d)
		var code, from bool
		for _, f := range fields {
			switch k, _ := canonicalColumn(f); k {
			case "code":
				code = true
			case "from":
				from = true
			}
		}
		if code && from {
			return d
		}
		if n := len(fields) - 1; n > bestN {
			best, bestN = d, n
		}
	}
	return best
}

// splitQuoted splits one header line, honouring double quotes.
func splitQuoted(line []byte, d byte) []string {
	var out []string
	var cur []byte
	inQ := false
	for _, b := range line {
		switch {
		case b == '"':
			inQ = !inQ
		case b == d && !inQ:
			out = append(out, string(cur))
			cur = cur[:0]
		default:
			cur = append(cur, b)
		}
	}
	return append(out, string(cur))
}

// fill reads more input, compacting the buffer first.
func (c *csvReader) fill() error {
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.buf) {
		return nil
	}
	for range 100 {
		n, err := c.src.Read(c.buf[c.w:])
		c.w += n
		c.read += int64(n)
		if c.read > c.lim.MaxFileBytes {
			return &FileError{Code: CodeFileTooLarge, Row: c.line + 1, Detail: formatBytes(c.lim.MaxFileBytes)}
		}
		if errors.Is(err, io.EOF) {
			c.srcEOF = true
			return nil
		}
		if err != nil {
			return &FileError{Code: CodeFileRead, Row: c.line + 1, Err: err}
		}
		if n > 0 {
			return nil
		}
	}
	return &FileError{Code: CodeFileRead, Row: c.line + 1, Err: io.ErrNoProgress}
}

const (
	stStart = iota
	stUnquoted
	stQuoted
	stQuoteInQuoted
)

// readRecord parses the next record into c.rec and c.ends. CR, LF and CRLF
// all end a record outside quotes; inside quotes they are data.
func (c *csvReader) readRecord() (recStatus, error) {
	c.rec = c.rec[:0]
	c.ends = c.ends[:0]
	var st recStatus
	state := stStart
	raw := 0
	started := false
	for {
		if c.r >= c.w {
			if !c.srcEOF {
				if err := c.fill(); err != nil {
					return st, err
				}
				continue
			}
			if !started {
				return recStatus{eof: true}, nil
			}
			if state == stQuoted {
				st.badQuote = true
			}
			return c.endRecord(st)
		}
		b := c.buf[c.r]
		c.r++
		if c.skipLF {
			c.skipLF = false
			if b == '\n' {
				continue
			}
		}
		started = true
		raw++
		if raw > c.lim.MaxLineBytes {
			detail := formatBytes(int64(c.lim.MaxLineBytes))
			return st, &FileError{Code: CodeLineTooLong, Row: c.line + 1, Detail: detail}
		}
		switch state {
		case stStart, stUnquoted:
			switch b {
			case c.delim:
				c.ends = append(c.ends, len(c.rec))
				state = stStart
			case '\n':
				return c.endRecord(st)
			case '\r':
				c.skipLF = true
				return c.endRecord(st)
			case '"':
				if state == stStart {
					state = stQuoted
				} else {
					// A stray quote inside an unquoted value is kept, as
					// Excel does; the value then fails its own check.
					c.add(b, &st)
				}
			default:
				c.add(b, &st)
				state = stUnquoted
			}
		case stQuoted:
			if b == '"' {
				state = stQuoteInQuoted
			} else {
				c.add(b, &st)
			}
		case stQuoteInQuoted:
			switch b {
			case '"':
				c.add('"', &st)
				state = stQuoted
			case c.delim:
				c.ends = append(c.ends, len(c.rec))
				state = stStart
			case '\n':
				return c.endRecord(st)
			case '\r':
				c.skipLF = true
				return c.endRecord(st)
			default:
				st.badQuote = true
				c.add(b, &st)
				state = stUnquoted
			}
		}
	}
}

func (c *csvReader) add(b byte, st *recStatus) {
	if len(c.rec) < c.lim.MaxRowBytes {
		c.rec = append(c.rec, b)
	} else {
		st.tooLong = true
	}
}

func (c *csvReader) endRecord(st recStatus) (recStatus, error) {
	c.ends = append(c.ends, len(c.rec))
	c.line++
	valid := c.rec
	if st.tooLong {
		// The cut may fall inside a multi-byte character.
		for i := 0; i < utf8.UTFMax && len(valid) > 0; i++ {
			r, size := utf8.DecodeLastRune(valid)
			if r != utf8.RuneError || size != 1 {
				break
			}
			valid = valid[:len(valid)-1]
		}
	}
	if !utf8.Valid(valid) {
		return st, &FileError{Code: CodeFileNotUTF8, Row: c.line}
	}
	if bytes.IndexByte(c.rec, 0) >= 0 {
		return st, &FileError{Code: CodeFileNotUTF8, Row: c.line, Detail: "NUL bytes: UTF-16?"}
	}
	st.blank = len(bytes.TrimFunc(c.rec, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff'
	})) == 0
	return st, nil
}

// field returns field i of the current record from s, a string copy of c.rec.
func (c *csvReader) field(s string, i int) string {
	if i < 0 || i >= len(c.ends) {
		return ""
	}
	start := 0
	if i > 0 {
		start = c.ends[i-1]
	}
	return s[start:c.ends[i]]
}

func (c *csvReader) Next() (Row, error) {
	if c.fatal != nil {
		return Row{}, c.fatal
	}
	for {
		st, err := c.readRecord()
		if err != nil {
			return c.fail(err)
		}
		if st.eof {
			if c.v.rows == 0 {
				return c.fail(&FileError{Code: CodeFileNoRows})
			}
			c.fatal = io.EOF
			return Row{}, io.EOF
		}
		if st.blank {
			continue
		}
		line := c.line
		if ferr := c.v.countRow(line); ferr != nil {
			return c.fail(ferr)
		}
		if st.tooLong {
			return c.bad(&RowError{Row: line, Code: CodeRowTooLong, Value: NeutraliseCell(c.rawRecord())})
		}
		if st.badQuote {
			return c.bad(&RowError{Row: line, Code: CodeRowQuotes, Value: NeutraliseCell(c.rawRecord())})
		}
		s := string(c.rec)
		h := c.v.hdr
		n := len(c.ends)
		used := n
		for used > 0 && trimCell(c.field(s, used-1)) == "" {
			used--
		}
		if used > h.width || h.code >= n || h.from >= n {
			e := &RowError{
				Row: line, Code: CodeRowColumns, Value: NeutraliseCell(c.rawRecord()),
				Fields: used, HeaderFields: h.width,
			}
			// A stray separator in a date still leaves the person's code
			// where it belongs; a code that passes its check digit there
			// is theirs (see RowError.PersonCode).
			if h.code < n {
				if pc, err := personcode.Parse(excelCode(c.field(s, h.code))); err == nil {
					e.PersonCode = pc
				}
			}
			return c.bad(e)
		}
		row, err := c.v.check(line, excelCode(c.field(s, h.code)), c.field(s, h.from), c.field(s, h.to))
		if err != nil {
			return c.bad(err)
		}
		return row, nil
	}
}

// rawRecord rebuilds the row as the clerk typed it, for an error report.
func (c *csvReader) rawRecord() string {
	s := string(c.rec)
	parts := make([]string, len(c.ends))
	for i := range c.ends {
		parts[i] = c.field(s, i)
	}
	return strings.Join(parts, string(c.delim))
}

// bad passes a row error on, or stops reading if it is fatal.
func (c *csvReader) bad(err error) (Row, error) {
	var fe *FileError
	if errors.As(err, &fe) {
		return c.fail(fe)
	}
	return Row{}, err
}

func (c *csvReader) fail(err error) (Row, error) {
	var fe *FileError
	if !errors.As(err, &fe) {
		err = &FileError{Code: CodeFileRead, Row: c.line + 1, Err: err}
	}
	c.fatal = err
	return Row{}, err
}

func (c *csvReader) Progress() (int, int64) {
	rows := 0
	if c.v != nil {
		rows = c.v.rows
	}
	return rows, c.read - int64(c.w-c.r)
}

func (c *csvReader) Close() error {
	if c.fatal == nil {
		c.fatal = &FileError{Code: CodeFileRead, Err: errors.New("reader closed")}
	}
	c.v.close()
	return nil
}
