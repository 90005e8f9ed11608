package benefits

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/avis-lv/gateway/internal/ekk"
)

// EKKChecker is the part of the EKK classifier benefit validation needs.
type EKKChecker interface {
	CheckBenefitCode(code string) error
}

var benefitIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidID reports whether id is a well-formed benefit or list id.
func ValidID(id string) bool { return benefitIDPattern.MatchString(id) }

// Validate checks the business rules the schema cannot express. It returns a
// *ValidationError listing every violation, or nil.
func Validate(in Instruction, classifier EKKChecker) error {
	var vs []Violation
	excluded := false
	add := func(pointer, code, detail string, detailLV ...string) {
		v := Violation{Pointer: pointer, Code: code, Detail: detail}
		if len(detailLV) > 0 {
			v.DetailLV = detailLV[0]
		}
		vs = append(vs, v)
	}

	if excludedCategories[in.Category] {
		excluded = true
		add("/category", "category.excluded", fmt.Sprintf("category %q is outside AVIS (taxes and fees, public property leases, benefits paid in money, employer benefits, non-conforming goods)", in.Category),
			fmt.Sprintf("kategorija %q ir ārpus AVIS (nodokļi un nodevas, publiskas mantas noma, naudā izmaksāti pabalsti, darba devēja pabalsti, prasībām neatbilstošas preces)", in.Category))
	}
	if err := classifier.CheckBenefitCode(in.EKKCode); err != nil {
		code, exc := ekkViolation(err)
		if exc {
			excluded = true
		}
		// err's text restates the code's catalogue text ("not a code of the
		// EKK 6000 group"); only its specifics are worth adding.
		detail, detailLV := ekkSpecifics(err)
		add("/ekkCode", code, detail, detailLV)
	}
	if in.ValidTo != nil && in.ValidTo.Before(in.ValidFrom) {
		add("/validTo", "dates.order", "")
	}
	d := in.Discount
	switch d.Type {
	case DiscountPercent:
		if d.PercentBasisPoints == 0 {
			add("/discount/percentBasisPoints", "discount.percent_missing", "")
		}
		if d.AmountCents != 0 {
			add("/discount/amountCents", "discount.extra_field", "amountCents is for fixed discounts", "amountCents ir fiksētām atlaidēm")
		}
	case DiscountFixed:
		if d.AmountCents == 0 {
			add("/discount/amountCents", "discount.amount_missing", "")
		}
		if d.PercentBasisPoints != 0 {
			add("/discount/percentBasisPoints", "discount.extra_field", "percentBasisPoints is for percent discounts", "percentBasisPoints ir procentu atlaidēm")
		}
	case DiscountFree:
		if d.AmountCents != 0 {
			add("/discount/amountCents", "discount.extra_field", "a free benefit has no amount", "bezmaksas atvieglojumam nav summas")
		}
		if d.PercentBasisPoints != 0 {
			add("/discount/percentBasisPoints", "discount.extra_field", "a free benefit has no percentage", "bezmaksas atvieglojumam nav procentu")
		}
	}
	rg := in.RecipientGroup
	if (rg.RegistryGroup == "") == (rg.PersonListID == "") {
		add("/recipientGroup", "recipients.exactly_one", "")
	}
	c := in.Conditions
	if c.MinAge != nil && c.MaxAge != nil && *c.MaxAge < *c.MinAge {
		add("/conditions/maxAge", "age.order", "")
	}
	for i, g := range in.GoodsCodes {
		if g == "*" && len(in.GoodsCodes) > 1 {
			add(fmt.Sprintf("/goodsCodes/%d", i), "goods.wildcard_alone", "")
		}
	}
	if len(vs) == 0 {
		return nil
	}
	return &ValidationError{Violations: vs, Excluded: excluded}
}

// ekkSpecifics tells, in English and Latvian, what a refused EKK code's
// catalogue text does not: the detailed codes a heading has, or the excluded
// subgroup a code is under. It is empty when there is nothing more to say.
func ekkSpecifics(err error) (en, lv string) {
	var re *ekk.RefusalError
	if !errors.As(err, &re) {
		return "", ""
	}
	switch {
	case len(re.Accepted) > 0:
		codes := strings.Join(re.Accepted, ", ")
		return "use one of the detailed codes under " + re.Code + " that AVIS accepts: " + codes,
			"izmantojiet kādu no " + re.Code + " detalizētajiem kodiem, ko AVIS pieņem: " + codes
	case re.Under != "":
		return fmt.Sprintf("%s is under %s %q", re.Code, re.Under, re.UnderName),
			fmt.Sprintf("%s ietilpst grupā %s %q", re.Code, re.Under, re.UnderName)
	}
	return "", ""
}

// ekkViolation names the broken EKK rule; excluded is true when the code
// shows the benefit is of a kind AVIS does not cover.
func ekkViolation(err error) (code string, excluded bool) {
	switch {
	case errors.Is(err, ekk.ErrCashBenefit):
		return "ekk.cash_benefit", true
	case errors.Is(err, ekk.ErrEmployerBenefit):
		return "ekk.employer_benefit", true
	case errors.Is(err, ekk.ErrRepealed):
		return "ekk.repealed", false
	case errors.Is(err, ekk.ErrNotLeaf):
		return "ekk.not_leaf", false
	default:
		return "ekk.unknown", false
	}
}
