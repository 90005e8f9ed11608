// Package ekk holds the 6000 group ("Sociāla rakstura maksājumi un
// kompensācijas") of the budget expenditure classification by economic
// categories (EKK, Cabinet Regulation No. 1031, annex) and the rule that
// decides which of its codes a benefit instruction may carry.
//
// The classifier ships as data (ekk.csv, generated from the regulation's text
// by scripts/ekkgen), so a change to the regulation is a regenerated file and
// a reviewable diff, not a code change. See README.md for the rule and the
// reasoning behind each excluded code.
package ekk

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

//go:embed ekk.csv
var embeddedCSV []byte

// Sentinel errors of CheckBenefitCode; callers map them to stable problem
// types. A group heading under a wholly excluded subgroup wraps both
// ErrNotLeaf and the exclusion's error.
var (
	ErrUnknownCode     = errors.New("not a code of the EKK 6000 group")
	ErrRepealed        = errors.New("EKK code is repealed")
	ErrNotLeaf         = errors.New("EKK code is a group heading, not a posting code")
	ErrCashBenefit     = errors.New("payments in money are not covered by AVIS")
	ErrEmployerBenefit = errors.New("benefits paid by an employer are not covered by AVIS")
)

// RefusalError is a refused code with the specifics a caller may show
// beside the sentinel's stable meaning: which detailed codes would do, or
// which excluded subgroup the code is under. Its text is the full English
// explanation; it wraps the sentinels.
type RefusalError struct {
	Code string
	// Accepted are, for a group heading, the detailed codes under it that
	// AVIS accepts.
	Accepted []string
	// Under and UnderName are, for an excluded code, the excluded subgroup
	// it belongs to when that is not the code itself.
	Under, UnderName string
	err              error
}

func (e *RefusalError) Error() string { return e.err.Error() }
func (e *RefusalError) Unwrap() error { return e.err }

// Code is one entry of the classification.
type Code struct {
	Code   string // four digits, e.g. "6322"
	NameLV string // the name as the regulation gives it; for a repealed code, the repeal note
	Parent string // the nearest heading above it; empty for the group heading
	Level  int    // 1 for d000, 2 for dd00, 3 for ddd0, 4 for the rest
	// Deleted marks a code repealed by an amendment ("Svītrots ar ...").
	Deleted bool
	// Leaf marks a posting code: no code in force sits under it.
	Leaf bool
}

// Classifier is an immutable, validated set of codes of one EKK group.
type Classifier struct {
	codes []Code // sorted by code
	index map[string]int
	group string
}

var csvHeader = []string{"code", "name_lv", "parent", "level", "deleted"}

// Load parses the embedded classifier. Call it once at start-up and share the
// result; it is safe for concurrent use.
func Load() (*Classifier, error) {
	cl, err := parseCSV(bytes.NewReader(embeddedCSV), "ekk.csv")
	if err != nil {
		return nil, err
	}
	for _, root := range exclusionRoots() {
		if e, ok := cl.Lookup(root); !ok || e.Deleted {
			return nil, fmt.Errorf("ekk: ekk.csv: code %s, which a benefit exclusion rule names, is missing or repealed; review exclusionAt", root)
		}
	}
	return cl, nil
}

// Lookup returns a code of the group, including repealed ones.
func (c *Classifier) Lookup(code string) (Code, bool) {
	i, ok := c.index[code]
	if !ok {
		return Code{}, false
	}
	return c.codes[i], true
}

// All returns every code in code order; the slice is the caller's to keep.
func (c *Classifier) All() []Code {
	return slices.Clone(c.codes)
}

// BenefitCodes returns, in code order, the codes CheckBenefitCode accepts.
func (c *Classifier) BenefitCodes() []Code {
	var out []Code
	for _, code := range c.codes {
		if c.CheckBenefitCode(code.Code) == nil {
			out = append(out, code)
		}
	}
	return out
}

// exclusion is a subgroup (or single code) whose every posting is outside
// AVIS, with the sentinel error that says why.
type exclusion struct {
	root string
	err  error
}

