package listfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/avis-lv/gateway/internal/personcode"
)

func TestCodeKeyAndMix(t *testing.T) {
	if k := codeKey(personcode.Code("01019010001")); k != 1019010001 {
		t.Errorf("codeKey = %d", k)
	}
	if k := codeKey(personcode.Code("99999999999")); k != 99999999999 || k > keyMask {
		t.Errorf("largest code does not fit: %d", k)
	}
	// mix must be a bijection: check it is injective on a dense range and
	// on random keys.
	seen := make(map[uint64]bool, 1<<17)
	for k := uint64(1019010000); k < 1019010000+1<<16; k++ {
		seen[mix(k)] = true
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1 << 16 {
		seen[mix(rng.Uint64N(keyMask+1))] = true
	}
	if len(seen) < 1<<17-2 { // random keys may repeat a dense one, rarely
		t.Errorf("mix collides: %d distinct of %d", len(seen), 1<<17)
	}
}

func TestCodeSet(t *testing.T) {
	s := newCodeSet()
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 200_000
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = rng.Uint64N(1e11)
	}
	first := map[uint64]int{}
	for i, k := range keys {
		row := i + 2
		got, dup := s.insert(k, row)
		if want, wantDup := first[k]; dup != wantDup || got != want {
			t.Fatalf("insert(%d, row %d) = %d, %v; want %d, %v", k, row, got, dup, want, wantDup)
		}
		if !dup {
			first[k] = row
		}
	}
	// Every key is now a duplicate of its first row, whatever the order.
	for _, k := range keys[:1000] {
		if got, dup := s.insert(k, MaxRowNumber); !dup || got != first[k] {
			t.Fatalf("re-insert %d = %d, %v; want %d", k, got, dup, first[k])
		}
	}
	if s.n != len(first) {
		t.Errorf("n = %d, want %d", s.n, len(first))
	}
	// The largest row number survives packing.
	if _, dup := s.insert(1e11-1, MaxRowNumber); dup {
		t.Fatal("unexpected duplicate")
	}
	if got, _ := s.insert(1e11-1, 5); got != MaxRowNumber {
		t.Errorf("max row read back as %d", got)
	}
	perRow := float64(s.bytes()) / float64(s.n)
	t.Logf("duplicate table: %d codes, %d bytes, %.2f bytes per code", s.n, s.bytes(), perRow)
	if perRow > 8 {
		t.Errorf("%.2f bytes per code, want ≤ 8", perRow)
	}
}

func BenchmarkCodeSetInsert(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	keys := make([]uint64, 1<<20)
	for i := range keys {
		keys[i] = rng.Uint64N(1e11)
	}
	b.ResetTimer()
	var s *codeSet
	for i := 0; i < b.N; i++ {
		if i%len(keys) == 0 {
			s = newCodeSet()
		}
		s.insert(keys[i%len(keys)], i%len(keys)+2)
	}
	b.ReportMetric(float64(s.bytes())/float64(max(s.n, 1)), "bytes/code")
}

// A big CSV with a known size moves its duplicate table off the heap after
// presizeAfter rows; duplicates on both sides of the move are still found,
// and Close gives the mapping back.
func TestDuplicateTableOffHeap(t *testing.T) {
	const rows = 300_000
	var b strings.Builder
	b.WriteString("person_code,valid_from,valid_to\n")
	for i := range rows {
		fmt.Fprintf(&b, "32%09d,2026-01-01,\n", i)
	}
	fmt.Fprintf(&b, "32%09d,2026-01-01,\n", 7)       // first seen before the move
	fmt.Fprintf(&b, "32%09d,2026-01-01,\n", 250_000) // first seen after it
	file := b.String()
	lim := DefaultLimits()
	lim.SizeHint = int64(len(file))
	rd, err := NewCSVReader(strings.NewReader(file), lim)
	if err != nil {
		t.Fatal(err)
	}
	c := rd.(*csvReader)
	valid, dups, _ := readDuplicates(t, rd, c.v)
	if c.v.set.region == nil {
		t.Fatal("the table stayed on the heap")
	}
	if valid != rows || fmt.Sprint(dups) != "[9 250002]" {
		t.Fatalf("%d valid rows, duplicates of rows %v", valid, dups)
	}
	rd.Close()
	if c.v.set.region != nil {
		t.Error("Close kept the mapping")
	}
}

// A big XLSX moves its duplicate table off the heap too, sized from the
// sheet's XML, and gives the mapping back at the end of the sheet.
func TestDuplicateTableOffHeapXLSX(t *testing.T) {
	const rows = 300_000
	var b strings.Builder
	b.WriteString(row(1, iCell("A1", "person_code"), iCell("B1", "valid_from")))
	line := 2
	add := func(i int) {
		b.WriteString(row(line, iCell(fmt.Sprintf("A%d", line), fmt.Sprintf("32%09d", i)), iCell(fmt.Sprintf("B%d", line), "2026-01-01")))
		line++
	}
	for i := range rows {
		add(i)
	}
	add(7)
	add(250_000)
	file := buildXLSX(t, b.String(), "", false)
	rd, err := NewXLSXReader(bytes.NewReader(file), int64(len(file)), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	x := rd.(*xlsxReader)
	valid, dups, moved := readDuplicates(t, rd, x.v)
	if !moved {
		t.Fatal("the table stayed on the heap")
	}
	if valid != rows || fmt.Sprint(dups) != "[9 250002]" {
		t.Fatalf("%d valid rows, duplicates of rows %v", valid, dups)
	}
	if x.v.set.region != nil {
		t.Error("the end of the sheet kept the mapping")
	}
	rd.Close()
}

// readDuplicates reads rd to the end: the valid rows, the first rows of
// the duplicates found, and whether v's table was off the heap meanwhile.
func readDuplicates(t *testing.T, rd Reader, v *validator) (valid int, dups []int, moved bool) {
	t.Helper()
	for {
		_, err := rd.Next()
		if err == io.EOF {
			return valid, dups, moved
		}
		var re *RowError
		switch {
		case errors.As(err, &re) && re.Code == CodeRowDuplicate:
			dups = append(dups, re.FirstRow)
		case err != nil:
			t.Fatal(err)
		default:
			valid++
			moved = moved || v.set.region != nil
		}
	}
}
