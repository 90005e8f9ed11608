package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/avis-lv/gateway/internal/problem"
)

// fastOps returns the operations with a compiled body check, by id, in a
// fixed order.
func fastOps(t testing.TB) ([]string, map[string]*openapi3.Operation, *contract) {
	t.Helper()
	ct, err := newContract(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*openapi3.Operation{}
	var ids []string
	for op := range ct.fast {
		byID[op.OperationID] = op
		ids = append(ids, op.OperationID)
	}
	slices.Sort(ids)
	return ids, byID, ct
}

// kinAccepts validates body as the contract middleware does.
func kinAccepts(t testing.TB, op *openapi3.Operation, body []byte) bool {
	req, err := http.NewRequest(http.MethodPost, "http://gateway/x", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	in := &openapi3filter.RequestValidationInput{Request: req, Options: requestOptions()}
	return openapi3filter.ValidateRequestBody(context.Background(), in, op.RequestBody.Value) == nil
}

// The hot operations' bodies must be compiled, or the fast path is gone
// without anybody noticing.
func TestFastCheckCoversHotOperations(t *testing.T) {
	ids, _, _ := fastOps(t)
	for _, want := range []string{"checkEligibility", "reportTransaction", "putMeans"} {
		if !slices.Contains(ids, want) {
			t.Errorf("%s has no compiled body check (compiled: %v)", want, ids)
		}
	}
}

// Every JSON body is compiled: the compiled check is also what explains a
// refused body within a bounded cost.
func TestFastCheckCoversEveryJSONBody(t *testing.T) {
	_, _, ct := fastOps(t)
	for path, item := range ct.doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
				continue
			}
			if ct.fast[op] == nil {
				t.Errorf("%s %s (%s): its JSON body has no compiled check", method, path, op.OperationID)
			}
		}
	}
}

var eligibilityBodies = []struct {
	body string
	fast bool // accepted by the compiled check
}{
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":"p"}}`, true},
	{`{"person":{"personCode":"150445-11112"},"pointOfSale":{"id":"pos-1","terminalId":"t1"},"at":"2026-11-22T10:00:00+02:00",
	  "lines":[{"lineId":"1","goodsCode":"transport.ride","quantity":1,"amountCents":150}]}`, true},
	{`{"person":{"means":{"type":"eid_card","number":"PA1234567"}},"pointOfSale":{"id":"p"}}`, true},
	{` {"pointOfSale":{"id":"p\"q\\n"},"person":{"personCode":"32345678901"}} `, true},
	// A defaulted member that is absent: kin-openapi writes the default.
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":"p"},"lines":[{"lineId":"1","goodsCode":"transport.ride","amountCents":150}]}`, false},
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":"p"},"extra":1}`, false},
	{`{"person":{"personCode":"32345678901"}}`, false},
	{`{"person":{"personCode":"3234567890"},"pointOfSale":{"id":"p"}}`, false},
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":"p"},"at":"yesterday"}`, false},
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":"p"},"at":"2026-02-30T10:00:00Z"}`, false}, // the contract checks the calendar too
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":"` + strings.Repeat("x", 65) + `"}}`, false},
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":"p"},"lines":[{"lineId":"1","goodsCode":"g","quantity":1,"amountCents":1.5}]}`, false},
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":"p"},"lines":[{"lineId":"1","goodsCode":"g","quantity":0,"amountCents":1}]}`, false},
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":"p"},"person":{"personCode":"32345678901"}}`, false},
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":"p"}} {}`, false},
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":"p"}`, false},
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":null}}`, false},
	{`{"person":{"personCode":"32345678901"},"pointOfSale":{"id":"\u0070"}}`, false},
	{``, false},
}

func TestFastCheckEligibilityBodies(t *testing.T) {
	_, ops, _ := fastOps(t)
	op := ops["checkEligibility"]
	chk := compileFast(&openapi3.T{Paths: openapi3.NewPaths(openapi3.WithPath("/x", &openapi3.PathItem{Post: op}))}, requestOptions())[op]
	for _, c := range eligibilityBodies {
		got := chk.Valid([]byte(c.body))
		if got != c.fast {
			t.Errorf("fast check of %s = %v, want %v", c.body, got, c.fast)
		}
		if got && !kinAccepts(t, op, []byte(c.body)) {
			t.Errorf("fast check accepts what kin-openapi refuses: %s", c.body)
		}
	}
}

