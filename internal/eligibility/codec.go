package eligibility

import (
	"encoding/binary"
	"errors"
	"time"
)

// The cache holds facts in a small binary form: a check decodes several of
// them on every request, and JSON would cost more than the rest of the
// check's logic together. Dates are days since 1970-01-01 as varints.
// The first byte names the kind and version; a value that does not decode
// is treated as a miss.
const (
	codecPerson = 'P'
	codecGroup  = 'G'
)

var errCodec = errors.New("cached value does not decode")

func days(t time.Time) int64 {
	if t.IsZero() {
		return -1 << 40
	}
	return t.Unix() / 86400
}

func fromDays(n int64) time.Time {
	if n == -1<<40 {
		return time.Time{}
	}
	return time.Unix(n*86400, 0).UTC()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads what the append functions wrote.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCodec
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCodec
		return 0
	}
	d.b = d.b[n:]
	return v
}

// date reads a date written by days; days outside 1700..2300 are refused.
func (d *decoder) date() time.Time {
	n := d.varint()
	if n == -1<<40 {
		return time.Time{}
	}
	if n < -98000 || n > 120000 {
		d.err = errCodec
		return time.Time{}
	}
	return fromDays(n)
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errCodec
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) string() string {
	if d.err != nil {
		return ""
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || uint64(len(d.b)-k) < n {
		d.err = errCodec
		return ""
	}
	s := string(d.b[k : k+int(n)])
	d.b = d.b[k+int(n):]
	return s
}

// AppendBinary encodes p.
func (p PersonFacts) AppendBinary(b []byte) []byte {
	var flags byte
	if p.Found {
		flags |= 1
	}
	if p.Deceased {
		flags |= 2
	}
	if p.DeathDate != nil {
		flags |= 4
	}
	b = append(b, codecPerson, flags)
	b = binary.AppendVarint(b, days(p.BirthDate))
	if p.DeathDate != nil {
		b = binary.AppendVarint(b, days(*p.DeathDate))
	}
	b = appendString(b, p.Municipality)
	b = binary.AppendVarint(b, days(p.MunicipalitySince))
	return appendString(b, p.PreviousMunicipality)
}

func decodePerson(raw []byte) (PersonFacts, error) {
	d := decoder{b: raw}
	if d.byte() != codecPerson {
		return PersonFacts{}, errCodec
	}
	flags := d.byte()
	p := PersonFacts{Found: flags&1 != 0, Deceased: flags&2 != 0}
	p.BirthDate = d.date()
	if flags&4 != 0 {
		t := d.date()
		p.DeathDate = &t
	}
	p.Municipality = d.string()
	p.MunicipalitySince = d.date()
	p.PreviousMunicipality = d.string()
	if d.err != nil || len(d.b) != 0 {
		return PersonFacts{}, errCodec
	}
	return p, nil
}

// AppendBinary encodes g.
func (g GroupFacts) AppendBinary(b []byte) []byte {
	var flags byte
	if g.Found {
		flags |= 1
	}
	b = append(b, codecGroup, flags)
	b = binary.AppendUvarint(b, uint64(len(g.Periods)))
	for _, p := range g.Periods {
		b = appendString(b, p.Kind)
		b = binary.AppendVarint(b, days(p.From))
		if p.To == nil {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = binary.AppendVarint(b, days(*p.To))
		}
	}
	return b
}

func decodeGroup(raw []byte) (GroupFacts, error) {
	d := decoder{b: raw}
	if d.byte() != codecGroup {
		return GroupFacts{}, errCodec
	}
	g := GroupFacts{Found: d.byte()&1 != 0}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > 64 {
		return GroupFacts{}, errCodec
	}
	d.b = d.b[k:]
	if n > 0 {
		g.Periods = make([]Period, n)
	}
	for i := range g.Periods {
		p := &g.Periods[i]
		p.Kind = d.string()
		p.From = d.date()
		if d.byte() == 1 {
			t := d.date()
			p.To = &t
		}
	}
	if d.err != nil || len(d.b) != 0 {
		return GroupFacts{}, errCodec
	}
	return g, nil
}

// factsFound reads the found flag of an encoded fact.
func factsFound(val []byte) bool {
	return len(val) >= 2 && val[1]&1 != 0
}
