package transactions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/avis-lv/gateway/internal/eligibility"
)

// decisionStore answers one decision and accepts what passes validation;
// the rest of Store is not reached by Report.
type decisionStore struct {
	Store
	d eligibility.Decision
}

func (s decisionStore) Decision(context.Context, uuid.UUID) (eligibility.Decision, error) {
	return s.d, nil
}
func (s decisionStore) ByKey(context.Context, string, string) (Transaction, [32]byte, error) {
	return Transaction{}, [32]byte{}, ErrNotFound
}
func (s decisionStore) Insert(_ context.Context, in Insert) (Transaction, bool, error) {
	return in.Transaction, false, nil
}

func cents(n int64) *int64 { return &n }

// The claims of a report together stay within the sale: with receipt
// lines, within the lines the decision was computed for; without them,
// within the reported total, which claims without an amount then need.
func TestClaimsBoundedBySale(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	benefit := func(id string, status eligibility.Status, max *int64) eligibility.Applied {
		return eligibility.Applied{BenefitID: id, Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: status, Combinable: true, MaxCents: max}
	}
	percent := func(id string, max *int64) eligibility.Applied {
		a, bp := benefit(id, eligibility.StatusApplies, max), 5000
		a.PercentBasisPoints = &bp
		return a
	}
	// Half price, then a free stand-in computed on the half left, then a
	// free benefit computed on the same half: the three together are 150
	// cents of a 100-cent line.
	withLines := eligibility.Decision{ID: uuid.New(), Provider: "40000000009", At: now, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute),
		WithLines: true, SaleCents: cents(100), Benefits: []eligibility.Applied{
			benefit("a", eligibility.StatusApplies, cents(50)), benefit("u", eligibility.StatusUnknown, cents(50)), benefit("b", eligibility.StatusApplies, cents(50))}}
	withoutLines := eligibility.Decision{ID: uuid.New(), Provider: "40000000009", At: now, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute),
		Benefits: []eligibility.Applied{benefit("pct", eligibility.StatusApplies, nil), benefit("capped", eligibility.StatusApplies, cents(300)),
			percent("half", nil), percent("half-capped", cents(300)), percent("half2", nil)}}
	for _, tt := range []struct {
		name     string
		d        eligibility.Decision
		total    *int64
		claims   []Claim
		wantCode string // "" accepted
	}{
		{"all three exceed the line", withLines, nil, []Claim{{"a", 50}, {"u", 50}, {"b", 50}}, "discount.above_sale"},
		{"the stand-in and the one before it", withLines, nil, []Claim{{"a", 50}, {"u", 50}}, ""},
		{"without the stand-in", withLines, nil, []Claim{{"a", 50}, {"b", 50}}, ""},
		{"no lines, no total, no amount", withoutLines, nil, []Claim{{"pct", 500}}, "transaction.total_required"},
		{"no lines, a total", withoutLines, cents(1000), []Claim{{"pct", 500}}, ""},
		{"no lines, above the total", withoutLines, cents(400), []Claim{{"pct", 500}}, "discount.above_total"},
		// A fixed amount of 300 on a sale of 200 would be more than the
		// sale: without lines only the total can tell.
		{"no lines, an amount in the decision, no total", withoutLines, nil, []Claim{{"capped", 300}}, "transaction.total_required"},
		{"no lines, an amount in the decision above the total", withoutLines, cents(200), []Claim{{"capped", 300}}, "discount.above_total"},
		{"no lines, an amount in the decision within the total", withoutLines, cents(300), []Claim{{"capped", 300}}, ""},
		{"no lines, nothing claimed", withoutLines, nil, []Claim{{"capped", 0}}, ""},
		// A percentage checked without lines gives its rate of the total.
		{"no lines, half of the total", withoutLines, cents(1000), []Claim{{"half", 500}}, ""},
		{"no lines, more than half of the total", withoutLines, cents(1000), []Claim{{"half", 501}}, "discount.above_decision"},
		{"no lines, half of the total above the cap", withoutLines, cents(1000), []Claim{{"half-capped", 301}}, "discount.above_decision"},
		{"no lines, a percentage needs the total", withoutLines, nil, []Claim{{"half-capped", 100}}, "transaction.total_required"},
		// Two halves stack as on lines: the second gives half of what the
		// first left (1000 → 500 → 250), whichever order they are reported in.
		{"no lines, two halves stacked", withoutLines, cents(1000), []Claim{{"half2", 250}, {"half", 500}}, ""},
		{"no lines, two halves each of the total", withoutLines, cents(1000), []Claim{{"half", 500}, {"half2", 500}}, "discount.above_decision"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := decisionStore{d: tt.d}
			signer, err := NewReceiptSigner(nil, st, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := NewService(st, signer, Config{Location: time.UTC, Now: func() time.Time { return now }})
			_, _, err = s.Report(context.Background(), tt.d.Provider, "k", Report{DecisionID: tt.d.ID, ReceiptNumber: "K-1", OccurredAt: now, TotalCents: tt.total, Benefits: tt.claims})
			var re *RuleError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.wantCode != "" && (!errors.As(err, &re) || re.Violations[0].Code != tt.wantCode):
				t.Errorf("got %v, want %s", err, tt.wantCode)
			}
		})
	}
}

