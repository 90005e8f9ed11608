package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
)

// A value of the wrong format is named, with what is expected, whether it
// is in the body or the path: "not valid JSON" for valid JSON, or a
// problem naming nothing, leaves the integrator guessing.
func TestFormatProblemsNameTheField(t *testing.T) {
	t.Parallel()
	h := gatewaytest.New(t)
	grantor := h.Token(grantorA, auth.RoleGrantor)
	provider := h.Token(providerX, auth.RoleProvider)
	tests := []struct {
		name, method, path, token string
		body                      any
		headers                   []string
		pointer, parameter, hint  string
	}{
		{"uuid in a body", "POST", "/v1/transactions", provider,
			map[string]any{"decisionId": "abc", "receiptNumber": "K-1", "occurredAt": "2026-11-23T10:00:00Z", "benefits": []any{map[string]any{"benefitId": "b", "discountCents": 1}}},
			[]string{"Idempotency-Key", "0f0e8d1c-5b6a-4c3d-9e8f-7a6b5c4d3e2f"}, "/decisionId", "", "UUID"},
		{"date-time in a body", "POST", "/v1/eligibility", provider,
			map[string]any{"person": map[string]any{"personCode": "32345678901"}, "pointOfSale": map[string]any{"id": "p"}, "at": "2026-11-23 10:00"},
			nil, "/at", "", "RFC 3339"},
		{"impossible date-time", "POST", "/v1/eligibility", provider,
			map[string]any{"person": map[string]any{"personCode": "32345678901"}, "pointOfSale": map[string]any{"id": "p"}, "at": "2026-02-30T10:00:00Z"},
			nil, "/at", "", "RFC 3339"},
		{"date in a body", "PUT", "/v1/benefits/fmt", grantor,
			instruction(func(in map[string]any) { in["validFrom"] = "2026-13-01" }),
			nil, "/validFrom", "", "YYYY-MM-DD"},
		{"uuid in the path", "GET", "/v1/receipts/abc", provider, nil, nil, "", "receiptId", "UUID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.Do(tt.method, tt.path, tt.token, tt.body, tt.headers...)
			if r.Status != 400 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("a problem answer with Cache-Control %q", cc)
			}
			var p struct {
				Errors []struct{ Pointer, Parameter, Code, Detail string }
			}
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Errors {
				if e.Pointer == tt.pointer && e.Parameter == tt.parameter && strings.Contains(e.Detail, tt.hint) {
					return
				}
			}
			t.Fatalf("no error for %q%q saying %q: %s", tt.pointer, tt.parameter, tt.hint, r.Body)
		})
	}
}
