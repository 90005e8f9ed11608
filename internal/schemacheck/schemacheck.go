// Package schemacheck answers, without decoding a JSON body into maps,
// whether it certainly satisfies an OpenAPI schema. kin-openapi's request
// validation decodes every body into interface values and walks them,
// which costs more than the gateway's hottest operations themselves; a
// compiled check over the raw bytes accepts the common, valid body in a
// fraction of that, and everything it is not sure of (an invalid body, a
// schema feature it does not know) goes to kin-openapi, which then names
// the exact fields. So the check must never accept what kin-openapi would
// refuse; the differential fuzz test holds it to that.
//
// kin-openapi's cost grows with the errors too, without bound: a 16 MiB
// body of bad items costs it gigabytes. Violations names the fields of a
// refused body as kin-openapi does, but only the first few, walking the
// bytes as the check does; a second fuzz test holds it to kin-openapi's
// answers.
package schemacheck

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// Check is a compiled schema.
type Check struct {
	root *node
	// opts are kin-openapi's options for a request body, with which
	// Violations has it check a single value.
	opts []openapi3.SchemaValidationOption
}

type kind uint8

const (
	kindAny kind = iota
	kindObject
	kindArray
	kindString
	kindInteger
	kindNumber
	kindBoolean
)

type node struct {
	kind     kind
	nullable bool
	allOf    []*node
	// schema is what the node was compiled from, and bare the same without
	// its allOf: Violations has kin-openapi check scalars against them.
	schema, bare *openapi3.Schema

	// objects
	props      map[string]*prop
	byName     []*prop // props sorted by name
	required   []string
	additional *node // nil: any allowed unless closed
	closed     bool

	// arrays
	items              *node
	minItems, maxItems int64 // maxItems < 0: unbounded
	unique             bool  // of string items only

	// strings
	minLen, maxLen int64 // maxLen < 0: unbounded
	pattern        *regexp.Regexp
	leaf           *openapi3.Schema
	leafOpts       []openapi3.SchemaValidationOption
	enumStrings    []string
	enumInts       []int64

	// numbers
	min, max         *float64
	exclMin, exclMax bool
	int32Range       bool
}

type prop struct {
	name       string
	n          *node
	def        any // the default
	hasDefault bool
	index      int // position in required, or -1
	pos        int // position in byName
	// declared is false for a name only required: kin-openapi checks its
	// value as any other undeclared member's.
	declared bool
}

// Compile compiles s; ok is false when s uses something the check does not
// handle, and then kin-openapi must validate every body. opts are the
// options kin-openapi validates with (string formats), used for strings
// with a format or pattern.
func Compile(s *openapi3.Schema, opts ...openapi3.SchemaValidationOption) (*Check, bool) {
	c := compiler{opts: opts, seen: map[*openapi3.Schema]bool{}}
	n, ok := c.compile(s)
	if !ok {
		return nil, false
	}
	kinOpts := []openapi3.SchemaValidationOption{openapi3.VisitAsRequest(), openapi3.MultiErrors(), openapi3.DefaultsSet(func() {})}
	return &Check{root: n, opts: append(kinOpts, opts...)}, true
}

type compiler struct {
	opts []openapi3.SchemaValidationOption
	seen map[*openapi3.Schema]bool // schemas being compiled: recursion is not handled
}

