package listfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/listfile/listgen"
)

// countAll reads r to the end and returns the valid and bad rows.
func countAll(tb testing.TB, r Reader) (good, bad int) {
	for {
		_, err := r.Next()
		var re *RowError
		switch {
		case err == nil:
			good++
		case errors.As(err, &re):
			bad++
		case errors.Is(err, io.EOF):
			return good, bad
		default:
			tb.Fatal(err)
		}
	}
}

func BenchmarkCSV1M(b *testing.B) {
	const rows = 1_000_000
	var buf bytes.Buffer
	st, err := listgen.WriteCSV(&buf, listgen.Options{Rows: rows, BadShare: 0.01, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := NewCSVReader(bytes.NewReader(buf.Bytes()), DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		if good, bad := countAll(b, r); good+bad != rows || bad != st.Bad() {
			b.Fatalf("read %d good + %d bad, generated %d bad of %d", good, bad, st.Bad(), rows)
		}
	}
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(rows/perOp, "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
}

func BenchmarkXLSX100k(b *testing.B) {
	const rows = 100_000
	var buf bytes.Buffer
	if _, err := listgen.WriteXLSX(&buf, listgen.Options{Rows: rows, BadShare: 0.01, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	lim := DefaultLimits()
	lim.TempDir = b.TempDir()
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := NewXLSXReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), lim)
		if err != nil {
			b.Fatal(err)
		}
		if good, bad := countAll(b, r); good+bad != rows {
			b.Fatalf("read %d rows", good+bad)
		}
	}
	b.ReportMetric(rows/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
}

// writeSSTWorkbook writes a workbook the way Excel saves a list typed as
// text: every code and date is a shared string (dates repeat, so they share
// entries), the worst case for excelize's memory.
func writeSSTWorkbook(w io.Writer, rows int, seed uint64) error {
	opt := listgen.Options{Rows: rows, BadShare: 0.01, Seed: seed, Lang: "lv"}
	// indexer numbers the strings in first-use order; both parts replay the
	// same generator, so they agree on every index.
	type indexer struct {
		next  int
		dates map[string]int
	}
	index := func(ix *indexer, s string, shared bool) (int, bool) {
		if shared {
			if i, ok := ix.dates[s]; ok {
				return i, false
			}
			ix.dates[s] = ix.next
		}
		ix.next++
		return ix.next - 1, true
	}
	headers := []string{"personas_kods", "derīgs_no", "derīgs_līdz"}
	sstPart := func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		bw.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
		ix := &indexer{dates: map[string]int{}}
		g := listgen.New(opt)
		for i := -1; i < rows; i++ {
			cells := headers
			if i >= 0 {
				r := g.Next()
				cells = []string{r.Code, r.From, r.To}
			}
			for j, s := range cells {
				if s == "" {
					continue
				}
				if _, isNew := index(ix, s, j > 0); isNew {
					bw.WriteString("<si><t>")
					if err := xmlEscapeTo(bw, s); err != nil {
						return err
					}
					bw.WriteString("</t></si>")
				}
			}
		}
		bw.WriteString("</sst>")
		return bw.Flush()
	}
	sheetPart := func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		bw.WriteString(sheetHead)
		ix := &indexer{dates: map[string]int{}}
		g := listgen.New(opt)
		for i := -1; i < rows; i++ {
			cells := headers
			if i >= 0 {
				r := g.Next()
				cells = []string{r.Code, r.From, r.To}
			}
			n := i + 2
			fmt.Fprintf(bw, `<row r="%d">`, n)
			for j, s := range cells {
				if s == "" {
					continue
				}
				k, _ := index(ix, s, j > 0)
				fmt.Fprintf(bw, `<c r="%c%d" t="s"><v>%d</v></c>`, 'A'+j, n, k)
			}
			bw.WriteString("</row>")
		}
		bw.WriteString(sheetTail)
		return bw.Flush()
	}
	return writeZip(w, []xlsxPart{
		staticPart("[Content_Types].xml", xlsxContentTypes),
		staticPart("_rels/.rels", xlsxRootRels),
		staticPart("xl/workbook.xml", xlsxWorkbook(false)),
		staticPart("xl/_rels/workbook.xml.rels", xlsxWorkbookRels),
		{name: "xl/sharedStrings.xml", write: sstPart},
		{name: "xl/worksheets/sheet1.xml", write: sheetPart},
	})
}

// TestMemoryFootprint measures the peak resident memory of reading lists
// of 100k and 1M rows, each in a fresh process so one run does not inflate
// the next. It takes about a minute, so it runs only when asked:
//
//	LISTFILE_MEMTEST=1 go test -run TestMemoryFootprint -v ./internal/listfile/
func TestMemoryFootprint(t *testing.T) {
	if os.Getenv("LISTFILE_MEMTEST") == "" {
		t.Skip("set LISTFILE_MEMTEST=1 to measure memory")
	}
	dir := t.TempDir()
	type input struct{ name, format, path string }
	var inputs []input
	for _, n := range []int{100_000, 1_000_000} {
		for _, format := range []string{"csv", "xlsx", "xlsx-sst"} {
			path := filepath.Join(dir, fmt.Sprintf("%d.%s", n, format))
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			opt := listgen.Options{Rows: n, BadShare: 0.01, Seed: 1}
			switch format {
			case "csv":
				_, err = listgen.WriteCSV(f, opt)
			case "xlsx":
				_, err = listgen.WriteXLSX(f, opt)
			case "xlsx-sst":
				err = writeSSTWorkbook(f, n, 1)
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, input{fmt.Sprintf("%s %d", format, n), format, path})
		}
	}
	// The baseline is the same child process reading a 10-row file.
	base := filepath.Join(dir, "10.csv")
	if err := os.WriteFile(base, []byte("person_code,valid_from\n010190-10001,2025-01-01\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inputs = append([]input{{"baseline", "csv", base}}, inputs...)
	for _, in := range inputs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryChild$", "-test.v")
		cmd.Env = append(os.Environ(), "LISTFILE_MEMCHILD="+in.format+":"+in.path, "LISTFILE_MEMTEST=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", in.name, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if i := strings.Index(line, "MEM "); i >= 0 {
				fi, _ := os.Stat(in.path)
				t.Logf("%-15s file %6.1f MB  %s", in.name, float64(fi.Size())/1e6, line[i+4:])
			}
		}
	}
}

// TestMemoryChild is the measured process of TestMemoryFootprint.
func TestMemoryChild(t *testing.T) {
	spec := os.Getenv("LISTFILE_MEMCHILD")
	if spec == "" {
		t.Skip("helper process of TestMemoryFootprint")
	}
	format, path, _ := strings.Cut(spec, ":")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	var r Reader
	if format == "csv" {
		r, err = NewCSVReader(f, DefaultLimits())
	} else {
		st, _ := f.Stat()
		lim := DefaultLimits()
		lim.TempDir = t.TempDir()
		r, err = NewXLSXReader(f, st.Size(), lim)
	}
	if err != nil {
		t.Fatal(err)
	}
	good, bad := countAll(t, r)
	elapsed := time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("MEM rows %7d (%5d bad)  %5.2fs  peak RSS %6.1f MB  Go heap sys %6.1f MB  allocs/row %.1f",
		good+bad, bad, elapsed.Seconds(), float64(peakRSS())/1e6, float64(ms.HeapSys)/1e6,
		float64(ms.Mallocs)/float64(max(good+bad, 1)))
}

// peakRSS reads VmHWM, the process's peak resident set, from Linux procfs.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return -1
}
