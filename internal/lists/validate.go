package lists

import (
	"fmt"
	"strings"
	"time"

	"github.com/avis-lv/gateway/internal/listfile"
	"github.com/avis-lv/gateway/internal/personcode"
)

// PushMember is one member as a JSON push sends it.
type PushMember struct {
	PersonCode string
	ValidFrom  *time.Time
	ValidTo    *time.Time
}

// Violation is one bad field of a push, named by a JSON pointer.
type Violation struct {
	Pointer string
	Code    string
	Detail  string
	// DetailLV is Detail in Latvian; without it a Latvian answer has the
	// code's catalogue text alone.
	DetailLV string
}

// ValidationError lists every bad field of a push (up to maxViolations).
type ValidationError struct {
	Violations []Violation
	// More counts violations beyond those listed.
	More int
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid members")
	for _, v := range e.Violations {
		fmt.Fprintf(&b, "; %s %s", v.Pointer, v.Code)
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "; and %d more", e.More)
	}
	return b.String()
}

// maxViolations bounds a refusal: a caller who sent 100 000 bad codes needs
// the first ones and the count, not a 10 MB problem document.
const maxViolations = 100

// Stable codes of push violations (the personal-code and date codes are
// those of file rows, so a client maps one set of codes).
const (
	CodeMemberDuplicate = "members.duplicate"
	CodeDateOrder       = "date.order"
)

// ValidateMembers checks every member — personal code (both formats,
// checksum of old codes), date order, duplicates — and returns them
// normalised. In remove mode the dates are not looked at.
func ValidateMembers(mode Mode, in []PushMember) ([]Member, error) {
	if !mode.Valid() {
		return nil, &ValidationError{Violations: []Violation{{Pointer: "/mode", Code: "schema.enum", Detail: "want replace, add or remove", DetailLV: "atļautās vērtības: replace, add, remove"}}}
	}
	out := make([]Member, 0, len(in))
	seen := make(map[int64]int, len(in))
	verr := &ValidationError{}
	add := func(v Violation) {
		if len(verr.Violations) < maxViolations {
			verr.Violations = append(verr.Violations, v)
		} else {
			verr.More++
		}
	}
	for i, m := range in {
		ptr := fmt.Sprintf("/members/%d", i)
		code, err := personcode.Parse(strings.TrimSpace(m.PersonCode))
		if err != nil {
			add(Violation{Pointer: ptr + "/personCode", Code: personcode.ErrorCode(err)})
			continue
		}
		n := CodeNumber(code)
		if first, dup := seen[n]; dup {
			add(Violation{Pointer: ptr + "/personCode", Code: CodeMemberDuplicate, Detail: fmt.Sprintf("the same person as /members/%d", first), DetailLV: fmt.Sprintf("tā pati persona, kas /members/%d", first)})
			continue
		}
		seen[n] = i
		mem := Member{Code: n}
		if mode != ModeRemove {
			// As in files: a date outside the range is a mistake, and
			// 0001-01-01 would otherwise be stored as no date at all
			// (open-ended).
			inRange := true
			for _, d := range []struct {
				field string
				t     *time.Time
			}{{"/validFrom", m.ValidFrom}, {"/validTo", m.ValidTo}} {
				if d.t != nil && !listfile.DateInRange(civil(*d.t)) {
					add(Violation{Pointer: ptr + d.field, Code: listfile.CodeDateOutOfRange})
					inRange = false
				}
			}
			if !inRange {
				continue
			}
			if m.ValidFrom != nil {
				mem.ValidFrom = civil(*m.ValidFrom)
			}
			if m.ValidTo != nil {
				mem.ValidTo = civil(*m.ValidTo)
			}
			if !mem.ValidFrom.IsZero() && !mem.ValidTo.IsZero() && mem.ValidTo.Before(mem.ValidFrom) {
				add(Violation{Pointer: ptr + "/validTo", Code: CodeDateOrder})
				continue
			}
		}
		out = append(out, mem)
	}
	if len(verr.Violations) > 0 {
		return nil, verr
	}
	return out, nil
}

// CodeNumber is the stored form of a normalised personal code: its 11
// digits as a number. Format it back with FormatCode.
func CodeNumber(c personcode.Code) int64 {
	var n int64
	for i := 0; i < len(c); i++ {
		n = n*10 + int64(c[i]-'0')
	}
	return n
}

// FormatCode turns a stored code back into the normalised 11 digits.
func FormatCode(n int64) personcode.Code {
	return personcode.Code(fmt.Sprintf("%011d", n))
}
