package httpapi_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/avis-lv/gateway/internal/httpapi"
	"github.com/avis-lv/gateway/internal/problem"
)

func TestContractIsValidOpenAPI(t *testing.T) {
	doc, err := httpapi.LoadContract(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi version %q, want 3.0.3", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("examples do not validate: %v", err)
	}
}

// The brief's API surface is the contract with integrators: every path and
// method must be in the document.
func TestContractCoversTheBriefsSurface(t *testing.T) {
	doc, err := httpapi.LoadContract(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	surface := []struct{ method, path string }{
		{"POST", "/oauth/token"},
		{"PUT", "/v1/benefits/{benefitId}"}, {"GET", "/v1/benefits/{benefitId}"}, {"DELETE", "/v1/benefits/{benefitId}"}, {"GET", "/v1/benefits"},
		{"POST", "/v1/lists/{listId}/members"}, {"POST", "/v1/lists/{listId}/uploads"}, {"GET", "/v1/lists/{listId}"},
		{"GET", "/v1/uploads/{uploadId}"}, {"GET", "/v1/uploads/{uploadId}/errors"},
		{"PUT", "/v1/means/{type}/{number}"}, {"DELETE", "/v1/means/{type}/{number}"},
		{"GET", "/v1/transactions"}, {"GET", "/v1/reports/spend"},
		{"GET", "/v1/instructions"}, {"POST", "/v1/eligibility"}, {"POST", "/v1/transactions"},
		{"POST", "/v1/transactions/{transactionId}/reversal"}, {"GET", "/v1/receipts/{receiptId}"},
		{"GET", "/healthz"}, {"GET", "/readyz"},
	}
	for _, s := range surface {
		item := doc.Paths.Find(s.path)
		if item == nil || item.GetOperation(s.method) == nil {
			t.Errorf("%s %s is not in api/openapi.yaml", s.method, s.path)
		}
	}
	// Every operation answers problem+json for its 4xx responses.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, ref := range op.Responses.Map() {
				if code[0] != '4' || ref.Value == nil {
					continue
				}
				if ref.Value.Content.Get("application/problem+json") == nil {
					t.Errorf("%s %s response %s is not application/problem+json", method, path, code)
				}
			}
		}
	}
}

// Every operation that takes parameters or a body can answer 400 when they
// are wrong; the contract must say so, or a generated client treats the
// answer as unexpected.
func TestContractDeclaresBadRequest(t *testing.T) {
	doc, err := httpapi.LoadContract(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if len(op.Parameters)+len(item.Parameters) == 0 && op.RequestBody == nil {
				continue
			}
			if op.Responses.Value("400") == nil {
				t.Errorf("%s %s takes input but declares no 400", method, path)
			}
		}
	}
}

// Generated clients type only the answers a contract declares: every
// operation but the probes can answer 500 (a defect) and 503 (the database
// out of reach, with Retry-After), and must say so.
func TestContractDeclaresFailures(t *testing.T) {
	doc, err := httpapi.LoadContract(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		if path == "/healthz" || path == "/readyz" {
			continue
		}
		for method, op := range item.Operations() {
			for _, status := range []string{"500", "503"} {
				if op.Responses.Value(status) == nil {
					t.Errorf("%s %s declares no %s", method, path, status)
				}
			}
			if r := op.Responses.Value("503"); r != nil && r.Value.Headers["Retry-After"] == nil {
				t.Errorf("%s %s declares a 503 without Retry-After", method, path)
			}
		}
	}
}

// Integrators branch on problem types and codes: each must be documented,
// in the contract or the README, written as code (in backticks). The codes
// are gathered from the catalogue and from the sources: every constant
// named Code… and every Code: field given a literal.
func TestProblemsAreDocumented(t *testing.T) {
	var docs strings.Builder
	for _, f := range []string{"../../api/openapi.yaml", "../../README.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs.Write(b)
	}
	documented := func(s string) bool { return strings.Contains(docs.String(), "`"+s+"`") }
	for _, k := range problem.Kinds() {
		if !documented(k.Slug) {
			t.Errorf("problem type %s is documented nowhere", k.Slug)
		}
	}
	codes := map[string]bool{}
	for _, c := range problem.Codes() {
		codes[c] = true
	}
	literal := regexp.MustCompile(`(?:^|[^A-Za-z])Code\w*(?:\s*=\s*|:\s*)"([a-z_]+\.[a-z_]+)"`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range literal.FindAllSubmatch(src, -1) {
			codes[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) < 60 {
		t.Fatalf("only %d codes found: the search is broken", len(codes))
	}
	for c := range codes {
		if !documented(c) {
			t.Errorf("code %s is documented nowhere", c)
		}
	}
}

// The contract tells integrators how many errors a problem lists and how
// it says that there were more: both must be what problem renders.
func TestContractStatesTheErrorCap(t *testing.T) {
	doc, err := httpapi.LoadContract(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := doc.Components.Schemas["Problem"].Value
	errs, truncated := s.Properties["errors"], s.Properties["errorsTruncated"]
	if errs == nil || truncated == nil || !truncated.Value.Type.Is(openapi3.TypeBoolean) {
		t.Fatal("Problem lacks errors or a boolean errorsTruncated")
	}
	if want := "at most " + strconv.Itoa(problem.MaxErrors); !strings.Contains(errs.Value.Description, want) || !strings.Contains(truncated.Value.Description, want) {
		t.Fatalf("Problem does not say %q", want)
	}
}
