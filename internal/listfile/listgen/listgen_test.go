package listgen

import (
	"bytes"
	"strings"
	"testing"

	"github.com/avis-lv/gateway/internal/personcode"
)

func TestDeterministic(t *testing.T) {
	opt := Options{Rows: 2000, BadShare: 0.1, Seed: 42}
	var a, b, c bytes.Buffer
	if _, err := WriteCSV(&a, opt); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteCSV(&b, opt); err != nil {
		t.Fatal(err)
	}
	opt.Seed = 43
	if _, err := WriteCSV(&c, opt); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same seed gave different files")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("different seeds gave the same file")
	}
}

func TestRecords(t *testing.T) {
	g := New(Options{Rows: 200_000, BadShare: 0.05, Seed: 7})
	seen := map[personcode.Code]bool{}
	var kinds [numKinds]int
	newFormat, hyphenated := 0, 0
	for range 200_000 {
		r := g.Next()
		kinds[r.Kind]++
		code, err := personcode.Parse(r.Code)
		switch r.Kind {
		case Good:
			if err != nil {
				t.Fatalf("good row has bad code %q: %v", r.Code, err)
			}
			if seen[code] {
				t.Fatalf("good code %s repeats", code)
			}
			seen[code] = true
			if code.Format() == personcode.FormatNew {
				newFormat++
			} else if born, _ := code.BirthDate(); born.Year() < 1925 || born.After(birthLast) {
				t.Fatalf("unrealistic birth date %v in %s", born, code)
			}
			if strings.Contains(r.Code, "-") {
				hyphenated++
			}
			if r.ToDate != nil && r.ToDate.Before(r.FromDate) {
				t.Fatalf("good row with reversed dates: %+v", r)
			}
		case Duplicate:
			if err != nil || !seen[code] {
				t.Fatalf("duplicate %q does not repeat an earlier good code", r.Code)
			}
		case BadChecksum:
			if err != personcode.ErrChecksum {
				t.Fatalf("bad checksum row %q: %v", r.Code, err)
			}
		case BadDate, ReversedDates:
			if err != nil || seen[code] {
				t.Fatalf("%s row must carry a fresh valid code: %q %v", r.Kind, r.Code, err)
			}
		case Garbage:
			if err == nil || strings.TrimSpace(r.Code) == "" {
				t.Fatalf("garbage %q parses", r.Code)
			}
		}
	}
	good := kinds[Good]
	if share := float64(newFormat) / float64(good); share < 0.13 || share > 0.17 {
		t.Errorf("new-format share %.3f, want ~0.15", share)
	}
	if share := float64(hyphenated) / float64(good); share < 0.45 || share > 0.55 {
		t.Errorf("hyphenated share %.3f, want ~0.5", share)
	}
	bad := 200_000 - good
	if share := float64(bad) / 200_000; share < 0.045 || share > 0.055 {
		t.Errorf("bad share %.3f, want ~0.05", share)
	}
	for k := BadChecksum; k < numKinds; k++ {
		if kinds[k] < bad/8 {
			t.Errorf("only %d rows of kind %s", kinds[k], k)
		}
	}
}

func TestHeaderAndFormats(t *testing.T) {
	for _, tc := range []struct {
		opt  Options
		head string
	}{
		{Options{Rows: 3, Lang: "lv", Seed: 1}, "personas_kods;derīgs_no;derīgs_līdz\r\n"},
		{Options{Rows: 3, Lang: "en", Seed: 1}, "person_code,valid_from,valid_to\r\n"},
		{Options{Rows: 3, Lang: "en", Delim: '\t', BOM: true, Seed: 1}, "\ufeffperson_code\tvalid_from\tvalid_to\r\n"},
	} {
		var buf bytes.Buffer
		st, err := WriteCSV(&buf, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(buf.String(), tc.head) || st.Rows != 3 || strings.Count(buf.String(), "\r\n") != 4 {
			t.Errorf("%+v: got %q", tc.opt, buf.String())
		}
	}
	var buf bytes.Buffer
	st, err := WriteXLSX(&buf, Options{Rows: 100, BadShare: 0.2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 100 || !bytes.HasPrefix(buf.Bytes(), []byte("PK\x03\x04")) {
		t.Errorf("xlsx: %+v, %d bytes", st, buf.Len())
	}
}

func TestPermIsBijection(t *testing.T) {
	g := New(Options{Seed: 9})
	p := perm{a: g.oldPerm.a, b: g.oldPerm.b, n: 10007}
	for gcd(p.a, p.n) != 1 {
		p.a++
	}
	seen := make([]bool, p.n)
	for i := uint64(0); i < p.n; i++ {
		v := p.at(i)
		if v >= p.n || seen[v] {
			t.Fatalf("perm not a bijection at %d", i)
		}
		seen[v] = true
	}
}
