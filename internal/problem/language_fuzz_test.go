package problem

import "testing"

// FuzzLanguage: any Accept-Language header gives lv or en without
// panicking, and a language marked q=0 ("not this one") added to it never
// changes the answer.
func FuzzLanguage(f *testing.F) {
	f.Add("lv-LV, en;q=0.8")
	f.Add("en;q=0, lv;q=0.5")
	f.Add("lv;q=bogus, ;;, en-GB;q=0.3")
	f.Add("")
	f.Add("de, fr;q=0.5")
	f.Fuzz(func(t *testing.T, accept string) {
		got := Language(accept)
		if got != "lv" && got != "en" {
			t.Fatalf("Language(%q) = %q", accept, got)
		}
		for _, refused := range []string{"lv;q=0", "en;q=0", "lv-LV; q=0.0"} {
			if again := Language(accept + ", " + refused); again != got {
				t.Fatalf("Language(%q) = %s, but with %q added %s", accept, got, refused, again)
			}
		}
	})
}
