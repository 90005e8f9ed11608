package eligibilityapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/registry/registrytest"
	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/mocks/server"
)

func TestMeans(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pensioner := code(t, "1944-02-02", 321)
	other := code(t, "1944-02-03", 321)
	e.mock.Person(pensioner, registrytest.Pensioner("1944-02-02", riga))
	e.mock.Person(other, map[string]any{"person": registrytest.PersonRecord("1944-02-03", riga), "pensioners": nil})
	e.benefit(e.grantor, "riga-pensioner-ride", map[string]any{"conditions": map[string]any{"municipality": riga}})

	t.Run("register, check by card, change, revoke", func(t *testing.T) {
		res := e.h.Do("PUT", "/v1/means/etalons/ET-0001", e.grantor, map[string]any{"personCode": pensioner, "validFrom": "2026-01-01"})
		if res.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", res.Status, res.Body)
		}
		if d := e.check(e.provider, byMeans("etalons", "ET-0001"), rideLine); d.status("riga-pensioner-ride") != "applies" {
			t.Fatalf("by card: %+v", d)
		}
		// The card now identifies someone else: the cached resolution must
		// not survive the change.
		res = e.h.Do("PUT", "/v1/means/etalons/ET-0001", e.grantor, map[string]any{"personCode": other})
		if res.Status != http.StatusOK {
			t.Fatalf("change: %d %s", res.Status, res.Body)
		}
		if d := e.check(e.provider, byMeans("etalons", "ET-0001"), rideLine); d.status("riga-pensioner-ride") != "absent" {
			t.Fatalf("after the change: %+v", d)
		}
		if res := e.h.Do("DELETE", "/v1/means/etalons/ET-0001", e.grantor, nil); res.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", res.Status, res.Body)
		}
		res = e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{"person": byMeans("etalons", "ET-0001"), "pointOfSale": map[string]any{"id": "x"}})
		if res.Status != http.StatusNotFound {
			t.Errorf("revoked card: %d %s", res.Status, res.Body)
		}
		if res := e.h.Do("DELETE", "/v1/means/etalons/ET-0001", e.grantor, nil); res.Status != http.StatusNoContent {
			t.Errorf("revoking twice: %d %s", res.Status, res.Body)
		}
	})
	t.Run("unknown means is 404", func(t *testing.T) {
		res := e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{"person": byMeans("school_card", "SC-404"), "pointOfSale": map[string]any{"id": "x"}})
		if p := res.Problem(t); res.Status != http.StatusNotFound || p.Type != "https://avis.gov.lv/problems/not-found" {
			t.Errorf("%d %+v", res.Status, p)
		}
	})
	t.Run("a card not yet valid", func(t *testing.T) {
		e.h.Do("PUT", "/v1/means/school_card/SC-2099", e.grantor, map[string]any{"personCode": pensioner, "validFrom": "2099-01-01"})
		res := e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{"person": byMeans("school_card", "SC-2099"), "pointOfSale": map[string]any{"id": "x"}})
		if res.Status != http.StatusNotFound {
			t.Errorf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("another grantor's number", func(t *testing.T) {
		e.h.Do("PUT", "/v1/means/municipal_card/MC-1", e.grantor, map[string]any{"personCode": pensioner})
		res := e.h.Do("PUT", "/v1/means/municipal_card/MC-1", e.grantor2, map[string]any{"personCode": other})
		if p := res.Problem(t); res.Status != http.StatusForbidden || p.Type != "https://avis.gov.lv/problems/not-owner" {
			t.Errorf("%d %+v", res.Status, p)
		}
		if res := e.h.Do("DELETE", "/v1/means/municipal_card/MC-1", e.grantor2, nil); res.Status != http.StatusForbidden {
			t.Errorf("revoke by another grantor: %d %s", res.Status, res.Body)
		}
		if res := e.h.Do("DELETE", "/v1/means/municipal_card/MC-404", e.grantor, nil); res.Status != http.StatusNotFound {
			t.Errorf("revoke unknown: %d %s", res.Status, res.Body)
		}
	})
	t.Run("a grantor's means unlocks only its own benefits", func(t *testing.T) {
		// Grantor 2 says card ET-G2 is the pensioner's: for grantor 1's
		// ride the card proves nothing, else any grantor could make any
		// card someone else's for every other grantor's benefits.
		e.benefit(e.grantor2, "g2-ride", map[string]any{"priority": 20, "combinable": true})
		if res := e.h.Do("PUT", "/v1/means/etalons/ET-G2", e.grantor2, map[string]any{"personCode": pensioner}); res.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", res.Status, res.Body)
		}
		d := e.check(e.provider, byMeans("etalons", "ET-G2"), rideLine)
		if d.status("g2-ride") != "applies" || d.status("riga-pensioner-ride") != "absent" {
			t.Errorf("by grantor 2's card: %+v", d)
		}
		if d := e.check(e.provider, byCode(pensioner), rideLine); d.status("riga-pensioner-ride") != "applies" {
			t.Errorf("by personal code: %+v", d)
		}
	})
	t.Run("an eID card cannot be registered", func(t *testing.T) {
		res := e.h.Do("PUT", "/v1/means/eid_card/PA9463674", e.grantor2, map[string]any{"personCode": pensioner})
		if p := res.Problem(t); res.Status != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Parameter != "type" || p.Errors[0].Code != "means.eid_card_registered" {
			t.Errorf("%d %+v", res.Status, p)
		}
	})
	t.Run("bad registrations name the field", func(t *testing.T) {
		bad := pensioner[:11] + string('0'+('1'+pensioner[11]-'0')%10)
		res := e.h.Do("PUT", "/v1/means/etalons/ET-0002", e.grantor, map[string]any{"personCode": bad})
		if p := res.Problem(t); res.Status != 400 || p.Errors[0].Pointer != "/personCode" || p.Errors[0].Code != "person_code.invalid_checksum" {
			t.Errorf("%d %+v", res.Status, p)
		}
		res = e.h.Do("PUT", "/v1/means/etalons/ET-0002", e.grantor, map[string]any{"personCode": pensioner, "validFrom": "2026-05-01", "validTo": "2026-04-01"})
		if p := res.Problem(t); res.Status != 400 || p.Errors[0].Pointer != "/validTo" || p.Errors[0].Code != "dates.order" {
			t.Errorf("%d %+v", res.Status, p)
		}
		if res := e.h.Do("PUT", "/v1/means/etalons/ET-0002", e.provider, map[string]any{"personCode": pensioner}); res.Status != http.StatusForbidden {
			t.Errorf("a provider registering: %d", res.Status)
		}
	})
	t.Run("an unregistered eID card is found through PMLP", func(t *testing.T) {
		holder := code(t, "1943-06-06", 111)
		records := registrytest.Pensioner("1943-06-06", riga)
		records["eid"] = map[string]any{"cards": []map[string]any{
			{"number": "PA1234567", "status": "valid", "validFrom": "2021-01-01", "validTo": "2031-01-01"},
			{"number": "PA7654321", "status": "expired", "validFrom": "2011-01-01", "validTo": "2021-01-01"},
		}}
		e.mock.Person(holder, records)
		if d := e.check(e.provider, byMeans("eid_card", "PA1234567"), rideLine); d.status("riga-pensioner-ride") != "applies" {
			t.Errorf("valid card: %+v", d)
		}
		res := e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{"person": byMeans("eid_card", "PA7654321"), "pointOfSale": map[string]any{"id": "x"}})
		if res.Status != http.StatusNotFound {
			t.Errorf("expired card: %d %s", res.Status, res.Body)
		}
		e.mock.Scenario("eid", server.Scenario{Outage: true})
		defer e.mock.ClearScenario("eid")
		res = e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{"person": byMeans("eid_card", "PB0000001"), "pointOfSale": map[string]any{"id": "x"}})
		if p := res.Problem(t); res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("PMLP down: %d %+v", res.Status, p)
		}
	})
}