// reversalStore holds one accepted transaction and records reversals.
type reversalStore struct {
	Store
	t        Transaction
	reversed *int
}

func (s reversalStore) Get(context.Context, uuid.UUID) (Transaction, error) { return s.t, nil }
func (s reversalStore) Reverse(context.Context, uuid.UUID, string, string, time.Time, Receipt) (bool, error) {
	*s.reversed++
	return true, nil
}

// Text a signed XML receipt cannot hold is refused where the report and
// the reversal are validated, naming the field.
func TestReceiptTextMustBeXML(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	d := eligibility.Decision{ID: uuid.New(), Provider: "40000000009", At: now, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute),
		Benefits: []eligibility.Applied{{BenefitID: "a", Version: 1, Grantor: "90000000001", Status: eligibility.StatusApplies, Combinable: true, MaxCents: cents(50)}}}
	tests := []struct {
		text, detail string // detail "" when accepted
	}{
		{"K-1", ""},
		{"Rīga\t7\r\n", ""},
		{"bad\uFFFE", "U+FFFE at character 4"},
		{"\uFFFF", "U+FFFF at character 1"},
		{"a\x02", "U+0002 at character 2"},
		{"\xed\xa0\x80", "invalid UTF-8 at character 1"},
	}
	check := func(t *testing.T, err error, pointer, detail string) {
		t.Helper()
		var re *RuleError
		switch {
		case detail == "" && err != nil:
			t.Errorf("refused: %v", err)
		case detail != "" && (!errors.As(err, &re) || len(re.Violations) != 1 || re.Violations[0].Pointer != pointer || re.Violations[0].Code != "text.invalid_character" || re.Violations[0].Detail != detail):
			t.Errorf("got %v, want %s text.invalid_character (%s)", err, pointer, detail)
		}
	}
	for _, tt := range tests {
		t.Run("receipt number "+tt.text, func(t *testing.T) {
			st := decisionStore{d: d}
			signer, _ := NewReceiptSigner(nil, st, nil, nil)
			s := NewService(st, signer, Config{Location: time.UTC, Now: func() time.Time { return now }})
			_, _, err := s.Report(context.Background(), d.Provider, "k", Report{DecisionID: d.ID, ReceiptNumber: tt.text, OccurredAt: now, TotalCents: cents(100), Benefits: []Claim{{"a", 50}}})
			check(t, err, "/receiptNumber", tt.detail)
		})
		t.Run("reversal reason "+tt.text, func(t *testing.T) {
			reversed := 0
			st := reversalStore{t: Transaction{ID: uuid.New(), Status: StatusAccepted, Provider: d.Provider, ReceiptID: uuid.New()}, reversed: &reversed}
			signer, _ := NewReceiptSigner(nil, st, nil, nil)
			s := NewService(st, signer, Config{Location: time.UTC, Now: func() time.Time { return now }})
			_, err := s.Reverse(context.Background(), d.Provider, st.t.ID, "k", tt.text)
			check(t, err, "/reason", tt.detail)
			if tt.detail != "" && reversed != 0 {
				t.Error("the transaction was reversed")
			}
		})
	}
}

// A sale is reported for the moment its check was asked about: a check of
// an earlier sale names it in at, and the report's occurredAt may not
// stray from it by more than the decision's lifetime and the till clock's
// allowance (else yesterday's unused limit, or a benefit that had ended,
// could be spent on a sale today).
func TestOccurredAtNearTheCheck(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	at := now.Add(-20 * time.Hour) // a check of a sale made yesterday
	d := eligibility.Decision{ID: uuid.New(), Provider: "40000000009", At: at, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute),
		Benefits: []eligibility.Applied{{BenefitID: "a", Version: 1, Grantor: "90000000001", Status: eligibility.StatusApplies, Combinable: true, MaxCents: cents(50)}}}
	for _, tt := range []struct {
		name     string
		occurred time.Time
		ok       bool
	}{
		{"at the check's time", at, true},
		{"the till's clock 10 minutes behind", at.Add(-10 * time.Minute), true},
		{"11 minutes before", at.Add(-11 * time.Minute), false},
		{"within the decision's lifetime after", at.Add(15 * time.Minute), true},
		{"later than that", at.Add(16 * time.Minute), false},
		{"now, a day after the sale checked", now, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := decisionStore{d: d}
			signer, _ := NewReceiptSigner(nil, st, nil, nil)
			s := NewService(st, signer, Config{Location: time.UTC, Now: func() time.Time { return now }})
			_, _, err := s.Report(context.Background(), d.Provider, "k", Report{DecisionID: d.ID, ReceiptNumber: "K-1", OccurredAt: tt.occurred, TotalCents: cents(100), Benefits: []Claim{{"a", 50}}})
			var re *RuleError
			switch {
			case tt.ok && err != nil:
				t.Errorf("refused: %v", err)
			case !tt.ok && (!errors.As(err, &re) || re.Violations[0].Code != "transaction.occurred_at_out_of_range" || re.Violations[0].Pointer != "/occurredAt"):
				t.Errorf("got %v, want /occurredAt transaction.occurred_at_out_of_range", err)
			}
		})
	}
}
