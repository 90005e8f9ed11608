package lists

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/avis-lv/gateway/internal/listfile"
	"github.com/avis-lv/gateway/internal/signing"
)

// XMLNamespace is the namespace of the signed person-list format:
//
//	<PersonList xmlns="urn:avis:person-list:1" listId="riga-school-meals-2026">
//	  <Person>
//	    <PersonCode>010190-10006</PersonCode>
//	    <ValidFrom>2026-01-01</ValidFrom>
//	    <ValidTo>2026-12-31</ValidTo>          (optional)
//	  </Person>
//	  ...
//	  <ds:Signature>...</ds:Signature>         (enveloped, over the root)
//	</PersonList>
//
// listId must name the list the file is uploaded to, so a signed file for
// one list cannot be replayed into another. Rows are numbered by the
// Person element's position, starting at 1. A file of persons to remove
// (Limits.DatesIgnored) needs PersonCode only; its dates are not checked.
const XMLNamespace = "urn:avis:person-list:1"

// verifyXML checks the signature of a person-list document against the
// grantor's certificates and returns a reader over the members of the
// verified element only. A refusal is returned as a *Failure.
func verifyXML(doc []byte, certsPEM [][]byte, listID string, maxBytes int64, lim listfile.Limits) (listfile.Reader, *Failure) {
	if int64(len(doc)) > maxBytes {
		return nil, &Failure{Code: CodeXMLTooLarge, Detail: byteSize(maxBytes)}
	}
	var certs []*x509.Certificate
	for _, p := range certsPEM {
		cs, err := signing.ParseCertificatesPEM(p)
		if err != nil {
			continue // a registered certificate that no longer parses trusts nothing
		}
		certs = append(certs, cs...)
	}
	if len(certs) == 0 {
		return nil, &Failure{Code: CodeXMLNoCert}
	}
	el, err := signing.NewVerifier(certs...).WithMaxBytes(int(maxBytes)).Verify(doc)
	if err != nil {
		return nil, signatureFailure(err)
	}
	if el.Tag != "PersonList" || el.NamespaceURI() != XMLNamespace {
		return nil, &Failure{Code: CodeXMLFormat, Detail: fmt.Sprintf("the root element is <%s> in namespace %q, not <PersonList> in %q", el.Tag, el.NamespaceURI(), XMLNamespace)}
	}
	if got := el.SelectAttrValue("listId", ""); got != listID {
		return nil, &Failure{Code: CodeXMLListID, Detail: strconv.Quote(listfile.NeutraliseCell(got))}
	}
	return &xmlReader{people: el.ChildElements(), size: int64(len(doc)), lim: lim, seen: map[int64]int{}}, nil
}

// signatureFailure maps the verifier's sentinel errors to stable codes. The
// detail repeats the verifier's explanation, which names algorithms and
// certificates but never document content.
func signatureFailure(err error) *Failure {
	switch {
	case errors.Is(err, signing.ErrTooLarge):
		return &Failure{Code: CodeXMLTooLarge, Detail: detailAfter(err, signing.ErrTooLarge)}
	case errors.Is(err, signing.ErrNoSignature):
		return &Failure{Code: CodeXMLNotSigned}
	case errors.Is(err, signing.ErrWrapped):
		return &Failure{Code: CodeXMLWrapped}
	case errors.Is(err, signing.ErrAlgorithm):
		return &Failure{Code: CodeXMLAlgorithm, Detail: detailAfter(err, signing.ErrAlgorithm)}
	case errors.Is(err, signing.ErrCertificateExpired):
		return &Failure{Code: CodeXMLExpired, Detail: detailAfter(err, signing.ErrCertificateExpired)}
	case errors.Is(err, signing.ErrUntrusted):
		return &Failure{Code: CodeXMLUntrusted, Detail: detailAfter(err, signing.ErrUntrusted)}
	case errors.Is(err, signing.ErrTampered):
		return &Failure{Code: CodeXMLTampered}
	default:
		return &Failure{Code: CodeXMLMalformed, Detail: detailAfter(err, signing.ErrMalformed)}
	}
}