func TestPersonListBenefits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pupil := code(t, "2014-09-01", 500)
	e.mock.Person(pupil, map[string]any{"person": registrytest.PersonRecord("2014-09-01", riga)})
	e.benefit(e.grantor, "school-lunch", map[string]any{
		"category": "catering", "ekkCode": "6322", "combinable": true, "goodsCodes": []string{"food.lunch"},
		"discount":       map[string]any{"type": "fixed", "amountCents": 250, "perPersonLimit": map[string]any{"amountCents": 400, "period": "month"}},
		"recipientGroup": map[string]any{"personListId": "school-meals"}, "conditions": map[string]any{"minAge": 6, "maxAge": 19},
	})
	lunch := []map[string]any{{"lineId": "L", "goodsCode": "food.lunch", "amountCents": 300}}
	push := func(mode string, key string) {
		t.Helper()
		res := e.h.Do("POST", "/v1/lists/school-meals/members", e.grantor,
			map[string]any{"mode": mode, "members": []map[string]any{{"personCode": pupil}}}, "Idempotency-Key", key)
		if res.Status >= 300 {
			t.Fatalf("push list: %d %s", res.Status, res.Body)
		}
	}
	if d := e.check(e.provider, byCode(pupil), lunch); d.status("school-lunch") != "absent" {
		t.Fatalf("before the list has the pupil: %+v", d)
	}
	push("replace", "list-push-0001")
	d := e.check(e.provider, byCode(pupil), lunch)
	if d.status("school-lunch") != "applies" || d.discount("school-lunch") != 250 {
		t.Fatalf("on the list: %+v", d)
	}
	// The per-person limit counts the transaction reported meanwhile.
	res := e.h.Do("POST", "/v1/transactions", e.provider, map[string]any{
		"decisionId": d.DecisionID, "receiptNumber": "R-1", "occurredAt": nowRFC(), "totalCents": 300,
		"benefits": []map[string]any{{"benefitId": "school-lunch", "discountCents": 250}},
	}, "Idempotency-Key", "tx-lunch-0001")
	if res.Status != http.StatusCreated {
		t.Fatalf("transaction: %d %s", res.Status, res.Body)
	}
	if d := e.check(e.provider, byCode(pupil), lunch); d.discount("school-lunch") != 150 {
		t.Errorf("after spending 250 of 400: %+v", d)
	}
	push("remove", "list-push-0002")
	if d := e.check(e.provider, byCode(pupil), lunch); d.status("school-lunch") != "absent" {
		t.Errorf("after removal from the list: %+v", d)
	}
}

