package schemacheck

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// Violation is one way a body breaks its schema, as kin-openapi's request
// validation reports it.
type Violation struct {
	// Path is the JSON pointer to the offending value, unescaped.
	Path []string
	// Field is the schema keyword broken ("required", "pattern", …), and
	// Reason kin-openapi's explanation.
	Field, Reason string
}

// Violations lists how body breaks the schema: what kin-openapi reports
// for it with MultiErrors, in the same order (an object's members by name,
// then its missing required members; an array's count and duplicates,
// then its items by index), but only the first max, and whether there are
// more. kin-openapi decodes the whole body into maps and builds every
// error, hundreds of bytes each; this walks the bytes, asks kin-openapi
// about single scalars only, and stops at the first violation past max.
// So the cost of a body with a million bad items is about that of a valid
// one, plus max errors.
//
// ok is false when the body does not start with a well-formed JSON object
// or array: kin-openapi's decoder refuses it before any validation (or it
// is a lone scalar), and answering that costs nothing either.
func (c *Check) Violations(body []byte, max int) (vs []Violation, more, ok bool) {
	p := parser{b: body}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' && p.b[p.i] != '[' {
		return nil, false, false
	}
	start := p.i
	p.skipValid()
	// kin-openapi's decoder reads the first value and ignores what follows.
	if !json.Valid(p.b[start:p.i]) {
		return nil, false, false
	}
	e := explainer{p: parser{b: body, i: start}, chk: c, max: max}
	e.value(c.root)
	return e.out, e.more, true
}

// explainer walks a well-formed JSON value, collecting its violations.
type explainer struct {
	p    parser
	chk  *Check
	path []string
	out  []Violation
	max  int
	more bool // a violation past max was found: stop
}

func (e *explainer) add(field, reason string, tail ...string) {
	if len(e.out) >= e.max {
		e.more = true
		return
	}
	path := make([]string, 0, len(e.path)+len(tail))
	path = append(append(path, e.path...), tail...)
	e.out = append(e.out, Violation{Path: path, Field: field, Reason: reason})
}

// value explains the value at p.i against n; p.i ends after it.
func (e *explainer) value(n *node) {
	start := e.p.i
	if !e.p.value(n, 0) {
		e.unsure(n, start)
	}
}

// unsure explains the value at start, which the check was not sure of;
// p.i ends after it.
func (e *explainer) unsure(n *node, start int) {
	e.p.i = start
	e.p.skipValid()
	end := e.p.i
	e.p.i = start
	e.explain(n)
	e.p.i = end
}

// member and item explain a member's or an item's value, making its path
// element only for one that the check is not sure of.
func (e *explainer) member(n *node, name string, at int) {
	e.p.i = at
	if !e.p.value(n, 0) {
		e.path = append(e.path, name)
		e.unsure(n, at)
		e.path = e.path[:len(e.path)-1]
	}
}

func (e *explainer) item(n *node, index int) {
	start := e.p.i
	if !e.p.value(n, 0) {
		e.path = append(e.path, strconv.Itoa(index))
		e.unsure(n, start)
		e.path = e.path[:len(e.path)-1]
	}
}

// explain follows kin-openapi's Schema.visitJSON for the value at p.i.
func (e *explainer) explain(n *node) {
	c := e.p.b[e.p.i]
	if c != '{' && c != '[' {
		e.scalar(n)
		return
	}
	for _, sub := range n.allOf {
		if e.breaks(sub) {
			e.add("allOf", `doesn't match all schemas from "allOf"`)
			return
		}
	}
	switch {
	case n.kind == kindAny:
	case c == '{' && n.kind == kindObject:
		e.object(n)
	case c == '[' && n.kind == kindArray:
		e.array(n)
	default:
		// A container where a scalar or the other container belongs:
		// kin-openapi's error (the type, or a string's enum) does not
		// depend on what the container holds, so an empty one stands in.
		var v any = map[string]any{}
		if c == '[' {
			v = []any{}
		}
		e.kin(n.bare, v)
	}
}

// breaks reports whether the value at p.i has any violation of n.
func (e *explainer) breaks(n *node) bool {
	sub := explainer{p: e.p, chk: e.chk}
	sub.value(n)
	return sub.more
}

