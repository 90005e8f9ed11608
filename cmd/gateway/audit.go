package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/avis-lv/gateway/internal/eligibility"
	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/internal/store"
)

// auditCommand answers "which providers checked this person, and when"
// from the audit of eligibility checks, one JSON object per line. The
// personal code is turned into the gateway's keyed hash here and never
// stored or printed.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	code := fs.String("person-code", "", "the person's personal code (either format); - reads it from standard input, which keeps it out of ps and the shell history")
	since := fs.String("since", "", "first day to list, YYYY-MM-DD (default: as far back as kept)")
	limit := fs.Int("limit", 10000, "at most this many checks")
	mine, rest := splitFlags(args, map[string]bool{"person-code": true, "since": true, "limit": true})
	if err := fs.Parse(mine); err != nil {
		return err
	}
	if *code == "-" {
		line, err := bufio.NewReader(io.LimitReader(stdin, 64)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("audit: read the personal code from standard input: %w", err)
		}
		*code = strings.TrimSpace(line)
	}
	pc, err := personcode.Parse(*code)
	if err != nil {
		return fmt.Errorf("audit: -person-code: %w", err)
	}
	var from time.Time
	if *since != "" {
		if from, err = time.Parse(time.DateOnly, *since); err != nil {
			return fmt.Errorf("audit: -since must be YYYY-MM-DD")
		}
	}
	pool, log, err := openStore(ctx, "audit", rest, getenv, stderr)
	if err != nil {
		return err
	}
	defer pool.Close()
	master, err := store.Secret(ctx, pool, "pseudonymisation")
	if err != nil {
		return err
	}
	keys, err := eligibility.DeriveKeys(master, nil)
	if err != nil {
		return err
	}
	checks, err := store.NewEligibility(pool, log).ChecksOf(ctx, keys.PersonRefOf(string(pc)), from, *limit)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	for _, c := range checks {
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	return nil
}
