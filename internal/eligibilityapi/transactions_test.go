package eligibilityapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/registry/registrytest"
	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/internal/store/storetest"
	"github.com/avis-lv/gateway/mocks/server"
)

func nowRFC() string { return time.Now().UTC().Format(time.RFC3339) }

type txAnswer struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	ReceiptID  string `json:"receiptId"`
	DecisionID string `json:"decisionId"`
	Benefits   []struct {
		BenefitID     string `json:"benefitId"`
		DiscountCents int64  `json:"discountCents"`
		StandIn       bool   `json:"standIn"`
	} `json:"benefits"`
	ReversalReceiptID string `json:"reversalReceiptId"`
}

func report(decisionID string, claims ...map[string]any) map[string]any {
	return map[string]any{"decisionId": decisionID, "receiptNumber": "K-42", "occurredAt": nowRFC(), "totalCents": 150, "benefits": claims}
}

func claim(id string, cents int64) map[string]any {
	return map[string]any{"benefitId": id, "discountCents": cents}
}

func TestTransactions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.Config) { c.DecisionTTL = 2 * time.Second })
	pensioner := code(t, "1945-04-16", 111)
	e.mock.Person(pensioner, registrytest.Pensioner("1945-04-16", riga))
	e.benefit(e.grantor, "ride", map[string]any{"conditions": map[string]any{"municipality": riga}})
	e.benefit(e.grantor2, "half", map[string]any{
		"priority": 20, "combinable": true, "goodsCodes": []string{"*"}, "ekkCode": "6423", "providers": []string{providerOrg, provider2Org},
		"discount":       map[string]any{"type": "percent", "percentBasisPoints": 5000},
		"recipientGroup": map[string]any{"registryGroup": "pensioners"},
	})
	post := func(token, key string, body any) (int, txAnswer, []byte) {
		t.Helper()
		res := e.h.Do("POST", "/v1/transactions", token, body, "Idempotency-Key", key)
		var a txAnswer
		if res.Status == http.StatusCreated {
			res.JSON(t, &a)
		}
		return res.Status, a, res.Body
	}

	d := e.check(e.provider, byCode(pensioner), rideLine)
	first := report(d.DecisionID, claim("ride", 150))
	status, tx, body := post(e.provider, "key-0000001", first)
	if status != http.StatusCreated || tx.Status != "accepted" || tx.DecisionID != d.DecisionID {
		t.Fatalf("report: %d %s", status, body)
	}

	t.Run("retry with the same key and body replays", func(t *testing.T) {
		status, again, replayed := post(e.provider, "key-0000001", first)
		if status != http.StatusCreated || again.ID != tx.ID || again.ReceiptID != tx.ReceiptID {
			t.Errorf("replay: %d %s", status, replayed)
		}
		var a, b any
		_ = json.Unmarshal(body, &a)
		_ = json.Unmarshal(replayed, &b)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("the replay differs from the first answer (-first +replay):\n%s", diff)
		}
	})
	t.Run("same key, different body", func(t *testing.T) {
		res := e.h.Do("POST", "/v1/transactions", e.provider, report(d.DecisionID, claim("ride", 100)), "Idempotency-Key", "key-0000001")
		if p := res.Problem(t); res.Status != 422 || p.Type != "https://avis.gov.lv/problems/idempotency-key-reused" ||
			len(p.Errors) != 1 || p.Errors[0].Parameter != "Idempotency-Key" {
			t.Errorf("%d %+v", res.Status, p)
		}
	})
	t.Run("decision used twice", func(t *testing.T) {
		res := e.h.Do("POST", "/v1/transactions", e.provider, report(d.DecisionID, claim("ride", 150)), "Idempotency-Key", "key-0000002")
		if p := res.Problem(t); res.Status != 409 || p.Errors[0].Code != "decision.used" {
			t.Errorf("%d %+v", res.Status, p)
		}
	})
	t.Run("business rules", func(t *testing.T) {
		d2 := e.check(e.provider, byCode(pensioner), rideLine)
		for _, tt := range []struct {
			name, pointer, code string
			body                map[string]any
		}{
			{"amount above the decision", "/benefits/0/discountCents", "discount.above_decision", report(d2.DecisionID, claim("ride", 151))},
			{"benefit not in the decision", "/benefits/0/benefitId", "benefit.not_in_decision", report(d2.DecisionID, claim("half", 10))},
			{"benefit twice", "/benefits/1/benefitId", "benefit.duplicate", report(d2.DecisionID, claim("ride", 1), claim("ride", 1))},
			{"unknown decision", "/decisionId", "decision.unknown", report("0e4f1f4c-3a54-4c5a-9b7e-000000000000", claim("ride", 1))},
			{"receipt number a signed receipt cannot hold", "/receiptNumber", "text.invalid_character", func() map[string]any {
				b := report(d2.DecisionID, claim("ride", 150))
				b["receiptNumber"] = "bad\uFFFE"
				return b
			}()},
			{"discounts above the total", "/totalCents", "discount.above_total", func() map[string]any {
				b := report(d2.DecisionID, claim("ride", 150))
				b["totalCents"] = 100
				return b
			}()},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res := e.h.Do("POST", "/v1/transactions", e.provider, tt.body, "Idempotency-Key", "rule-"+tt.code)
				p := res.Problem(t)
				if res.Status != 422 || len(p.Errors) == 0 || p.Errors[0].Pointer != tt.pointer || p.Errors[0].Code != tt.code {
					t.Errorf("%d %+v", res.Status, p)
				}
			})
		}
		// Another provider cannot use the decision, nor learn it exists.
		res := e.h.Do("POST", "/v1/transactions", e.provider2, report(d2.DecisionID, claim("ride", 150)), "Idempotency-Key", "other-provider-1")
		if p := res.Problem(t); res.Status != 422 || p.Errors[0].Code != "decision.unknown" {
			t.Errorf("another provider: %d %+v", res.Status, p)
		}
	})
	t.Run("exclusive benefit reported with another", func(t *testing.T) {
		// The check of provider2 offers only "half"; a decision that lists
		// an exclusive benefit next to a combinable one needs "ride" unknown.
		c := code(t, "1945-04-17", 111)
		e.mock.Person(c, registrytest.Pensioner("1945-04-17", riga))
		e.mock.Scenario("person", server.Scenario{Outage: true})
		defer e.mock.ClearScenario("person")
		d := e.check(e.provider, byCode(c), rideLine)
		if d.status("ride") != "unknown" || d.status("half") != "unknown" {
			t.Fatalf("decision %+v", d)
		}
		res := e.h.Do("POST", "/v1/transactions", e.provider, report(d.DecisionID, claim("ride", 150), claim("half", 0)), "Idempotency-Key", "excl-0000001")
		if p := res.Problem(t); res.Status != 422 || p.Errors[0].Code != "benefit.exclusive_combined" {
			t.Errorf("%d %+v", res.Status, p)
		}
		// Applied alone on the provider's own judgement: a stand-in.
		status, tx, body := post(e.provider, "excl-0000002", report(d.DecisionID, claim("ride", 150)))
		if status != http.StatusCreated || !tx.Benefits[0].StandIn {
			t.Errorf("stand-in: %d %s", status, body)
		}
	})
	t.Run("expired decision", func(t *testing.T) {
		d := e.check(e.provider, byCode(pensioner), rideLine)
		time.Sleep(2100 * time.Millisecond)
		res := e.h.Do("POST", "/v1/transactions", e.provider, report(d.DecisionID, claim("ride", 150)), "Idempotency-Key", "expired-0001")
		if p := res.Problem(t); res.Status != 422 || p.Errors[0].Code != "decision.expired" {
			t.Errorf("%d %+v", res.Status, p)
		}
		// A retry of a report accepted in time still replays after expiry.
		if status, again, body := post(e.provider, "key-0000001", first); status != 201 || again.ID != tx.ID {
			t.Errorf("replay after expiry: %d %s", status, body)
		}
		// ... and after its decision is gone (purged after an hour, or
		// lost with the unlogged table in a database crash). The next
		// batch of decisions drops expired ones from memory.
		e.check(e.provider, byCode(pensioner), rideLine)
		time.Sleep(200 * time.Millisecond)
		if _, err := e.h.App.Pool.Exec(context.Background(), `DELETE FROM eligibility_decisions WHERE id = $1`, tx.DecisionID); err != nil {
			t.Fatal(err)
		}
		if status, again, body := post(e.provider, "key-0000001", first); status != 201 || again.ID != tx.ID {
			t.Errorf("replay after the decision was purged: %d %s", status, body)
		}
		res = e.h.Do("POST", "/v1/transactions", e.provider, report(tx.DecisionID, claim("ride", 100)), "Idempotency-Key", "key-0000001")
		if p := res.Problem(t); res.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Parameter != "Idempotency-Key" {
			t.Errorf("the key with another body after the decision was purged: %d %+v", res.Status, p)
		}
	})

	t.Run("receipt: JSON view and signed XML", func(t *testing.T) {
		res := e.h.Do("GET", "/v1/receipts/"+tx.ReceiptID, e.provider, nil)
		var view struct {
			Kind              string `json:"kind"`
			SubjectID         string `json:"subjectId"`
			Digest            string `json:"digest"`
			SignatureValid    bool   `json:"signatureValid"`
			CertificateSha256 string `json:"certificateSha256"`
		}
		res.JSON(t, &view)
		if res.Status != 200 || view.Kind != "transaction" || view.SubjectID != tx.ID || !view.SignatureValid ||
			view.CertificateSha256 != signing.Fingerprint(e.mock.Signer.Certificate()) {
			t.Fatalf("JSON view: %d %s", res.Status, res.Body)
		}
		res = e.h.Do("GET", "/v1/receipts/"+tx.ReceiptID, e.provider, nil, "Accept", "application/xml")
		if res.Status != 200 || res.Header.Get("Content-Type") != "application/xml" {
			t.Fatalf("XML: %d %s", res.Status, res.Body)
		}
		el, err := signing.NewVerifier(e.mock.Signer.Certificate()).Verify(res.Body)
		if err != nil {
			t.Fatalf("the receipt does not verify with the gateway's certificate: %v\n%s", err, res.Body)
		}
		if got := el.FindElement("Transaction/TransactionId"); got == nil || got.Text() != tx.ID {
			t.Errorf("signed receipt names another transaction: %s", res.Body)
		}
		tampered := bytes.Replace(res.Body, []byte("<DiscountCents>150<"), []byte("<DiscountCents>999<"), 1)
		if _, err := signing.NewVerifier(e.mock.Signer.Certificate()).Verify(tampered); err == nil {
			t.Error("a tampered receipt verifies")
		}
		// q=0 means "not that one".
		if res := e.h.Do("GET", "/v1/receipts/"+tx.ReceiptID, e.provider, nil, "Accept", "application/xml;q=0, application/json"); !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("XML refused with q=0: %s", res.Header.Get("Content-Type"))
		}
		if res := e.h.Do("GET", "/v1/receipts/"+tx.ReceiptID, e.provider2, nil); res.Status != 404 {
			t.Errorf("another provider's receipt: %d", res.Status)
		}
		if dv := digestValue(t, res.Body); dv != view.Digest {
			t.Errorf("digest %s of the JSON view is not the signature's DigestValue %s", view.Digest, dv)
		}
	})

	t.Run("reversal, listing and spend report", func(t *testing.T) {
		d := e.check(e.provider2, byCode(pensioner), []map[string]any{{"lineId": "a", "goodsCode": "food.lunch", "amountCents": 401}})
		status, tx2, body := post(e.provider2, "half-0000001", map[string]any{"decisionId": d.DecisionID, "receiptNumber": "K-7",
			"occurredAt": nowRFC(), "benefits": []map[string]any{claim("half", 201)}})
		if status != 201 {
			t.Fatalf("%d %s", status, body)
		}
		// grantor2 sees only its own benefit and transaction.
		res := e.listTransactions(t, e.grantor2, "/v1/transactions", 1)
		var page struct {
			Items        []txAnswer `json:"items"`
			NextCursor   string     `json:"nextCursor"`
			ResumeCursor string     `json:"resumeCursor"`
		}
		res.JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != tx2.ID || page.ResumeCursor == "" {
			t.Fatalf("grantor2's transactions: %s", res.Body)
		}
		resume := page.ResumeCursor
		rigaTime, err := time.LoadLocation("Europe/Riga")
		if err != nil {
			t.Fatal(err)
		}
		year := time.Now().In(rigaTime).Format("2006")
		spend := "/v1/reports/spend?from=" + year + "-01-01&to=" + year + "-12-31&groupBy="
		res = e.h.Do("GET", spend+"ekk", e.grantor2, nil)
		var rep struct {
			Groups []struct {
				Key                   string `json:"key"`
				Name                  string `json:"name"`
				Transactions          int64  `json:"transactions"`
				DiscountCents         int64  `json:"discountCents"`
				ReversedTransactions  int64  `json:"reversedTransactions"`
				ReversedDiscountCents int64  `json:"reversedDiscountCents"`
			} `json:"groups"`
			TotalDiscountCents         int64 `json:"totalDiscountCents"`
			TotalReversedDiscountCents int64 `json:"totalReversedDiscountCents"`
		}
		res.JSON(t, &rep)
		if res.Status != 200 || rep.TotalDiscountCents != 201 || rep.TotalReversedDiscountCents != 0 || len(rep.Groups) != 1 || rep.Groups[0].Key != "6423" || rep.Groups[0].Name == "" {
			t.Fatalf("spend report: %d %s", res.Status, res.Body)
		}
		// A reason a signed receipt cannot hold is refused, naming the field.
		res = e.h.Do("POST", "/v1/transactions/"+tx2.ID+"/reversal", e.provider2, map[string]any{"reason": "till\uFFFF"}, "Idempotency-Key", "rev-bad-0001")
		if p := res.Problem(t); res.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Pointer != "/reason" || p.Errors[0].Code != "text.invalid_character" {
			t.Fatalf("reversal with a reason XML cannot hold: %d %s", res.Status, res.Body)
		}
		// Reverse it: idempotent with the same key, gone from the report.
		res = e.h.Do("POST", "/v1/transactions/"+tx2.ID+"/reversal", e.provider2, map[string]any{"reason": "till error"}, "Idempotency-Key", "rev-0000001")
		var rev txAnswer
		res.JSON(t, &rev)
		if res.Status != 200 || rev.Status != "reversed" || rev.ReversalReceiptID == "" {
			t.Fatalf("reversal: %d %s", res.Status, res.Body)
		}
		if res := e.h.Do("POST", "/v1/transactions/"+tx2.ID+"/reversal", e.provider2, map[string]any{"reason": "till error"}, "Idempotency-Key", "rev-0000001"); res.Status != 200 {
			t.Errorf("repeated reversal: %d %s", res.Status, res.Body)
		}
		// The same key with another reason is a reused key, not a replay.
		if res := e.h.Do("POST", "/v1/transactions/"+tx2.ID+"/reversal", e.provider2, map[string]any{"reason": "customer changed mind"}, "Idempotency-Key", "rev-0000001"); res.Status != 422 ||
			res.Problem(t).Type != "https://avis.gov.lv/problems/idempotency-key-reused" ||
			len(res.Problem(t).Errors) != 1 || res.Problem(t).Errors[0].Parameter != "Idempotency-Key" {
			t.Errorf("repeated reversal with the same key and another reason: %d %s", res.Status, res.Body)
		}
		if res := e.h.Do("POST", "/v1/transactions/"+tx2.ID+"/reversal", e.provider2, nil, "Idempotency-Key", "rev-0000002"); res.Status != 409 ||
			len(res.Problem(t).Errors) != 1 || res.Problem(t).Errors[0].Parameter != "transactionId" {
			t.Errorf("second reversal with another key: %d %s", res.Status, res.Body)
		}
		if res := e.h.Do("POST", "/v1/transactions/"+tx.ID+"/reversal", e.provider2, nil, "Idempotency-Key", "rev-0000003"); res.Status != 404 {
			t.Errorf("reversing another provider's transaction: %d %s", res.Status, res.Body)
		}
		res = e.h.Do("GET", spend+"benefit", e.grantor2, nil)
		res.JSON(t, &rep)
		if rep.TotalDiscountCents != 0 || rep.TotalReversedDiscountCents != 201 || len(rep.Groups) != 1 ||
			rep.Groups[0].Transactions != 0 || rep.Groups[0].ReversedTransactions != 1 || rep.Groups[0].ReversedDiscountCents != 201 {
			t.Errorf("a reversed transaction still counts, or is not shown apart: %s", res.Body)
		}
		// A grantor that mirrors the listing learns of the reversal by
		// paging on from where it stood.
		res = e.listTransactions(t, e.grantor2, "/v1/transactions?cursor="+resume, 1)
		res.JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != tx2.ID || page.Items[0].Status != "reversed" {
			t.Errorf("the listing after the reversal, from the resume cursor: %s", res.Body)
		}
		// The receipts are the provider's: a grantor's listing names none
		// it could not open.
		if len(page.Items) == 1 && (page.Items[0].ReceiptID != "" || page.Items[0].ReversalReceiptID != "") {
			t.Errorf("a grantor's listing names receipts: %s", res.Body)
		}
		if res := e.h.Do("GET", "/v1/receipts/"+tx2.ReceiptID, e.grantor2, nil); res.Status != 404 {
			t.Errorf("a grantor reads the provider's receipt: %d", res.Status)
		}
		res = e.listTransactions(t, e.grantor2, "/v1/transactions?status=reversed", 1)
		res.JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].Status != "reversed" {
			t.Errorf("reversed filter: %s", res.Body)
		}
		res = e.h.Do("GET", "/v1/receipts/"+rev.ReversalReceiptID, e.provider2, nil)
		if res.Status != 200 {
			t.Errorf("reversal receipt: %d %s", res.Status, res.Body)
		}
		res = e.h.Do("GET", "/v1/reports/spend?from="+year+"-12-31&to="+year+"-01-01&groupBy=benefit", e.grantor2, nil)
		if p := res.Problem(t); res.Status != 400 || p.Errors[0].Parameter != "to" {
			t.Errorf("dates in the wrong order: %d %+v", res.Status, p)
		}
	})

	t.Run("cursor paging", func(t *testing.T) {
		var ids []string
		for i := range 3 {
			d := e.check(e.provider, byCode(pensioner), rideLine)
			_, a, _ := post(e.provider, "page-000000"+string(rune('a'+i)), report(d.DecisionID, claim("ride", 150)))
			ids = append(ids, a.ID)
		}
		// All three listed first (see listTransactions), then paged.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			res := e.h.Do("GET", "/v1/transactions?limit=100", e.grantor, nil)
			if bytes.Contains(res.Body, []byte(ids[0])) && bytes.Contains(res.Body, []byte(ids[1])) && bytes.Contains(res.Body, []byte(ids[2])) {
				break
			}
		}
		seen := map[string]bool{}
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			path := "/v1/transactions?limit=2"
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			var page struct {
				Items        []txAnswer `json:"items"`
				NextCursor   string     `json:"nextCursor"`
				HasMore      bool       `json:"hasMore"`
				ResumeCursor string     `json:"resumeCursor"`
			}
			e.h.Do("GET", path, e.grantor, nil).JSON(t, &page)
			for _, it := range page.Items {
				if seen[it.ID] {
					t.Fatalf("transaction %s on two pages", it.ID)
				}
				seen[it.ID] = true
			}
			if page.ResumeCursor == "" || page.HasMore != (page.NextCursor != "") {
				t.Fatalf("page cursors: next %q, hasMore %v, resume %q", page.NextCursor, page.HasMore, page.ResumeCursor)
			}
			if cursor = page.ResumeCursor; page.NextCursor == "" {
				break
			}
		}
		for _, id := range ids {
			if !seen[id] {
				t.Errorf("transaction %s missing from the pages", id)
			}
		}
		// The last page's cursor is where a grantor polls from: it gives
		// the transactions committed since, and only those.
		d := e.check(e.provider, byCode(pensioner), rideLine)
		_, later, _ := post(e.provider, "page-0000000d", report(d.DecisionID, claim("ride", 150)))
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var page struct {
				Items        []txAnswer `json:"items"`
				ResumeCursor string     `json:"resumeCursor"`
			}
			e.h.Do("GET", "/v1/transactions?limit=100&cursor="+url.QueryEscape(cursor), e.grantor, nil).JSON(t, &page)
			if len(page.Items) > 0 {
				if len(page.Items) != 1 || page.Items[0].ID != later.ID {
					t.Fatalf("polling from the last cursor gave %+v, want only %s", page.Items, later.ID)
				}
				break
			}
			if page.ResumeCursor != cursor {
				t.Fatalf("an empty page moved the cursor from %s to %s", cursor, page.ResumeCursor)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the later transaction never showed from the last cursor; %s", storetest.OldestTransaction(context.Background(), e.h.App.Pool))
			}
		}
		if res := e.h.Do("GET", "/v1/transactions?cursor=bogus", e.grantor, nil); res.Status != 400 {
			t.Errorf("bad cursor: %d", res.Status)
		}
	})
}