// A benefit written before a benefit could name only its grantor's own
// lists may name another grantor's list; it never applies from that list,
// or its grantor would learn, check by check, who is on it.
func TestBenefitOnAnotherGrantorsListNeverApplies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	member := code(t, "1980-02-03", 501)
	e.mock.Person(member, map[string]any{"person": registrytest.PersonRecord("1980-02-03", riga)})
	e.benefit(e.grantor, "old-spy", map[string]any{
		"category": "catering", "ekkCode": "6322", "combinable": true, "goodsCodes": []string{"*"},
		"discount":       map[string]any{"type": "fixed", "amountCents": 1},
		"recipientGroup": map[string]any{"personListId": "needy-elsewhere"},
	})
	// As if the list had been another grantor's before the benefit named it.
	if _, err := e.h.App.Pool.Exec(context.Background(), `UPDATE person_lists SET grantor_reg_no = $1 WHERE id = 'needy-elsewhere'`, grantor2Org); err != nil {
		t.Fatal(err)
	}
	res := e.h.Do("POST", "/v1/lists/needy-elsewhere/members", e.grantor2,
		map[string]any{"mode": "replace", "members": []map[string]any{{"personCode": member}}}, "Idempotency-Key", "list-push-else-1")
	if res.Status != http.StatusOK {
		t.Fatalf("the owner's push: %d %s", res.Status, res.Body)
	}
	if d := e.check(e.provider, byCode(member), nil); d.status("old-spy") != "absent" {
		t.Fatalf("a benefit on another grantor's list answered for one of its members: %+v", d)
	}
}

