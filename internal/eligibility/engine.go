package eligibility

import (
	"cmp"
	"slices"
	"time"

	"github.com/avis-lv/gateway/internal/benefits"
)

// Benefit is one benefit version that admits the asking provider.
type Benefit struct {
	ID      string
	Version int
	Grantor string
	benefits.Instruction
}

// Line is one receipt line of the sale being checked.
type Line struct {
	ID          string
	GoodsCode   string
	Quantity    int
	AmountCents int64
}

// Evidence is everything known about the person for one check. A missing
// entry in Groups or Lists means the source could not answer.
type Evidence struct {
	// Person is PMLP's answer; PersonKnown is false when PMLP could not
	// answer.
	Person      PersonFacts
	PersonKnown bool
	// CodeBirthDate is the birth date an old-format personal code carries.
	CodeBirthDate time.Time
	Groups        map[Dataset]GroupFacts
	Lists         map[string]Truth
	// Spent is, per benefit with a per-person limit, what the person
	// received in the current period from accepted transactions.
	Spent map[string]int64
}

// Status of a benefit in a decision.
type Status string

const (
	// StatusApplies: the benefit applies with the amounts given.
	StatusApplies Status = "applies"
	// StatusUnknown: a source it depends on could not answer; the amounts
	// are what it would give (stand-in).
	StatusUnknown Status = "unknown"
)

// LineDiscount is a benefit's discount on one receipt line.
type LineDiscount struct {
	LineID        string `json:"lineId"`
	DiscountCents int64  `json:"discountCents"`
}

// Applied is one benefit of a decision.
type Applied struct {
	BenefitID  string `json:"benefitId"`
	Version    int    `json:"version"`
	Grantor    string `json:"grantor"`
	EKKCode    string `json:"ekkCode"`
	Status     Status `json:"status"`
	Priority   int    `json:"priority"`
	Combinable bool   `json:"combinable"`
	// DiscountCents is the discount over the given lines; nil when no
	// lines were given and the benefit is a percentage or free.
	DiscountCents *int64         `json:"discountCents,omitempty"`
	Lines         []LineDiscount `json:"lines,omitempty"`
	// MaxCents is the most a transaction may claim for this benefit: the
	// discount when lines were given, otherwise the tightest of the fixed
	// amount, the per-transaction cap and what is left of the person's
	// period limit; nil when nothing bounds it.
	MaxCents *int64 `json:"maxCents,omitempty"`
	// PercentBasisPoints is the benefit's rate when it is a percentage
	// and the check had no lines: a transaction may claim at most that
	// share of the sale's total it reports.
	PercentBasisPoints *int `json:"percentBasisPoints,omitempty"`
	// Limit is the benefit's per-person period limit, which the
	// transaction checks again when it is reported.
	Limit *benefits.PeriodLimit `json:"limit,omitempty"`
}

// Decide applies the instructions to the evidence on day (the Europe/Riga
// date of the sale). The rules, in order:
//
//  1. A benefit is a candidate when it is valid on day, at least one line's
//     goods code matches (or no lines were given), and each of its
//     conditions — group membership, alive, declared municipality, age — is
//     met or unknown. A condition a source could not answer makes it
//     unknown; a condition that fails drops it.
//  2. Candidates are taken by priority (1 first, ties by benefit id). An
//     exclusive benefit (combinable = false) that applies is taken only if
//     nothing was taken before it, and then it is the only one: the search
//     stops. A combinable benefit that applies is taken unless an exclusive
//     one was.
//  3. Benefits taken reduce the line amounts one after the other, so that
//     together they never exceed a line. Percentages round half up per line
//     (in cents); a fixed amount is spread over the matching lines in order;
//     "free" takes what is left of each matching line. The per-transaction
//     cap and what is left of the person's period limit then trim the
//     benefit's discount from its last line backwards.
//  4. An unknown benefit is listed (with what it would give on what is left
//     of the lines, without reducing them) when it could still have been
//     taken at its place in the order; it never counts in the total.
//  5. A benefit whose period limit is used up, or that would give nothing
//     on the given lines, is left out.
func Decide(candidates []Benefit, ev Evidence, day time.Time, lines []Line) []Applied {
	withLines := len(lines) > 0
	byPriority := func(a, b Benefit) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
	}
	order := candidates // the store hands them over in this order
	if !slices.IsSortedFunc(order, byPriority) {
		order = slices.Clone(candidates)
		slices.SortFunc(order, byPriority)
	}
	remaining := make([]int64, len(lines))
	for i, l := range lines {
		remaining[i] = l.AmountCents
	}
	var taken, unknown []Applied
	for i := range order {
		b := &order[i]
		st := b.status(ev, day)
		if st == No || !b.matchesAny(lines) {
			continue
		}
		if !b.Combinable && len(taken) > 0 {
			continue
		}
		limit, limited := b.limitLeft(ev)
		if limited && limit <= 0 {
			continue
		}
		a := Applied{
			BenefitID: b.ID, Version: b.Version, Grantor: b.Grantor, EKKCode: b.EKKCode,
			Priority: b.Priority, Combinable: b.Combinable, Status: StatusApplies, Limit: b.Discount.PerPersonLimit,
		}
		if st == Unknown {
			a.Status = StatusUnknown
		}
		capCents, capped := b.transactionCap(limit, limited)
		if withLines {
			perLine := b.discountOn(lines, remaining, capCents, capped)
			total := int64(0)
			for i, d := range perLine {
				if d > 0 {
					a.Lines = append(a.Lines, LineDiscount{LineID: lines[i].ID, DiscountCents: d})
					total += d
				}
			}
			if total == 0 {
				continue
			}
			a.DiscountCents = &total
			a.MaxCents = &total
			if st == Yes {
				for i, d := range perLine {
					remaining[i] -= d
				}
			}
		} else {
			if b.Discount.Type == benefits.DiscountFixed {
				v := b.Discount.AmountCents
				if capped {
					v = min(v, capCents)
				}
				a.DiscountCents = &v
				a.MaxCents = &v
			} else if capped {
				v := capCents
				a.MaxCents = &v
			}
			if b.Discount.Type == benefits.DiscountPercent {
				bp := b.Discount.PercentBasisPoints
				a.PercentBasisPoints = &bp
			}
		}
		if st == Unknown {
			unknown = append(unknown, a)
			continue
		}
		taken = append(taken, a)
		if !b.Combinable {
			break
		}
	}
	return append(taken, unknown...)
}

