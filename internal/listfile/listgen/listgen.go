// Package listgen writes realistic, deterministic person-list files (CSV or
// XLSX) for tests, benchmarks and QA: valid personal codes of both formats,
// realistic validity dates, and a chosen share of bad rows of known kinds,
// so a reader's counts can be checked exactly. It streams, holding no
// per-row state, so a million-row file costs no more memory than ten.
package listgen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/xuri/excelize/v2"
)

// Kind is what a generated row is, and so which error a reader must report.
type Kind int

const (
	Good          Kind = iota
	BadChecksum        // old-format code with a wrong check digit
	BadDate            // impossible valid_from (2025-02-30)
	ReversedDates      // valid_to before valid_from
	Duplicate          // a code that an earlier good row already has
	Garbage            // a personal-code cell that is not a code at all
	numKinds
)

func (k Kind) String() string {
	return [...]string{"good", "bad_checksum", "bad_date", "reversed_dates", "duplicate", "garbage"}[k]
}

// Options say what to generate. The zero value of a field means its default.
type Options struct {
	Rows     int
	BadShare float64 // share of bad rows, 0..1
	NewShare float64 // share of new-format (3XNNNN-NNNNN, X from 2 to 9) codes among valid codes; default 0.15
	Lang     string  // "lv" (default) or "en": header names and date style
	// DateStyle is "iso" (YYYY-MM-DD), "lv" (DD.MM.YYYY) or "mixed";
	// default "mixed" for lv and "iso" for en.
	DateStyle string
	Delim     byte // CSV delimiter; default ';' for lv and ',' for en
	BOM       bool // CSV starts with a UTF-8 BOM, as Excel's "CSV UTF-8" writes
	Seed      uint64
}

// Stats counts the rows written by kind.
type Stats struct {
	Rows   int
	ByKind [numKinds]int
}

// Bad is the number of rows a reader must reject.
func (s Stats) Bad() int { return s.Rows - s.ByKind[Good] }

// Record is one generated row. Code, From and To are text as a clerk would
// type them; the numeric and time forms are for spreadsheet cells.
type Record struct {
	Kind       Kind
	Code       string
	From, To   string
	FromDate   time.Time // zero for BadDate
	ToDate     *time.Time
	CodeDigits bool // Code is 11 digits without hyphen (may be stored as a number)
}

// Old-format birth dates span people alive and listed today, born before
// new-format codes began (1 July 2017).
var (
	birthFirst = time.Date(1925, 1, 1, 0, 0, 0, 0, time.UTC)
	birthLast  = time.Date(2017, 6, 30, 0, 0, 0, 0, time.UTC)
	validFirst = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	validDays  = 3 * 365
)

// Generator produces records one by one. Codes are unique without a set:
// the i-th valid code of each format is an affine permutation of i over the
// whole code space, and bad rows draw from the top of the index range, so
// they never collide with valid ones.
type Generator struct {
	opt              Options
	rng              *rand.Rand
	oldPerm, newPerm perm
	oldGood, newGood uint64
	oldBad           uint64
	birthDays        uint64
	good             int
}

// perm is i ↦ (a·i + b) mod n with gcd(a, n) = 1, a bijection on [0, n).
type perm struct{ a, b, n uint64 }

func newPerm(rng *rand.Rand, n uint64) perm {
	a := n/3 + rng.Uint64N(n/3) | 1
	for gcd(a, n) != 1 {
		a++
	}
	return perm{a: a, b: rng.Uint64N(n), n: n}
}

func (p perm) at(i uint64) uint64 {
	hi, lo := mul64(p.a, i%p.n)
	return (mod128(hi, lo, p.n) + p.b) % p.n
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// New returns a generator for opt.
func New(opt Options) *Generator {
	opt = opt.withDefaults()
	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x5DEECE66D))
	days := uint64(birthLast.Sub(birthFirst).Hours()/24) + 1
	return &Generator{
		opt:       opt,
		rng:       rng,
		birthDays: days,
		oldPerm:   newPerm(rng, days*1000),
		newPerm:   newPerm(rng, 8_000_000_000),
	}
}

