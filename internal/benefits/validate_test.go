package benefits

import (
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/ekk"
)

func validInstruction() Instruction {
	return Instruction{
		Name: "Free rides", Category: "transport", EKKCode: "6421",
		ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Priority: 1,
		Discount:   Discount{Type: DiscountFree},
		GoodsCodes: []string{"transport.ride"}, Providers: []string{"40000000001"},
		RecipientGroup: RecipientGroup{RegistryGroup: "pensioners"},
	}
}

func TestValidate(t *testing.T) {
	classifier, err := ekk.Load()
	if err != nil {
		t.Fatal(err)
	}
	before := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	five, three := 5, 3
	tests := []struct {
		name     string
		change   func(*Instruction)
		pointers []string
		codes    []string
		excluded bool
	}{
		{"valid", func(*Instruction) {}, nil, nil, false},
		{"validTo before validFrom", func(in *Instruction) { in.ValidTo = &before }, []string{"/validTo"}, []string{"dates.order"}, false},
		{"percent without percentage", func(in *Instruction) { in.Discount = Discount{Type: DiscountPercent} }, []string{"/discount/percentBasisPoints"}, []string{"discount.percent_missing"}, false},
		{"fixed without amount", func(in *Instruction) { in.Discount = Discount{Type: DiscountFixed} }, []string{"/discount/amountCents"}, []string{"discount.amount_missing"}, false},
		{"free with amount", func(in *Instruction) { in.Discount = Discount{Type: DiscountFree, AmountCents: 5} }, []string{"/discount/amountCents"}, []string{"discount.extra_field"}, false},
		{"both recipient kinds", func(in *Instruction) { in.RecipientGroup.PersonListID = "l1" }, []string{"/recipientGroup"}, []string{"recipients.exactly_one"}, false},
		{"no recipients", func(in *Instruction) { in.RecipientGroup = RecipientGroup{} }, []string{"/recipientGroup"}, []string{"recipients.exactly_one"}, false},
		{"ages reversed", func(in *Instruction) { in.Conditions.MinAge, in.Conditions.MaxAge = &five, &three }, []string{"/conditions/maxAge"}, []string{"age.order"}, false},
		{"wildcard with others", func(in *Instruction) { in.GoodsCodes = []string{"*", "food.lunch"} }, []string{"/goodsCodes/0"}, []string{"goods.wildcard_alone"}, false},
		{"tax is excluded", func(in *Instruction) { in.Category = "tax_or_fee" }, []string{"/category"}, []string{"category.excluded"}, true},
		{"employer benefit is excluded", func(in *Instruction) { in.Category = "employer_benefit" }, []string{"/category"}, []string{"category.excluded"}, true},
		{"pension EKK code is cash", func(in *Instruction) { in.EKKCode = "6211" }, []string{"/ekkCode"}, []string{"ekk.cash_benefit"}, true},
		{"employer EKK code", func(in *Instruction) { in.EKKCode = "6340" }, []string{"/ekkCode"}, []string{"ekk.employer_benefit"}, true},
		{"group heading", func(in *Instruction) { in.EKKCode = "6320" }, []string{"/ekkCode"}, []string{"ekk.not_leaf"}, false},
		{"repealed code", func(in *Instruction) { in.EKKCode = "6350" }, []string{"/ekkCode"}, []string{"ekk.repealed"}, false},
		{"outside the 6000 group", func(in *Instruction) { in.EKKCode = "2100" }, []string{"/ekkCode"}, []string{"ekk.unknown"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInstruction()
			tt.change(&in)
			err := Validate(in, classifier)
			if tt.codes == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("Validate = %v, want *ValidationError", err)
			}
			if len(ve.Violations) != len(tt.codes) {
				t.Fatalf("violations %+v, want codes %v", ve.Violations, tt.codes)
			}
			for i, v := range ve.Violations {
				if v.Code != tt.codes[i] || v.Pointer != tt.pointers[i] {
					t.Errorf("violation %d = %s %s, want %s %s", i, v.Pointer, v.Code, tt.pointers[i], tt.codes[i])
				}
			}
			if ve.Excluded != tt.excluded {
				t.Errorf("Excluded = %v, want %v", ve.Excluded, tt.excluded)
			}
		})
	}
}

func TestFeedChanges(t *testing.T) {
	got := feedChanges([]string{"A", "B"}, []string{"B", "C"})
	want := map[string]bool{"B": true, "C": true, "A": false}
	if len(got) != len(want) {
		t.Fatalf("feedChanges = %+v", got)
	}
	for _, c := range got {
		if want[c.Provider] != c.Admitted {
			t.Errorf("%s admitted = %v, want %v", c.Provider, c.Admitted, want[c.Provider])
		}
	}
}

func TestCursorsRoundTripAndRejectForgeries(t *testing.T) {
	if n, err := decodeSeqCursor(encodeSeqCursor(42)); err != nil || n != 42 {
		t.Fatalf("seq cursor round trip: %d, %v", n, err)
	}
	if s, err := decodeStringCursor(encodeStringCursor("b-1")); err != nil || s != "b-1" {
		t.Fatalf("string cursor round trip: %q, %v", s, err)
	}
	for _, bad := range []string{"", "!!", encodeStringCursor("x"), "ZjE6LTE"} {
		if _, err := decodeSeqCursor(bad); err == nil {
			t.Errorf("decodeSeqCursor(%q) accepted", bad)
		}
	}
}
