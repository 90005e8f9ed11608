// Command genlist writes a realistic person-list file for tests, benchmarks
// and QA: valid personal codes of both formats, realistic validity dates and
// a chosen share of bad rows, deterministic by seed.
//
//	go run ./scripts/genlist -rows 1000000 -bad 0.01 -format csv -lang lv -delim ';' -seed 1 -out list.csv
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/avis-lv/gateway/internal/listfile/listgen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "genlist:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("genlist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		rows   = fs.Int("rows", 1000, "number of data rows")
		bad    = fs.Float64("bad", 0.01, "share of bad rows, 0..1")
		newSh  = fs.Float64("new", 0.15, "share of new-format personal codes among valid ones")
		format = fs.String("format", "csv", "csv or xlsx")
		lang   = fs.String("lang", "lv", "lv or en: header names and date style")
		delim  = fs.String("delim", "", `CSV delimiter: ";", ",", or "tab" (default ";" for lv, "," for en)`)
		dates  = fs.String("dates", "", "date style: iso, lv (DD.MM.YYYY) or mixed (default mixed for lv, iso for en)")
		bom    = fs.Bool("bom", false, "start the CSV with a UTF-8 BOM, as Excel's \"CSV UTF-8\" does")
		seed   = fs.Uint64("seed", 1, "random seed; the same seed gives the same file")
		out    = fs.String("out", "-", "output file, - for standard output")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	opt := listgen.Options{Rows: *rows, BadShare: *bad, NewShare: *newSh, Lang: *lang, DateStyle: *dates, BOM: *bom, Seed: *seed}
	switch {
	case *rows < 0:
		return errors.New("-rows must not be negative")
	case *bad < 0 || *bad > 1:
		return errors.New("-bad must be between 0 and 1")
	case *newSh < 0 || *newSh > 1:
		return errors.New("-new must be between 0 and 1")
	case *lang != "lv" && *lang != "en":
		return fmt.Errorf("-lang %q: want lv or en", *lang)
	case *dates != "" && *dates != "iso" && *dates != "lv" && *dates != "mixed":
		return fmt.Errorf("-dates %q: want iso, lv or mixed", *dates)
	}
	switch *delim {
	case "":
	case ";", ",":
		opt.Delim = (*delim)[0]
	case "tab", `\t`, "\t":
		opt.Delim = '\t'
	default:
		return fmt.Errorf("-delim %q: want \";\", \",\" or tab", *delim)
	}
	var write func(io.Writer, listgen.Options) (listgen.Stats, error)
	switch *format {
	case "csv":
		write = listgen.WriteCSV
	case "xlsx":
		write = listgen.WriteXLSX
		if *rows > 1_048_575 {
			return errors.New("-rows: an Excel sheet holds at most 1048575 data rows")
		}
	default:
		return fmt.Errorf("-format %q: want csv or xlsx", *format)
	}

	var w io.Writer = stdout
	var f *os.File
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			return fmt.Errorf("create output: %w", err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	st, err := write(bw, opt)
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return fmt.Errorf("close output: %w", err)
		}
	}
	fmt.Fprintf(stderr, "genlist: %d rows, %d bad", st.Rows, st.Bad())
	for k := listgen.BadChecksum; k <= listgen.Garbage; k++ {
		fmt.Fprintf(stderr, ", %s %d", k, st.ByKind[k])
	}
	fmt.Fprintln(stderr)
	return nil
}
