package eligibilityapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/registry/registrytest"
)

// englishWords are words of the English details that a Latvian answer used
// to carry in parentheses.
var englishWords = regexp.MustCompile(`(?i)\b(must|missing|between|send|does not|property|number|the|least|check digit|future)\b`)

// A Latvian answer keeps the specifics an English one gives (the allowed
// time window, the minimum, the missing member's name) in Latvian, and
// carries no English sentence.
func TestLatvianProblemsCarryNoEnglish(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pensioner := code(t, "1945-04-16", 111)
	e.mock.Person(pensioner, registrytest.Pensioner("1945-04-16", riga))
	e.benefit(e.grantor, "ride", nil)
	d := e.check(e.provider, byCode(pensioner), rideLine)

	past := time.Now().Add(-72 * time.Hour).UTC().Format(time.RFC3339)
	badCode := pensioner[:len(pensioner)-1] + string('0'+(pensioner[len(pensioner)-1]-'0'+1)%10)
	noCategory := map[string]any{"name": "x", "ekkCode": "6421", "validFrom": "2026-01-01", "priority": 10, "combinable": false,
		"discount": map[string]any{"type": "free"}, "goodsCodes": []string{"*"}, "providers": []string{providerOrg},
		"recipientGroup": map[string]any{"registryGroup": "pensioners"}}
	lv := []string{"Accept-Language", "lv"}
	for _, tt := range []struct {
		name, method, path, token string
		body                      any
		headers                   []string
		code                      string
		want                      string // the Latvian message, or a part of it
	}{
		{"missing member", "PUT", "/v1/benefits/b-1", e.grantor, noCategory, lv, "schema.required", `ir obligāts (trūkst lauka "category")`},
		{"below the minimum", "GET", "/v1/benefits?limit=0", e.grantor, nil, lv, "schema.minimum", "ir pārāk mazs (mazākā pieļaujamā vērtība: 1)"},
		{"checksum", "POST", "/v1/eligibility", e.provider, map[string]any{"person": byCode(badCode), "pointOfSale": map[string]any{"id": "pos-1", "terminalId": "t-1"}},
			lv, "person_code.invalid_checksum", "personas koda kontrolcipars nav pareizs"},
		{"sale time", "POST", "/v1/transactions", e.provider, map[string]any{"decisionId": d.DecisionID, "receiptNumber": "K-1", "occurredAt": past, "totalCents": 150,
			"benefits": []map[string]any{claim("ride", 150)}}, append([]string{"Idempotency-Key", "key-lv-0001"}, lv...), "transaction.occurred_at_out_of_range",
			"pārdošanas laiks neatbilst atbilstības lēmumam (no "},
		{"idempotency key", "POST", "/v1/transactions", e.provider, report(d.DecisionID, claim("ride", 150)), lv, "parameter.required", "ir obligāts (katram jaunam pieprasījumam sūtiet jaunu atslēgu (UUID)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := e.h.Do(tt.method, tt.path, tt.token, tt.body, tt.headers...)
			if res.Status < 400 || res.Status == http.StatusInternalServerError {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
			p := res.Problem(t)
			var found bool
			for _, fe := range p.Errors {
				if fe.Code != tt.code {
					continue
				}
				found = true
				if !strings.Contains(fe.Detail, tt.want) {
					t.Errorf("%s: %q, want %q in it", fe.Code, fe.Detail, tt.want)
				}
				if w := englishWords.FindString(fe.Detail); w != "" {
					t.Errorf("%s: %q has the English %q", fe.Code, fe.Detail, w)
				}
			}
			if !found {
				t.Errorf("no %s error in %s", tt.code, res.Body)
			}
		})
	}
}
