// Command ekkgen regenerates internal/ekk/ekk.csv from the text of Cabinet
// Regulation No. 1031 (the EKK classification, seed 002):
//
//	go run ./scripts/ekkgen -seed ../shared/seeds/002_90f61cb61b0788f3.txt -out internal/ekk/ekk.csv
//
// The internal/ekk tests fail when the committed CSV and the seed disagree,
// so run this after the seed changes and review the diff.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/avis-lv/gateway/internal/ekk"
)

func main() {
	seed := flag.String("seed", "", "path to the text of Cabinet Regulation No. 1031 (required)")
	out := flag.String("out", "internal/ekk/ekk.csv", `where to write the CSV ("-" for standard output)`)
	group := flag.String("group", "6000", "EKK group heading code to extract")
	flag.Parse()
	if err := run(*seed, *out, *group); err != nil {
		slog.Error("ekkgen failed", "err", err)
		os.Exit(1)
	}
}

func run(seedPath, outPath, group string) error {
	if seedPath == "" {
		return fmt.Errorf("flag -seed is required")
	}
	f, err := os.Open(seedPath)
	if err != nil {
		return fmt.Errorf("opening seed: %w", err)
	}
	defer f.Close()
	codes, err := ekk.ParseSeed(f, group)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", seedPath, err)
	}
	var buf bytes.Buffer
	if err := ekk.WriteCSV(&buf, codes); err != nil {
		return err
	}
	if outPath == "-" {
		_, err := os.Stdout.Write(buf.Bytes())
		return err
	}
	// Write beside the target and rename, so an interrupted run never
	// leaves a truncated CSV for go:embed to pick up.
	tmp, err := os.CreateTemp(filepath.Dir(outPath), ".ekk-*.csv")
	if err != nil {
		return fmt.Errorf("creating temporary output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("setting mode of %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), outPath); err != nil {
		return fmt.Errorf("replacing %s: %w", outPath, err)
	}
	slog.Info("ekkgen wrote classifier", "out", outPath, "codes", len(codes), "group", group)
	return nil
}