// status evaluates the benefit's validity and conditions on day.
func (b Benefit) status(ev Evidence, day time.Time) Truth {
	if day.Before(b.ValidFrom) || (b.ValidTo != nil && day.After(*b.ValidTo)) {
		return No
	}
	t := Yes
	// Group membership.
	switch {
	case b.RecipientGroup.RegistryGroup != "":
		g, ok := groupDatasets[b.RecipientGroup.RegistryGroup]
		if !ok {
			return No
		}
		facts, known := ev.Groups[g.dataset]
		if !known {
			t = and(t, Unknown)
		} else {
			t = and(t, truth(facts.Found && facts.memberOn(day, g.kinds)))
		}
	case b.RecipientGroup.PersonListID != "":
		m, known := ev.Lists[b.RecipientGroup.PersonListID]
		if !known {
			m = Unknown
		}
		t = and(t, m)
	default:
		return No
	}
	if t == No {
		return No
	}
	// Alive, always; the municipality when the grantor set one.
	if !ev.PersonKnown {
		t = and(t, Unknown)
	} else {
		t = and(t, ev.Person.aliveOn(day))
		if m := b.Conditions.Municipality; m != "" {
			got, known := ev.Person.municipalityOn(day)
			if known == Yes {
				t = and(t, truth(got == m))
			} else {
				t = and(t, Unknown)
			}
		}
	}
	// Age: PMLP's birth date, or the one an old-format code carries.
	if b.Conditions.MinAge != nil || b.Conditions.MaxAge != nil {
		birth := ev.CodeBirthDate
		if ev.PersonKnown && !ev.Person.BirthDate.IsZero() {
			birth = ev.Person.BirthDate
		}
		if birth.IsZero() {
			t = and(t, Unknown)
		} else {
			age := ageOn(birth, day)
			if b.Conditions.MinAge != nil && age < *b.Conditions.MinAge {
				return No
			}
			if b.Conditions.MaxAge != nil && age > *b.Conditions.MaxAge {
				return No
			}
		}
	}
	return t
}

func (b Benefit) matches(goods string) bool {
	for _, g := range b.GoodsCodes {
		if g == "*" || g == goods {
			return true
		}
	}
	return false
}

func (b Benefit) matchesAny(lines []Line) bool {
	if len(lines) == 0 {
		return true
	}
	for _, l := range lines {
		if b.matches(l.GoodsCode) {
			return true
		}
	}
	return false
}

// limitLeft is what is left of the person's period limit, if there is one.
func (b Benefit) limitLeft(ev Evidence) (int64, bool) {
	l := b.Discount.PerPersonLimit
	if l == nil {
		return 0, false
	}
	return l.AmountCents - ev.Spent[b.ID], true
}

// transactionCap is the tighter of the per-transaction cap and the limit.
func (b Benefit) transactionCap(limit int64, limited bool) (int64, bool) {
	c, capped := b.Discount.MaxPerTransactionCents, b.Discount.MaxPerTransactionCents > 0
	if limited && (!capped || limit < c) {
		c, capped = limit, true
	}
	return c, capped
}

// discountOn computes the benefit's discount per line on what is left of
// each line, then trims it to the cap from the last line backwards.
func (b Benefit) discountOn(lines []Line, remaining []int64, capCents int64, capped bool) []int64 {
	out := make([]int64, len(lines))
	fixedLeft := b.Discount.AmountCents
	for i, l := range lines {
		if !b.matches(l.GoodsCode) || remaining[i] <= 0 {
			continue
		}
		var d int64
		switch b.Discount.Type {
		case benefits.DiscountPercent:
			d = PercentOf(remaining[i], b.Discount.PercentBasisPoints)
		case benefits.DiscountFixed:
			d = min(fixedLeft, remaining[i])
			fixedLeft -= d
		case benefits.DiscountFree:
			d = remaining[i]
		}
		out[i] = min(d, remaining[i])
	}
	if capped {
		var total int64
		for _, d := range out {
			total += d
		}
		for i := len(out) - 1; i >= 0 && total > capCents; i-- {
			cut := min(out[i], total-capCents)
			out[i] -= cut
			total -= cut
		}
	}
	return out
}

// PercentOf is basisPoints/10000 of cents, rounded half up to a whole cent.
func PercentOf(cents int64, basisPoints int) int64 {
	return (cents*int64(basisPoints) + 5000) / 10000
}
