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
	// Half price, then a free stand-in computed on the half left, then a
	// free benefit computed on the same half: the three together are 150
	// cents of a 100-cent line.
	withLines := eligibility.Decision{ID: uuid.New(), Provider: "40000000009", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute),
		WithLines: true, SaleCents: cents(100), Benefits: []eligibility.Applied{
			benefit("a", eligibility.StatusApplies, cents(50)), benefit("u", eligibility.StatusUnknown, cents(50)), benefit("b", eligibility.StatusApplies, cents(50))}}
	withoutLines := eligibility.Decision{ID: uuid.New(), Provider: "40000000009", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute),
		Benefits: []eligibility.Applied{benefit("pct", eligibility.StatusApplies, nil), benefit("capped", eligibility.StatusApplies, cents(300))}}
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
		{"no lines, an amount in the decision", withoutLines, nil, []Claim{{"capped", 300}}, ""},
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