// Each list version gets a signed receipt, named by the push's answer, the
// list and the upload, and readable only by the list's grantor.
func TestListVersionReceipt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pupil := code(t, "2014-09-01", 222)
	body := []byte(`{"mode":"replace","members":[{"personCode":"` + pupil + `"}]}`)
	res := e.h.Do("POST", "/v1/lists/receipted/members", e.grantor, body, "Idempotency-Key", "list-receipt-1", "Content-Type", "application/json")
	var pushed struct {
		Version   int    `json:"version"`
		ReceiptID string `json:"receiptId"`
	}
	res.JSON(t, &pushed)
	if res.Status != 200 || pushed.Version != 1 || pushed.ReceiptID == "" {
		t.Fatalf("push: %d %s", res.Status, res.Body)
	}
	var list struct {
		ReceiptID string `json:"receiptId"`
	}
	e.h.Do("GET", "/v1/lists/receipted", e.grantor, nil).JSON(t, &list)
	if list.ReceiptID != pushed.ReceiptID {
		t.Errorf("the list names receipt %q, the push %q", list.ReceiptID, pushed.ReceiptID)
	}
	res = e.h.Do("GET", "/v1/receipts/"+pushed.ReceiptID, e.grantor, nil, "Accept", "application/xml")
	if res.Status != 200 {
		t.Fatalf("receipt: %d %s", res.Status, res.Body)
	}
	el, err := signing.NewVerifier(e.mock.Signer.Certificate()).Verify(res.Body)
	if err != nil {
		t.Fatalf("the receipt does not verify: %v\n%s", err, res.Body)
	}
	sum := sha256.Sum256(body)
	for path, want := range map[string]string{"Kind": "list_version", "ListVersion/ListId": "receipted", "ListVersion/Version": "1",
		"ListVersion/Size": "1", "ListVersion/Mode": "replace", "ListVersion/Grantor": grantorOrg,
		"ListVersion/ContentSha256": hex.EncodeToString(sum[:])} {
		if got := el.FindElement(path); got == nil || got.Text() != want {
			t.Errorf("%s in the signed receipt: %v, want %s", path, got, want)
		}
	}
	if res := e.h.Do("GET", "/v1/receipts/"+pushed.ReceiptID, e.grantor2, nil); res.Status != 404 {
		t.Errorf("another grantor reads the receipt: %d", res.Status)
	}
}

// Each benefit version gets a signed receipt naming the version and the
// SHA-256 of the instruction as accepted; withdrawing makes another.
func TestBenefitVersionReceipt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var put struct {
		Version   int    `json:"version"`
		ReceiptID string `json:"receiptId"`
	}
	e.benefit(e.grantor, "receipted-ride", nil).JSON(t, &put)
	if put.Version != 1 || put.ReceiptID == "" {
		t.Fatalf("put: %+v", put)
	}
	res := e.h.Do("GET", "/v1/receipts/"+put.ReceiptID, e.grantor, nil, "Accept", "application/xml")
	el, err := signing.NewVerifier(e.mock.Signer.Certificate()).Verify(res.Body)
	if res.Status != 200 || err != nil {
		t.Fatalf("receipt: %d %v\n%s", res.Status, err, res.Body)
	}
	for path, want := range map[string]string{"Kind": "benefit_version", "BenefitVersion/BenefitId": "receipted-ride",
		"BenefitVersion/Version": "1", "BenefitVersion/Status": "active", "BenefitVersion/Grantor": grantorOrg} {
		if got := el.FindElement(path); got == nil || got.Text() != want {
			t.Errorf("%s in the signed receipt: %v, want %s", path, got, want)
		}
	}
	if got := el.FindElement("BenefitVersion/InstructionSHA256"); got == nil || len(got.Text()) != 64 {
		t.Errorf("instruction digest: %v", got)
	}
	if res := e.h.Do("GET", "/v1/receipts/"+put.ReceiptID, e.grantor2, nil); res.Status != 404 {
		t.Errorf("another grantor reads the receipt: %d", res.Status)
	}
	if res := e.h.Do("DELETE", "/v1/benefits/receipted-ride", e.grantor, nil); res.Status != 204 {
		t.Fatalf("withdraw: %d %s", res.Status, res.Body)
	}
	var got struct {
		Version   int    `json:"version"`
		Status    string `json:"status"`
		ReceiptID string `json:"receiptId"`
	}
	e.h.Do("GET", "/v1/benefits/receipted-ride", e.grantor, nil).JSON(t, &got)
	if got.Version != 2 || got.Status != "withdrawn" || got.ReceiptID == "" || got.ReceiptID == put.ReceiptID {
		t.Errorf("after withdrawal: %+v", got)
	}
}