// digestValue reads the hex of the DigestValue of a signed document.
func digestValue(t *testing.T, signed []byte) string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(signed); err != nil {
		t.Fatal(err)
	}
	el := doc.FindElement("//DigestValue")
	if el == nil {
		t.Fatalf("no DigestValue in %s", signed)
	}
	raw, err := base64.StdEncoding.DecodeString(el.Text())
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(raw)
}

// TestKilledBeforeAnswering plays the gateway dying after a transaction is
// durable but before its answer reaches the till: the till never gets the
// answer and retries with the same key, concurrently and repeatedly. There
// must be exactly one transaction.
func TestKilledBeforeAnswering(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pensioner := code(t, "1945-04-18", 111)
	e.mock.Person(pensioner, registrytest.Pensioner("1945-04-18", riga))
	e.benefit(e.grantor, "ride", map[string]any{})
	d := e.check(e.provider, byCode(pensioner), rideLine)
	body, _ := json.Marshal(report(d.DecisionID, claim("ride", 150)))

	// A proxy that lets the request through and then cuts the connection
	// instead of relaying the answer.
	target, _ := url.Parse(e.h.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(*http.Response) error { panic(http.ErrAbortHandler) }
	proxy := httptest.NewServer(rp)
	defer proxy.Close()
	send := func(base string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(context.Background(), "POST", base+"/v1/transactions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.provider)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "crash-0000001")
		return http.DefaultClient.Do(req)
	}
	if res, err := send(proxy.URL); err == nil {
		res.Body.Close()
		t.Fatalf("the proxy answered %d; it should have cut the connection", res.StatusCode)
	}
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			res, err := send(e.h.URL)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var a txAnswer
			raw, _ := io.ReadAll(res.Body)
			if res.StatusCode != 201 || json.Unmarshal(raw, &a) != nil {
				t.Errorf("retry %d: %d %s", i, res.StatusCode, raw)
			}
			ids[i] = a.ID
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("retries gave different transactions: %v", ids)
		}
	}
	// Counted in the table: the grantors' listing lags behind any long
	// transaction elsewhere on the server (see listTransactions).
	var stored int
	var id string
	if err := e.h.App.Pool.QueryRow(context.Background(), `SELECT count(*), coalesce(min(id::text), '') FROM transactions`).Scan(&stored, &id); err != nil {
		t.Fatal(err)
	}
	if stored != 1 || id != ids[0] {
		t.Errorf("%d transactions stored (the first %s), want exactly 1, %s", stored, id, ids[0])
	}
}

// Through the whole gateway the certificate is at /certs/gateway.pem, once
// the contract check lets that path through (see the route's unit test).
func TestCertificateIsPublished(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.h.Do("GET", "/certs/gateway.pem", "", nil)
	if res.Status == http.StatusNotFound {
		t.Skip("the contract check answers 404: /certs/ is not yet among the unvalidated prefixes of internal/httpapi/validate.go")
	}
	certs, err := signing.ParseCertificatesPEM(res.Body)
	if res.Status != http.StatusOK || err != nil || !certs[0].Equal(e.mock.Signer.Certificate()) {
		t.Errorf("published certificate: %d %v", res.Status, err)
	}
}