func (o Options) withDefaults() Options {
	if o.Lang != "en" {
		o.Lang = "lv"
	}
	if o.NewShare <= 0 {
		o.NewShare = 0.15
	}
	if o.DateStyle == "" {
		o.DateStyle = map[string]string{"lv": "mixed", "en": "iso"}[o.Lang]
	}
	if o.Delim == 0 {
		o.Delim = map[string]byte{"lv": ';', "en": ','}[o.Lang]
	}
	return o
}

// Header returns the column names in the options' language.
func (g *Generator) Header() []string {
	if g.opt.Lang == "en" {
		return []string{"person_code", "valid_from", "valid_to"}
	}
	return []string{"personas_kods", "derīgs_no", "derīgs_līdz"}
}

// oldCode returns the old-format code with permutation input i.
func (g *Generator) oldCode(i uint64) string {
	p := g.oldPerm.at(i)
	born := birthFirst.AddDate(0, 0, int(p/1000))
	century := (born.Year() - 1800) / 100
	first10 := fmt.Sprintf("%02d%02d%02d%d%03d", born.Day(), born.Month(), born.Year()%100, century, p%1000)
	cd, err := personcode.CheckDigit(first10)
	if err != nil {
		panic(fmt.Sprintf("listgen: check digit of generated code: %v", err))
	}
	return first10 + string(cd)
}

func (g *Generator) newCode(i uint64) string {
	p := g.newPerm.at(i)
	return fmt.Sprintf("3%d%09d", 2+p/1_000_000_000, p%1_000_000_000)
}

// freshCode returns the next unique valid code.
func (g *Generator) freshCode() string {
	if g.rng.Float64() < g.opt.NewShare {
		g.newGood++
		return g.newCode(g.newGood - 1)
	}
	g.oldGood++
	return g.oldCode(g.oldGood - 1)
}

// badRowCode is a valid code that no good row uses, for rows that fail on
// their dates.
func (g *Generator) badRowCode() string {
	g.oldBad++
	return g.oldCode(g.oldPerm.n - g.oldBad)
}

// styleCode writes a code as clerks do: half with the hyphen.
func (g *Generator) styleCode(c string) (string, bool) {
	if g.rng.IntN(2) == 0 {
		return c[:6] + "-" + c[6:], false
	}
	return c, true
}

func (g *Generator) fmtDate(t time.Time) string {
	style := g.opt.DateStyle
	if style == "mixed" {
		style = [...]string{"iso", "lv"}[g.rng.IntN(2)]
	}
	if style == "lv" {
		return t.Format("02.01.2006")
	}
	return t.Format(time.DateOnly)
}

