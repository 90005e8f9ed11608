package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/avis-lv/gateway/internal/store"
)

// certificatesCommand registers the X.509 certificates whose signatures a
// grantor's signed XML person lists must carry.
func certificatesCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("certificates: want add, list or revoke\n%s", usage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("certificates "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	org := fs.String("org", "", "organisation registration number (11 digits)")
	certFile := fs.String("cert", "", "PEM file with one or more certificates")
	fingerprint := fs.String("fingerprint", "", "SHA-256 fingerprint (hex) of the certificate to revoke")
	mine, rest := splitFlags(args, map[string]bool{"org": true, "cert": true, "fingerprint": true})
	if err := fs.Parse(mine); err != nil {
		return err
	}
	if !regNoPattern.MatchString(*org) {
		return fmt.Errorf("certificates %s: -org must be an 11-digit registration number", sub)
	}
	pool, _, err := openStore(ctx, "certificates "+sub, rest, getenv, stderr)
	if err != nil {
		return err
	}
	defer pool.Close()
	lists := store.NewLists(pool)
	switch sub {
	case "add":
		if *certFile == "" {
			return fmt.Errorf("certificates add: -cert is required")
		}
		pemData, err := os.ReadFile(*certFile)
		if err != nil {
			return fmt.Errorf("read -cert: %w", err)
		}
		added, err := lists.AddGrantorCertificates(ctx, *org, pemData)
		if err != nil {
			return err
		}
		for _, c := range added {
			fmt.Fprintf(stdout, "added %s %s (valid until %s)\n", c.Fingerprint, c.Subject, c.NotAfter.UTC().Format(time.DateOnly))
		}
		return nil
	case "list":
		certs, err := lists.ListGrantorCertificates(ctx, *org)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FINGERPRINT\tSUBJECT\tNOT AFTER\tADDED\tREVOKED")
		for _, c := range certs {
			revoked := "-"
			if c.RevokedAt != nil {
				revoked = c.RevokedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Fingerprint, c.Subject, c.NotAfter.UTC().Format(time.DateOnly), c.AddedAt.UTC().Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		if *fingerprint == "" {
			return fmt.Errorf("certificates revoke: -fingerprint is required")
		}
		if err := lists.RevokeGrantorCertificate(ctx, *org, *fingerprint); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s for %s\n", *fingerprint, *org)
		return nil
	default:
		return fmt.Errorf("certificates: unknown subcommand %q", sub)
	}
}
