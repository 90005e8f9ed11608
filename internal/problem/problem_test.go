package problem

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

func TestLanguage(t *testing.T) {
	for in, want := range map[string]string{
		"": "en", "lv": "lv", "lv-LV,en;q=0.8": "lv", "en-GB,lv;q=0.5": "en", "de, lv;q=0.1": "lv", "de": "en", "LV": "lv",
		"lv;q=0": "en", "en;q=0.5, lv;q=0.9": "lv", "lv;q=0.4, en": "en", "lv;q=bad": "en",
	} {
		if got := Language(in); got != want {
			t.Errorf("Language(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenderUsesCatalog(t *testing.T) {
	p := Fields(Validation, FieldError{Pointer: "/name", Code: "schema.required", Detail: `property "name" is missing`, HintLV: `trūkst lauka "name"`})
	lv := p.Render("lv", "/v1/x", "rid")
	if lv.Title != Validation.TitleLV || lv.Errors[0].Detail != `ir obligāts (trūkst lauka "name")` || lv.Type != TypeBase+"validation" || lv.Status != 400 {
		t.Fatalf("lv render %+v", lv)
	}
	en := p.Render("en", "/v1/x", "rid")
	if en.Errors[0].Detail != `is required: property "name" is missing` {
		t.Fatalf("en detail %q", en.Errors[0].Detail)
	}
	if p.Errors[0].Detail != `property "name" is missing` {
		t.Fatal("Render changed the problem")
	}
}

// A Latvian message never carries an English detail: without a Latvian
// form of it, the catalogue's text stands alone.
func TestRenderLatvianWithoutEnglish(t *testing.T) {
	p := Fields(Validation, FieldError{Pointer: "/n", Code: "schema.minimum", Detail: "number must be at least 1"})
	if got := p.Render("lv", "", "").Errors[0].Detail; got != "ir pārāk mazs" {
		t.Errorf("lv detail %q", got)
	}
	if got := p.Render("en", "", "").Errors[0].Detail; got != "is too small: number must be at least 1" {
		t.Errorf("en detail %q", got)
	}
}

// An error with its own Latvian text is shown in it, not in the English
// fallback of a code the catalog does not hold.
func TestRenderOwnLatvian(t *testing.T) {
	p := Fields(UnsupportedMedia, FieldError{Pointer: "/file", Code: "file.format", Detail: "The file format is not supported.", DetailLV: "Faila formāts nav atbalstīts."})
	if got := p.Render("lv", "", "").Errors[0].Detail; got != "Faila formāts nav atbalstīts." {
		t.Errorf("lv detail %q", got)
	}
	if got := p.Render("en", "", "").Errors[0].Detail; got != "The file format is not supported." {
		t.Errorf("en detail %q", got)
	}
}

func TestEveryCatalogEntryHasBothLanguages(t *testing.T) {
	for code, m := range messages {
		if m[0] == "" || m[1] == "" {
			t.Errorf("%s lacks a language", code)
		}
	}
}

// Kinds must list every kind declared, or the documentation check misses
// the ones left out.
func TestKindsListsEveryKind(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "problem.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.CompositeLit); ok {
			if id, ok := lit.Type.(*ast.Ident); ok && id.Name == "Kind" && len(lit.Elts) == 4 {
				declared++
			}
		}
		return true
	})
	if declared == 0 || declared != len(Kinds()) {
		t.Fatalf("%d kinds declared, Kinds() lists %d", declared, len(Kinds()))
	}
}

// A problem lists at most MaxErrors errors, in their order, and says when
// it left some out.
func TestRenderCapsErrors(t *testing.T) {
	var errs []FieldError
	for i := range MaxErrors + 50 {
		errs = append(errs, FieldError{Pointer: "/members/" + strconv.Itoa(i) + "/personCode", Code: "schema.pattern"})
	}
	for _, tt := range []struct {
		name      string
		p         *Problem
		n         int
		truncated bool
	}{
		{"over the cap", Fields(Validation, errs...), MaxErrors, true},
		{"at the cap", Fields(Validation, errs[:MaxErrors]...), MaxErrors, false},
		{"producer stopped looking", &Problem{Kind: Validation, Errors: errs[:3], ErrorsTruncated: true}, 3, true},
		{"few", Fields(Validation, errs[:3]...), 3, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.p.Errors)
			for _, lang := range []string{"en", "lv"} {
				b := tt.p.Render(lang, "/v1/x", "rid")
				if len(b.Errors) != tt.n || b.ErrorsTruncated != tt.truncated || b.Errors[tt.n-1].Pointer != errs[tt.n-1].Pointer {
					t.Fatalf("%s: %d errors (last %+v), truncated %v; want %d, %v", lang, len(b.Errors), b.Errors[len(b.Errors)-1], b.ErrorsTruncated, tt.n, tt.truncated)
				}
				if tt.truncated != (b.Detail != "") {
					t.Fatalf("%s: detail %q", lang, b.Detail)
				}
				js, err := json.Marshal(b)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(js), "errorsTruncated") != tt.truncated {
					t.Fatalf("%s: %s", lang, js)
				}
			}
			if len(tt.p.Errors) != before {
				t.Fatal("Render changed the problem")
			}
		})
	}
}
