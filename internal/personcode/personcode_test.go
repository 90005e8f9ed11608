package personcode

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Code
		err  error
	}{
		{"old with hyphen", "010190-10007", "", nil},
		{"new with hyphen", "321234-56789", "32123456789", nil},
		{"new without hyphen", "39999999999", "39999999999", nil},
		{"day 31 is an old code, not a new one", "31129910000", "", ErrChecksum},
		{"too short", "01019010", "", ErrLength},
		{"too long", "010190100070", "", ErrLength},
		{"letters", "01019O-10007", "", ErrCharacters},
		{"hyphen misplaced", "0101901-0007", "", ErrCharacters},
		{"two hyphens", "010190--10007", "", ErrCharacters},
		{"impossible date", "310290-10000", "", ErrDate},
		{"month 13", "011390-10000", "", ErrDate},
		{"day 0", "000190-10000", "", ErrDate},
		{"century 5", "010190-50000", "", ErrCentury},
		{"empty", "", "", ErrLength},
	}
	// Build a valid old code rather than trusting a hand-computed constant.
	cd, err := CheckDigit("0101901000")
	if err != nil {
		t.Fatal(err)
	}
	tests[0].in = "010190-1000" + string(cd)
	tests[0].want = Code("0101901000" + string(cd))
	wrong := byte('0' + (cd-'0'+1)%10)
	tests = append(tests, struct {
		name string
		in   string
		want Code
		err  error
	}{"bad check digit", "010190-1000" + string(wrong), "", ErrChecksum})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckDigitKnownValues(t *testing.T) {
	// Σ for 0101901000: 0*1+1*6+0*3+1*7+9*9+0*10+1*5+0*8+0*4+0*2 = 99; (1101-99) mod 11 = 1002 mod 11 = 1.
	got, err := CheckDigit("0101901000")
	if err != nil || got != '1' {
		t.Fatalf("CheckDigit = %c, %v; want 1", got, err)
	}
}

func TestCheckDigitTenMapsToZero(t *testing.T) {
	// Search for a prefix whose raw result is 10 and check that 0 is accepted.
	for serial := 0; serial < 1000; serial++ {
		prefix := "150575" + "1" + string(rune('0'+serial/100)) + string(rune('0'+serial/10%10)) + string(rune('0'+serial%10))
		sum := 0
		for i := 0; i < 10; i++ {
			sum += int(prefix[i]-'0') * weights[i]
		}
		if (1101-sum)%11 != 10 {
			continue
		}
		if _, err := Parse(prefix + "0"); err != nil {
			t.Fatalf("Parse(%s0) = %v, want accepted", prefix, err)
		}
		return
	}
	t.Fatal("no prefix with result 10 found")
}

func TestBirthDate(t *testing.T) {
	c := MustParse("0101901000" + "1")
	got, ok := c.BirthDate()
	if !ok || !got.Equal(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("BirthDate = %v, %v", got, ok)
	}
	if _, ok := MustParse("32123456789").BirthDate(); ok {
		t.Fatal("new-format code must have no birth date")
	}
	if got := c.Hyphenated(); got != "010190-10001" {
		t.Fatalf("Hyphenated = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"010190-10001", "32123456789", "", "-", "999999-99999", "290200-20000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		if len(c) != 11 {
			t.Fatalf("normalised code %q has length %d", c, len(c))
		}
		again, err := Parse(c.Hyphenated())
		if err != nil || again != c {
			t.Fatalf("round trip of %q: %q, %v", c, again, err)
		}
	})
}

// old makes a valid old-format code from DDMMYY and the century digit plus
// serial (CNNN).
func old(t *testing.T, birth, serial string) string {
	t.Helper()
	cd, err := CheckDigit(birth + serial)
	if err != nil {
		t.Fatal(err)
	}
	return birth + "-" + serial + string(cd)
}

// A birth date after today is as impossible as 30 February: the code would
// belong to someone not yet born. Today is the Latvian calendar day.
func TestParseRefusesFutureBirthDates(t *testing.T) {
	if _, err := Parse("010199-22342"); !errors.Is(err, ErrFutureBirthDate) || ErrorCode(err) != "person_code.birth_date" {
		t.Fatalf("Parse(010199-22342), born 2099: %v (%s)", err, ErrorCode(err))
	}
	bornOn23 := old(t, "231126", "2123")
	tests := []struct {
		name string
		now  time.Time
		code string
		err  error
	}{
		{"born today", time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), bornOn23, nil},
		{"born tomorrow", time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), bornOn23, ErrFutureBirthDate},
		// 22:30 UTC on the 22nd is already 00:30 on the 23rd in Rīga (UTC+2).
		{"already the birth day in Rīga", time.Date(2026, 11, 22, 22, 30, 0, 0, time.UTC), bornOn23, nil},
		{"not yet the birth day in Rīga", time.Date(2026, 11, 22, 21, 30, 0, 0, time.UTC), bornOn23, ErrFutureBirthDate},
		{"born 2099", time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), "010199-22342", ErrFutureBirthDate},
		{"born 1999", time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), old(t, "010199", "1234"), nil},
		{"new codes carry no date", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), "329999-99999", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAt(tt.code, tt.now)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseAt(%s, %s) = %v, want %v", tt.code, tt.now, err, tt.err)
			}
			if tt.err != nil && !errors.Is(err, ErrDate) {
				t.Fatalf("%v is not an ErrDate: its code would change", err)
			}
		})
	}
}