func (c *compiler) compile(s *openapi3.Schema) (*node, bool) {
	if s == nil || c.seen[s] {
		return nil, false
	}
	c.seen[s] = true
	defer delete(c.seen, s)
	if len(s.OneOf) > 0 || len(s.AnyOf) > 0 || s.Not != nil || s.Discriminator != nil || s.ReadOnly || s.WriteOnly ||
		s.MultipleOf != nil || s.MinProps != 0 || s.MaxProps != nil || len(s.Extensions) > 0 && hasValidationExtension(s) ||
		uses31(s) {
		return nil, false
	}
	n := &node{nullable: s.Nullable, maxItems: -1, maxLen: -1, schema: s, bare: s}
	if len(s.AllOf) > 0 {
		bare := *s
		bare.AllOf = nil
		n.bare = &bare
	}
	for _, ref := range s.AllOf {
		if ref == nil || ref.Value == nil {
			return nil, false
		}
		sub, ok := c.compile(ref.Value)
		if !ok {
			return nil, false
		}
		n.allOf = append(n.allOf, sub)
	}
	types := s.Type.Slice()
	if len(types) > 1 {
		return nil, false
	}
	t := ""
	if len(types) == 1 {
		t = types[0]
	}
	switch t {
	case "":
		// Untyped: only a schema that constrains nothing else (or only
		// through allOf) is handled.
		if len(s.Properties) > 0 || s.Items != nil || len(s.Enum) > 0 || s.Pattern != "" || s.Format != "" || s.Min != nil || s.Max != nil ||
			s.MinLength != 0 || s.MaxLength != nil || len(s.Required) > 0 || s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil {
			return nil, false
		}
		n.kind = kindAny
	case openapi3.TypeObject:
		n.kind = kindObject
		n.props = make(map[string]*prop, len(s.Properties))
		for name, ref := range s.Properties {
			if ref == nil || ref.Value == nil {
				return nil, false
			}
			sub, ok := c.compile(ref.Value)
			if !ok {
				return nil, false
			}
			n.props[name] = &prop{name: name, n: sub, def: ref.Value.Default, hasDefault: ref.Value.Default != nil, index: -1, declared: true}
		}
		for _, name := range s.Required {
			p, ok := n.props[name]
			if !ok {
				p = &prop{name: name, n: &node{kind: kindAny, maxItems: -1, maxLen: -1}, index: -1}
				n.props[name] = p
				n.required = append(n.required, name)
				p.index = len(n.required) - 1
				continue
			}
			if p.index >= 0 {
				continue // listed twice
			}
			n.required = append(n.required, name)
			p.index = len(n.required) - 1
		}
		if len(n.required) > 64 {
			return nil, false
		}
		for _, p := range n.props {
			n.byName = append(n.byName, p)
		}
		slices.SortFunc(n.byName, func(a, b *prop) int { return strings.Compare(a.name, b.name) })
		for i, p := range n.byName {
			p.pos = i
		}
		ap := s.AdditionalProperties
		switch {
		case ap.Has != nil && !*ap.Has:
			n.closed = true
		case ap.Schema != nil:
			if ap.Schema.Value == nil {
				return nil, false
			}
			sub, ok := c.compile(ap.Schema.Value)
			if !ok {
				return nil, false
			}
			n.additional = sub
		}
	case openapi3.TypeArray:
		n.kind = kindArray
		if s.Items != nil {
			if s.Items.Value == nil {
				return nil, false
			}
			sub, ok := c.compile(s.Items.Value)
			if !ok {
				return nil, false
			}
			n.items = sub
		}
		n.minItems = int64(s.MinItems)
		if s.MaxItems != nil {
			n.maxItems = int64(*s.MaxItems)
		}
		if s.UniqueItems {
			// Two strings are the same item when they decode the same;
			// other items would need kin-openapi's canonical encoding.
			if n.items == nil || n.items.kind != kindString {
				return nil, false
			}
			n.unique = true
		}
	case openapi3.TypeString:
		n.kind = kindString
		n.minLen = int64(s.MinLength)
		if s.MaxLength != nil {
			n.maxLen = int64(*s.MaxLength)
		}
		if s.Pattern != "" {
			// Compiled as kin-openapi compiles it (its \uXXXX rewrite
			// included), so that both match the same strings.
			re, err := regexp.Compile(kinPatternRewrite.ReplaceAllString(s.Pattern, `\x{${code}}`))
			if err != nil {
				return nil, false
			}
			n.pattern = re
		}
		if s.Format != "" {
			// kin-openapi itself checks a format: its rules are the ones
			// to match.
			leaf := *s
			leaf.AllOf = nil
			n.leaf, n.leafOpts = &leaf, append([]openapi3.SchemaValidationOption{openapi3.VisitAsRequest()}, c.opts...)
		}
		for _, e := range s.Enum {
			v, ok := e.(string)
			if !ok {
				return nil, false
			}
			n.enumStrings = append(n.enumStrings, v)
		}
		if len(s.Enum) > 0 && len(n.enumStrings) == 0 {
			return nil, false
		}
	case openapi3.TypeInteger, openapi3.TypeNumber:
		n.kind = kindNumber
		if t == openapi3.TypeInteger {
			n.kind = kindInteger
		}
		switch s.Format {
		case "", "double", "float", "int64":
		case "int32":
			n.int32Range = true
		default:
			return nil, false
		}
		n.min, n.max, n.exclMin, n.exclMax = s.Min, s.Max, s.ExclusiveMin.IsTrue(), s.ExclusiveMax.IsTrue()
		for _, e := range s.Enum {
			f, ok := e.(float64)
			if !ok || n.kind != kindInteger || f != float64(int64(f)) {
				return nil, false
			}
			n.enumInts = append(n.enumInts, int64(f))
		}
	case openapi3.TypeBoolean:
		n.kind = kindBoolean
		if len(s.Enum) > 0 {
			return nil, false
		}
	default:
		return nil, false
	}
	if t != openapi3.TypeArray && s.UniqueItems {
		return nil, false
	}
	if t != openapi3.TypeString && t != "" && (s.Pattern != "" || s.MinLength != 0 || s.MaxLength != nil) {
		return nil, false // constraints kin-openapi would apply to a type they do not fit
	}
	if t != openapi3.TypeString && t != openapi3.TypeInteger && t != openapi3.TypeNumber && len(s.Enum) > 0 {
		return nil, false
	}
	return n, true
}

