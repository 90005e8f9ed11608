package eligibility

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/avis-lv/gateway/internal/benefits"
)

func d(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func dp(s string) *time.Time { t := d(s); return &t }

func ip(v int) *int { return &v }

func cents(v int64) *int64 { return &v }

// benefit builds a registry-group benefit valid through 2026.
func benefit(id string, prio int, combinable bool, group string, disc benefits.Discount, goods ...string) Benefit {
	if len(goods) == 0 {
		goods = []string{"*"}
	}
	return Benefit{ID: id, Version: 1, Grantor: "90000000001", Instruction: benefits.Instruction{
		Name: id, EKKCode: "6421", ValidFrom: d("2026-01-01"), ValidTo: dp("2026-12-31"),
		Priority: prio, Combinable: combinable, Discount: disc, GoodsCodes: goods,
		RecipientGroup: benefits.RecipientGroup{RegistryGroup: group},
	}}
}

var (
	free    = benefits.Discount{Type: benefits.DiscountFree}
	half    = benefits.Discount{Type: benefits.DiscountPercent, PercentBasisPoints: 5000}
	third   = benefits.Discount{Type: benefits.DiscountPercent, PercentBasisPoints: 3333}
	fixed   = benefits.Discount{Type: benefits.DiscountFixed, AmountCents: 250}
	riga    = "0001000"
	alive   = PersonFacts{Found: true, BirthDate: d("1950-05-10"), Municipality: riga, MunicipalitySince: d("2000-01-01")}
	pension = GroupFacts{Found: true, Periods: []Period{{Kind: "old-age", From: d("2015-05-10")}}}
)

func evidence(groups map[Dataset]GroupFacts) Evidence {
	return Evidence{Person: alive, PersonKnown: true, Groups: groups, Lists: map[string]Truth{}, Spent: map[string]int64{}}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	day := d("2026-03-15")
	ride := []Line{{ID: "1", GoodsCode: "transport.ride", Quantity: 1, AmountCents: 150}}
	shop := []Line{
		{ID: "a", GoodsCode: "food.lunch", Quantity: 1, AmountCents: 333},
		{ID: "b", GoodsCode: "food.drink", Quantity: 1, AmountCents: 101},
		{ID: "c", GoodsCode: "transport.ride", Quantity: 1, AmountCents: 200},
	}
	rigaOnly := benefit("riga", 10, false, "pensioners", free, "transport.ride")
	rigaOnly.Conditions.Municipality = riga
	elsewhere := benefit("other", 10, false, "pensioners", free)
	elsewhere.Conditions.Municipality = "0020000"
	capped := benefit("capped", 5, true, "pensioners", benefits.Discount{Type: benefits.DiscountPercent, PercentBasisPoints: 5000, MaxPerTransactionCents: 100})
	fifty := 5000
	limited := benefit("limited", 5, true, "pensioners", benefits.Discount{Type: benefits.DiscountFixed, AmountCents: 300, PerPersonLimit: &benefits.PeriodLimit{AmountCents: 500, Period: "month"}})
	young := benefit("young", 5, true, "learners", free)
	young.Conditions.MinAge, young.Conditions.MaxAge = ip(6), ip(19)
	listed := Benefit{ID: "list", Version: 2, Grantor: "90000000002", Instruction: benefits.Instruction{
		EKKCode: "6322", ValidFrom: d("2026-01-01"), Priority: 3, Combinable: true, Discount: fixed,
		GoodsCodes: []string{"food.lunch"}, RecipientGroup: benefits.RecipientGroup{PersonListID: "meals"},
	}}
	expired := benefit("expired", 1, false, "pensioners", free)
	expired.ValidTo = dp("2026-03-14")

	tests := []struct {
		name  string
		bs    []Benefit
		ev    Evidence
		lines []Line
		want  []Applied
	}{
		{
			name:  "free ride for a pensioner in Riga",
			bs:    []Benefit{rigaOnly},
			ev:    evidence(map[Dataset]GroupFacts{DatasetPensioners: pension}),
			lines: ride,
			want:  []Applied{{BenefitID: "riga", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 10, DiscountCents: cents(150), MaxCents: cents(150), Lines: []LineDiscount{{"1", 150}}}},
		},
		{
			name:  "other municipality drops it",
			bs:    []Benefit{elsewhere},
			ev:    evidence(map[Dataset]GroupFacts{DatasetPensioners: pension}),
			lines: ride,
		},
		{
			name:  "not a pensioner",
			bs:    []Benefit{rigaOnly},
			ev:    evidence(map[Dataset]GroupFacts{DatasetPensioners: {Found: false}}),
			lines: ride,
		},
		{
			name:  "pension not yet granted on the day",
			bs:    []Benefit{rigaOnly},
			ev:    evidence(map[Dataset]GroupFacts{DatasetPensioners: {Found: true, Periods: []Period{{From: d("2026-04-01")}}}}),
			lines: ride,
		},
		{
			name:  "registry down gives unknown, not nothing",
			bs:    []Benefit{rigaOnly},
			ev:    evidence(map[Dataset]GroupFacts{}),
			lines: ride,
			want:  []Applied{{BenefitID: "riga", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusUnknown, Priority: 10, DiscountCents: cents(150), MaxCents: cents(150), Lines: []LineDiscount{{"1", 150}}}},
		},
		{
			name:  "PMLP down: unknown even when the group registry says yes",
			bs:    []Benefit{rigaOnly},
			ev:    Evidence{PersonKnown: false, Groups: map[Dataset]GroupFacts{DatasetPensioners: pension}},
			lines: ride,
			want:  []Applied{{BenefitID: "riga", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusUnknown, Priority: 10, DiscountCents: cents(150), MaxCents: cents(150), Lines: []LineDiscount{{"1", 150}}}},
		},
		{
			name:  "PMLP down but the group registry says no: dropped",
			bs:    []Benefit{rigaOnly},
			ev:    Evidence{PersonKnown: false, Groups: map[Dataset]GroupFacts{DatasetPensioners: {Found: false}}},
			lines: ride,
		},
		{
			name: "dead person gets nothing",
			bs:   []Benefit{rigaOnly},
			ev: func() Evidence {
				e := evidence(map[Dataset]GroupFacts{DatasetPensioners: pension})
				e.Person.Deceased, e.Person.DeathDate = true, dp("2026-02-01")
				return e
			}(),
			lines: ride,
		},
		{
			name:  "outside validity",
			bs:    []Benefit{expired},
			ev:    evidence(map[Dataset]GroupFacts{DatasetPensioners: pension}),
			lines: ride,
		},
		{
			name:  "goods code does not match",
			bs:    []Benefit{rigaOnly},
			ev:    evidence(map[Dataset]GroupFacts{DatasetPensioners: pension}),
			lines: []Line{{ID: "1", GoodsCode: "food.lunch", AmountCents: 500}},
		},
		{
			name:  "exclusive with highest priority applies alone",
			bs:    []Benefit{benefit("excl", 1, false, "pensioners", free), benefit("comb", 2, true, "pensioners", half)},
			ev:    evidence(map[Dataset]GroupFacts{DatasetPensioners: pension}),
			lines: ride,
			want:  []Applied{{BenefitID: "excl", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 1, DiscountCents: cents(150), MaxCents: cents(150), Lines: []LineDiscount{{"1", 150}}}},
		},
		{
			name: "combinable ones stack on what is left; a lower exclusive is skipped",
			bs: []Benefit{benefit("first", 1, true, "pensioners", half), benefit("second", 2, true, "pensioners", third),
				benefit("excl", 3, false, "pensioners", free)},
			ev:    evidence(map[Dataset]GroupFacts{DatasetPensioners: pension}),
			lines: shop,
			want: []Applied{
				// 333*50% = 166.5 -> 167; 101*50% = 50.5 -> 51; 200 -> 100.
				{BenefitID: "first", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 1, Combinable: true, DiscountCents: cents(318), MaxCents: cents(318),
					Lines: []LineDiscount{{"a", 167}, {"b", 51}, {"c", 100}}},
				// left 166, 50, 100 at 33.33 %: 55.33 -> 55, 16.665 -> 17, 33.33 -> 33.
				{BenefitID: "second", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 2, Combinable: true, DiscountCents: cents(105), MaxCents: cents(105),
					Lines: []LineDiscount{{"a", 55}, {"b", 17}, {"c", 33}}},
			},
		},
		{
			name:  "per-transaction cap trims from the last line",
			bs:    []Benefit{capped},
			ev:    evidence(map[Dataset]GroupFacts{DatasetPensioners: pension}),
			lines: shop,
			want: []Applied{{BenefitID: "capped", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 5, Combinable: true, DiscountCents: cents(100), MaxCents: cents(100),
				Lines: []LineDiscount{{"a", 100}}}},
		},
		{
			name: "period limit left caps a fixed amount",
			bs:   []Benefit{limited},
			ev: func() Evidence {
				e := evidence(map[Dataset]GroupFacts{DatasetPensioners: pension})
				e.Spent["limited"] = 400
				return e
			}(),
			lines: shop,
			want: []Applied{{BenefitID: "limited", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 5, Combinable: true, DiscountCents: cents(100), MaxCents: cents(100), Limit: limited.Discount.PerPersonLimit,
				Lines: []LineDiscount{{"a", 100}}}},
		},
		{
			name: "period limit used up",
			bs:   []Benefit{limited},
			ev: func() Evidence {
				e := evidence(map[Dataset]GroupFacts{DatasetPensioners: pension})
				e.Spent["limited"] = 500
				return e
			}(),
			lines: shop,
		},
		{
			name:  "fixed amount spread over matching lines",
			bs:    []Benefit{benefit("fix", 5, true, "pensioners", benefits.Discount{Type: benefits.DiscountFixed, AmountCents: 400}, "food.lunch", "food.drink")},
			ev:    evidence(map[Dataset]GroupFacts{DatasetPensioners: pension}),
			lines: shop,
			want: []Applied{{BenefitID: "fix", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 5, Combinable: true, DiscountCents: cents(400), MaxCents: cents(400),
				Lines: []LineDiscount{{"a", 333}, {"b", 67}}}},
		},
		{
			name: "no lines: fixed gives its amount, percent only its cap",
			bs:   []Benefit{limited, capped},
			ev:   evidence(map[Dataset]GroupFacts{DatasetPensioners: pension}),
			want: []Applied{
				{BenefitID: "capped", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 5, Combinable: true, MaxCents: cents(100), PercentBasisPoints: &fifty},
				{BenefitID: "limited", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 5, Combinable: true, DiscountCents: cents(300), MaxCents: cents(300), Limit: limited.Discount.PerPersonLimit},
			},
		},
		{
			name: "age from the registry birth date",
			bs:   []Benefit{young},
			ev: func() Evidence {
				e := evidence(map[Dataset]GroupFacts{DatasetLearners: {Found: true, Periods: []Period{{From: d("2025-09-01"), To: dp("2026-06-30")}}}})
				e.Person.BirthDate = d("2010-03-16") // 15 on the day
				return e
			}(),
			lines: ride,
			want:  []Applied{{BenefitID: "young", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 5, Combinable: true, DiscountCents: cents(150), MaxCents: cents(150), Lines: []LineDiscount{{"1", 150}}}},
		},
		{
			name: "too old on the day",
			bs:   []Benefit{young},
			ev: func() Evidence {
				e := evidence(map[Dataset]GroupFacts{DatasetLearners: {Found: true, Periods: []Period{{From: d("2025-09-01")}}}})
				e.Person.BirthDate = d("2006-03-15") // 20 today
				return e
			}(),
			lines: ride,
		},
		{
			name:  "age from an old code when PMLP is down",
			bs:    []Benefit{young},
			ev:    Evidence{CodeBirthDate: d("1990-01-01"), Groups: map[Dataset]GroupFacts{DatasetLearners: {Found: true, Periods: []Period{{From: d("2025-09-01")}}}}},
			lines: ride,
		},
		{
			name:  "list membership unknown when lists cannot answer",
			bs:    []Benefit{listed},
			ev:    evidence(nil),
			lines: shop,
			want: []Applied{{BenefitID: "list", Version: 2, Grantor: "90000000002", EKKCode: "6322", Status: StatusUnknown, Priority: 3, Combinable: true, DiscountCents: cents(250), MaxCents: cents(250),
				Lines: []LineDiscount{{"a", 250}}}},
		},
		{
			name: "list member",
			bs:   []Benefit{listed},
			ev: func() Evidence {
				e := evidence(nil)
				e.Lists["meals"] = Yes
				return e
			}(),
			lines: shop,
			want: []Applied{{BenefitID: "list", Version: 2, Grantor: "90000000002", EKKCode: "6322", Status: StatusApplies, Priority: 3, Combinable: true, DiscountCents: cents(250), MaxCents: cents(250),
				Lines: []LineDiscount{{"a", 250}}}},
		},
		{
			name:  "unknown exclusive listed beside a lower combinable that applies",
			bs:    []Benefit{benefit("excl", 1, false, "disability", free), benefit("comb", 2, true, "pensioners", half)},
			ev:    evidence(map[Dataset]GroupFacts{DatasetPensioners: pension}),
			lines: ride,
			want: []Applied{
				{BenefitID: "comb", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 2, Combinable: true, DiscountCents: cents(75), MaxCents: cents(75), Lines: []LineDiscount{{"1", 75}}},
				{BenefitID: "excl", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusUnknown, Priority: 1, DiscountCents: cents(150), MaxCents: cents(150), Lines: []LineDiscount{{"1", 150}}},
			},
		},
		{
			name:  "needy person meets the low-income test, not the other way round",
			bs:    []Benefit{benefit("needy", 1, true, "needy", half), benefit("low", 2, true, "low_income", half)},
			ev:    evidence(map[Dataset]GroupFacts{DatasetNeedy: {Found: true, Periods: []Period{{Kind: "low-income", From: d("2026-01-01"), To: dp("2026-06-30")}}}}),
			lines: ride,
			want:  []Applied{{BenefitID: "low", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: StatusApplies, Priority: 2, Combinable: true, DiscountCents: cents(75), MaxCents: cents(75), Lines: []LineDiscount{{"1", 75}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.bs, tt.ev, day, tt.lines)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPercentOf(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cents int64
		bp    int
		want  int64
	}{
		{100, 5000, 50}, {333, 5000, 167}, {1, 5000, 1}, {1, 4999, 0}, {101, 3333, 34}, {0, 10000, 0}, {999, 10000, 999},
	} {
		if got := PercentOf(tt.cents, tt.bp); got != tt.want {
			t.Errorf("PercentOf(%d, %d) = %d, want %d", tt.cents, tt.bp, got, tt.want)
		}
	}
}

func TestAgeOn(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		birth, day string
		want       int
	}{
		{"2000-02-29", "2018-02-28", 17}, {"2000-02-29", "2018-03-01", 18}, {"1950-05-10", "2026-05-10", 76}, {"1950-05-10", "2026-05-09", 75},
	} {
		if got := ageOn(d(tt.birth), d(tt.day)); got != tt.want {
			t.Errorf("ageOn(%s, %s) = %d, want %d", tt.birth, tt.day, got, tt.want)
		}
	}
}
