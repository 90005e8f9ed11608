package eligibilityapi_test

import (
	"bytes"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/registry/registrytest"
)

// BenchmarkCheckWarm measures a warm eligibility check through the whole
// server (authentication, contract validation, cache, decision write) over
// loopback HTTP. Profile it with -cpuprofile.
func BenchmarkCheckWarm(b *testing.B) {
	e := newEnv(b)
	pensioner := code(b, "1945-04-15", 111)
	e.mock.Person(pensioner, registrytest.Pensioner("1945-04-15", riga))
	e.benefit(e.grantor, "riga-pensioner-ride", map[string]any{"conditions": map[string]any{"municipality": riga}})
	body := []byte(`{"person":{"personCode":"` + pensioner + `"},"pointOfSale":{"id":"p"},"lines":[{"lineId":"1","goodsCode":"transport.ride","quantity":1,"amountCents":150}]}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	send := func() {
		req, _ := http.NewRequest("POST", e.h.URL+"/v1/eligibility", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.provider)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
	send()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			send()
		}
	})
}

// BenchmarkReportTransaction measures reporting transactions (with their
// receipts signed in the background) through the whole server.
func BenchmarkReportTransaction(b *testing.B) {
	e := newEnv(b)
	pensioner := code(b, "1945-04-15", 111)
	e.mock.Person(pensioner, registrytest.Pensioner("1945-04-15", riga))
	e.benefit(e.grantor, "ride", map[string]any{})
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = e.check(e.provider, byCode(pensioner), rideLine).DecisionID
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	now := time.Now().UTC().Format(time.RFC3339)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			body := []byte(`{"decisionId":"` + ids[i] + `","receiptNumber":"B","occurredAt":"` + now + `","benefits":[{"benefitId":"ride","discountCents":150}]}`)
			req, _ := http.NewRequest("POST", e.h.URL+"/v1/transactions", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e.provider)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "bench-"+ids[i])
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 201 {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	})
}