// uses31 reports keywords of OpenAPI 3.1 (JSON Schema 2020-12).
func uses31(s *openapi3.Schema) bool {
	return s.ExclusiveMin.Value != nil || s.ExclusiveMax.Value != nil || s.Const != nil || len(s.PrefixItems) > 0 ||
		s.Contains != nil || s.MinContains != nil || s.MaxContains != nil || len(s.PatternProperties) > 0 ||
		len(s.DependentSchemas) > 0 || s.PropertyNames != nil || s.UnevaluatedItems.Schema != nil || s.UnevaluatedItems.Has != nil ||
		s.UnevaluatedProperties.Schema != nil || s.UnevaluatedProperties.Has != nil || s.If != nil || s.Then != nil || s.Else != nil ||
		len(s.DependentRequired) > 0 || s.Always != nil || s.DynamicRef != "" || s.ContentSchema != nil
}

// hasValidationExtension is false for documentation-only extensions; any
// x- key could change nothing kin-openapi checks, but be safe with the
// ones that might.
func hasValidationExtension(s *openapi3.Schema) bool {
	for k := range s.Extensions {
		if k == "x-nullable" {
			return true
		}
	}
	return false
}

// maxDepth bounds nesting: deeper bodies go to kin-openapi.
const maxDepth = 32

// Valid reports whether body is one JSON value that certainly satisfies
// the schema. False means "not certain": validate it fully.
func (c *Check) Valid(body []byte) bool {
	p := parser{b: body}
	p.ws()
	if !p.value(c.root, 0) {
		return false
	}
	p.ws()
	return p.i == len(p.b)
}

