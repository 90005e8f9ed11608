package signing

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
)

// Default limits for Verify. Token requests and receipts are a few kilobytes;
// a person-list upload of a whole municipality is a few megabytes. Callers
// verifying larger documents raise the limit with WithMaxBytes knowingly:
// the document is held in memory several times during verification.
const (
	DefaultMaxBytes = 16 << 20
	DefaultMaxDepth = 64
)

// parseLimits bounds what parseXML accepts.
type parseLimits struct {
	maxBytes int
	maxDepth int
}

// parseXML parses data into an etree document after a strict pre-scan with
// encoding/xml. The pre-scan exists because etree on its own silently
// accepts things a signature verifier must not: DOCTYPE and ENTITY
// declarations (kept as directives), a declared non-UTF-8 encoding (read as
// UTF-8 anyway), and duplicated attributes (last one wins, so two parsers
// could disagree about an ID).
func parseXML(data []byte, lim parseLimits) (*etree.Document, error) {
	if len(data) > lim.maxBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(data), lim.maxBytes)
	}
	// Elements cost a few hundred bytes each in the tree (and again in the
	// verifier's copy), so a document of nothing but tiny elements would
	// cost many times more memory per byte than any real one: a real
	// element takes 16 bytes or more.
	if err := prescan(data, lim.maxDepth, max(len(data)/16, 1024)); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{
		CharsetReader: refuseCharset,
		MaxDepth:      lim.maxDepth,
	}
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if doc.Root() == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return doc, nil
}

func refuseCharset(charset string, _ io.Reader) (io.Reader, error) {
	return nil, fmt.Errorf("encoding %q is not supported, use UTF-8", charset)
}

func prescan(data []byte, maxDepth, maxElements int) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	// CharsetReader stays nil: encoding/xml then refuses any declared
	// encoding other than UTF-8.
	depth, roots, elements := 0, 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if elements++; elements > maxElements {
				return fmt.Errorf("%w: more than %d elements in %d bytes", ErrTooLarge, maxElements, len(data))
			}
			if depth == 0 {
				roots++
				if roots > 1 {
					return fmt.Errorf("%w: more than one root element (second is <%s>)", ErrMalformed, t.Name.Local)
				}
			}
			depth++
			if depth > maxDepth {
				return fmt.Errorf("%w: elements nested deeper than %d levels", ErrMalformed, maxDepth)
			}
			if err := checkAttrs(t); err != nil {
				return err
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: text outside the root element", ErrMalformed)
			}
		case xml.Directive:
			kind := strings.Fields(string(t))
			name := "declaration"
			if len(kind) > 0 {
				name = kind[0]
			}
			return fmt.Errorf("%w: <!%s> is not allowed (no DTDs or entity declarations)", ErrMalformed, name)
		}
	}
	if roots == 0 {
		return fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return nil
}

func checkAttrs(t xml.StartElement) error {
	// A map only for long attribute lists: the quadratic loop is cheaper for
	// the usual handful, and a hostile element with thousands of attributes
	// must not cost quadratic time.
	if len(t.Attr) <= 8 {
		for i := range t.Attr {
			for j := i + 1; j < len(t.Attr); j++ {
				if t.Attr[i].Name == t.Attr[j].Name {
					return duplicateAttr(t, t.Attr[i].Name)
				}
			}
		}
		return nil
	}
	seen := make(map[xml.Name]struct{}, len(t.Attr))
	for _, a := range t.Attr {
		if _, dup := seen[a.Name]; dup {
			return duplicateAttr(t, a.Name)
		}
		seen[a.Name] = struct{}{}
	}
	return nil
}

func duplicateAttr(t xml.StartElement, name xml.Name) error {
	return fmt.Errorf("%w: attribute %q repeated on <%s>", ErrMalformed, name.Local, t.Name.Local)
}
