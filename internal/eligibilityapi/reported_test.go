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
		// The sale is checked for its own time, as a till that checks
		// after the sale does.
		res := e.h.Do("POST", "/v1/eligibility", token, map[string]any{"person": byCode(pensioner), "pointOfSale": map[string]any{"id": "pos-1"},
			"at": occurredAt.UTC().Format(time.RFC3339Nano), "lines": rideLine})
		var d decision
		res.JSON(t, &d)
		res = e.h.Do("POST", "/v1/transactions", token, map[string]any{"decisionId": d.DecisionID, "receiptNumber": receiptNumber,
			"occurredAt": occurredAt.UTC().Format(time.RFC3339Nano), "totalCents": 150, "benefits": []map[string]any{claim("ride", 150)}},
			"Idempotency-Key", "reported-"+receiptNumber)
		var a txAnswer
		res.JSON(t, &a)
		if res.Status != http.StatusCreated {
			t.Fatalf("report %s: %d %s", receiptNumber, res.Status, res.Body)
		}
		return a
	}
	// Sales today, after Riga's midnight even in the test's first minute
	// of a day, and one just before that midnight (a check may be asked
	// about a sale up to 24 hours before).
	now := time.Now()
	y, m, d := now.In(riga).Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, riga)
	base := now.Add(-90 * time.Minute)
	if base.Before(midnight) {
		base = midnight.Add(time.Second)
	}
	today := midnight.Format(time.DateOnly)
	yesterday := midnight.Add(-time.Minute)
	withYesterday := yesterday.After(now.Add(-24*time.Hour + time.Minute))
	late := report(e.provider, "R-3", base.Add(2*time.Second))
	first := report(e.provider, "R-1", base)
	second := report(e.provider, "R-2", base.Add(time.Second))
	var before txAnswer
	if withYesterday {
		before = report(e.provider, "R-0", yesterday)
	}
	other := report(e.provider2, "R-1", base)

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
	t.Run("the day before, alone", func(t *testing.T) {
		if !withYesterday {
			t.Skip("in the last minute of a day, no sale of the day before is still in range")
		}
		day := yesterday.In(riga).Format(time.DateOnly)
		_, p, body := list(e.provider, url.Values{"from": {day}, "to": {day}})
		if fmt.Sprint(ids(p.Items)) != fmt.Sprint([]string{before.ID}) {
			t.Fatalf("sales on %s: %s", day, body)
		}
		_, p, body = list(e.provider, url.Values{"from": {day}, "to": {today}})
		if len(p.Items) != 4 || p.Items[0].ID != before.ID {
			t.Fatalf("sales on %s and %s: %s", day, today, body)
		}
	})
	t.Run("a cursor does not widen the dates", func(t *testing.T) {
		_, p, _ := list(e.provider, url.Values{"limit": {"1"}})
		if !p.HasMore {
			t.Fatal("one page held every sale")
		}
		day := yesterday.In(riga).Format(time.DateOnly)
		_, p, body := list(e.provider, url.Values{"from": {day}, "to": {day}, "cursor": {p.NextCursor}})
		if len(p.Items) != 0 {
			t.Fatalf("a cursor of today's listing listed today's sales on %s: %s", day, body)
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
			{"from after today", e.provider, url.Values{"from": {midnight.AddDate(0, 0, 1).Format(time.DateOnly)}}, http.StatusBadRequest, "from", "dates.order"},
			{"32 days", e.provider, url.Values{"from": {"2026-01-01"}, "to": {"2026-02-01"}}, http.StatusBadRequest, "to", "dates.range"},
			{"31 days", e.provider, url.Values{"from": {"2026-01-01"}, "to": {"2026-01-31"}}, http.StatusOK, "", ""},
			{"31 days over the spring change", e.provider, url.Values{"from": {"2026-03-10"}, "to": {"2026-04-09"}}, http.StatusOK, "", ""},
			{"32 days over the autumn change", e.provider, url.Values{"from": {"2026-10-10"}, "to": {"2026-11-10"}}, http.StatusBadRequest, "to", "dates.range"},
			{"from long ago, to today", e.provider, url.Values{"from": {midnight.AddDate(0, 0, -31).Format(time.DateOnly)}}, http.StatusBadRequest, "from", "dates.range"},
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
