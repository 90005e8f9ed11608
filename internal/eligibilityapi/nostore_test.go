package eligibilityapi_test

import (
	"bytes"
	"mime/multipart"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
	"github.com/avis-lv/gateway/internal/registry/registrytest"
)

// Every answer that carries personal codes or data about a person (the
// eligibility answer, identification means, transactions, upload status
// and error reports) is sent with Cache-Control: no-store, so that no
// browser or proxy keeps it.
func TestPersonalAnswersAreNotStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pensioner := code(t, "1945-04-16", 121)
	e.mock.Person(pensioner, registrytest.Pensioner("1945-04-16", riga))
	e.benefit(e.grantor, "ride", map[string]any{"conditions": map[string]any{"municipality": riga}})

	type answer struct {
		route  string
		status int
		res    gatewaytest.Response
	}
	var answers []answer
	do := func(route string, status int, method, path, token string, body any, headers ...string) gatewaytest.Response {
		t.Helper()
		res := e.h.Do(method, path, token, body, headers...)
		answers = append(answers, answer{route, status, res})
		return res
	}

	// Eligibility, means and transactions.
	var d decision
	do("POST /v1/eligibility", 200, "POST", "/v1/eligibility", e.provider,
		map[string]any{"person": byCode(pensioner), "pointOfSale": map[string]any{"id": "pos-1"}, "lines": rideLine}).JSON(t, &d)
	do("PUT /v1/means/{type}/{number} (created)", 201, "PUT", "/v1/means/etalons/NS-0001", e.grantor, map[string]any{"personCode": pensioner})
	do("PUT /v1/means/{type}/{number} (updated)", 200, "PUT", "/v1/means/etalons/NS-0001", e.grantor, map[string]any{"personCode": pensioner, "validFrom": "2026-01-01"})
	var tx txAnswer
	do("POST /v1/transactions", 201, "POST", "/v1/transactions", e.provider, report(d.DecisionID, claim("ride", 150)), "Idempotency-Key", "nostore-0001").JSON(t, &tx)
	e.listTransactions(t, e.grantor, "/v1/transactions", 1)
	do("GET /v1/transactions", 200, "GET", "/v1/transactions", e.grantor, nil)
	do("POST /v1/transactions/{transactionId}/reversal", 200, "POST", "/v1/transactions/"+tx.ID+"/reversal", e.provider, nil, "Idempotency-Key", "nostore-0002")

	// An upload with an invalid row: its status, final status and error
	// report (JSON and CSV, which hold the personal codes of the rows).
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "list.csv")
	fw.Write([]byte("personas_kods;derīgs_no;derīgs_līdz\n" + pensioner + ";2026-01-01;\n" + "not-a-personal-code;2026-01-01;\n"))
	mw.WriteField("policy", "skip-invalid")
	mw.Close()
	var up struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	do("POST /v1/lists/{listId}/uploads", 202, "POST", "/v1/lists/nostore/uploads", e.grantor, body.Bytes(), "Content-Type", mw.FormDataContentType()).JSON(t, &up)
	for deadline := time.Now().Add(30 * time.Second); up.Status != "applied" && up.Status != "rejected" && up.Status != "failed"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("upload still %s", up.Status)
		}
		e.h.Do("GET", "/v1/uploads/"+up.ID, e.grantor, nil).JSON(t, &up)
	}
	if up.Status != "applied" {
		t.Fatalf("upload %s, want applied with one invalid row", up.Status)
	}
	do("GET /v1/uploads/{uploadId} (final)", 200, "GET", "/v1/uploads/"+up.ID, e.grantor, nil)
	do("GET /v1/uploads/{uploadId}/errors (JSON)", 200, "GET", "/v1/uploads/"+up.ID+"/errors", e.grantor, nil)
	do("GET /v1/uploads/{uploadId}/errors (CSV)", 200, "GET", "/v1/uploads/"+up.ID+"/errors?format=csv", e.grantor, nil)

	for _, a := range answers {
		t.Run(a.route, func(t *testing.T) {
			if a.res.Status != a.status {
				t.Fatalf("status %d, want %d: %s", a.res.Status, a.status, a.res.Body)
			}
			if got := a.res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
		})
	}
}
