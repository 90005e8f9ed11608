package eligibilityapi_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

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
	body := []byte(`{"person":{"personCode":"` + pensioner + `"},"pointOfSale":{"id":"p"},"lines":[{"lineId":"1","goodsCode":"transport.ride","amountCents":150}]}`)
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
