package eligibilityapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/registry/registrytest"
)

// A decision used once is refused as used on a second report, also when
// its benefit has a per-person limit that the first report used up: "no
// limit left" would send the till to check again and report the sale twice.
func TestUsedDecisionOfLimitedBenefit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pensioner := code(t, "1946-05-07", 612)
	e.mock.Person(pensioner, registrytest.Pensioner("1946-05-07", riga))
	e.benefit(e.grantor, "monthly-ride", map[string]any{
		"discount": map[string]any{"type": "fixed", "amountCents": 150, "perPersonLimit": map[string]any{"amountCents": 150, "period": "month"}},
	})
	d := e.check(e.provider, byCode(pensioner), rideLine)
	body := report(d.DecisionID, claim("monthly-ride", 150))
	if res := e.h.Do("POST", "/v1/transactions", e.provider, body, "Idempotency-Key", "limited-used-1"); res.Status != http.StatusCreated {
		t.Fatalf("first report: %d %s", res.Status, res.Body)
	}
	res := e.h.Do("POST", "/v1/transactions", e.provider, body, "Idempotency-Key", "limited-used-2")
	if p := res.Problem(t); res.Status != http.StatusConflict || len(p.Errors) != 1 || p.Errors[0].Code != "decision.used" {
		t.Errorf("second report of the decision: %d %+v", res.Status, p)
	}
}

// Amounts are bounded by the contract, so that no sum of them can
// overflow: a claim or a receipt line of more than 100 million euro is
// refused before anything adds it up.
func TestAmountsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pensioner := code(t, "1946-05-07", 613)
	e.mock.Person(pensioner, registrytest.Pensioner("1946-05-07", riga))
	e.benefit(e.grantor, "ride", nil)
	huge := int64(5_000_000_000_000_000_000)
	res := e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{"person": byCode(pensioner), "pointOfSale": map[string]any{"id": "pos-1"},
		"lines": []map[string]any{{"lineId": "1", "goodsCode": "transport.ride", "amountCents": huge}}})
	if p := res.Problem(t); res.Status != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Pointer != "/lines/0/amountCents" || p.Errors[0].Code != "schema.maximum" {
		t.Errorf("huge line: %d %+v", res.Status, p)
	}
	d := e.check(e.provider, byCode(pensioner), nil)
	body := report(d.DecisionID, claim("ride", huge), claim("other", huge))
	body["totalCents"] = 1
	res = e.h.Do("POST", "/v1/transactions", e.provider, body, "Idempotency-Key", "huge-claims-1")
	if p := res.Problem(t); res.Status != http.StatusBadRequest || len(p.Errors) != 2 || p.Errors[0].Pointer != "/benefits/0/discountCents" || p.Errors[0].Code != "schema.maximum" {
		t.Errorf("huge claims: %d %+v", res.Status, p)
	}
	// A sale without a receipt number could not be found by it again.
	body = report(d.DecisionID, claim("ride", 150))
	body["receiptNumber"] = ""
	res = e.h.Do("POST", "/v1/transactions", e.provider, body, "Idempotency-Key", "no-receipt-number")
	if p := res.Problem(t); res.Status != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Pointer != "/receiptNumber" || p.Errors[0].Code != "schema.minLength" {
		t.Errorf("empty receipt number: %d %+v", res.Status, p)
	}
}

// A percentage checked without receipt lines may be claimed at its rate of
// the reported total, through the stored decision.
func TestPercentageWithoutLinesCappedByTotal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pensioner := code(t, "1946-05-07", 614)
	e.mock.Person(pensioner, registrytest.Pensioner("1946-05-07", riga))
	e.benefit(e.grantor, "half", map[string]any{"discount": map[string]any{"type": "percent", "percentBasisPoints": 5000}})
	d := e.check(e.provider, byCode(pensioner), nil)
	body := report(d.DecisionID, claim("half", 501))
	body["totalCents"] = 1000
	res := e.h.Do("POST", "/v1/transactions", e.provider, body, "Idempotency-Key", "half-above")
	if p := res.Problem(t); res.Status != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Pointer != "/benefits/0/discountCents" || p.Errors[0].Code != "discount.above_decision" {
		t.Errorf("more than half of the total: %d %+v", res.Status, p)
	}
	body = report(d.DecisionID, claim("half", 500))
	body["totalCents"] = 1000
	if res := e.h.Do("POST", "/v1/transactions", e.provider, body, "Idempotency-Key", "half-exact"); res.Status != http.StatusCreated {
		t.Errorf("half of the total: %d %s", res.Status, res.Body)
	}
}

// A limit added to a running benefit counts what the person got from it
// earlier in the period, while it had no limit: a grantor who caps a
// benefit in mid-period caps that period's spend.
func TestLimitAddedMidPeriodCountsEarlierTransactions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pensioner := code(t, "1946-05-07", 615)
	e.mock.Person(pensioner, registrytest.Pensioner("1946-05-07", riga))
	fixed := map[string]any{"type": "fixed", "amountCents": 150}
	e.benefit(e.grantor, "capped-later", map[string]any{"discount": fixed})
	for i := range 2 {
		d := e.check(e.provider, byCode(pensioner), rideLine)
		key := fmt.Sprintf("before-limit-%d", i)
		if res := e.h.Do("POST", "/v1/transactions", e.provider, report(d.DecisionID, claim("capped-later", 150)), "Idempotency-Key", key); res.Status != http.StatusCreated {
			t.Fatalf("report %d without a limit: %d %s", i, res.Status, res.Body)
		}
	}
	// A year, so that no period boundary falls between the reports.
	e.benefit(e.grantor, "capped-later", map[string]any{"discount": map[string]any{"type": "fixed", "amountCents": 150,
		"perPersonLimit": map[string]any{"amountCents": 400, "period": "year"}}})
	var d decision
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d = e.check(e.provider, byCode(pensioner), rideLine)
		if len(d.Benefits) == 1 && d.Benefits[0].Version == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checks still answer from the first version: %+v", d)
		}
	}
	if got := d.discount("capped-later"); got != 100 {
		t.Fatalf("discount under a 400 limit after 300 given = %d, want 100", got)
	}
	res := e.h.Do("POST", "/v1/transactions", e.provider, report(d.DecisionID, claim("capped-later", 150)), "Idempotency-Key", "after-limit-150")
	if p := res.Problem(t); res.Status != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Code != "discount.above_decision" {
		t.Errorf("150 against a decision of 100: %d %+v", res.Status, p)
	}
	if res := e.h.Do("POST", "/v1/transactions", e.provider, report(d.DecisionID, claim("capped-later", 100)), "Idempotency-Key", "after-limit-100"); res.Status != http.StatusCreated {
		t.Fatalf("the rest of the limit: %d %s", res.Status, res.Body)
	}
	if got := e.check(e.provider, byCode(pensioner), rideLine).discount("capped-later"); got > 0 {
		t.Errorf("discount once the limit is used up = %d", got)
	}
}
