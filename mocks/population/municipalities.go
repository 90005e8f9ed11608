package population

import "github.com/avis-lv/gateway/mocks/registry"

// municipality is a local government after the 2021 administrative reform:
// 7 state cities and 36 novadi (Varakļānu novads restored in 2022).
// ATVK 2021 codes: positions 3-4 number the territory (state cities 01-19,
// novadi 20-99), the 7th digit counts modifications (Madonas novads is
// 0038001 because Varakļāni was split off again). residents are rounded
// thousands, used only as weights for where synthetic people live.
// Verify codes against the CSP classifier before relying on them outside
// tests.
type municipality struct {
	atvk      string
	name      string
	genitive  string // for synthetic school names: "Rīgas 12. vidusskola"
	residents int
}

var municipalities = [...]municipality{
	{"0001000", "Rīga", "Rīgas", 605},
	{"0002000", "Daugavpils", "Daugavpils", 79},
	{"0003000", "Jelgava", "Jelgavas", 55},
	{"0004000", "Jūrmala", "Jūrmalas", 50},
	{"0005000", "Liepāja", "Liepājas", 67},
	{"0006000", "Rēzekne", "Rēzeknes", 27},
	{"0007000", "Ventspils", "Ventspils", 33},
	{"0020000", "Aizkraukles novads", "Aizkraukles", 31},
	{"0021000", "Alūksnes novads", "Alūksnes", 14},
	{"0022000", "Augšdaugavas novads", "Augšdaugavas", 24},
	{"0023000", "Ādažu novads", "Ādažu", 20},
	{"0024000", "Balvu novads", "Balvu", 19},
	{"0025000", "Bauskas novads", "Bauskas", 41},
	{"0026000", "Cēsu novads", "Cēsu", 41},
	{"0027000", "Dienvidkurzemes novads", "Dienvidkurzemes", 33},
	{"0028000", "Dobeles novads", "Dobeles", 28},
	{"0029000", "Gulbenes novads", "Gulbenes", 19},
	{"0030000", "Jelgavas novads", "Jelgavas novada", 31},
	{"0031000", "Jēkabpils novads", "Jēkabpils", 40},
	{"0032000", "Krāslavas novads", "Krāslavas", 20},
	{"0033000", "Kuldīgas novads", "Kuldīgas", 30},
	{"0034000", "Ķekavas novads", "Ķekavas", 30},
	{"0035000", "Limbažu novads", "Limbažu", 30},
	{"0036000", "Līvānu novads", "Līvānu", 10},
	{"0037000", "Ludzas novads", "Ludzas", 22},
	{"0038001", "Madonas novads", "Madonas", 30},
	{"0039000", "Mārupes novads", "Mārupes", 35},
	{"0040000", "Ogres novads", "Ogres", 58},
	{"0041000", "Olaines novads", "Olaines", 19},
	{"0042000", "Preiļu novads", "Preiļu", 16},
	{"0043000", "Rēzeknes novads", "Rēzeknes novada", 28},
	{"0044000", "Ropažu novads", "Ropažu", 32},
	{"0045000", "Salaspils novads", "Salaspils", 23},
	{"0046000", "Saldus novads", "Saldus", 28},
	{"0047000", "Saulkrastu novads", "Saulkrastu", 6},
	{"0048000", "Siguldas novads", "Siguldas", 30},
	{"0049000", "Smiltenes novads", "Smiltenes", 19},
	{"0051000", "Talsu novads", "Talsu", 38},
	{"0052000", "Tukuma novads", "Tukuma", 42},
	{"0053000", "Valkas novads", "Valkas", 8},
	{"0054000", "Valmieras novads", "Valmieras", 50},
	{"0055000", "Varakļānu novads", "Varakļānu", 3},
	{"0056000", "Ventspils novads", "Ventspils novada", 11},
}

// Municipalities returns every municipality, state cities first.
func Municipalities() []registry.Municipality {
	out := make([]registry.Municipality, len(municipalities))
	for i, m := range municipalities {
		out[i] = registry.Municipality{ATVK: m.atvk, Name: m.name}
	}
	return out
}

func (m municipality) wire() registry.Municipality {
	return registry.Municipality{ATVK: m.atvk, Name: m.name}
}
