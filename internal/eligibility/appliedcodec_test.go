package eligibility

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/avis-lv/gateway/internal/benefits"
)

func sampleApplied() []Applied {
	d, m := int64(150), int64(300)
	half := 5000
	return []Applied{
		{BenefitID: "ride", Version: 3, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 1,
			Combinable: true, DiscountCents: &d, MaxCents: &m, Limit: &benefits.PeriodLimit{AmountCents: 2000, Period: "month"},
			Lines: []LineDiscount{{LineID: "1", DiscountCents: 100}, {LineID: "ā", DiscountCents: 50}}},
		{BenefitID: "lunch", Version: 1, Grantor: "90000000002", EKKCode: "6423", Status: StatusUnknown, Priority: 7},
		{BenefitID: "half", Version: 2, Grantor: "90000000002", EKKCode: "6423", Status: StatusApplies, Priority: 9, PercentBasisPoints: &half},
	}
}

func TestAppliedCodecRoundTrip(t *testing.T) {
	as := sampleApplied()
	got, total, err := DecodeApplied(AppendApplied(nil, as, 150))
	if err != nil || total != 150 || !reflect.DeepEqual(got, as) {
		t.Fatalf("round trip: %v %d %+v", err, total, got)
	}
	// Decisions stored before the binary form are JSON.
	old, _ := json.Marshal(map[string]any{"benefits": as, "totalCents": 150})
	got, total, err = DecodeApplied(old)
	if err != nil || total != 150 || !reflect.DeepEqual(got, as) {
		t.Fatalf("JSON: %v %d %+v", err, total, got)
	}
	if _, _, err := DecodeApplied(nil); err == nil {
		t.Error("empty value decoded")
	}
	// A percentage's rate is a field the previous release's binary decoder
	// does not know: such a decision is written as JSON, which it reads.
	if b := AppendApplied(nil, as, 150); b[0] != '{' {
		t.Errorf("a decision with a rate is not JSON: %q", b)
	}
	if b := AppendApplied(nil, as[:2], 150); b[0] != appliedCodecVersion {
		t.Errorf("a decision without a rate is not binary: %q", b)
	}
}

// FuzzDecodeApplied: any bytes either fail or decode to something that
// encodes back to the same bytes.
func FuzzDecodeApplied(f *testing.F) {
	f.Add(AppendApplied(nil, sampleApplied()[:2], 150))
	f.Add(AppendApplied(nil, nil, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		as, total, err := DecodeApplied(b)
		if err != nil || len(b) == 0 || b[0] == '{' {
			return
		}
		if again := AppendApplied(nil, as, total); string(again) != string(b) {
			// Varints have one shortest form; longer ones decode but do
			// not come back the same. Decoding the re-encoding must agree.
			as2, total2, err := DecodeApplied(again)
			if err != nil || total2 != total || !reflect.DeepEqual(as2, as) {
				t.Fatalf("re-encoding differs: %v", err)
			}
		}
	})
}
