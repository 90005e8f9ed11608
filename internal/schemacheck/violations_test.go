package schemacheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// kinViolations is what kin-openapi reports for body as a request body,
// read as the gateway reads it; ok is false when it cannot decode body.
func kinViolations(s *openapi3.Schema, body []byte) (out []Violation, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	err := s.VisitJSON(v, openapi3.VisitAsRequest(), openapi3.MultiErrors(), openapi3.DefaultsSet(func() {}))
	var walk func(error)
	walk = func(err error) {
		var me openapi3.MultiError
		if errors.As(err, &me) && len(me) > 0 {
			if _, single := err.(*openapi3.SchemaError); !single {
				for _, e := range me {
					walk(e)
				}
				return
			}
		}
		var se *openapi3.SchemaError
		if errors.As(err, &se) {
			out = append(out, Violation{Path: se.JSONPointer(), Field: se.SchemaField, Reason: se.Reason})
		}
	}
	if err != nil {
		walk(err)
	}
	return out, true
}

func describe(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "\n  /%s %s: %s", strings.Join(v.Path, "/"), v.Field, v.Reason)
	}
	return b.String()
}

// agree fails t unless Violations reports for body what kin-openapi does,
// and, for a cap, the first ones of them and whether there are more.
func agree(t *testing.T, s *openapi3.Schema, chk *Check, body string) {
	t.Helper()
	want, kinOK := kinViolations(s, []byte(body))
	_, more, ok := chk.Violations([]byte(body), len(want))
	if !ok {
		if trimmed := bytes.TrimSpace([]byte(body)); kinOK && len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
			t.Errorf("%.200s: not explained, but kin-openapi decodes it:%.2000s", body, describe(want))
		}
		return
	}
	if !kinOK {
		t.Errorf("%.200s: explained, but kin-openapi cannot decode it", body)
		return
	}
	if more {
		t.Errorf("%.200s: more than kin-openapi's %d violations", body, len(want))
	}
	for _, max := range []int{len(want), 0, 1, 2, 3, len(want) / 2, len(want) - 1} {
		if max < 0 || max > len(want) {
			continue
		}
		got, more, _ := chk.Violations([]byte(body), max)
		if !slices.EqualFunc(got, want[:max], equalViolation) || more != (len(want) > max) {
			t.Errorf("%.200s: with max %d, more %v:\nViolations:%.2000s\nkin-openapi:%.2000s", body, max, more, describe(got), describe(want[:max]))
			return
		}
	}
}

func equalViolation(a, b Violation) bool {
	return slices.Equal(a.Path, b.Path) && a.Field == b.Field && a.Reason == b.Reason
}

const richSchema = `{"type":"object","required":["n","r","n"],"additionalProperties":false,"properties":{
	"n":{"type":"integer","minimum":1,"maximum":10},
	"s":{"type":"string","minLength":2,"maxLength":3,"enum":["ab","abc","ā€x"]},
	"p":{"type":"string","pattern":"^[0-9]{3}$","maxLength":3},
	"d":{"type":"string","format":"date"},
	"f":{"type":"number","exclusiveMinimum":true,"minimum":0},
	"b":{"type":"boolean"},
	"z":{"type":"string","nullable":true},
	"q":{"type":"integer","default":1,"minimum":1},
	"a":{"type":"array","minItems":1,"maxItems":2,"items":{"type":"integer","format":"int32"}},
	"u":{"type":"array","uniqueItems":true,"items":{"type":"string","maxLength":2}},
	"o":{"type":"array","items":{"type":"object","required":["k"],"additionalProperties":false,"properties":{"k":{"type":"string","pattern":"^k"},"v":{"type":"integer"}}}},
	"m":{"type":"object","additionalProperties":{"type":"string","maxLength":1}},
	"w":{"type":"object","properties":{"x":{"type":"string"}}},
	"x":{"allOf":[{"type":"object","properties":{"p":{"type":"string"}}},{"type":"object","required":["p"]}]},
	"e":{"type":"string","enum":["one","two"]}}}`

