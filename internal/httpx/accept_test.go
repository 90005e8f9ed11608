package httpx

import (
	"strconv"
	"testing"
)

func TestNegotiate(t *testing.T) {
	const j, x = "application/json", "application/xml"
	for _, tt := range []struct {
		accept, want string
	}{
		{"", j},
		{"*/*", j},
		{x, x},
		{"text/xml, " + x, x},
		{x + ", " + j, x},
		{j + ", " + x, j},
		{x + ";q=0, " + j, j},
		{j + ";q=0.1, " + x, x},
		{"application/*;q=0.5, " + x, x},
		{"application/*, " + x + ";q=0.2", j},
		{"*/*;q=0.1, " + x, x},
		{x + ";q=0, */*", j},
		{j + ";q=0, " + x + ";q=0", j}, // nothing acceptable: the default
		{"APPLICATION/XML", x},
		{x + ";q=bogus, " + j + ";q=0.5", j},
		{"garbage, ;;, /", j},
	} {
		if got := Negotiate(tt.accept, j, x); got != tt.want {
			t.Errorf("Negotiate(%q) = %s, want %s", tt.accept, got, tt.want)
		}
	}
}

func FuzzNegotiate(f *testing.F) {
	f.Add("application/xml;q=0.5, application/json;q=0.9, */*;q=0", false, uint16(500), uint8(0))
	f.Add("application/json, application/xml", true, uint16(1), uint8(2))
	f.Add("*/*", false, uint16(1000), uint8(1))
	f.Fuzz(func(t *testing.T, accept string, refuseJSON bool, otherQ uint16, zeroForm uint8) {
		const j, x = "application/json", "application/xml"
		if got := Negotiate(accept, j, x); got != j && got != x {
			t.Fatalf("Negotiate(%q) = %q", accept, got)
		}
		// One type refused with q=0 and the other acceptable, both named
		// exactly and first, so that nothing the fuzzed rest says overrides
		// them: the refused type is never chosen.
		refused, other := x, j
		if refuseJSON {
			refused, other = j, x
		}
		zero := []string{"0", "0.0", "0.000", " 0"}[int(zeroForm)%4]
		q := strconv.FormatFloat(float64(otherQ%1000+1)/1000, 'f', -1, 64) // 0.001 .. 1
		header := refused + ";q=" + zero + ", " + other + ";q=" + q + ", " + accept
		if got := Negotiate(header, j, x); got != other {
			t.Fatalf("Negotiate(%q) = %s, which the header refuses while %s is acceptable", header, got, other)
		}
	})
}
