package eligibilityapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/personcode"
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

// An English message does not say the same thing twice ("X: X"): the
// internal error's text is not appended where the catalogue's text says it.
func TestEnglishProblemsDoNotRepeatThemselves(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	withCheckDigit := func(first10 string) string {
		c, err := personcode.CheckDigit(first10)
		if err != nil {
			t.Fatal(err)
		}
		return first10[:6] + "-" + first10[6:] + string(c)
	}
	put := func(ekkCode string) map[string]any {
		return map[string]any{"name": "x", "category": "transport", "ekkCode": ekkCode, "validFrom": "2026-01-01", "priority": 10, "combinable": false,
			"discount": map[string]any{"type": "free"}, "goodsCodes": []string{"*"}, "providers": []string{providerOrg},
			"recipientGroup": map[string]any{"registryGroup": "pensioners"}}
	}
	check := func(c string) map[string]any {
		return map[string]any{"person": byCode(c), "pointOfSale": map[string]any{"id": "pos-1", "terminalId": "t-1"}}
	}
	for _, tt := range []struct {
		name, method, path, token string
		body                      any
		code, want, wantLV        string
	}{
		{"unknown EKK code", "PUT", "/v1/benefits/b-1", e.grantor, put("1234"), "ekk.unknown",
			"is not an expenditure code of the 6000 group", "nav 6000. grupas izdevumu kods"},
		{"EKK heading", "PUT", "/v1/benefits/b-1", e.grantor, put("6420"), "ekk.not_leaf",
			"use the most detailed EKK code, not a group heading: use one of the detailed codes under 6420 that AVIS accepts: 6421, 6423",
			"norādiet detalizētāko EKK kodu, nevis grupas kodu (izmantojiet kādu no 6420 detalizētajiem kodiem, ko AVIS pieņem: 6421, 6423)"},
		{"impossible birth date", "POST", "/v1/eligibility", e.provider, check(withCheckDigit("3102991123")), "person_code.birth_date",
			"the personal code holds an impossible birth date (no such day, or one after today)", "personas kodā ir neiespējams dzimšanas datums (tādas dienas nav, vai tā ir pēc šodienas)"},
		{"century digit", "POST", "/v1/eligibility", e.provider, check(withCheckDigit("1504457123")), "person_code.century",
			"the personal code has an invalid century digit", "personas kodā ir nederīgs gadsimta cipars"},
		{"eID card", "PUT", "/v1/means/eid_card/PA9463674", e.grantor, map[string]any{"personCode": code(t, "1945-04-16", 111)}, "means.eid_card_registered",
			"eID cards are resolved through PMLP's register and cannot be registered: register only the means you issued",
			"eID kartes nosaka PMLP reģistrs; tās nevar reģistrēt (reģistrējiet tikai pašu izsniegtos līdzekļus)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for lang, want := range map[string]string{"en": tt.want, "lv": tt.wantLV} {
				res := e.h.Do(tt.method, tt.path, tt.token, tt.body, "Accept-Language", lang)
				p := res.Problem(t)
				if len(p.Errors) != 1 || p.Errors[0].Code != tt.code || p.Errors[0].Detail != want {
					t.Errorf("%s: %s, want %s %q", lang, res.Body, tt.code, want)
				}
			}
		})
	}
}