// exclusionAt reports whether a rule excludes code and everything under it.
// The wording quoted is the regulation's (seed 002); what AVIS does not
// cover is from the AVIS overview (seed 003, "AVIS neattiecas uz
// atvieglojumiem, kas saistīti ar ... valsts sociālajiem pabalstiem, valsts
// sociālās apdrošināšanas pabalstiem, darba devēja izmaksātajiem
// pabalstiem"), and AVIS covers only benefits applied at a transaction where
// the recipient is identified ("kuru piemērošanas brīdī tiek identificēts
// atvieglojumu saņēmējs ... un ir veikts darījums"), which a payment into a
// person's account never is.
func exclusionAt(code string) (exclusion, bool) {
	switch code {
	case "6200":
		// "Pensijas un sociālie pabalsti naudā": pensions, state social
		// insurance benefits (6220), state social benefits (6230) and every
		// other 62xx code are, by the subgroup's own title, paid in money.
		// That includes 6291 scholarships and 6292 transport compensations:
		// they sit under this heading, and the in-kind or voluntary
		// municipal variants have their own codes (63xx, 6421, 6423).
		return exclusion{root: code, err: ErrCashBenefit}, true
	case "6340":
		// "Darba devēja sociālie pabalsti natūrā": benefits an employer
		// grants, excluded by seed 003 whether in money or in kind.
		return exclusion{root: code, err: ErrEmployerBenefit}, true
	case "6422":
		// "Naudas balvas, ko izmaksā iestāde ...": cash prizes paid out by
		// an institution, money, with no purchase to apply them to.
		return exclusion{root: code, err: ErrCashBenefit}, true
	case "6500":
		// "Kompensācijas, kuras izmaksā personām, pamatojoties uz ... tiesu
		// ... nolēmumiem": compensation a court awards and the institution
		// pays out (6510 even via a bailiff, and refunds of state fees),
		// not a benefit a grantor chooses to give at a point of sale.
		return exclusion{root: code, err: ErrCashBenefit}, true
	}
	return exclusion{}, false
}

// exclusionRoots lists the codes exclusionAt names, so that Load can refuse a
// classifier in which a rule would silently stop matching.
func exclusionRoots() []string { return []string{"6200", "6340", "6422", "6500"} }

// CheckBenefitCode tells whether a benefit instruction may carry code. The
// code must be exactly four ASCII digits, in the group, in force, a posting
// code (a leaf: reports post to the most detailed code, and a heading such as
// 6300 would hide whether the benefit is in kind or by an employer), and not
// under an excluded subgroup (see exclusionAt).
func (c *Classifier) CheckBenefitCode(code string) error {
	if !isCode(code) {
		return fmt.Errorf("EKK code %q is not four digits: %w", code, ErrUnknownCode)
	}
	entry, ok := c.Lookup(code)
	if !ok {
		return fmt.Errorf("EKK code %s: %w", code, ErrUnknownCode)
	}
	if entry.Deleted {
		return fmt.Errorf("EKK code %s %s: %w", code, entry.NameLV, ErrRepealed)
	}
	ex, excluded := c.exclusionOf(code)
	if !entry.Leaf {
		if excluded {
			err := fmt.Errorf("EKK code %s %q is a group heading (%w), and all of %s %q is excluded (%w)",
				code, entry.NameLV, ErrNotLeaf, ex.root, c.name(ex.root), ex.err)
			if ex.root == code {
				return err
			}
			return &RefusalError{Code: code, Under: ex.root, UnderName: c.name(ex.root), err: err}
		}
		var allowed []string
		for _, d := range c.codes {
			if d.Leaf && c.isUnder(d.Code, code) && c.CheckBenefitCode(d.Code) == nil {
				allowed = append(allowed, d.Code)
			}
		}
		return &RefusalError{Code: code, Accepted: allowed, err: fmt.Errorf("EKK code %s %q is a group heading; use one of the detailed codes under it that AVIS accepts (%s): %w",
			code, entry.NameLV, strings.Join(allowed, ", "), ErrNotLeaf)}
	}
	if excluded {
		if ex.root == code {
			return fmt.Errorf("EKK code %s %q: %w", code, entry.NameLV, ex.err)
		}
		return &RefusalError{Code: code, Under: ex.root, UnderName: c.name(ex.root),
			err: fmt.Errorf("EKK code %s %q is under %s %q: %w", code, entry.NameLV, ex.root, c.name(ex.root), ex.err)}
	}
	return nil
}

// exclusionOf finds the rule covering code or one of its headings.
func (c *Classifier) exclusionOf(code string) (exclusion, bool) {
	for cur := code; cur != ""; cur = c.codes[c.index[cur]].Parent {
		if ex, ok := exclusionAt(cur); ok {
			return ex, true
		}
	}
	return exclusion{}, false
}

// isUnder reports whether code is a proper descendant of heading.
func (c *Classifier) isUnder(code, heading string) bool {
	for cur := c.codes[c.index[code]].Parent; cur != ""; cur = c.codes[c.index[cur]].Parent {
		if cur == heading {
			return true
		}
	}
	return false
}

func (c *Classifier) name(code string) string {
	if e, ok := c.Lookup(code); ok {
		return e.NameLV
	}
	return ""
}

