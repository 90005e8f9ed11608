package ekk

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// seedPath is where the shared seeds live relative to this package
// (/work/main/internal/ekk -> /work/shared/seeds).
var seedPath = filepath.Join("..", "..", "..", "shared", "seeds", "002_90f61cb61b0788f3.txt")

// TestEmbeddedCSVMatchesSeed is the stale-data check: the committed CSV must
// be exactly what the generator makes from the seed today.
func TestEmbeddedCSVMatchesSeed(t *testing.T) {
	f, err := os.Open(seedPath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("seed %s not present; cannot check ekk.csv against it", seedPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	codes, err := ParseSeed(f, "6000")
	if err != nil {
		t.Fatalf("ParseSeed: %v", err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, codes); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), embeddedCSV) {
		t.Errorf("ekk.csv is stale; regenerate with\n\tgo run ./scripts/ekkgen -seed ../shared/seeds/002_90f61cb61b0788f3.txt -out internal/ekk/ekk.csv\n(-embedded +seed):\n%s",
			cmp.Diff(strings.Split(string(embeddedCSV), "\n"), strings.Split(buf.String(), "\n")))
	}
}

// TestParseSeedExcerpt runs the parser on real fragments of the seed that
// hold each layout quirk, so the parser stays tested where the seed is absent.
func TestParseSeedExcerpt(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "annex_excerpt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseSeed(f, "6000")
	if err != nil {
		t.Fatalf("ParseSeed: %v", err)
	}
	const courtLV = "Kompensācijas, kuras izmaksā fiziskām un juridiskām personām, pamatojoties uz "
	want := []Code{
		{Code: "6000", NameLV: "Sociāla rakstura maksājumi un kompensācijas", Level: 1},
		{Code: "6200", NameLV: "Pensijas un sociālie pabalsti naudā", Parent: "6000", Level: 2},
		{Code: "6210", NameLV: "Valsts pensijas", Parent: "6200", Level: 3},
		{Code: "6211", NameLV: "Vecuma pensijas", Parent: "6210", Level: 4, Leaf: true},
		// 6230 is not in the excerpt, so the nearest heading is 6200.
		{Code: "6237", NameLV: "Pabalsts un atlīdzība aizbildnim un audžuģimenei", Parent: "6200", Level: 4, Leaf: true},
		// Code glued to its name after a lone marker.
		{Code: "6238", NameLV: "Pabalsts invalīdam, kuram nepieciešama īpaša kopšana", Parent: "6200", Level: 4, Leaf: true},
		{Code: "6239", NameLV: "Pārējie valsts pabalsti un kompensācijas", Parent: "6200", Level: 4, Leaf: true},
		{Code: "6253", NameLV: "(Svītrots ar MK 08.04.2021. noteikumiem Nr. 223, kas piemērojami ar 01.04. 2021.)", Parent: "6200", Level: 4, Deleted: true, Leaf: true},
		// The explanation after the name is not part of it.
		{Code: "6254", NameLV: "Pašvaldību pabalsti naudā krīzes situācijā", Parent: "6200", Level: 4, Leaf: true},
		// Marker, code and name on one line.
		{Code: "6255", NameLV: "Sociālās garantijas bāreņiem un audžuģimenēm naudā", Parent: "6200", Level: 4, Leaf: true},
		{Code: "6259", NameLV: "Pārējā papildu sociālā palīdzība atsevišķu izdevumu apmaksai naudā", Parent: "6200", Level: 4, Leaf: true},
		{Code: "6500", NameLV: "Kompensācijas, kuras izmaksā personām, pamatojoties uz Latvijas tiesu, Eiropas Savienības Tiesas, Eiropas Cilvēktiesību tiesas nolēmumiem", Parent: "6000", Level: 2},
		{Code: "6510", NameLV: courtLV + "Latvijas tiesu un lēmējiestādes nolēmumiem", Parent: "6500", Level: 3, Leaf: true},
		{Code: "6520", NameLV: courtLV + "Eiropas Savienības Tiesas, Eiropas Cilvēktiesību tiesas nolēmumiem", Parent: "6500", Level: 3, Leaf: true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseSeed(excerpt) (-want +got):\n%s", d)
	}
}

func TestParseSeedOtherGroup(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "annex_excerpt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The excerpt has 5322 and 5323 but not their heading 5000.
	_, err = ParseSeed(f, "5000")
	if err == nil || !strings.Contains(err.Error(), "no heading code above it") {
		t.Fatalf("ParseSeed(group 5000) error = %v, want a missing-heading error", err)
	}
}

func TestParseSeedErrors(t *testing.T) {
	const head = "Pielikums\n"
	tests := []struct {
		name, group, text, wantErr string
	}{
		{"bad group", "6200", head + "1.3\n6000\nX\n", `group "6200" is not a group heading`},
		{"no annex", "6000", "1.3\n6000\nSociāla rakstura maksājumi\n", `no line "Pielikums"`},
		{"marker without code", "6000", head + "1.3\nSociāla rakstura maksājumi\n", "line 3: expected a four-digit code after subgroup marker"},
		{"marker at end", "6000", head + "1.3\n", "subgroup marker \"1.3\" at the end"},
		{"code without marker", "6000", head + "1.3\n6000\nSociāla\n6200\nPensijas\n", `line 5: code-like text "6200" without a subgroup marker`},
		{"glued code without marker", "6000", head + "6200Pensijas\n", `code-like text "6200Pensijas"`},
		{"name is explanation", "6000", head + "1.3\n6000\nKodā 6000 uzskaita:\n", "line 4: code 6000 has no name"},
		{"name is next marker", "6000", head + "1.3\n6000\n1.3\n6200\nPensijas\n", "line 4: code 6000 has no name"},
		{"no name at end", "6000", head + "1.3\n6000\n", "code 6000 has no name"},
		{"duplicate", "6000", head + "1.3\n6000\nA\n1.36000B\n", "line 5: code 6000 appears again (first on line 3)"},
		{"group absent", "6000", head + "1.1\n1000\nAtlīdzība\n", "no code of group 6000"},
		{"orphan code", "6000", head + "1.3\n6211\nVecuma pensijas\n", "code 6211 (seed line 3) has no heading code above it"},
		{"repealed heading with codes in force", "6000", head + "1.3\n6000\nA\n1.3\n6200\n(Svītrots ar MK 1.1.2021. noteikumiem Nr. 1)\n1.3\n6211\nB\n",
			"seed line 6: code 6200 is repealed but 1 codes under it are in force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSeed(strings.NewReader(tt.text), tt.group)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseSeed error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestParseSeedTolerates covers the rendering's other quirks: no-break
// spaces on empty cells, the typo'd markers "1.1." and "2.20", and a marker
// glued to a code whose name is on the next line.
func TestParseSeedTolerates(t *testing.T) {
	text := "Pielikums\n\u00a0\n1.3.\n6000\nSociāla\u00a0rakstura   maksājumi\n\u00a0\u00a0\n1.30\n6200\nPensijas\n1.36210\nValsts pensijas\n" +
		"Teksts ar 1.3. apakšgrupu un 2021. gadu\n"
	got, err := ParseSeed(strings.NewReader(text), "6000")
	if err != nil {
		t.Fatal(err)
	}
	want := []Code{
		{Code: "6000", NameLV: "Sociāla rakstura maksājumi", Level: 1},
		{Code: "6200", NameLV: "Pensijas", Parent: "6000", Level: 2},
		{Code: "6210", NameLV: "Valsts pensijas", Parent: "6200", Level: 3, Leaf: true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestWriteCSVRoundTrip(t *testing.T) {
	cl := mustLoad(t)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, cl.All()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), embeddedCSV) {
		t.Fatalf("WriteCSV(Load().All()) differs from ekk.csv")
	}
}

func FuzzParseSeed(f *testing.F) {
	excerpt, err := os.ReadFile(filepath.Join("testdata", "annex_excerpt.txt"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(excerpt), "6000")
	f.Add(string(excerpt), "5000")
	f.Add("Pielikums\n1.36000X\n1.3\n6200\nY\n", "6000")
	f.Add("Pielikums\n1.3\n", "6000")
	f.Fuzz(func(t *testing.T, text, group string) {
		codes, err := ParseSeed(strings.NewReader(text), group)
		if err != nil {
			return
		}
		// Whatever parses must survive the CSV round trip unchanged.
		var buf bytes.Buffer
		if err := WriteCSV(&buf, codes); err != nil {
			t.Fatalf("WriteCSV: %v", err)
		}
		cl, err := parseCSV(&buf, "fuzz.csv")
		if err != nil {
			t.Fatalf("parsing ParseSeed's own output: %v\n%s", err, buf.String())
		}
		if d := cmp.Diff(codes, cl.All()); d != "" {
			t.Fatalf("round trip (-seed +csv):\n%s", d)
		}
	})
}
