package httpx

import "testing"

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
	f.Add("application/xml;q=0.5, application/json;q=0.9, */*;q=0")
	f.Fuzz(func(t *testing.T, accept string) {
		if got := Negotiate(accept, "application/json", "application/xml"); got != "application/json" && got != "application/xml" {
			t.Fatalf("Negotiate(%q) = %q", accept, got)
		}
	})
}