// parseCSV reads the format WriteCSV writes. Errors name the row (1 is the
// header) and the column.
func parseCSV(r io.Reader, file string) (*Classifier, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(csvHeader)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("ekk: %s row 1: reading header: %w", file, err)
	}
	if !slices.Equal(header, csvHeader) {
		return nil, fmt.Errorf("ekk: %s row 1: header is %q, want %q", file, strings.Join(header, ","), strings.Join(csvHeader, ","))
	}
	var codes []Code
	rows := []int{}
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ekk: %s: %w", file, err)
		}
		at := func(col int) string { return fmt.Sprintf("%s row %d, column %q", file, row, csvHeader[col]) }
		code := Code{Code: rec[0], NameLV: rec[1], Parent: rec[2]}
		if !isCode(code.Code) {
			return nil, fmt.Errorf("ekk: %s: %q is not a four-digit code", at(0), code.Code)
		}
		if strings.TrimSpace(code.NameLV) != code.NameLV || code.NameLV == "" {
			return nil, fmt.Errorf("ekk: %s: name %q is empty or has surrounding spaces", at(1), code.NameLV)
		}
		if code.Parent != "" && !isCode(code.Parent) {
			return nil, fmt.Errorf("ekk: %s: %q is not a four-digit code", at(2), code.Parent)
		}
		if code.Level, err = strconv.Atoi(rec[3]); err != nil || code.Level < 1 || code.Level > 4 {
			return nil, fmt.Errorf("ekk: %s: %q is not a level from 1 to 4", at(3), rec[3])
		}
		if code.Deleted, err = strconv.ParseBool(rec[4]); err != nil || (rec[4] != "true" && rec[4] != "false") {
			return nil, fmt.Errorf("ekk: %s: %q is not true or false", at(4), rec[4])
		}
		codes = append(codes, code)
		rows = append(rows, row)
	}
	cl, err := newClassifier(codes, func(i int) string { return fmt.Sprintf("%s row %d", file, rows[i]) })
	if err != nil {
		return nil, fmt.Errorf("ekk: %w", err)
	}
	return cl, nil
}

// newClassifier checks that codes form one consistent tree under a single
// group heading and derives Leaf. where(i) names the source of codes[i].
func newClassifier(codes []Code, where func(int) string) (*Classifier, error) {
	cl := &Classifier{index: make(map[string]int, len(codes))}
	for i, c := range codes {
		if prev, dup := cl.index[c.Code]; dup {
			return nil, fmt.Errorf("%s: code %s repeats %s", where(i), c.Code, where(prev))
		}
		cl.index[c.Code] = i
		if want := levelOf(c.Code); c.Level != want {
			return nil, fmt.Errorf("%s: code %s has level %d, want %d", where(i), c.Code, c.Level, want)
		}
		if c.Level == 1 {
			if cl.group != "" {
				return nil, fmt.Errorf("%s: second group heading %s after %s", where(i), c.Code, cl.group)
			}
			cl.group = c.Code
		}
	}
	if cl.group == "" {
		return nil, errors.New("no group heading (a code like 6000) among the codes")
	}
	present := make(map[string]bool, len(codes))
	for _, c := range codes {
		present[c.Code] = true
	}
	for i, c := range codes {
		if c.Code[0] != cl.group[0] {
			return nil, fmt.Errorf("%s: code %s is outside group %s", where(i), c.Code, cl.group)
		}
		if want := nearestAncestor(c.Code, present); c.Parent != want {
			return nil, fmt.Errorf("%s: code %s has parent %q, want %q (the nearest heading present)", where(i), c.Code, c.Parent, want)
		}
	}
	inForceChildren := make(map[string]int)
	for _, c := range codes {
		if c.Parent != "" && !c.Deleted {
			inForceChildren[c.Parent]++
		}
	}
	cl.codes = slices.Clone(codes)
	for i := range cl.codes {
		n := inForceChildren[cl.codes[i].Code]
		if cl.codes[i].Deleted && n > 0 {
			return nil, fmt.Errorf("%s: code %s is repealed but %d codes under it are in force", where(i), cl.codes[i].Code, n)
		}
		cl.codes[i].Leaf = n == 0
	}
	// Sort after validation so that where(i) keeps pointing at input rows.
	slices.SortFunc(cl.codes, func(a, b Code) int { return strings.Compare(a.Code, b.Code) })
	for i, c := range cl.codes {
		cl.index[c.Code] = i
	}
	return cl, nil
}

func isCode(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// levelOf derives the level from the trailing zeros, which is how the
// classification encodes its hierarchy: 6000, 6300, 6320, 6322.
func levelOf(code string) int {
	switch {
	case code[1:] == "000":
		return 1
	case code[2:] == "00":
		return 2
	case code[3] == '0':
		return 3
	}
	return 4
}

// nearestAncestor returns the closest heading of code that is present. The
// regulation skips levels where a subgroup has no intermediate heading
// (6330 sits directly under 6300), so the nearest one present is the parent.
func nearestAncestor(code string, present map[string]bool) string {
	for lvl := levelOf(code) - 1; lvl >= 1; lvl-- {
		cand := code[:lvl] + strings.Repeat("0", 4-lvl)
		if present[cand] {
			return cand
		}
	}
	return ""
}