// detailAfter keeps the specific part of a verifier error, the text after
// its sentinel ("certificate "X" (SHA-256 …) is not registered").
func detailAfter(err, sentinel error) string {
	s := err.Error()
	if i := strings.LastIndex(s, sentinel.Error()+": "); i >= 0 {
		return s[i+len(sentinel.Error())+2:]
	}
	return s
}

// xmlReader yields the Person elements of a verified list as rows, with the
// same row checks as CSV and XLSX files.
type xmlReader struct {
	people []*etree.Element
	i      int
	size   int64 // of the document
	lim    listfile.Limits
	seen   map[int64]int
	errs   int
	fatal  error
}

func (x *xmlReader) Next() (listfile.Row, error) {
	if x.fatal != nil {
		return listfile.Row{}, x.fatal
	}
	if x.i >= len(x.people) {
		if len(x.people) == 0 {
			x.fatal = &listfile.FileError{Code: listfile.CodeFileNoRows}
		} else {
			x.fatal = io.EOF
		}
		return listfile.Row{}, x.fatal
	}
	p := x.people[x.i]
	x.i++
	line := x.i
	if x.lim.MaxRows > 0 && line > x.lim.MaxRows {
		x.fatal = &listfile.FileError{Code: listfile.CodeFileTooManyRows, Row: line, Detail: strconv.Itoa(x.lim.MaxRows)}
		return listfile.Row{}, x.fatal
	}
	if p.Tag != "Person" || p.NamespaceURI() != XMLNamespace {
		x.fatal = &listfile.FileError{Code: CodeXMLFormat, Row: line, Detail: fmt.Sprintf("unexpected element <%s>", p.Tag)}
		return listfile.Row{}, x.fatal
	}
	var code, from, to string
	for _, f := range p.ChildElements() {
		if f.NamespaceURI() != XMLNamespace {
			x.fatal = &listfile.FileError{Code: CodeXMLFormat, Row: line, Detail: fmt.Sprintf("unexpected element <%s> in <Person>", f.Tag)}
			return listfile.Row{}, x.fatal
		}
		switch f.Tag {
		case "PersonCode":
			code = f.Text()
		case "ValidFrom":
			from = f.Text()
		case "ValidTo":
			to = f.Text()
		default:
			x.fatal = &listfile.FileError{Code: CodeXMLFormat, Row: line, Detail: fmt.Sprintf("unexpected element <%s> in <Person>", f.Tag)}
			return listfile.Row{}, x.fatal
		}
	}
	var row listfile.Row
	var rerr *listfile.RowError
	if x.lim.DatesIgnored {
		row, rerr = listfile.CodeFromString(line, code)
	} else {
		row, rerr = listfile.RowFromStrings(line, code, from, to)
	}
	if rerr != nil {
		return listfile.Row{}, x.rowError(rerr)
	}
	n := CodeNumber(row.PersonCode)
	if first, dup := x.seen[n]; dup {
		return listfile.Row{}, x.rowError(&listfile.RowError{
			Row: line, Column: "person_code", Code: listfile.CodeRowDuplicate,
			Value: listfile.NeutraliseCell(row.PersonCode.Hyphenated()), FirstRow: first,
		})
	}
	x.seen[n] = line
	return row, nil
}

func (x *xmlReader) rowError(e *listfile.RowError) error {
	x.errs++
	if x.lim.MaxRowErrors > 0 && x.errs > x.lim.MaxRowErrors {
		x.fatal = &listfile.FileError{Code: listfile.CodeFileTooManyErrors, Row: e.Row, Detail: strconv.Itoa(x.lim.MaxRowErrors)}
		return x.fatal
	}
	return e
}

// Progress reports the whole document as read: it was read and its
// signature verified before the first row.
func (x *xmlReader) Progress() (int, int64) { return x.i, x.size }

func (x *xmlReader) Close() error { return nil }

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return strings.TrimSpace(fmt.Sprintf("%d B", n))
}