// scalar has kin-openapi check the scalar at p.i, decoded as its decoder
// decodes it (numbers as json.Number).
func (e *explainer) scalar(n *node) {
	start := e.p.i
	e.p.skipValid()
	tok := e.p.b[start:e.p.i]
	var v any
	switch tok[0] {
	case '"':
		s, err := decodeString(tok)
		if err != nil {
			return // not after json.Valid
		}
		if n.kind == kindString && len(n.allOf) == 0 && n.checkString(s) {
			return // only its escapes made the check unsure
		}
		v = s
	case 't':
		v = true
	case 'f':
		v = false
	case 'n':
		v = nil
	default:
		v = json.Number(tok)
	}
	e.kin(n.schema, v)
}

func (e *explainer) kin(s *openapi3.Schema, v any, tail ...string) {
	if s == nil {
		return
	}
	e.collect(s.VisitJSON(v, e.chk.opts...), tail)
}

// collect adds kin-openapi's errors as the gateway reads them: each
// SchemaError of a MultiError, anything else ignored.
func (e *explainer) collect(err error, tail []string) {
	if me, ok := err.(openapi3.MultiError); ok {
		for _, err := range me {
			e.collect(err, tail)
		}
		return
	}
	var se *openapi3.SchemaError
	if err != nil && errors.As(err, &se) {
		e.add(se.SchemaField, se.Reason, append(slices.Clip(tail), se.JSONPointer()...)...)
	}
}

// object follows kin-openapi's visitJSONObject over the object at p.i.
// kin-openapi sees the decoded map, where the last of a repeated member
// wins, and visits its members by name: the first pass finds each member,
// the second explains them in that order.
func (e *explainer) object(n *node) {
	p := &e.p
	at := make([]int, len(n.byName)) // each property's value, or -1
	for i := range at {
		at[i] = -1
	}
	// A closed object's undeclared members are each an error, of which
	// only the first few by name can be reported: keep those.
	unknown := smallest{k: max(e.max-len(e.out)+1, 1)}
	var extra map[string]int // members to check against additionalProperties
	p.i++                    // {
	for {
		p.ws()
		if p.b[p.i] == '}' {
			break
		}
		if p.b[p.i] == ',' {
			p.i++
			continue
		}
		name := p.key()
		p.ws()
		p.i++ // :
		p.ws()
		val := p.i
		p.skipValid()
		if pr := n.props[string(name)]; pr != nil {
			at[pr.pos] = val
			if pr.declared {
				continue
			}
		}
		switch {
		case n.closed:
			unknown.add(name)
		case n.additional != nil:
			// Only the last of a repeated member counts, certainly valid
			// or not.
			end := p.i
			p.i = val
			valid := p.value(n.additional, 0)
			p.i = end
			if valid {
				delete(extra, string(name))
				continue
			}
			if extra == nil {
				extra = map[string]int{}
			}
			extra[string(name)] = val
		}
	}

	type member struct {
		name string
		pr   *prop // nil for an undeclared member
		at   int   // its value; -1 for a default, -2 for a closed object's member
	}
	var ms []member
	present := func(pr *prop) bool { return at[pr.pos] >= 0 || pr.declared && pr.hasDefault }
	for i, pr := range n.byName {
		switch {
		case !pr.declared:
		case pr.hasDefault && (at[i] < 0 || p.b[at[i]] == 'n'):
			// Absent or null: kin-openapi writes the default and checks it.
			ms = append(ms, member{pr.name, pr, -1})
		case at[i] >= 0:
			ms = append(ms, member{pr.name, pr, at[i]})
		}
	}
	for _, name := range unknown.names {
		ms = append(ms, member{name, nil, -2})
	}
	for name, at := range extra {
		ms = append(ms, member{name, nil, at})
	}
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.name, b.name) })
	for _, m := range ms {
		switch {
		case m.at == -2:
			e.add("properties", fmt.Sprintf("property %q is unsupported", m.name))
		case m.at == -1:
			e.kin(m.pr.n.schema, copyJSON(m.pr.def), m.name)
		case m.pr != nil:
			e.member(m.pr.n, m.name, m.at)
		default:
			e.member(n.additional, m.name, m.at)
		}
		if e.more {
			return
		}
	}
	for _, name := range n.schema.Required {
		if !present(n.props[name]) {
			e.add("required", fmt.Sprintf("property %q is missing", name), name)
		}
	}
}

