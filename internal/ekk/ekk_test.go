package ekk

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func mustLoad(t testing.TB) *Classifier {
	t.Helper()
	cl, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cl
}

var sentinels = []error{ErrUnknownCode, ErrRepealed, ErrNotLeaf, ErrCashBenefit, ErrEmployerBenefit}

// wantBenefit is the decision for every code of the group. The test fails
// when the CSV gains a code that is not listed here, so a regenerated
// classifier cannot slip a new code past review.
var wantBenefit = map[string][]error{
	"6000": {ErrNotLeaf},

	"6200": {ErrNotLeaf, ErrCashBenefit},
	"6210": {ErrNotLeaf, ErrCashBenefit},
	"6211": {ErrCashBenefit}, "6212": {ErrCashBenefit}, "6213": {ErrCashBenefit},
	"6214": {ErrCashBenefit}, "6215": {ErrCashBenefit}, "6216": {ErrCashBenefit},
	"6220": {ErrNotLeaf, ErrCashBenefit},
	"6221": {ErrCashBenefit}, "6222": {ErrCashBenefit}, "6223": {ErrCashBenefit},
	"6224": {ErrCashBenefit}, "6225": {ErrCashBenefit}, "6226": {ErrCashBenefit},
	"6227": {ErrCashBenefit}, "6228": {ErrCashBenefit}, "6229": {ErrCashBenefit},
	"6230": {ErrNotLeaf, ErrCashBenefit},
	"6231": {ErrCashBenefit}, "6232": {ErrCashBenefit}, "6233": {ErrCashBenefit},
	"6234": {ErrCashBenefit}, "6235": {ErrCashBenefit}, "6237": {ErrCashBenefit},
	"6238": {ErrCashBenefit}, "6239": {ErrCashBenefit},
	"6240": {ErrNotLeaf, ErrCashBenefit},
	"6241": {ErrCashBenefit}, "6242": {ErrCashBenefit},
	"6250": {ErrNotLeaf, ErrCashBenefit},
	"6252": {ErrCashBenefit}, "6253": {ErrRepealed}, "6254": {ErrCashBenefit},
	"6255": {ErrCashBenefit}, "6259": {ErrCashBenefit},
	"6260": {ErrCashBenefit},
	"6270": {ErrCashBenefit},
	"6290": {ErrNotLeaf, ErrCashBenefit},
	"6291": {ErrCashBenefit}, "6292": {ErrCashBenefit}, "6293": {ErrCashBenefit},
	"6294": {ErrCashBenefit}, "6295": {ErrCashBenefit}, "6296": {ErrCashBenefit},
	"6299": {ErrCashBenefit},

	"6300": {ErrNotLeaf},
	"6320": {ErrNotLeaf},
	"6321": nil, "6322": nil, "6323": nil, "6324": nil, "6329": nil,
	"6330": nil,
	"6340": {ErrEmployerBenefit},
	"6350": {ErrRepealed},
	"6360": nil,
	"6390": nil,

	"6400": {ErrNotLeaf},
	"6410": {ErrNotLeaf},
	"6411": nil, "6412": nil, "6419": nil,
	"6420": {ErrNotLeaf},
	"6421": nil,
	"6422": {ErrCashBenefit},
	"6423": nil,

	"6500": {ErrNotLeaf, ErrCashBenefit},
	"6510": {ErrCashBenefit}, "6520": {ErrCashBenefit},
}

func checkSentinels(t *testing.T, code string, err error, want []error) {
	t.Helper()
	for _, s := range sentinels {
		if got, w := errors.Is(err, s), slices.Contains(want, s); got != w {
			t.Errorf("CheckBenefitCode(%q) = %v; errors.Is(%q) = %t, want %t", code, err, s, got, w)
		}
	}
	if (err == nil) != (len(want) == 0) {
		t.Errorf("CheckBenefitCode(%q) = %v, want errors %v", code, err, want)
	}
}

func TestCheckBenefitCodeEveryCode(t *testing.T) {
	cl := mustLoad(t)
	for _, c := range cl.All() {
		want, listed := wantBenefit[c.Code]
		if !listed {
			t.Errorf("code %s %q has no decision in wantBenefit; decide and document it in exclusionAt and README.md", c.Code, c.NameLV)
			continue
		}
		checkSentinels(t, c.Code, cl.CheckBenefitCode(c.Code), want)
	}
	for code := range wantBenefit {
		if _, ok := cl.Lookup(code); !ok {
			t.Errorf("wantBenefit lists %s, which is not in ekk.csv", code)
		}
	}
}