// FuzzFastCheckAgreesWithKin: whatever the compiled check accepts,
// kin-openapi accepts too, for every compiled operation.
func FuzzFastCheckAgreesWithKin(f *testing.F) {
	ids, ops, ct := fastOps(f)
	for _, c := range eligibilityBodies {
		f.Add(uint8(slices.Index(ids, "checkEligibility")), []byte(c.body))
	}
	for i, id := range ids {
		if ex := ops[id].RequestBody.Value.Content.Get("application/json").Schema.Value.Example; ex != nil {
			f.Add(uint8(i), []byte(mustJSON(ex)))
		}
		f.Add(uint8(i), []byte(`{}`))
	}
	f.Add(uint8(slices.Index(ids, "reportTransaction")), []byte(`{"decisionId":"0190b7a0-1111-7000-8000-000000000001","receiptNumber":"B-1","occurredAt":"2026-11-22T10:00:00Z","totalCents":150,"benefits":[{"benefitId":"ride","discountCents":150}]}`))
	f.Fuzz(func(t *testing.T, i uint8, body []byte) {
		op := ops[ids[int(i)%len(ids)]]
		if ct.fast[op].Valid(body) && !kinAccepts(t, op, body) {
			t.Fatalf("%s: fast check accepts what kin-openapi refuses: %q", op.OperationID, body)
		}
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// The static routes must be the ones the general router finds, or a
// request would be checked against another operation than it reaches.
func TestStaticRoutesAgreeWithRouter(t *testing.T) {
	_, _, ct := fastOps(t)
	if len(ct.static) == 0 {
		t.Fatal("no static routes")
	}
	for path, byMethod := range ct.static {
		for method, route := range byMethod {
			req, err := http.NewRequest(method, "http://gateway"+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			want, params, err := ct.router.FindRoute(req)
			if err != nil {
				t.Errorf("%s %s: router: %v", method, path, err)
				continue
			}
			if want.Operation != route.Operation || want.PathItem != route.PathItem || len(params) != 0 {
				t.Errorf("%s %s: static route %s, router %s %v", method, path, route.Operation.OperationID, want.Operation.OperationID, params)
			}
		}
	}
	if _, ok := ct.static["/v1/eligibility"]["POST"]; !ok {
		t.Error("POST /v1/eligibility is not routed statically")
	}
	if !ct.anyParams[ct.static["/v1/eligibility"]["POST"].Operation] {
		t.Error("checkEligibility has a parameter to check; its fast path now runs kin-openapi")
	}
	if ct.anyParams[ct.static["/v1/transactions"]["POST"].Operation] {
		t.Error("reportTransaction's required Idempotency-Key would go unchecked")
	}
}

// A caller announcing a large body and sending a few bytes must not make
// the gateway allocate what was announced.
func TestReadBodyDoesNotTrustAnnouncedLength(t *testing.T) {
	req, err := http.NewRequest(http.MethodPost, "http://gateway/x", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 1 << 20
	body, err := readBody(req, 1<<20)
	if err != nil || string(body) != "{}" {
		t.Fatalf("body %q, %v", body, err)
	}
	if cap(body) > presizeLimit {
		t.Fatalf("a buffer of %d bytes for a 2-byte body announced as 1 MiB", cap(body))
	}
}

// validBodies are a valid body of each compiled operation, from which
// contractBodies makes bad ones.
func validBodies(t testing.TB, ops map[string]*openapi3.Operation) map[string]string {
	bodies := map[string]string{
		"checkEligibility":   eligibilityBodies[1].body,
		"pushListMembers":    `{"mode":"replace","members":[{"personCode":"32345678901","validFrom":"2026-01-01","validTo":"2026-12-31"},{"personCode":"010190-10002"}]}`,
		"putMeans":           `{"personCode":"32345678901","validFrom":"2026-01-01","validTo":"2026-12-31"}`,
		"reportTransaction":  `{"decisionId":"0190b7a0-1111-7000-8000-000000000001","receiptNumber":"B-1","occurredAt":"2026-11-22T10:00:00Z","totalCents":150,"benefits":[{"benefitId":"ride","discountCents":150},{"benefitId":"b","discountCents":0}]}`,
		"reverseTransaction": `{"reason":"returned"}`,
	}
	for _, ex := range ops["putBenefit"].RequestBody.Value.Content.Get("application/json").Examples {
		bodies["putBenefit"] = mustJSON(ex.Value.Value)
	}
	for id, op := range ops {
		if b, ok := bodies[id]; !ok || !kinAccepts(t, op, []byte(b)) {
			t.Fatalf("%s: no valid body (%s)", id, b)
		}
	}
	return bodies
}

// contractBodies are bad variants of valid: every member and item in turn
// removed, replaced by values of each type, duplicated or joined by an
// unknown one.
func contractBodies(valid string) []string {
	var doc any
	if err := json.Unmarshal([]byte(valid), &doc); err != nil {
		panic(err)
	}
	replacements := []any{nil, json.Number("0"), json.Number("-1"), json.Number("1.5"), json.Number("99999999999999999999"), "", "x",
		"2026-02-30", strings.Repeat("9", 70), true, map[string]any{}, []any{}, []any{"x", "x"}, map[string]any{"zz": 1}}
	var out []string
	var walk func(v any, set func(any))
	walk = func(v any, set func(any)) {
		for _, r := range replacements {
			set(r)
			out = append(out, mustJSON(doc))
		}
		set(v)
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				delete(v, k)
				out = append(out, mustJSON(doc))
				v[k] = x
				walk(x, func(y any) { v[k] = y })
			}
			v["zz"] = 1
			out = append(out, mustJSON(doc))
			delete(v, "zz")
		case []any:
			for i, x := range v {
				walk(x, func(y any) { v[i] = y })
			}
			if len(v) > 0 {
				set(append(slices.Clone(v), v[0]))
				out = append(out, mustJSON(doc))
				set(v)
			}
		}
	}
	walk(doc, func(y any) { doc = y })
	return out
}

// kinFields are the errors the gateway answered with for body when
// kin-openapi validated every refused body.
func kinFields(t testing.TB, op *openapi3.Operation, body []byte) []problem.FieldError {
	req, err := http.NewRequest(http.MethodPost, "http://gateway/x", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	in := &openapi3filter.RequestValidationInput{Request: req, Options: requestOptions()}
	if err := openapi3filter.ValidateRequestBody(context.Background(), in, op.RequestBody.Value); err != nil {
		return requestProblem(nil, err).Errors
	}
	return nil
}

// violationsAgree fails t unless the errors Violations finds in body are
// those kin-openapi did, the same pointers, codes and details in the
// same order.
func violationsAgree(t testing.TB, ct *contract, op *openapi3.Operation, body []byte) {
	t.Helper()
	vs, more, ok := ct.fast[op].Violations(body, 1000)
	if !ok {
		return // kin-openapi checks it
	}
	var got []problem.FieldError
	for _, v := range vs {
		got = append(got, schemaFieldError(v.Path, v.Field, v.Reason))
	}
	if want := kinFields(t, op, body); more || !slices.Equal(got, want) {
		t.Errorf("%s %.300s:\nViolations:  %v\nkin-openapi: %v", op.OperationID, body, got, want)
	}
}

// A refused body is answered with the errors kin-openapi named before
// Violations did: for every operation, every bad variant of a valid body.
func TestViolationsAgreeWithKinOnTheContract(t *testing.T) {
	ids, ops, ct := fastOps(t)
	valid := validBodies(t, ops)
	n := 0
	for _, id := range ids {
		for _, body := range append(contractBodies(valid[id]), `{}`, `[]`, `{"a":1,"a":2}`) {
			violationsAgree(t, ct, ops[id], []byte(body))
			n++
		}
	}
	for _, c := range eligibilityBodies {
		violationsAgree(t, ct, ops["checkEligibility"], []byte(c.body))
	}
	t.Logf("%d bodies", n)
}

func FuzzViolationsAgreeWithKinOnTheContract(f *testing.F) {
	ids, ops, ct := fastOps(f)
	valid := validBodies(f, ops)
	for i, id := range ids {
		for _, body := range contractBodies(valid[id]) {
			f.Add(uint8(i), []byte(body))
		}
	}
	f.Fuzz(func(t *testing.T, i uint8, body []byte) {
		violationsAgree(t, ct, ops[ids[int(i)%len(ids)]], body)
	})
}
