package population

import (
	"fmt"
	"math/big"
	"math/bits"
	"sort"
	"time"

	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/mocks/registry"
)

// The code space. Every synthetic person occupies one slot; a slot is either
// an old-format code (birth date + serial, born 1920-01-01 .. 2017-06-30) or
// a new-format code (3X NNNN-NNNNN, issued since 1 July 2017). Slot ↔ code is
// a bijection computed arithmetically, and index ↔ slot is a keyed
// permutation, so Lookup needs no table.
var (
	oldFirstDay = registry.NewDate(1920, time.January, 1)
	oldLastDay  = registry.NewDate(2017, time.June, 30)
	newFirstDay = registry.NewDate(2017, time.July, 1)
	// youngest is the latest birth date in the population, and the
	// reference day for age-based group membership, so that membership
	// does not depend on -as-of.
	youngest = registry.NewDate(2025, time.December, 31)
	popRef   = registry.NewDate(2026, time.January, 1)
)

// livingByBirthYear approximates Latvia's residents by birth year (thousands,
// shaped after the CSP age pyramid: few survivors of the 1920s, the large
// 1980s cohorts, the 1990s birth collapse). Values between the anchors are
// interpolated.
var livingByBirthYear = [][2]float64{
	{1920, 0.05}, {1925, 0.3}, {1930, 1.5}, {1935, 4}, {1940, 8}, {1945, 10},
	{1950, 17}, {1955, 21}, {1960, 24}, {1965, 25}, {1970, 26}, {1975, 27},
	{1980, 28}, {1985, 30}, {1988, 31}, {1990, 29}, {1993, 21}, {1996, 17},
	{2000, 18}, {2005, 20}, {2008, 23}, {2010, 20}, {2014, 21}, {2017, 19},
}

// serialsPerThousand scales the weights above to serials per birth day; the
// busiest day uses 31*28 = 868 of the ~909 serials whose check digit is not
// 10.
const serialsPerThousand = 28

// newFormatShare is the share of slots with new-format codes.
const newFormatShare = 0.10

// newCodeCount is the count of new-format codes: second digit 2..9, then
// nine free digits.
const newCodeCount = 8_000_000_000

// newCodeMultiplier spreads consecutive new-format slots over the whole
// code space; it must be coprime to newCodeCount (odd, not a multiple of 5).
const newCodeMultiplier = 2_654_435_761

