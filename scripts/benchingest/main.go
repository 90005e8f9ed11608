// Command benchingest prepares the baseline of `make bench-ingest`: it reads
// a person-list CSV with the gateway's own reader and writes its valid rows
// as PostgreSQL COPY text shaped like the gateway's member tables
// (person_code bigint, valid_from date, valid_to date), so that `psql \copy`
// loads exactly the rows the gateway loads.
//
//	go run ./scripts/benchingest -in list.csv -out list.copy
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/avis-lv/gateway/internal/listfile"
	"github.com/avis-lv/gateway/internal/lists"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchingest:", err)
		os.Exit(2)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "person-list CSV file")
	out := fs.String("out", "", "COPY text file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return errors.New("-in and -out are required")
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	rd, err := listfile.NewCSVReader(f, listfile.DefaultLimits())
	if err != nil {
		return fmt.Errorf("read %s: %w", *in, err)
	}
	defer rd.Close()
	o, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(o, 1<<20)
	valid, bad := 0, 0
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		var re *listfile.RowError
		if errors.As(err, &re) {
			bad++
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", *in, err)
		}
		valid++
		w.WriteString(strconv.FormatInt(lists.CodeNumber(row.PersonCode), 10))
		w.WriteByte('\t')
		w.WriteString(row.ValidFrom.Format(time.DateOnly))
		w.WriteByte('\t')
		if row.ValidTo != nil {
			w.WriteString(row.ValidTo.Format(time.DateOnly))
		} else {
			w.WriteString(`\N`)
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := o.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "benchingest: %d valid rows written, %d bad rows skipped\n", valid, bad)
	return nil
}