// validity draws a realistic period: most start on the first of a month,
// a third are open-ended, the rest last whole months.
func (g *Generator) validity() (time.Time, *time.Time) {
	from := validFirst.AddDate(0, 0, g.rng.IntN(validDays))
	if g.rng.IntN(2) == 0 {
		from = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	if g.rng.IntN(3) == 0 {
		return from, nil
	}
	to := from.AddDate(0, 1+g.rng.IntN(24), -1)
	return from, &to
}

var impossibleDates = []string{"2025-02-30", "31.04.2025", "2024-13-01", "00.01.2025", "2025-02-29", "1.1.25", "2025/01/15"}

var garbage = []string{
	"nav zināms", "N/A", "12345", "ABCDEFGHIJK", "010190-1000X", "=HYPERLINK(\"http://example.invalid\";\"x\")",
	"+37120000000", "@SUM(A1:A9)", "-1", "Jānis Bērziņš", "a;b,c\"d", "01019010001 01019010001",
}

// Next returns the next record.
func (g *Generator) Next() Record {
	kind := Good
	if g.rng.Float64() < g.opt.BadShare {
		kind = Kind(1 + g.rng.IntN(int(numKinds)-1))
		if kind == Duplicate && g.good == 0 {
			kind = BadChecksum
		}
	}
	rec := Record{Kind: kind}
	from, to := g.validity()
	rec.FromDate, rec.ToDate = from, to
	var code string
	switch kind {
	case Good:
		code = g.freshCode()
		g.good++
	case BadChecksum:
		c := g.badRowCode()
		wrong := (int(c[10]-'0') + 1 + g.rng.IntN(9)) % 10
		code = c[:10] + strconv.Itoa(wrong)
	case BadDate:
		code = g.badRowCode()
		rec.From = impossibleDates[g.rng.IntN(len(impossibleDates))]
		rec.FromDate = time.Time{}
	case ReversedDates:
		code = g.badRowCode()
		t := from.AddDate(0, 0, -1-g.rng.IntN(365))
		rec.ToDate = &t
	case Duplicate:
		code = g.earlierGoodCode()
	case Garbage:
		rec.Code = garbage[g.rng.IntN(len(garbage))]
	}
	if kind != Garbage {
		rec.Code, rec.CodeDigits = g.styleCode(code)
	}
	if rec.From == "" {
		rec.From = g.fmtDate(rec.FromDate)
	}
	if rec.ToDate != nil {
		rec.To = g.fmtDate(*rec.ToDate)
	}
	return rec
}

// earlierGoodCode regenerates the code of a random earlier good row.
func (g *Generator) earlierGoodCode() string {
	j := g.rng.Uint64N(g.oldGood + g.newGood)
	if j < g.oldGood {
		return g.oldCode(j)
	}
	return g.newCode(j - g.oldGood)
}

// WriteCSV writes opt.Rows rows as CSV.
func WriteCSV(w io.Writer, opt Options) (Stats, error) {
	g := New(opt)
	bw := bufio.NewWriterSize(w, 256<<10)
	if g.opt.BOM {
		bw.WriteString("\uFEFF")
	}
	writeCSVRecord(bw, g.opt.Delim, g.Header())
	var st Stats
	for range g.opt.Rows {
		r := g.Next()
		st.Rows++
		st.ByKind[r.Kind]++
		writeCSVRecord(bw, g.opt.Delim, []string{r.Code, r.From, r.To})
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("write csv: %w", err)
	}
	return st, nil
}

func writeCSVRecord(w *bufio.Writer, delim byte, fields []string) {
	for i, f := range fields {
		if i > 0 {
			w.WriteByte(delim)
		}
		if strings.ContainsAny(f, "\"\r\n"+string(delim)) {
			w.WriteByte('"')
			w.WriteString(strings.ReplaceAll(f, `"`, `""`))
			w.WriteByte('"')
		} else {
			w.WriteString(f)
		}
	}
	w.WriteString("\r\n")
}

// WriteXLSX writes opt.Rows rows as a one-sheet workbook the way Excel
// stores a typed-in list: dates as date cells, and codes without a hyphen
// as numbers (so codes starting with 0 lose that digit, as in real files),
// with impossible dates and garbage as text.
func WriteXLSX(w io.Writer, opt Options) (Stats, error) {
	g := New(opt)
	f := excelize.NewFile()
	defer f.Close()
	sheet := "Sheet1"
	if g.opt.Lang == "lv" {
		sheet = "Saraksts"
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			return Stats{}, fmt.Errorf("name sheet: %w", err)
		}
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return Stats{}, fmt.Errorf("stream writer: %w", err)
	}
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		return Stats{}, fmt.Errorf("date style: %w", err)
	}
	hdr := g.Header()
	if err := sw.SetRow("A1", []any{hdr[0], hdr[1], hdr[2]}); err != nil {
		return Stats{}, fmt.Errorf("header row: %w", err)
	}
	// A separate stream picks the cell types, so a seed yields the same rows
	// in both formats.
	cellRng := rand.New(rand.NewPCG(g.opt.Seed, 0xCE11))
	var st Stats
	row := make([]any, 3)
	for i := range g.opt.Rows {
		r := g.Next()
		st.Rows++
		st.ByKind[r.Kind]++
		row[0] = r.Code
		if r.CodeDigits && cellRng.IntN(2) == 0 {
			n, _ := strconv.ParseInt(r.Code, 10, 64)
			row[0] = n
		}
		row[1] = excelize.Cell{StyleID: dateStyle, Value: r.FromDate}
		if r.Kind == BadDate {
			row[1] = r.From
		}
		row[2] = nil
		if r.ToDate != nil {
			row[2] = excelize.Cell{StyleID: dateStyle, Value: *r.ToDate}
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			return st, fmt.Errorf("row %d: %w", i+2, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return st, fmt.Errorf("flush sheet: %w", err)
	}
	if err := f.Write(w); err != nil {
		return st, fmt.Errorf("write xlsx: %w", err)
	}
	return st, nil
}
