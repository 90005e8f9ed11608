package eligibility

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	persons := []PersonFacts{
		{},
		{Found: true, BirthDate: d("1945-04-15"), Municipality: "0001000", MunicipalitySince: d("2010-01-01")},
		{Found: true, BirthDate: d("1899-12-31"), Deceased: true, DeathDate: dp("2026-02-01"), Municipality: "0056000",
			MunicipalitySince: d("2026-01-15"), PreviousMunicipality: "0001000"},
		{Found: true, Deceased: true},
	}
	for _, p := range persons {
		got, err := decodePerson(p.AppendBinary(nil))
		if err != nil || !cmp.Equal(p, got) {
			t.Errorf("person %+v came back as %+v, %v", p, got, err)
		}
	}
	groups := []GroupFacts{
		{},
		{Found: true, Periods: []Period{{Kind: "old-age", From: d("2015-05-10")}}},
		{Found: true, Periods: []Period{{Kind: "low-income", From: d("2026-01-01"), To: dp("2026-06-30")}, {From: d("1990-01-01"), To: dp("1990-01-01")}}},
	}
	for _, g := range groups {
		got, err := decodeGroup(g.AppendBinary(nil))
		if err != nil || !cmp.Equal(g, got) {
			t.Errorf("group %+v came back as %+v, %v", g, got, err)
		}
		if factsFound(g.AppendBinary(nil)) != g.Found {
			t.Errorf("factsFound of %+v", g)
		}
	}
	if _, err := decodePerson(groups[1].AppendBinary(nil)); err == nil {
		t.Error("a group value decodes as a person")
	}
}

// FuzzDecodeFacts feeds arbitrary cached values to the decoders: they may
// refuse them but must not panic, and what they accept must survive a
// round trip.
func FuzzDecodeFacts(f *testing.F) {
	f.Add(PersonFacts{Found: true, BirthDate: d("1945-04-15"), Municipality: "0001000"}.AppendBinary(nil))
	f.Add(GroupFacts{Found: true, Periods: []Period{{Kind: "needy", From: d("2026-01-01"), To: dp("2026-06-30")}}}.AppendBinary(nil))
	f.Add([]byte{})
	f.Add([]byte{'P', 7, 0xff, 0xff, 0xff})
	f.Add([]byte{'G', 1, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if p, err := decodePerson(raw); err == nil {
			again, err := decodePerson(p.AppendBinary(nil))
			if err != nil || !cmp.Equal(p, again) {
				t.Fatalf("person %+v does not round-trip: %+v %v", p, again, err)
			}
		}
		if g, err := decodeGroup(raw); err == nil {
			again, err := decodeGroup(g.AppendBinary(nil))
			if err != nil || !cmp.Equal(g, again) {
				t.Fatalf("group %+v does not round-trip: %+v %v", g, again, err)
			}
		}
	})
}
