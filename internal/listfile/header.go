package listfile

import (
	"strconv"
	"strings"
)

// header maps the columns of a list file, found by name in any order.
type header struct {
	names   columns // as written, for error messages
	code    int
	from    int
	to      int // -1: no end-date column, every row is open-ended
	width   int // fields up to the last non-empty header cell, for row.columns
	latvian bool
}

// foldLatvian removes Latvian diacritics so derigs_lidz matches derīgs_līdz.
var foldLatvian = strings.NewReplacer(
	"ā", "a", "č", "c", "ē", "e", "ģ", "g", "ī", "i", "ķ", "k",
	"ļ", "l", "ņ", "n", "š", "s", "ū", "u", "ž", "z",
)

// canonicalColumn normalises a header cell: trimmed, lower case, blanks and
// hyphens as underscores, diacritics folded. It returns which column it is
// ("code", "from", "to" or "") and whether the name was Latvian.
func canonicalColumn(s string) (kind string, latvian bool) {
	s = strings.ToLower(trimCell(s))
	s = strings.Trim(s, `"'`)
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '-' || r == '_' || r == '\u00a0'
	}), "_")
	s = foldLatvian.Replace(s)
	switch s {
	case "personas_kods":
		return "code", true
	case "person_code", "personal_code":
		return "code", false
	case "derigs_no":
		return "from", true
	case "valid_from":
		return "from", false
	case "derigs_lidz":
		return "to", true
	case "valid_to", "valid_until":
		return "to", false
	}
	return "", false
}

// parseHeader finds the three columns. Unknown columns are ignored so a
// clerk's extra columns (name, notes) do not block the upload.
func parseHeader(fields []string, row int, datesIgnored bool) (header, *FileError) {
	h := header{code: -1, from: -1, to: -1}
	lvVotes, enVotes := 0, 0
	for i, f := range fields {
		if trimCell(f) != "" {
			h.width = i + 1
		}
		kind, lv := canonicalColumn(f)
		if kind == "" {
			continue
		}
		if lv {
			lvVotes++
		} else {
			enVotes++
		}
		name := trimCell(f)
		var idx *int
		switch kind {
		case "code":
			idx, h.names.code = &h.code, name
		case "from":
			idx, h.names.from = &h.from, name
		case "to":
			idx, h.names.to = &h.to, name
		}
		if *idx >= 0 {
			return h, &FileError{Code: CodeFileHeaderDup, Row: row, Detail: name}
		}
		*idx = i
	}
	h.latvian = lvVotes > enVotes
	switch {
	case h.code < 0:
		return h, &FileError{Code: CodeFileHeader, Row: row, Detail: h.want("code")}
	case h.from < 0 && !datesIgnored:
		return h, &FileError{Code: CodeFileHeader, Row: row, Detail: h.want("from")}
	}
	if h.to < 0 {
		h.names.to = h.want("to")
	}
	return h, nil
}

func (h header) want(kind string) string {
	lv := map[string]string{"code": "personas_kods", "from": "derīgs_no", "to": "derīgs_līdz"}
	en := map[string]string{"code": "person_code", "from": "valid_from", "to": "valid_to"}
	if h.latvian {
		return lv[kind]
	}
	return en[kind]
}

// validator applies the row rules, the duplicate check and the row and error
// limits that every reader shares.
type validator struct {
	lim  Limits
	hdr  header
	set  *codeSet
	rows int
	errs int
	// consumed reports the bytes of the file read so far (nil: unknown).
	consumed func() int64
}

func newValidator(lim Limits, hdr header) *validator {
	return &validator{lim: lim, hdr: hdr, set: newCodeSet()}
}

// close gives back what the duplicate table holds outside the heap.
func (v *validator) close() {
	if v != nil {
		v.set.release()
	}
}

// countRow counts a non-blank data row against MaxRows.
func (v *validator) countRow(line int) *FileError {
	v.rows++
	if v.rows > v.lim.MaxRows || line > MaxRowNumber {
		return &FileError{Code: CodeFileTooManyRows, Row: line, Detail: strconv.Itoa(v.lim.MaxRows)}
	}
	return nil
}

// rowError counts a bad row and turns it into a fatal error once there are
// more than MaxRowErrors.
func (v *validator) rowError(e *RowError) error {
	v.errs++
	if v.lim.MaxRowErrors > 0 && v.errs > v.lim.MaxRowErrors {
		return &FileError{Code: CodeFileTooManyErrors, Row: e.Row, Detail: strconv.Itoa(v.lim.MaxRowErrors)}
	}
	return e
}

// check validates one row's fields (already picked out by column).
func (v *validator) check(line int, code, from, to string) (Row, error) {
	var r Row
	var rerr *RowError
	if v.lim.DatesIgnored {
		r, rerr = v.hdr.names.codeOnly(line, code)
	} else {
		r, rerr = v.hdr.names.row(line, code, from, to)
	}
	if rerr != nil {
		return Row{}, v.rowError(rerr)
	}
	if v.rows == presizeAfter && v.lim.SizeHint > 0 && v.consumed != nil {
		if n := v.consumed(); n > 0 {
			v.set.presize(int(v.lim.SizeHint * int64(v.rows) / n))
		}
	}
	if first, dup := v.set.insert(codeKey(r.PersonCode), line); dup {
		return Row{}, v.rowError(&RowError{
			Row: line, Column: v.hdr.names.code, Code: CodeRowDuplicate,
			Value: NeutraliseCell(r.PersonCode.Hyphenated()), FirstRow: first,
		})
	}
	return r, nil
}