type parser struct {
	b []byte
	i int
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value parses one value at p.i and checks it against n.
func (p *parser) value(n *node, depth int) bool {
	if depth > maxDepth || p.i >= len(p.b) {
		return false
	}
	start := p.i
	if !p.check(n, depth) {
		return false
	}
	for _, sub := range n.allOf {
		end := p.i
		p.i = start
		if !p.check(sub, depth) || p.i != end {
			return false
		}
	}
	return true
}

func (p *parser) check(n *node, depth int) bool {
	c := p.b[p.i]
	if c == 'n' {
		if !bytes.HasPrefix(p.b[p.i:], []byte("null")) {
			return false
		}
		p.i += 4
		return n.nullable
	}
	switch n.kind {
	case kindAny:
		return p.skip(depth)
	case kindObject:
		return c == '{' && p.object(n, depth)
	case kindArray:
		return c == '[' && p.array(n, depth)
	case kindString:
		if c != '"' {
			return false
		}
		s, ok := p.str()
		return ok && n.checkString(s)
	case kindInteger, kindNumber:
		return p.number(n)
	case kindBoolean:
		switch {
		case bytes.HasPrefix(p.b[p.i:], []byte("true")):
			p.i += 4
		case bytes.HasPrefix(p.b[p.i:], []byte("false")):
			p.i += 5
		default:
			return false
		}
		return true
	}
	return false
}

func (p *parser) object(n *node, depth int) bool {
	p.i++ // {
	var seen uint64
	var names [16]string
	keys := names[:0]
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return n.complete(seen, keys)
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return false
		}
		key, ok := p.str()
		if !ok {
			return false
		}
		if slices.Contains(keys, key) {
			return false // duplicate member: kin-openapi keeps the last
		}
		keys = append(keys, key)
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return false
		}
		p.i++
		p.ws()
		pr, known := n.props[key]
		if known && pr.index >= 0 {
			seen |= 1 << pr.index
		}
		switch {
		case known && pr.declared:
			if !p.value(pr.n, depth+1) {
				return false
			}
		case n.closed:
			return false
		case n.additional != nil:
			if !p.value(n.additional, depth+1) {
				return false
			}
		default:
			if !p.skip(depth + 1) {
				return false
			}
		}
		p.ws()
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return n.complete(seen, keys)
		default:
			return false
		}
	}
}

// complete: every required member is present, and every member with a
// default too (kin-openapi would write the default into the body).
func (n *node) complete(seen uint64, keys []string) bool {
	if len(n.required) > 0 && seen != 1<<len(n.required)-1 {
		return false
	}
	for name, pr := range n.props {
		if pr.hasDefault && pr.index < 0 && !slices.Contains(keys, name) {
			return false
		}
	}
	return true
}

func (p *parser) array(n *node, depth int) bool {
	p.i++ // [
	var count int64
	var items map[string]bool // when unique
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return count >= n.minItems
	}
	for {
		p.ws()
		start := p.i
		var ok bool
		if n.items != nil {
			ok = p.value(n.items, depth+1)
		} else {
			ok = p.skip(depth + 1)
		}
		if !ok {
			return false
		}
		if n.unique {
			if items == nil {
				items = map[string]bool{}
			}
			k, ok := itemKey(p.b[start:p.i])
			if !ok || items[k] {
				return false
			}
			items[k] = true
		}
		count++
		if n.maxItems >= 0 && count > n.maxItems {
			return false
		}
		p.ws()
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return count >= n.minItems
		default:
			return false
		}
	}
}

// itemKey is what makes a string item (or null) the same as another for
// uniqueItems: its decoded text. The item has passed str, so its escapes
// are the simple ones.
func itemKey(raw []byte) (string, bool) {
	if raw[0] != '"' {
		return "null", true
	}
	raw = raw[1 : len(raw)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return `"` + string(raw), true
	}
	s, ok := unescape(raw)
	return `"` + s, ok
}

