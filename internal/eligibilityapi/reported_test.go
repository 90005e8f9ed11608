package eligibilityapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/registry/registrytest"
)

// A provider finds the transactions it reported by sale date and receipt
// number: a day's reconciliation, or a transaction whose answer and
// Idempotency-Key were both lost. It never sees another provider's.
func TestReportedTransactions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pensioner := code(t, "1944-03-02", 321)
	e.mock.Person(pensioner, registrytest.Pensioner("1944-03-02", riga))
	e.benefit(e.grantor, "ride", map[string]any{"providers": []string{providerOrg, provider2Org}})
	riga, err := time.LoadLocation("Europe/Riga")
	if err != nil {
		t.Fatal(err)
	}
	report := func(token, receiptNumber string, occurredAt time.Time) txAnswer {
		t.Helper()
		d := e.check(token, byCode(pensioner), rideLine)
		res := e.h.Do("POST", "/v1/transactions", token, map[string]any{"decisionId": d.DecisionID, "receiptNumber": receiptNumber,
			"occurredAt": occurredAt.UTC().Format(time.RFC3339Nano), "totalCents": 150, "benefits": []map[string]any{claim("ride", 150)}},
			"Idempotency-Key", "reported-"+receiptNumber)
		var a txAnswer
		res.JSON(t, &a)
		if res.Status != http.StatusCreated {
			t.Fatalf("report %s: %d %s", receiptNumber, res.Status, res.Body)
		}
		return a
	}
	now := time.Now()
	today := now.In(riga).Format(time.DateOnly)
	// Earlier on the same day when it can be, else a minute ago.
	earlier := now.Add(-time.Minute)
	if h := now.In(riga).Hour(); h >= 2 {
		earlier = now.Add(-90 * time.Minute)
	}
	late := report(e.provider, "R-3", now)
	first := report(e.provider, "R-1", earlier)
	second := report(e.provider, "R-2", earlier.Add(time.Second))
	dayBefore := report(e.provider, "R-0", now.Add(-23*time.Hour)) // on the day before, or earlier today
	other := report(e.provider2, "R-1", now)

	type page struct {
		Items      []txAnswer `json:"items"`
		HasMore    bool       `json:"hasMore"`
		NextCursor string     `json:"nextCursor"`
	}
	list := func(token string, q url.Values) (int, page, []byte) {
		t.Helper()
		res := e.h.Do("GET", "/v1/reported-transactions?"+q.Encode(), token, nil)
		var p page
		if res.Status == http.StatusOK {
			res.JSON(t, &p)
		}
		return res.Status, p, res.Body
	}
	ids := func(txs []txAnswer) []string {
		out := make([]string, len(txs))
		for i, tx := range txs {
			out[i] = tx.ID
		}
		return out
	}

	t.Run("today, in sale order, one page at a time", func(t *testing.T) {
		want := []string{first.ID, second.ID, late.ID}
		if now.Add(-23*time.Hour).In(riga).Format(time.DateOnly) == today {
			want = []string{dayBefore.ID, first.ID, second.ID, late.ID}
		}
		var got []string
		q := url.Values{"limit": {"1"}}
		for range 10 {
			status, p, body := list(e.provider, q)
			if status != http.StatusOK || len(p.Items) != 1 || p.HasMore != (p.NextCursor != "") {
				t.Fatalf("page: %d %s", status, body)
			}
			got = append(got, p.Items[0].ID)
			if !p.HasMore {
				break
			}
			q.Set("cursor", p.NextCursor)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("listed %v, want %v", got, want)
		}
	})
	t.Run("the day before", func(t *testing.T) {
		day := now.Add(-23 * time.Hour).In(riga).Format(time.DateOnly)
		_, p, body := list(e.provider, url.Values{"from": {day}, "to": {day}})
		found := false
		for _, tx := range p.Items {
			found = found || tx.ID == dayBefore.ID
		}
		if !found {
			t.Fatalf("the sale 23 hours ago is not on %s: %s", day, body)
		}
	})
	t.Run("by receipt number, own only", func(t *testing.T) {
		_, p, body := list(e.provider, url.Values{"receiptNumber": {"R-1"}})
		if fmt.Sprint(ids(p.Items)) != fmt.Sprint([]string{first.ID}) || p.HasMore {
			t.Fatalf("provider's R-1: %s", body)
		}
		_, p, body = list(e.provider2, url.Values{"receiptNumber": {"R-1"}})
		if fmt.Sprint(ids(p.Items)) != fmt.Sprint([]string{other.ID}) {
			t.Fatalf("provider2's R-1: %s", body)
		}
	})
	t.Run("by status", func(t *testing.T) {
		res := e.h.Do("POST", "/v1/transactions/"+second.ID+"/reversal", e.provider, map[string]any{"reason": "returned"}, "Idempotency-Key", "reported-rev-1")
		if res.Status != http.StatusCreated && res.Status != http.StatusOK {
			t.Fatalf("reversal: %d %s", res.Status, res.Body)
		}
		_, p, body := list(e.provider, url.Values{"status": {"reversed"}})
		if fmt.Sprint(ids(p.Items)) != fmt.Sprint([]string{second.ID}) || p.Items[0].Status != "reversed" {
			t.Fatalf("reversed: %s", body)
		}
	})
	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			name      string
			token     string
			q         url.Values
			status    int
			parameter string
			code      string
		}{
			{"a grantor", e.grantor, url.Values{}, http.StatusForbidden, "", ""},
			{"dates out of order", e.provider, url.Values{"from": {"2026-11-02"}, "to": {"2026-11-01"}}, http.StatusBadRequest, "to", "dates.order"},
			{"more than 31 days", e.provider, url.Values{"from": {"2026-01-01"}, "to": {"2026-03-01"}}, http.StatusBadRequest, "to", "dates.range"},
			{"a cursor not issued", e.provider, url.Values{"cursor": {"AAAA"}}, http.StatusBadRequest, "cursor", "cursor.invalid"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res := e.h.Do("GET", "/v1/reported-transactions?"+tt.q.Encode(), tt.token, nil)
				if res.Status != tt.status {
					t.Fatalf("%d %s, want %d", res.Status, res.Body, tt.status)
				}
				if tt.code == "" {
					return
				}
				if p := res.Problem(t); len(p.Errors) != 1 || p.Errors[0].Parameter != tt.parameter || p.Errors[0].Code != tt.code {
					t.Fatalf("%s", res.Body)
				}
			})
		}
	})
}
