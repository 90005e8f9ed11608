package eligibility

import (
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/avis-lv/gateway/internal/benefits"
)

// A decision's benefits are stored (and kept in memory for the transaction
// that follows) in a small binary form: reading a decision back is on the
// path of every transaction, and JSON cost more than the rest of the
// report's checks. Older stored decisions are JSON and still read.
const appliedCodecVersion = 'A'

const (
	flagCombinable = 1 << iota
	flagDiscount
	flagMax
	flagLimit
)

// AppendApplied encodes a decision's benefits and total.
func AppendApplied(b []byte, as []Applied, total int64) []byte {
	// A decision with a percentage's rate (a check without lines) is
	// written as JSON: instances of the previous release decode that
	// (ignoring the rate) but would refuse a binary form with a field they
	// do not know, in a rolling deploy or a rollback. The binary form can
	// carry the rate once no instance of that release runs.
	for _, a := range as {
		if a.PercentBasisPoints != nil {
			doc, err := json.Marshal(struct {
				Benefits   []Applied `json:"benefits"`
				TotalCents int64     `json:"totalCents"`
			}{as, total})
			if err == nil {
				return append(b, doc...)
			}
			break
		}
	}
	b = append(b, appliedCodecVersion)
	b = binary.AppendVarint(b, total)
	b = binary.AppendUvarint(b, uint64(len(as)))
	for _, a := range as {
		b = appendString(b, a.BenefitID)
		b = binary.AppendVarint(b, int64(a.Version))
		b = appendString(b, a.Grantor)
		b = appendString(b, a.EKKCode)
		b = appendString(b, string(a.Status))
		b = binary.AppendVarint(b, int64(a.Priority))
		var flags byte
		if a.Combinable {
			flags |= flagCombinable
		}
		if a.DiscountCents != nil {
			flags |= flagDiscount
		}
		if a.MaxCents != nil {
			flags |= flagMax
		}
		if a.Limit != nil {
			flags |= flagLimit
		}
		b = append(b, flags)
		if a.DiscountCents != nil {
			b = binary.AppendVarint(b, *a.DiscountCents)
		}
		if a.MaxCents != nil {
			b = binary.AppendVarint(b, *a.MaxCents)
		}
		if a.Limit != nil {
			b = binary.AppendVarint(b, a.Limit.AmountCents)
			b = appendString(b, string(a.Limit.Period))
		}
		b = binary.AppendUvarint(b, uint64(len(a.Lines)))
		for _, l := range a.Lines {
			b = appendString(b, l.LineID)
			b = binary.AppendVarint(b, l.DiscountCents)
		}
	}
	return b
}

var errAppliedCodec = errors.New("stored decision benefits do not decode")

// DecodeApplied reads what AppendApplied wrote, or the JSON object
// {"benefits": [...], "totalCents": n} of decisions stored before it.
func DecodeApplied(b []byte) ([]Applied, int64, error) {
	if len(b) > 0 && b[0] == '{' {
		var doc struct {
			Benefits   []Applied `json:"benefits"`
			TotalCents int64     `json:"totalCents"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, 0, err
		}
		return doc.Benefits, doc.TotalCents, nil
	}
	if len(b) == 0 || b[0] != appliedCodecVersion {
		return nil, 0, errAppliedCodec
	}
	r := decoder{b: b[1:]}
	total := r.varint()
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		return nil, 0, errAppliedCodec
	}
	as := make([]Applied, n)
	for i := range as {
		a := &as[i]
		a.BenefitID = r.string()
		a.Version = int(r.varint())
		a.Grantor = r.string()
		a.EKKCode = r.string()
		a.Status = Status(r.string())
		a.Priority = int(r.varint())
		flags := r.byte()
		a.Combinable = flags&flagCombinable != 0
		if flags&flagDiscount != 0 {
			v := r.varint()
			a.DiscountCents = &v
		}
		if flags&flagMax != 0 {
			v := r.varint()
			a.MaxCents = &v
		}
		if flags&flagLimit != 0 {
			a.Limit = &benefits.PeriodLimit{AmountCents: r.varint()}
			a.Limit.Period = benefits.Period(r.string())
		}
		lines := r.uvarint()
		if r.err != nil || lines > uint64(len(r.b)) {
			return nil, 0, errAppliedCodec
		}
		if lines > 0 {
			a.Lines = make([]LineDiscount, lines)
			for j := range a.Lines {
				a.Lines[j] = LineDiscount{LineID: r.string(), DiscountCents: r.varint()}
			}
		}
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, 0, errAppliedCodec
	}
	return as, total, nil
}