var checkWeights = [10]int{1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// codeSpace maps slots to personal codes and back.
type codeSpace struct {
	firstYear  int
	perDay     []int    // serials per day, per year from firstYear
	cum        []uint64 // slots before each year
	oldSlots   uint64
	newSlots   uint64
	newInverse uint64          // newCodeMultiplier⁻¹ mod newCodeCount
	serials    [11][]int16     // per day residue: allowed serials in use order
	rank       [11][1000]int16 // per day residue: serial → position in serials, -1 if never used
}

func newCodeSpace() (*codeSpace, error) {
	cs := &codeSpace{firstYear: oldFirstDay.Year()}
	// Serial order: a fixed stride through 000..999 so that serials look
	// arbitrary, minus those whose check digit would be 10 (the registry
	// never issues them; see internal/personcode).
	for r := range 11 {
		for i := range cs.rank[r] {
			cs.rank[r][i] = -1
		}
		for k := range 1000 {
			serial := (k*389 + 17) % 1000
			s := 8*(serial/100) + 4*(serial/10%10) + 2*(serial%10)
			if (r+s)%11 == 2 {
				continue
			}
			cs.rank[r][serial] = int16(len(cs.serials[r]))
			cs.serials[r] = append(cs.serials[r], int16(serial))
		}
	}
	minSerials := 1000
	for r := range 11 {
		minSerials = min(minSerials, len(cs.serials[r]))
	}
	var total uint64
	for y := cs.firstYear; y <= oldLastDay.Year(); y++ {
		w := max(1, int(interpolate(livingByBirthYear, float64(y))*serialsPerThousand+0.5))
		if w > minSerials {
			return nil, fmt.Errorf("year %d needs %d serials per day, only %d are usable", y, w, minSerials)
		}
		cs.perDay = append(cs.perDay, w)
		cs.cum = append(cs.cum, total)
		total += uint64(daysInYear(y) * w)
	}
	cs.oldSlots = total
	cs.newSlots = uint64(float64(total) * newFormatShare / (1 - newFormatShare))
	inv := new(big.Int).ModInverse(big.NewInt(newCodeMultiplier), big.NewInt(newCodeCount))
	if inv == nil {
		return nil, fmt.Errorf("new-code multiplier is not invertible")
	}
	cs.newInverse = inv.Uint64()
	return cs, nil
}

func (cs *codeSpace) size() uint64 { return cs.oldSlots + cs.newSlots }

// daysInYear counts the days of year y that hold old-format codes.
func daysInYear(y int) int {
	first := registry.NewDate(y, time.January, 1)
	last := registry.NewDate(y, time.December, 31)
	if last.After(oldLastDay) {
		last = oldLastDay
	}
	return first.DaysUntil(last) + 1
}

func interpolate(points [][2]float64, x float64) float64 {
	if x <= points[0][0] {
		return points[0][1]
	}
	for i := 1; i < len(points); i++ {
		if x <= points[i][0] {
			a, b := points[i-1], points[i]
			return a[1] + (b[1]-a[1])*(x-a[0])/(b[0]-a[0])
		}
	}
	return points[len(points)-1][1]
}

// code returns the personal code of slot, and the birth date if the code
// carries one.
func (cs *codeSpace) code(slot uint64) (personcode.Code, registry.Date, bool) {
	if slot >= cs.oldSlots {
		v := mulmod(slot-cs.oldSlots, newCodeMultiplier, newCodeCount)
		s := fmt.Sprintf("3%d%09d", 2+v/1_000_000_000, v%1_000_000_000)
		return personcode.Code(s), registry.Date{}, false
	}
	yi := sort.Search(len(cs.cum), func(i int) bool { return cs.cum[i] > slot }) - 1
	w := uint64(cs.perDay[yi])
	off := slot - cs.cum[yi]
	day := registry.NewDate(cs.firstYear+yi, time.January, 1).AddDays(int(off / w))
	first6 := day.Time().Format("020106")
	century := "1"
	if day.Year() >= 2000 {
		century = "2"
	}
	r := residue(first6 + century)
	serial := cs.serials[r][off%w]
	first10 := fmt.Sprintf("%s%s%03d", first6, century, serial)
	check, err := personcode.CheckDigit(first10)
	if err != nil {
		// first10 is ten digits by construction.
		panic(fmt.Sprintf("population: check digit of %q: %v", first10, err))
	}
	return personcode.Code(first10 + string(check)), day, true
}

// slot returns the slot of code, or false if no slot produces it.
func (cs *codeSpace) slot(c personcode.Code) (uint64, bool) {
	if c.Format() == personcode.FormatNew {
		var v uint64
		for i := 1; i < 11; i++ {
			v = v*10 + uint64(c[i]-'0')
		}
		v -= 2_000_000_000 // second digit 2..9 → 0..7
		s := mulmod(v, cs.newInverse, newCodeCount)
		if s >= cs.newSlots {
			return 0, false
		}
		return cs.oldSlots + s, true
	}
	day, ok := c.BirthDate()
	if !ok {
		return 0, false
	}
	d := registry.DateOf(day)
	if d.Before(oldFirstDay) || d.After(oldLastDay) {
		return 0, false
	}
	yi := d.Year() - cs.firstYear
	r := residue(string(c[:7]))
	serial := int(c[7]-'0')*100 + int(c[8]-'0')*10 + int(c[9]-'0')
	rank := cs.rank[r][serial]
	if rank < 0 || int(rank) >= cs.perDay[yi] {
		return 0, false
	}
	dayIndex := registry.NewDate(d.Year(), time.January, 1).DaysUntil(d)
	return cs.cum[yi] + uint64(dayIndex*cs.perDay[yi]+int(rank)), true
}

// residue is the weighted digit sum mod 11 of the date and century digits,
// which decides which serials would get check digit 10.
func residue(first7 string) int {
	s := 0
	for i := 0; i < 7; i++ {
		s += int(first7[i]-'0') * checkWeights[i]
	}
	return s % 11
}

func mulmod(a, b, m uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return bits.Rem64(hi, lo, m)
}