// str parses a string token. The common escapes are decoded here;
// \u and \/ are left to kin-openapi.
func (p *parser) str() (string, bool) {
	p.i++ // "
	start := p.i
	escaped := false
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			raw := p.b[start:p.i]
			p.i++
			if !utf8.Valid(raw) {
				return "", false
			}
			if !escaped {
				return string(raw), true
			}
			return unescape(raw)
		case c == '\\':
			escaped = true
			p.i += 2
		case c < 0x20:
			return "", false
		default:
			p.i++
		}
	}
	return "", false
}

func unescape(raw []byte) (string, bool) {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(raw) {
			return "", false
		}
		switch raw[i] {
		case '"', '\\':
			out = append(out, raw[i])
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		default:
			return "", false
		}
	}
	return string(out), true
}

func (n *node) checkString(s string) bool {
	if n.minLen > 0 || n.maxLen >= 0 {
		l := int64(utf8.RuneCountInString(s))
		if l < n.minLen || n.maxLen >= 0 && l > n.maxLen {
			return false
		}
	}
	if len(n.enumStrings) > 0 && !slices.Contains(n.enumStrings, s) {
		return false
	}
	if n.pattern != nil && !n.pattern.MatchString(s) {
		return false
	}
	if n.leaf != nil && n.leaf.VisitJSON(s, n.leafOpts...) != nil {
		return false
	}
	return true
}

// number accepts plain integers of up to 15 digits (exact as the float64
// kin-openapi decodes them into) and, for number schemas, decimals that
// ParseFloat reads.
func (p *parser) number(n *node) bool {
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	if p.i == digits || p.b[digits] == '0' && p.i-digits > 1 {
		return false
	}
	integral := true
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		integral = false
		for p.i < len(p.b) && bytes.IndexByte([]byte("0123456789.eE+-"), p.b[p.i]) >= 0 {
			p.i++
		}
	}
	lit := string(p.b[start:p.i])
	var f float64
	if integral {
		if p.i-digits > 15 {
			return false
		}
		v, err := strconv.ParseInt(lit, 10, 64)
		if err != nil {
			return false
		}
		if n.int32Range && (v < -1<<31 || v > 1<<31-1) {
			return false
		}
		if len(n.enumInts) > 0 && !slices.Contains(n.enumInts, v) {
			return false
		}
		f = float64(v)
	} else {
		if n.kind == kindInteger {
			return false
		}
		v, err := strconv.ParseFloat(lit, 64)
		if err != nil || !validJSONNumber(lit) {
			return false
		}
		f = v
	}
	if n.min != nil && (f < *n.min || n.exclMin && f == *n.min) {
		return false
	}
	if n.max != nil && (f > *n.max || n.exclMax && f == *n.max) {
		return false
	}
	return true
}

// kinPatternRewrite is kin-openapi's rewrite of ECMA \uXXXX escapes in
// patterns (openapi3.intoGoRegexp).
var kinPatternRewrite = regexp.MustCompile(`(?P<replaced_with_slash_x>\\u)(?P<code>[0-9A-F]{4})`)

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

func validJSONNumber(s string) bool { return jsonNumber.MatchString(s) }

// Nodes that accept any value of their kind, for members and items no
// schema describes.
var (
	anyObject  = &node{kind: kindObject, maxItems: -1, maxLen: -1}
	anyArray   = &node{kind: kindArray, maxItems: -1, maxLen: -1}
	anyBoolean = &node{kind: kindBoolean}
	anyNumber  = &node{kind: kindNumber}
)

// skip passes over any one JSON value.
func (p *parser) skip(depth int) bool {
	if depth > maxDepth || p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(anyObject, depth)
	case c == '[':
		return p.array(anyArray, depth)
	case c == '"':
		_, ok := p.str()
		return ok
	case c == 't' || c == 'f':
		return p.check(anyBoolean, depth)
	case c == 'n':
		if !bytes.HasPrefix(p.b[p.i:], []byte("null")) {
			return false
		}
		p.i += 4
		return true
	default:
		return p.number(anyNumber)
	}
}