func TestCheckBenefitCodeInputs(t *testing.T) {
	cl := mustLoad(t)
	tests := []struct {
		name, code string
		want       []error
		msg        []string // substrings the message must hold
	}{
		{"food in kind", "6322", nil, nil},
		{"voluntary initiatives", "6423", nil, nil},
		{"empty", "", []error{ErrUnknownCode}, []string{`"" is not four digits`}},
		{"three digits", "632", []error{ErrUnknownCode}, []string{"not four digits"}},
		{"five digits", "63220", []error{ErrUnknownCode}, nil},
		{"letter", "632a", []error{ErrUnknownCode}, nil},
		{"padded", " 6322", []error{ErrUnknownCode}, nil},
		{"full-width digits", "６３２２", []error{ErrUnknownCode}, nil},
		{"other group", "2311", []error{ErrUnknownCode}, []string{"EKK code 2311", "6000 group"}},
		{"not a code in the group", "6201", []error{ErrUnknownCode}, nil},
		{"repealed", "6350", []error{ErrRepealed}, []string{"6350", "Svītrots ar MK 08.04.2021"}},
		{"heading lists accepted codes", "6300", []error{ErrNotLeaf},
			[]string{"Sociālie pabalsti natūrā", "(6321, 6322, 6323, 6324, 6329, 6330, 6360, 6390)"}},
		{"top heading", "6000", []error{ErrNotLeaf},
			[]string{"(6321, 6322, 6323, 6324, 6329, 6330, 6360, 6390, 6411, 6412, 6419, 6421, 6423)"}},
		{"excluded heading", "6230", []error{ErrNotLeaf, ErrCashBenefit},
			[]string{"group heading", `6200 "Pensijas un sociālie pabalsti naudā"`}},
		{"pension", "6211", []error{ErrCashBenefit}, []string{`6211 "Vecuma pensijas" is under 6200 "Pensijas un sociālie pabalsti naudā"`}},
		{"cash prize", "6422", []error{ErrCashBenefit}, []string{`6422 "Naudas balvas": payments in money`}},
		{"court award", "6510", []error{ErrCashBenefit}, []string{"is under 6500"}},
		{"employer", "6340", []error{ErrEmployerBenefit}, []string{`6340 "Darba devēja sociālie pabalsti natūrā"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cl.CheckBenefitCode(tt.code)
			checkSentinels(t, tt.code, err, tt.want)
			for _, m := range tt.msg {
				if err == nil || !strings.Contains(err.Error(), m) {
					t.Errorf("CheckBenefitCode(%q) = %v, want message containing %q", tt.code, err, m)
				}
			}
		})
	}
}

func TestLookupAndAll(t *testing.T) {
	cl := mustLoad(t)
	all := cl.All()
	if len(all) != 71 {
		t.Errorf("len(All()) = %d, want 71 codes in the 6000 group", len(all))
	}
	if !slices.IsSortedFunc(all, func(a, b Code) int { return strings.Compare(a.Code, b.Code) }) {
		t.Error("All() is not in code order")
	}
	all[0].NameLV = "changed"
	if c, _ := cl.Lookup("6000"); c.NameLV == "changed" {
		t.Error("All() exposes the classifier's own slice")
	}
	tests := []struct {
		code string
		want Code
		ok   bool
	}{
		{"6000", Code{Code: "6000", NameLV: "Sociāla rakstura maksājumi un kompensācijas", Level: 1}, true},
		{"6322", Code{Code: "6322", NameLV: "Pabalsti ēdināšanai natūrā", Parent: "6320", Level: 4, Leaf: true}, true},
		{"6330", Code{Code: "6330", NameLV: "Atbalsta pasākumi un kompensācijas natūrā", Parent: "6300", Level: 3, Leaf: true}, true},
		{"6255", Code{Code: "6255", NameLV: "Sociālās garantijas bāreņiem un audžuģimenēm naudā", Parent: "6250", Level: 4, Leaf: true}, true},
		{"6253", Code{Code: "6253", NameLV: "(Svītrots ar MK 08.04.2021. noteikumiem Nr. 223, kas piemērojami ar 01.04. 2021.)", Parent: "6250", Level: 4, Deleted: true, Leaf: true}, true},
		{"6420", Code{Code: "6420", NameLV: "Izdevumi par piešķīrumiem iedzīvotājiem natūrā, naudas balvas, izdevumi pašvaldību brīvprātīgo iniciatīvu izpildei", Parent: "6400", Level: 3}, true},
		{"7000", Code{}, false},
		{"", Code{}, false},
	}
	for _, tt := range tests {
		got, ok := cl.Lookup(tt.code)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Lookup(%q) = %+v, %t; want %+v, %t", tt.code, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBenefitCodes(t *testing.T) {
	cl := mustLoad(t)
	var got []string
	for _, c := range cl.BenefitCodes() {
		got = append(got, c.Code)
	}
	want := []string{"6321", "6322", "6323", "6324", "6329", "6330", "6360", "6390", "6411", "6412", "6419", "6421", "6423"}
	if !slices.Equal(got, want) {
		t.Errorf("BenefitCodes() = %v, want %v", got, want)
	}
}

func TestParseCSVErrors(t *testing.T) {
	const h = "code,name_lv,parent,level,deleted\n"
	const g = "6000,Sociāla rakstura maksājumi,,1,false\n"
	tests := []struct {
		name, csv, wantErr string
	}{
		{"empty", "", "row 1: reading header: EOF"},
		{"header", "code,name,parent,level,deleted\n", `row 1: header is "code,name,parent,level,deleted"`},
		{"field count", h + "6000,A,,1\n", "record on line 2: wrong number of fields"},
		{"code", h + "600,A,,1,false\n", `t.csv row 2, column "code": "600" is not a four-digit code`},
		{"name empty", h + "6000,,,1,false\n", `row 2, column "name_lv"`},
		{"name spaces", h + "6000, A,,1,false\n", `row 2, column "name_lv"`},
		{"parent", h + g + "6200,B,60,2,false\n", `row 3, column "parent": "60"`},
		{"level text", h + "6000,A,,one,false\n", `row 2, column "level": "one" is not a level`},
		{"level range", h + "6000,A,,5,false\n", `row 2, column "level": "5"`},
		{"level mismatch", h + g + "6200,B,6000,3,false\n", "t.csv row 3: code 6200 has level 3, want 2"},
		{"deleted", h + "6000,A,,1,yes\n", `row 2, column "deleted": "yes" is not true or false`},
		{"deleted 1", h + "6000,A,,1,1\n", `column "deleted": "1"`},
		{"duplicate", h + g + g, "t.csv row 3: code 6000 repeats t.csv row 2"},
		{"wrong parent", h + g + "6200,B,6000,2,false\n6211,C,6000,4,false\n", `t.csv row 4: code 6211 has parent "6000", want "6200"`},
		{"parent of group", h + "6000,A,6000,1,false\n", `row 2: code 6000 has parent "6000", want ""`},
		{"parent skips present heading", h + g + "6200,B,6000,2,false\n6210,C,6200,3,false\n6211,D,6200,4,false\n", `row 5: code 6211 has parent "6200", want "6210"`},
		{"second group", h + g + "7000,B,,1,false\n", "row 3: second group heading 7000 after 6000"},
		{"no group", h + "6200,B,,2,false\n", "no group heading"},
		{"outside group", h + g + "7100,B,,2,false\n", "row 3: code 7100 is outside group 6000"},
		{"repealed heading", h + g + "6200,B,6000,2,true\n6210,C,6200,3,false\n", "row 3: code 6200 is repealed but 1 codes under it are in force"},
		{"bare quote", h + "6000,A\"B,,1,false\n", `bare " in non-quoted-field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseCSV(strings.NewReader(tt.csv), "t.csv")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseCSV error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add(string(embeddedCSV))
	f.Add("code,name_lv,parent,level,deleted\n6000,A,,1,false\n6200,B,6000,2,true\n")
	f.Add("code,name_lv,parent,level,deleted\n6000,\"A,B\",,1,false\n")
	f.Fuzz(func(t *testing.T, text string) {
		cl, err := parseCSV(strings.NewReader(text), "fuzz.csv")
		if err != nil {
			return
		}
		// A classifier that loads must be internally consistent.
		for _, c := range cl.All() {
			got, ok := cl.Lookup(c.Code)
			if !ok || got != c {
				t.Fatalf("Lookup(%s) = %+v, %t; All has %+v", c.Code, got, ok, c)
			}
			if c.Parent != "" {
				if _, ok := cl.Lookup(c.Parent); !ok {
					t.Fatalf("code %s has parent %s that is not in the classifier", c.Code, c.Parent)
				}
			}
			_ = cl.CheckBenefitCode(c.Code)
		}
	})
}

func FuzzCheckBenefitCode(f *testing.F) {
	for code := range wantBenefit {
		f.Add(code)
	}
	f.Add("")
	f.Add("6a22")
	f.Add("９９９９")
	cl := mustLoad(f)
	f.Fuzz(func(t *testing.T, code string) {
		err := cl.CheckBenefitCode(code)
		if err == nil {
			c, ok := cl.Lookup(code)
			if !ok || !c.Leaf || c.Deleted {
				t.Fatalf("CheckBenefitCode(%q) accepted %+v, %t", code, c, ok)
			}
			return
		}
		if !slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) }) {
			t.Fatalf("CheckBenefitCode(%q) = %v wraps no sentinel", code, err)
		}
	})
}
