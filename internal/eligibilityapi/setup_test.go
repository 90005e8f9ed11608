package eligibilityapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/internal/registry/registrytest"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

const (
	grantorOrg   = "90000000001"
	grantor2Org  = "90000000002"
	providerOrg  = "40000000001"
	provider2Org = "40000000002"
	riga         = "0001000"
)

// env is a gateway wired to an in-process registry mock, with benefits.
type env struct {
	t                   testing.TB
	h                   *gatewaytest.Harness
	mock                *registrytest.Mock
	grantor, grantor2   string
	provider, provider2 string
}

// code returns a valid old-format personal code for a birth date and a
// serial (three digits).
func code(t testing.TB, birth string, serial int) string {
	t.Helper()
	b, err := time.Parse(time.DateOnly, birth)
	if err != nil {
		t.Fatal(err)
	}
	century := map[int]int{18: 0, 19: 1, 20: 2}[b.Year()/100]
	first10 := fmt.Sprintf("%02d%02d%02d%d%03d", b.Day(), int(b.Month()), b.Year()%100, century, serial)
	check, err := personcode.CheckDigit(first10)
	if err != nil {
		t.Fatal(err)
	}
	c := first10[:6] + "-" + first10[6:] + string(check)
	if _, err := personcode.Parse(c); err != nil {
		t.Fatalf("made an invalid code %s: %v", c, err)
	}
	return c
}

func newEnv(t testing.TB, opts ...gatewaytest.Option) *env {
	t.Helper()
	m := registrytest.Start(t)
	all := append([]gatewaytest.Option{func(c *config.Config) {
		c.SigningKeyFile, c.SigningCertFile, c.MocksURL = m.KeyFile, m.CertFile, m.URL
		c.RegistryTimeout = 300 * time.Millisecond
		// Tests count registry requests; the changes feeds are followed
		// only where a test asks for it.
		c.RegistryChangesEvery = 0
	}}, opts...)
	h := gatewaytest.New(t, all...)
	e := &env{t: t, h: h, mock: m,
		grantor:   h.Token(grantorOrg, auth.RoleGrantor),
		grantor2:  h.Token(grantor2Org, auth.RoleGrantor),
		provider:  h.Token(providerOrg, auth.RoleProvider),
		provider2: h.Token(provider2Org, auth.RoleProvider),
	}
	return e
}

// benefit puts a benefit instruction as grantor.
func (e *env) benefit(token, id string, in map[string]any) gatewaytest.Response {
	e.t.Helper()
	base := map[string]any{
		"name": id, "category": "transport", "ekkCode": "6421", "validFrom": "2026-01-01", "validTo": "2027-12-31",
		"priority": 10, "combinable": false, "discount": map[string]any{"type": "free"},
		"goodsCodes": []string{"transport.ride"}, "providers": []string{providerOrg},
		"recipientGroup": map[string]any{"registryGroup": "pensioners"},
	}
	for k, v := range in {
		base[k] = v
	}
	res := e.h.Do("PUT", "/v1/benefits/"+id, token, base)
	if res.Status != http.StatusCreated && res.Status != http.StatusOK {
		e.t.Fatalf("put benefit %s: %d %s", id, res.Status, res.Body)
	}
	return res
}

// decision is the decoded answer of a check.
type decision struct {
	DecisionID string `json:"decisionId"`
	ExpiresAt  string `json:"expiresAt"`
	Benefits   []struct {
		BenefitID        string `json:"benefitId"`
		Version          int    `json:"version"`
		Grantor          string `json:"grantor"`
		Status           string `json:"status"`
		DiscountCents    *int64 `json:"discountCents"`
		MaxDiscountCents *int64 `json:"maxDiscountCents"`
		Lines            []struct {
			LineID        string `json:"lineId"`
			DiscountCents int64  `json:"discountCents"`
		} `json:"lines"`
	} `json:"benefits"`
	TotalDiscountCents int64 `json:"totalDiscountCents"`
}

func (d decision) status(id string) string {
	for _, b := range d.Benefits {
		if b.BenefitID == id {
			return b.Status
		}
	}
	return "absent"
}

func (d decision) discount(id string) int64 {
	for _, b := range d.Benefits {
		if b.BenefitID == id && b.DiscountCents != nil {
			return *b.DiscountCents
		}
	}
	return -1
}

var rideLine = []map[string]any{{"lineId": "1", "goodsCode": "transport.ride", "quantity": 1, "amountCents": 150}}

// check asks as token about a person code and wants 200.
func (e *env) check(token string, person map[string]any, lines []map[string]any) decision {
	e.t.Helper()
	body := map[string]any{"person": person, "pointOfSale": map[string]any{"id": "pos-1", "terminalId": "t-1"}}
	if lines != nil {
		body["lines"] = lines
	}
	res := e.h.Do("POST", "/v1/eligibility", token, body)
	if res.Status != http.StatusOK {
		e.t.Fatalf("eligibility: %d %s", res.Status, res.Body)
	}
	var d decision
	res.JSON(e.t, &d)
	return d
}

func byCode(c string) map[string]any { return map[string]any{"personCode": c} }

func byMeans(t, n string) map[string]any {
	return map[string]any{"means": map[string]any{"type": t, "number": n}}
}

func TestMain(m *testing.M) {
	// The contract checker must read the XML view of receipts, a string.
	openapi3filter.RegisterBodyDecoder("application/xml", openapi3filter.FileBodyDecoder)
	os.Exit(m.Run())
}

// listTransactions gets a grantor's listing at path once it holds at least
// n items: a transaction is listed once every database transaction older
// than it has finished, on the whole PostgreSQL server, and parallel tests
// keep some running. After 10 s it fails the test naming the oldest one.
func (e *env) listTransactions(t testing.TB, token, path string, n int) gatewaytest.Response {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := e.h.Do("GET", path, token, nil)
		var page struct {
			Items []json.RawMessage `json:"items"`
		}
		res.JSON(t, &page)
		if len(page.Items) >= n {
			return res
		}
		if time.Now().After(deadline) {
			t.Errorf("after 10 s %s lists %d transactions, want at least %d; %s",
				path, len(page.Items), n, storetest.OldestTransaction(context.Background(), e.h.App.Pool))
			return res
		}
		time.Sleep(20 * time.Millisecond)
	}
}
