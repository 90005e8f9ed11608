package httpapi

import (
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/avis-lv/gateway/api"
	"github.com/avis-lv/gateway/internal/benefits"
	"github.com/avis-lv/gateway/internal/httpx"
)

func instructionFromAPI(in api.BenefitInstruction) benefits.Instruction {
	out := benefits.Instruction{
		Name:       in.Name,
		Category:   benefits.Category(in.Category),
		EKKCode:    in.EkkCode,
		ValidFrom:  in.ValidFrom.Time,
		Priority:   in.Priority,
		Combinable: in.Combinable,
		Discount: benefits.Discount{
			Type:                   benefits.DiscountType(in.Discount.Type),
			PercentBasisPoints:     httpx.ValueOr(in.Discount.PercentBasisPoints, 0),
			AmountCents:            httpx.ValueOr(in.Discount.AmountCents, 0),
			MaxPerTransactionCents: httpx.ValueOr(in.Discount.MaxPerTransactionCents, 0),
		},
		GoodsCodes: in.GoodsCodes,
		Providers:  in.Providers,
	}
	if in.Description != nil {
		out.Description = *in.Description
	}
	if in.ValidTo != nil {
		t := in.ValidTo.Time
		out.ValidTo = &t
	}
	if l := in.Discount.PerPersonLimit; l != nil {
		out.Discount.PerPersonLimit = &benefits.PeriodLimit{AmountCents: l.AmountCents, Period: benefits.Period(l.Period)}
	}
	if g := in.RecipientGroup.RegistryGroup; g != nil {
		out.RecipientGroup.RegistryGroup = string(*g)
	}
	out.RecipientGroup.PersonListID = httpx.ValueOr(in.RecipientGroup.PersonListId, "")
	if c := in.Conditions; c != nil {
		out.Conditions = benefits.Conditions{Municipality: httpx.ValueOr(c.Municipality, ""), MinAge: c.MinAge, MaxAge: c.MaxAge}
	}
	return out
}

func discountToAPI(d benefits.Discount) api.Discount {
	out := api.Discount{
		Type:                   api.DiscountType(d.Type),
		PercentBasisPoints:     ptrIfSet(d.PercentBasisPoints),
		AmountCents:            ptrIfSet(d.AmountCents),
		MaxPerTransactionCents: ptrIfSet(d.MaxPerTransactionCents),
	}
	if l := d.PerPersonLimit; l != nil {
		out.PerPersonLimit = &api.PeriodLimit{AmountCents: l.AmountCents, Period: api.PeriodLimitPeriod(l.Period)}
	}
	return out
}

func benefitToAPI(b benefits.Benefit) api.Benefit {
	out := api.Benefit{
		Id:         b.ID,
		Grantor:    b.Grantor,
		Version:    b.Version,
		Status:     api.BenefitStatus(b.Status),
		CreatedAt:  b.CreatedAt.UTC(),
		UpdatedAt:  b.UpdatedAt.UTC(),
		Name:       b.Name,
		Category:   api.BenefitCategory(b.Category),
		EkkCode:    b.EKKCode,
		ValidFrom:  date(b.ValidFrom),
		Priority:   b.Priority,
		Combinable: b.Combinable,
		Discount:   discountToAPI(b.Discount),
		GoodsCodes: b.GoodsCodes,
		Providers:  b.Providers,
		ReceiptId:  b.ReceiptID,
	}
	if b.Description != "" {
		out.Description = &b.Description
	}
	if b.ValidTo != nil {
		d := date(*b.ValidTo)
		out.ValidTo = &d
	}
	if b.RecipientGroup.RegistryGroup != "" {
		g := api.RegistryGroup(b.RecipientGroup.RegistryGroup)
		out.RecipientGroup.RegistryGroup = &g
	}
	out.RecipientGroup.PersonListId = ptrIfSet(b.RecipientGroup.PersonListID)
	c := b.Conditions
	if c.Municipality != "" || c.MinAge != nil || c.MaxAge != nil {
		out.Conditions = &api.Conditions{Municipality: ptrIfSet(c.Municipality), MinAge: c.MinAge, MaxAge: c.MaxAge}
	}
	return out
}

// instructionToAPI is the provider's view: what, where, when and how much,
// never who the recipients are or why they qualify.
func instructionToAPI(it benefits.FeedItem) api.Instruction {
	b := it.Benefit
	changed := it.ChangedAt.UTC()
	out := api.Instruction{
		BenefitId: b.ID,
		Version:   b.Version,
		Grantor:   b.Grantor,
		Status:    api.BenefitStatus(benefits.StatusWithdrawn),
		ChangedAt: &changed,
	}
	if !it.Admitted || b.Status != benefits.StatusActive {
		return out
	}
	out.Status = api.BenefitStatus(benefits.StatusActive)
	cat := api.BenefitCategory(b.Category)
	from := date(b.ValidFrom)
	d := discountToAPI(b.Discount)
	goods := b.GoodsCodes
	out.Name = &b.Name
	out.Category = &cat
	out.ValidFrom = &from
	if b.ValidTo != nil {
		to := date(*b.ValidTo)
		out.ValidTo = &to
	}
	out.Priority = &b.Priority
	out.Combinable = &b.Combinable
	out.Discount = &d
	out.GoodsCodes = &goods
	return out
}

func date(t time.Time) openapi_types.Date { return openapi_types.Date{Time: t} }

func ptrIfSet[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}