// A per-person limit counts a transaction in the period of the check it
// used (its at), not of the till's occurredAt: a sale checked just before
// midnight and reported just after it spends the day that was checked,
// and the new day's limit stays whole.
func TestLimitCountsAtTheCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pupil := code(t, "2014-09-02", 501)
	e.mock.Person(pupil, map[string]any{"person": registrytest.PersonRecord("2014-09-02", riga)})
	e.benefit(e.grantor, "daily-lunch", map[string]any{
		"category": "catering", "ekkCode": "6322", "combinable": true, "goodsCodes": []string{"food.lunch"},
		"discount":       map[string]any{"type": "fixed", "amountCents": 250, "perPersonLimit": map[string]any{"amountCents": 400, "period": "day"}},
		"recipientGroup": map[string]any{"personListId": "daily-meals"},
	})
	if res := e.h.Do("POST", "/v1/lists/daily-meals/members", e.grantor,
		map[string]any{"mode": "replace", "members": []map[string]any{{"personCode": pupil}}}, "Idempotency-Key", "daily-push-1"); res.Status >= 300 {
		t.Fatalf("push list: %d %s", res.Status, res.Body)
	}
	riga, err := time.LoadLocation("Europe/Riga")
	if err != nil {
		t.Fatal(err)
	}
	// The midnight that began today, or the coming one in a day's last
	// minutes (a check may be at most 24 hours old).
	now := time.Now().In(riga)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, riga)
	if next := midnight.AddDate(0, 0, 1); next.Sub(now) < 3*time.Minute {
		midnight = next
	}
	lunch := []map[string]any{{"lineId": "L", "goodsCode": "food.lunch", "amountCents": 300}}
	checkAt := func(at time.Time) decision {
		t.Helper()
		res := e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{"person": byCode(pupil), "pointOfSale": map[string]any{"id": "pos-1"},
			"at": at.UTC().Format(time.RFC3339), "lines": lunch})
		if res.Status != http.StatusOK {
			t.Fatalf("eligibility at %s: %d %s", at, res.Status, res.Body)
		}
		var d decision
		res.JSON(t, &d)
		return d
	}
	before := midnight.Add(-2 * time.Minute)
	d := checkAt(before)
	if d.discount("daily-lunch") != 250 {
		t.Fatalf("first check: %+v", d)
	}
	res := e.h.Do("POST", "/v1/transactions", e.provider, map[string]any{
		"decisionId": d.DecisionID, "receiptNumber": "R-2", "occurredAt": midnight.Add(2 * time.Minute).UTC().Format(time.RFC3339), "totalCents": 300,
		"benefits": []map[string]any{{"benefitId": "daily-lunch", "discountCents": 250}},
	}, "Idempotency-Key", "tx-daily-0001")
	if res.Status != http.StatusCreated {
		t.Fatalf("transaction: %d %s", res.Status, res.Body)
	}
	if d := checkAt(before.Add(time.Minute)); d.discount("daily-lunch") != 150 {
		t.Errorf("the checked day: 250 of 400 spent, want 150 left: %+v", d)
	}
	if d := checkAt(midnight.Add(time.Minute)); d.discount("daily-lunch") != 250 {
		t.Errorf("the next day's limit was touched by a sale checked the day before: %+v", d)
	}
}
