// Package registry is the wire contract of the registry mocks: the DAGR-style
// data sets, the JSON records they return, and the signed XML token request.
// It is what mocks/README.md documents; the population generator and the
// HTTP server both speak it.
package registry

import (
	"fmt"
	"strings"
)

// Dataset names one registry data set as it appears in URLs.
type Dataset string

// The data sets of seed 003, each with the institution that keeps it.
const (
	Person         Dataset = "person"          // PMLP: basic person data (declared address, death, status)
	EID            Dataset = "eid"             // PMLP: eID cards
	Pensioners     Dataset = "pensioners"      // VSAA: state pension recipients
	Learners       Dataset = "learners"        // IZM: pupils and students
	HonourFamilies Dataset = "honour-families" // SIF: Latvian Honour Family card holders
	Orphans        Dataset = "orphans"         // VBTAI: orphans and children without parental care
	Needy          Dataset = "needy"           // SOPA: needy and low-income persons
	Disability     Dataset = "disability"      // VDEĀVK: persons with a disability
	Repressed      Dataset = "repressed"       // PMLP: politically repressed, resistance and WWII participants
)

// Datasets lists every data set in a stable order.
func Datasets() []Dataset {
	return []Dataset{Person, EID, Pensioners, Learners, HonourFamilies, Orphans, Needy, Disability, Repressed}
}

// ParseDataset returns the data set named s.
func ParseDataset(s string) (Dataset, error) {
	for _, d := range Datasets() {
		if string(d) == s {
			return d, nil
		}
	}
	names := make([]string, 0, 9)
	for _, d := range Datasets() {
		names = append(names, string(d))
	}
	return "", fmt.Errorf("unknown data set %q, use one of %s", s, strings.Join(names, ", "))
}

// Keeper is the institution that keeps the data set.
func (d Dataset) Keeper() string {
	switch d {
	case Person, EID, Repressed:
		return "PMLP"
	case Pensioners:
		return "VSAA"
	case Learners:
		return "IZM"
	case HonourFamilies:
		return "SIF"
	case Orphans:
		return "VBTAI"
	case Needy:
		return "SOPA"
	case Disability:
		return "VDEĀVK"
	}
	return ""
}

// DefaultPermissionNumber is the X-Permission-Number the mocks expect for d
// unless configured otherwise. Real DAGR numbers are issued per consumer and
// data set; these are placeholders of the same role. They are ASCII because
// HTTP header values outside ASCII are not portable.
func (d Dataset) DefaultPermissionNumber() string {
	keeper := strings.ReplaceAll(d.Keeper(), "Ā", "A")
	return "DAGR-" + keeper + "-" + strings.ToUpper(string(d))
}

// Index is d's position in Datasets(), or -1. It is a switch rather than
// a search because record lookups call it in every inner loop.
func (d Dataset) Index() int {
	switch d {
	case Person:
		return 0
	case EID:
		return 1
	case Pensioners:
		return 2
	case Learners:
		return 3
	case HonourFamilies:
		return 4
	case Orphans:
		return 5
	case Needy:
		return 6
	case Disability:
		return 7
	case Repressed:
		return 8
	}
	return -1
}
