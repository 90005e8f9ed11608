package ekk

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// The seed is the likumi.lv text rendering of the annex of Cabinet Regulation
// No. 1031, a three-column table (subgroup, code, name and explanation)
// flattened to lines. Each entry starts with its subgroup marker ("1.3"); the
// code usually follows on its own line and the name on the next, but the
// rendering sometimes glues them: "6238Pabalsts ..." after a lone marker, or
// "1.36255Sociālās garantijas ..." with all three on one line. Explanations
// ("Kodā NNNN uzskaita: ...") follow the name and are not part of it.
var (
	// loneMarkerRe matches a subgroup marker on its own line. The
	// rendering has typos in two: "1.1." (before 2231) and "2.20" (before
	// 9140). "1.3. apakšgrupu" in running text does not match.
	loneMarkerRe = regexp.MustCompile(`^[1-3]\.[0-9](?:\.|0)?$`)
	// gluedRe matches a marker glued to its code and maybe to the name;
	// codes never start with 0, so a marker's digit cannot be misread as
	// part of the code.
	gluedRe = regexp.MustCompile(`^[1-3]\.[0-9]([1-9][0-9]{3})([^0-9].*)?$`)
	// codeRe matches a code line after a lone marker, possibly glued to the name.
	codeRe = regexp.MustCompile(`^([1-9][0-9]{3})([^0-9].*)?$`)
	// strayCodeRe catches a code-like line that no marker introduced, so a
	// change in the rendering fails loudly instead of dropping a code.
	strayCodeRe = regexp.MustCompile(`^[0-9]{4}($|\p{Lu}|\()`)
	repealedRe  = regexp.MustCompile(`^\(Svītrots ar .+\)$`)
)

const annexHeading = "Pielikums"

type seedLine struct {
	no   int
	text string
}

// ParseSeed reads the text of Cabinet Regulation No. 1031 (seed 002) and
// returns every code of one EKK group, group being its heading code such as
// "6000", in code order with Parent, Level, Deleted and Leaf filled in.
func ParseSeed(r io.Reader, group string) ([]Code, error) {
	if !isCode(group) || group[0] == '0' || group[1:] != "000" {
		return nil, fmt.Errorf("ekk: group %q is not a group heading code like 6000", group)
	}
	lines, err := annexLines(r)
	if err != nil {
		return nil, err
	}
	type entry struct {
		code, name string
		line       int
	}
	var entries []entry
	seen := make(map[string]int)
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		var code, rest string
		switch m := gluedRe.FindStringSubmatch(l.text); {
		case m != nil:
			code, rest = m[1], m[2]
		case loneMarkerRe.MatchString(l.text):
			marker := l.text
			if i+1 >= len(lines) {
				return nil, fmt.Errorf("ekk: seed line %d: subgroup marker %q at the end of the text, no code follows", l.no, marker)
			}
			i++
			l = lines[i]
			cm := codeRe.FindStringSubmatch(l.text)
			if cm == nil {
				return nil, fmt.Errorf("ekk: seed line %d: expected a four-digit code after subgroup marker %q, found %q", l.no, marker, abbreviate(l.text))
			}
			code, rest = cm[1], cm[2]
		default:
			if strayCodeRe.MatchString(l.text) {
				return nil, fmt.Errorf("ekk: seed line %d: code-like text %q without a subgroup marker before it", l.no, abbreviate(l.text))
			}
			continue
		}
		codeNo := l.no
		name := normaliseSpace(rest)
		if name == "" {
			if i+1 >= len(lines) {
				return nil, fmt.Errorf("ekk: seed line %d: code %s has no name", l.no, code)
			}
			i++
			l = lines[i]
			name = normaliseSpace(l.text)
			if loneMarkerRe.MatchString(name) || gluedRe.MatchString(name) || codeRe.MatchString(name) || strings.HasPrefix(name, "Kodā ") {
				return nil, fmt.Errorf("ekk: seed line %d: code %s has no name, found %q", l.no, code, abbreviate(name))
			}
		}
		if prev, dup := seen[code]; dup {
			return nil, fmt.Errorf("ekk: seed line %d: code %s appears again (first on line %d)", codeNo, code, prev)
		}
		seen[code] = codeNo
		entries = append(entries, entry{code: code, name: name, line: codeNo})
	}

	var codes []Code
	var codeLines []int
	for _, e := range entries {
		if e.code[0] != group[0] {
			continue
		}
		codeLines = append(codeLines, e.line)
		codes = append(codes, Code{
			Code:    e.code,
			NameLV:  e.name,
			Level:   levelOf(e.code),
			Deleted: repealedRe.MatchString(e.name),
		})
	}
	if len(codes) == 0 {
		return nil, fmt.Errorf("ekk: the seed's annex has no code of group %s", group)
	}
	present := make(map[string]bool, len(codes))
	for _, c := range codes {
		present[c.Code] = true
	}
	for i := range codes {
		codes[i].Parent = nearestAncestor(codes[i].Code, present)
		if codes[i].Parent == "" && codes[i].Level > 1 {
			return nil, fmt.Errorf("ekk: code %s (seed line %d) has no heading code above it in the seed", codes[i].Code, codeLines[i])
		}
	}
	cl, err := newClassifier(codes, func(i int) string { return fmt.Sprintf("seed line %d", codeLines[i]) })
	if err != nil {
		return nil, fmt.Errorf("ekk: seed: %w", err)
	}
	return cl.All(), nil
}

// annexLines returns the non-blank, trimmed lines after the annex heading.
// strings.TrimSpace also removes the no-break spaces that the rendering puts
// on otherwise empty table cells.
func annexLines(r io.Reader) ([]seedLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	var lines []seedLine
	inAnnex := false
	for no := 1; sc.Scan(); no++ {
		t := strings.TrimSpace(sc.Text())
		if !inAnnex {
			inAnnex = t == annexHeading
			continue
		}
		if t != "" {
			lines = append(lines, seedLine{no: no, text: t})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ekk: reading seed: %w", err)
	}
	if !inAnnex {
		return nil, fmt.Errorf("ekk: seed has no line %q starting the annex", annexHeading)
	}
	return lines, nil
}

// WriteCSV writes codes in the format that Load reads: a header and one row
// per code, columns code,name_lv,parent,level,deleted. Leaf is derived on
// load, so it is not stored.
func WriteCSV(w io.Writer, codes []Code) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("ekk: writing CSV header: %w", err)
	}
	for _, c := range codes {
		rec := []string{c.Code, c.NameLV, c.Parent, strconv.Itoa(c.Level), strconv.FormatBool(c.Deleted)}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("ekk: writing CSV row for code %s: %w", c.Code, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("ekk: writing CSV: %w", err)
	}
	return nil
}

// normaliseSpace collapses every run of Unicode white space (the rendering
// uses no-break spaces) to one space.
func normaliseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func abbreviate(s string) string {
	const max = 60
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}
