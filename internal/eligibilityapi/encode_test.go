package eligibilityapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/avis-lv/gateway/api"
	"github.com/avis-lv/gateway/internal/eligibility"
	"github.com/avis-lv/gateway/internal/problem"
	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/internal/transactions"
)

// The hand-written decision must be exactly what encoding/json makes of the
// contract's type.
func TestAppendDecisionMatchesTheContractType(t *testing.T) {
	t.Parallel()
	c1, c2, m := int64(150), int64(0), int64(60)
	ds := []eligibility.Decision{
		{ID: uuid.New(), ExpiresAt: time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)},
		{ID: uuid.New(), ExpiresAt: time.Now(), TotalCents: 150, Benefits: []eligibility.Applied{
			{BenefitID: "ride", Version: 2, Grantor: "90000000001", Status: eligibility.StatusApplies, DiscountCents: &c1, MaxCents: &c1,
				Lines: []eligibility.LineDiscount{{LineID: `a"b\c` + "\x01\n", DiscountCents: 100}, {LineID: "Rīga", DiscountCents: 50}}},
			{BenefitID: "half", Version: 1, Grantor: "90000000002", Status: eligibility.StatusUnknown, DiscountCents: &c2, Combinable: true},
			{BenefitID: "cap", Version: 1, Grantor: "90000000002", Status: eligibility.StatusApplies, MaxCents: &m},
		}},
	}
	for _, d := range ds {
		var got, want any
		if err := json.Unmarshal(appendDecision(nil, d), &got); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, appendDecision(nil, d))
		}
		out := api.EligibilityDecision{DecisionId: d.ID, ExpiresAt: d.ExpiresAt.UTC(), TotalDiscountCents: d.TotalCents, Benefits: []api.AppliedBenefit{}}
		for _, b := range d.Benefits {
			g := b.Grantor
			ab := api.AppliedBenefit{BenefitId: b.BenefitID, Version: b.Version, Grantor: &g, Status: api.AppliedBenefitStatus(b.Status),
				Combinable: b.Combinable, DiscountCents: b.DiscountCents, MaxDiscountCents: b.MaxCents}
			if len(b.Lines) > 0 {
				lines := make([]struct {
					DiscountCents int64  `json:"discountCents"`
					LineId        string `json:"lineId"`
				}, len(b.Lines))
				for i, l := range b.Lines {
					lines[i].DiscountCents, lines[i].LineId = l.DiscountCents, l.LineID
				}
				ab.Lines = &lines
			}
			out.Benefits = append(out.Benefits, ab)
		}
		raw, _ := json.Marshal(out)
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("hand-written decision differs (-json +hand):\n%s", diff)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote\back`, "\x00\x1f\x7f", "Rīga ŗ", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(appendJSONString(nil, s), &back); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("%q came back as %q, encoding/json gives %q", s, back, wantBack)
		}
	})
}

func TestCertificateRoute(t *testing.T) {
	t.Parallel()
	key, cert, err := signing.GenerateSelfSigned("route-test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	k, err := transactions.NewReceiptKey(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	w, err := transactions.NewReceiptSigner(k, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	(&Handlers{Transactions: transactions.NewService(nil, w, transactions.Config{})}).Routes(e)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/certs/gateway.pem", nil))
	certs, err := signing.ParseCertificatesPEM(rec.Body.Bytes())
	if rec.Code != http.StatusOK || err != nil || !certs[0].Equal(cert) {
		t.Errorf("%d %v %s", rec.Code, err, rec.Body)
	}

	// Without a signing identity there is nothing to publish.
	none, _ := transactions.NewReceiptSigner(nil, nil, nil, nil)
	e = echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { _ = c.NoContent(ErrorMapperStatus(err)) }
	(&Handlers{Transactions: transactions.NewService(nil, none, transactions.Config{})}).Routes(e)
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/certs/gateway.pem", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("without a key: %d", rec.Code)
	}
}

// ErrorMapperStatus is the status a problem error maps to (test helper).
func ErrorMapperStatus(err error) int {
	var p *problem.Problem
	if errors.As(err, &p) {
		return p.Kind.Status
	}
	return http.StatusInternalServerError
}
