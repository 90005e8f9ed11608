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
	d := eligibility.Decision{ID: uuid.New(), Provider: "40000000009", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute),
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
		case detail != "" && (!errors.As(err, &re) || len(re.Violations) != 1 || re.Violations[0] != Violation{Pointer: pointer, Code: "text.invalid_character", Detail: detail}):
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
