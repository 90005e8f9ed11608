package httpx

import (
	"strconv"
	"strings"
)

// Negotiate picks the offered media type the Accept header prefers: the
// highest q of the most specific range that matches it (type/subtype over
// type/* over */*), ties going to the range listed first, then to the
// earlier offer. An empty header, or one that accepts none of the offers,
// gets the first offer: a representation the client did not ask for is
// more use to it than a 406.
func Negotiate(accept string, offers ...string) string {
	if len(offers) == 0 {
		return ""
	}
	type rng struct {
		typ, sub string
		q        float64
	}
	var ranges []rng
	for part := range strings.SplitSeq(accept, ",") {
		params := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(params[0]))
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok || typ == "" || sub == "" {
			continue
		}
		q := 1.0
		for _, p := range params[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					q = f
				} else {
					q = 0 // a q that does not parse accepts nothing
				}
			}
		}
		ranges = append(ranges, rng{typ, sub, q})
	}
	best, bestQ, bestPos := offers[0], 0.0, len(ranges)
	for _, offer := range offers {
		typ, sub, _ := strings.Cut(offer, "/")
		q, pos, specificity := 0.0, len(ranges), -1
		for i, r := range ranges {
			s := -1
			switch {
			case r.typ == typ && r.sub == sub:
				s = 2
			case r.typ == typ && r.sub == "*":
				s = 1
			case r.typ == "*" && r.sub == "*":
				s = 0
			}
			if s > specificity {
				q, pos, specificity = r.q, i, s
			}
		}
		if q > bestQ || (q == bestQ && q > 0 && pos < bestPos) {
			best, bestQ, bestPos = offer, q, pos
		}
	}
	return best
}