var richBodies = []string{
	`{"n":1}`,
	`{"n":1,"r":1}`,
	`{}`,
	`[]`,
	`{"n":"1","s":1,"p":"12a","d":"2026-02-30","f":0,"b":"true","z":1}`,
	`{"n":0,"s":"a","p":"1234","d":"x","f":-1,"b":null,"z":null}`,
	`{"n":1.0,"s":"abd","f":1e400,"a":[1.5,2147483648,"x"]}`,
	`{"n":12345678901234567890,"a":[]}`,
	`{"n":1,"a":[1,2,3],"u":["a","b","a"],"q":0}`,
	`{"n":1,"q":null}`,
	`{"n":1,"u":["abc","\u0061","a",null,{"x":1},{"x":1},1,1.0,[1],[1]]}`,
	`{"n":1,"u":[{"b":1,"a":2},{"a":2,"b":1}]}`,
	`{"n":1,"o":[{"k":"k1"},{"v":1},{"k":"x","v":"y","w":1,"a":1},7,null,[]]}`,
	`{"n":1,"m":{"b":"xx","a":"y","c":1,"\u0061":"zz"}}`,
	`{"n":1,"m":{"a":"zz","b":"y","a":"y","c":1,"c":"cc"}}`,
	`{"n":1,"w":{"x":1,"y":2},"x":{"p":1},"e":"three"}`,
	`{"n":1,"x":{},"e":{}}`,
	`{"n":1,"x":[],"e":[1],"w":"x","o":{},"a":{"0":1}}`,
	`{"n":1,"zz":1,"aa":2,"mm":3,"aa":4,"\u00e9":5,"a\"b":6,"a/b~c":7}`,
	`{"n":1,"n":"x"}`,
	`{"n":"x","n":1}`,
	`{"n":1,"s":"\u0061b","p":"\u0031\u0032\u0033"}`,
	`{"n":1,"s":"a` + "\xff" + `b"}`,
	`{"r":1} trailing`,
	`{"n":1,"s":1} {"n":0}`,
	`  {"n":1}  `,
	`{"n":1,"o":[{"k":"k","v":1.5e3},{"k":"kk","v":-0}]}`,
	`{"n":1,"d":"2026-01-01","a":[1],"u":[],"m":{},"o":[],"b":false,"z":"","f":0.5}`,
	// Deeper than the check goes.
	`{"n":1,"a":` + strings.Repeat("[", 40) + "1" + strings.Repeat("]", 40) + `}`,
	`{"n":1,"w":{"deep":` + strings.Repeat("[", 40) + "1" + strings.Repeat("]", 40) + `},"p":1}`,
	`{"n":1,"w":` + strings.Repeat(`{"x":`, 40) + "1" + strings.Repeat("}", 40) + `}`,
	`{"n":1`,
	`{"n":1,}`,
	`"just a string"`,
	`12`,
	``,
	`{"n":1,"s":"ab"}garbage]`,
}

func TestViolationsAgreeWithKin(t *testing.T) {
	s := schema(t, richSchema)
	chk, ok := Compile(s)
	if !ok {
		t.Fatal("not compiled")
	}
	for _, body := range richBodies {
		agree(t, s, chk, body)
	}
}

// A closed object with many undeclared members reports the first by name,
// holding no more of them than it reports.
func TestViolationsOfManyUndeclaredMembers(t *testing.T) {
	s := schema(t, `{"type":"object","additionalProperties":false,"properties":{"m":{"type":"integer"}}}`)
	chk, _ := Compile(s)
	var b strings.Builder
	b.WriteString(`{"m":"x"`)
	for i := 5000; i > 0; i-- {
		fmt.Fprintf(&b, `,"k%05d":1,"k%05d":2`, i, i)
	}
	b.WriteString(`}`)
	body := b.String()
	agree(t, s, chk, body)
	got, more, _ := chk.Violations([]byte(body), 3)
	if !more || len(got) != 3 || got[0].Reason != `property "k00001" is unsupported` || got[2].Reason != `property "k00003" is unsupported` {
		t.Fatalf("%s", describe(got))
	}
}

func FuzzViolationsAgreeWithKin(f *testing.F) {
	for _, body := range richBodies {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := schema(t, richSchema)
		chk, _ := Compile(s)
		agree(t, s, chk, body)
	})
}

// The cost of explaining a body does not grow with its violations: 100 000
// bad items cost about what 100 do.
func TestViolationsCostIsBounded(t *testing.T) {
	s := schema(t, `{"type":"object","required":["members"],"additionalProperties":false,"properties":{
		"members":{"type":"array","maxItems":100000,"items":{"type":"object","required":["code"],"additionalProperties":false,"properties":{
			"code":{"type":"string","pattern":"^[0-9]{6}-?[0-9]{5}$"},"from":{"type":"string","format":"date"}}}}}}`)
	chk, ok := Compile(s)
	if !ok {
		t.Fatal("not compiled")
	}
	body := []byte(`{"members":[` + strings.TrimSuffix(strings.Repeat(`{"code":"x","from":"y","to":"z"},`, 100_001), ",") + `]}`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	vs, more, ok := chk.Violations(body, 100)
	runtime.ReadMemStats(&after)
	if !ok || !more || len(vs) != 100 || vs[0].Field != "maxItems" || strings.Join(vs[1].Path, "/") != "members/0/code" {
		t.Fatalf("%v %v%s", ok, more, describe(vs[:min(len(vs), 5)]))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("explaining %d bytes allocated %d bytes", len(body), alloc)
	}
}
