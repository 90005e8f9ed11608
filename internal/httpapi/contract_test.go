package httpapi_test

import (
	"context"
	"os"
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

// Integrators branch on problem types and codes: each must be documented,
// the types and the API's codes in the contract, the person-list codes at
// least in the README.
func TestProblemsAreDocumented(t *testing.T) {
	spec, err := os.ReadFile("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range problem.Kinds() {
		if !strings.Contains(string(spec), "`"+k.Slug+"`") {
			t.Errorf("problem type %s is not in api/openapi.yaml", k.Slug)
		}
	}
	for _, code := range problem.Codes() {
		if !strings.Contains(string(spec), code) && !strings.Contains(string(readme), code) {
			t.Errorf("code %s is documented neither in api/openapi.yaml nor in README.md", code)
		}
	}
}