// array follows kin-openapi's visitJSONArray over the array at p.i.
func (e *explainer) array(n *node) {
	p := &e.p
	start := p.i
	// The count and the duplicates come first.
	var count uint64
	var dup bool
	var seen map[string]bool
	p.i++ // [
	for {
		p.ws()
		if p.b[p.i] == ']' {
			break
		}
		if p.b[p.i] == ',' {
			p.i++
			continue
		}
		item := p.i
		p.skipValid()
		count++
		if n.unique && !dup {
			if seen == nil {
				seen = map[string]bool{}
			}
			k := canonical(p.b[item:p.i])
			dup = seen[k]
			seen[k] = true
		}
	}
	s := n.schema
	if v := s.MinItems; v != 0 && count < v {
		e.add("minItems", fmt.Sprintf("minimum number of items is %d", v))
	}
	if v := s.MaxItems; v != nil && count > *v {
		e.add("maxItems", fmt.Sprintf("maximum number of items is %d", *v))
	}
	if dup {
		e.add("uniqueItems", "duplicate items found")
	}
	if n.items == nil {
		return
	}
	p.i = start + 1
	for i := 0; !e.more; {
		p.ws()
		if p.b[p.i] == ']' {
			return
		}
		if p.b[p.i] == ',' {
			p.i++
			continue
		}
		e.item(n.items, i)
		i++
	}
}

// canonical is what makes an item the same as another for kin-openapi's
// uniqueItems: the JSON encoding of the decoded item.
func canonical(tok []byte) string {
	if tok[0] == '"' {
		s, _ := decodeString(tok)
		return `"` + s
	}
	dec := json.NewDecoder(bytes.NewReader(tok))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "\x00" + string(tok)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "\x00" + string(tok)
	}
	return "\x00" + string(b)
}

// decodeString decodes a string token as encoding/json does.
func decodeString(tok []byte) (string, error) {
	raw := tok[1 : len(tok)-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw), nil
	}
	var s string
	err := json.Unmarshal(tok, &s)
	return s, err
}

// key reads a member name at p.i, decoded; without escapes, it is the
// body's own bytes.
func (p *parser) key() []byte {
	start := p.i
	p.skipValid()
	tok := p.b[start:p.i]
	raw := tok[1 : len(tok)-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return raw
	}
	s, _ := decodeString(tok)
	return []byte(s)
}

// skipValid passes over one value of well-formed JSON at any depth (and
// ends, if not beyond, on any input).
func (p *parser) skipValid() {
	depth := 0
	for p.i < len(p.b) {
		switch c := p.b[p.i]; c {
		case '"':
			p.i++
			for p.i < len(p.b) && p.b[p.i] != '"' {
				if p.b[p.i] == '\\' {
					p.i++
				}
				p.i++
			}
			p.i = min(p.i+1, len(p.b))
		case '{', '[':
			depth++
			p.i++
			continue
		case '}', ']':
			depth--
			p.i++
		case ',', ':', ' ', '\t', '\n', '\r':
			p.i++
			continue
		default:
			for p.i < len(p.b) && bytes.IndexByte([]byte(",:]} \t\n\r"), p.b[p.i]) < 0 {
				p.i++
			}
		}
		if depth <= 0 {
			return
		}
	}
}

// smallest keeps the k smallest distinct names it is given.
type smallest struct {
	k     int
	names maxHeap
	in    map[string]bool
}

func (s *smallest) add(name []byte) {
	if len(s.names) == s.k && string(name) >= s.names[0] || s.in[string(name)] {
		return
	}
	if s.in == nil {
		s.in = map[string]bool{}
	}
	n := string(name)
	if len(s.names) == s.k {
		delete(s.in, s.names[0])
		s.names[0] = n
		heap.Fix(&s.names, 0)
	} else {
		heap.Push(&s.names, n)
	}
	s.in[n] = true
}

type maxHeap []string

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(string)) }
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// copyJSON copies a default, which kin-openapi would otherwise fill with
// defaults of its own.
func copyJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = copyJSON(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = copyJSON(x)
		}
		return out
	}
	return v
}
