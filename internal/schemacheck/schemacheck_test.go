package schemacheck

import (
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func schema(t *testing.T, js string) *openapi3.Schema {
	t.Helper()
	var s openapi3.Schema
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestValid(t *testing.T) {
	const obj = `{"type":"object","required":["n"],"additionalProperties":false,"properties":{
		"n":{"type":"integer","minimum":1,"maximum":10},
		"s":{"type":"string","minLength":2,"maxLength":3,"enum":["ab","abc","ā€x"]},
		"f":{"type":"number","exclusiveMinimum":true,"minimum":0},
		"b":{"type":"boolean"},
		"z":{"type":"string","nullable":true},
		"a":{"type":"array","maxItems":2,"items":{"type":"integer","format":"int32"}},
		"m":{"type":"object","additionalProperties":{"type":"string"}},
		"x":{"allOf":[{"type":"object","properties":{"p":{"type":"string"}}},{"type":"object","required":["p"]}]}}}`
	cases := []struct {
		body string
		want bool
	}{
		{`{"n":1}`, true},
		{`{"n":0}`, false},
		{`{"n":11}`, false},
		{`{"n":1.0}`, false}, // not sure: kin-openapi decides
		{`{"n":01}`, false},
		{`{"n":-}`, false},
		{`{}`, false},
		{`{"n":1,"s":"ab"}`, true},
		{`{"n":1,"s":"ā€x"}`, true},
		{`{"n":1,"s":"a"}`, false},
		{`{"n":1,"s":"abd"}`, false},
		{`{"n":1,"f":0}`, false},
		{`{"n":1,"f":0.5e-3}`, true},
		{`{"n":1,"f":1.}`, false},
		{`{"n":1,"b":true,"z":null}`, true},
		{`{"n":1,"b":null}`, false},
		{`{"n":1,"a":[1,2]}`, true},
		{`{"n":1,"a":[1,2,3]}`, false},
		{`{"n":1,"a":[2147483648]}`, false},
		{`{"n":1,"m":{"k":"v","l":"w"}}`, true},
		{`{"n":1,"m":{"k":1}}`, false},
		{`{"n":1,"x":{"p":"q"}}`, true},
		{`{"n":1,"x":{}}`, false},
		{`{"n":1,"x":{"p":1}}`, false},
		{`{"n":1,"q":1}`, false},
		{`{"n":1,"n":2}`, false},
		{`{"n":1}x`, false},
		{"{\"n\":1,\"s\":\"a\tb\"}", false},
		{`{"n":1,"s":"\u0061b"}`, false},
	}
	chk, ok := Compile(schema(t, obj))
	if !ok {
		t.Fatal("schema not compiled")
	}
	for _, c := range cases {
		if got := chk.Valid([]byte(c.body)); got != c.want {
			t.Errorf("Valid(%s) = %v, want %v", c.body, got, c.want)
		}
	}
}

func TestCompileRefusesWhatItDoesNotKnow(t *testing.T) {
	for _, js := range []string{
		`{"oneOf":[{"type":"string"},{"type":"integer"}]}`,
		`{"type":"array","uniqueItems":true}`,
		`{"type":"integer","multipleOf":2}`,
		`{"type":"object","minProperties":1}`,
		`{"type":"string","format":"uuid","readOnly":true}`,
		`{"type":"integer","format":"unknown-format"}`,
		`{"type":"object","properties":{"a":{"not":{"type":"string"}}}}`,
	} {
		if _, ok := Compile(schema(t, js)); ok {
			t.Errorf("compiled %s", js)
		}
	}
}

// Patterns match as kin-openapi's do, \uXXXX escapes included.
func TestPattern(t *testing.T) {
	chk, ok := Compile(schema(t, `{"type":"string","pattern":"^\\u0041[0-9]{2}$"}`))
	if !ok {
		t.Fatal("not compiled")
	}
	for body, want := range map[string]bool{`"A12"`: true, `"B12"`: false, `"A1"`: false, `"A123"`: false} {
		if got := chk.Valid([]byte(body)); got != want {
			t.Errorf("Valid(%s) = %v, want %v", body, got, want)
		}
	}
}

// A name that is required but not among the properties is an undeclared
// member to kin-openapi: refused by a closed object, checked against
// additionalProperties by another.
func TestRequiredOnlyMemberIsUndeclared(t *testing.T) {
	for _, c := range []struct {
		schema, body string
		want         bool
	}{
		{`{"type":"object","required":["x"],"additionalProperties":false}`, `{"x":1}`, false},
		{`{"type":"object","required":["x"],"additionalProperties":{"type":"string"}}`, `{"x":1}`, false},
		{`{"type":"object","required":["x"],"additionalProperties":{"type":"string"}}`, `{"x":"s"}`, true},
		{`{"type":"object","required":["x"]}`, `{"x":1}`, true},
	} {
		chk, ok := Compile(schema(t, c.schema))
		if !ok {
			t.Fatalf("%s not compiled", c.schema)
		}
		if got := chk.Valid([]byte(c.body)); got != c.want {
			t.Errorf("%s: Valid(%s) = %v, want %v", c.schema, c.body, got, c.want)
		}
	}
}

// uniqueItems of strings: the same decoded text twice is a duplicate;
// anything the check cannot decode is left to kin-openapi.
func TestUniqueStrings(t *testing.T) {
	chk, ok := Compile(schema(t, `{"type":"array","uniqueItems":true,"items":{"type":"string","nullable":true}}`))
	if !ok {
		t.Fatal("not compiled")
	}
	for body, want := range map[string]bool{
		`[]`: true, `["a","b","ab"]`: true, `["a",null,"null"]`: true, `["a\n","a\t"]`: true,
		`["a","b","a"]`: false, `[null,null]`: false, `["a\n","a\n"]`: false, `["a\"","a\""]`: false, `["\u0061","a"]`: false,
	} {
		if got := chk.Valid([]byte(body)); got != want {
			t.Errorf("Valid(%s) = %v, want %v", body, got, want)
		}
	}
	for _, js := range []string{
		`{"type":"array","uniqueItems":true,"items":{"type":"integer"}}`,
		`{"type":"array","uniqueItems":true,"items":{"type":"object"}}`,
		`{"type":"string","uniqueItems":true}`,
	} {
		if _, ok := Compile(schema(t, js)); ok {
			t.Errorf("compiled %s", js)
		}
	}
}
