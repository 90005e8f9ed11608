package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/benefits"
	"github.com/avis-lv/gateway/internal/gateway"
)

// Sample organisations use made-up registration numbers (90000000xxx for
// public bodies, 4000000xxxx for companies) so that no real body is implied.
type sampleClient struct {
	id, org, orgName, roles, envPrefix string
}

var sampleClients = []sampleClient{
	{"sample-grantor", "90000000001", "Parauga valstspilsētas pašvaldība", "grantor", "AVIS_GRANTOR"},
	{"sample-grantor-2", "90000000002", "Parauga novada pašvaldība", "grantor", "AVIS_GRANTOR2"},
	{"sample-provider", "40000000001", "Parauga Transports SIA", "provider", "AVIS_PROVIDER"},
	{"sample-provider-2", "40000000002", "Parauga Ēdināšana SIA", "provider", "AVIS_PROVIDER2"},
}

func sampleBenefits() map[string]benefits.Instruction {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2027, 12, 31, 0, 0, 0, 0, time.UTC)
	minAge, maxAge := 6, 19
	return map[string]benefits.Instruction{
		"sample-pensioner-transport": {
			Name: "Bezmaksas sabiedriskais transports pensionāriem", Category: "transport", EKKCode: "6421",
			ValidFrom: from, ValidTo: &to, Priority: 10, Combinable: false,
			Discount:   benefits.Discount{Type: benefits.DiscountFree},
			GoodsCodes: []string{"transport.ride"}, Providers: []string{"40000000001"},
			RecipientGroup: benefits.RecipientGroup{RegistryGroup: "pensioners"},
			Conditions:     benefits.Conditions{Municipality: "0001000"},
		},
		"sample-school-meals": {
			Name: "Brīvpusdienas skolēniem", Category: "catering", EKKCode: "6322",
			ValidFrom: from, ValidTo: &to, Priority: 20, Combinable: true,
			Discount:   benefits.Discount{Type: benefits.DiscountFixed, AmountCents: 250, PerPersonLimit: &benefits.PeriodLimit{AmountCents: 5500, Period: "month"}},
			GoodsCodes: []string{"food.lunch"}, Providers: []string{"40000000002"},
			RecipientGroup: benefits.RecipientGroup{PersonListID: "sample-school-meals"},
			Conditions:     benefits.Conditions{MinAge: &minAge, MaxAge: &maxAge},
		},
		"sample-honour-family-discount": {
			Name: "Goda ģimenes atlaide", Category: "transport", EKKCode: "6421",
			ValidFrom: from, Priority: 30, Combinable: true,
			Discount:   benefits.Discount{Type: benefits.DiscountPercent, PercentBasisPoints: 5000, MaxPerTransactionCents: 1000},
			GoodsCodes: []string{"*"}, Providers: []string{"40000000001", "40000000002"},
			RecipientGroup: benefits.RecipientGroup{RegistryGroup: "honour_families"},
		},
	}
}

// sampleCommand loads the sample data and writes fresh credentials for the
// sample clients to an env file that the README's walk-through sources.
func sampleCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "var/sample-credentials.env", "where to write the sample clients' credentials")
	mine, rest := splitFlags(args, map[string]bool{"out": true})
	if err := fs.Parse(mine); err != nil {
		return err
	}
	cfg, log, err := setup("sample", rest, getenv, stderr)
	if err != nil {
		return err
	}
	app, err := gateway.Build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()

	// A second run keeps the secrets of the first where they still hold,
	// so that a shell that sourced the file before keeps working.
	previous := readEnvFile(*out)
	env := fmt.Sprintf("# Sample credentials written by 'gateway sample' at %s. Development only.\nexport AVIS_URL=%s\n", time.Now().UTC().Format(time.RFC3339), cfg.PublicURL)
	for _, sc := range sampleClients {
		nc, err := addClient(ctx, app.Clients, time.Now(), sc.id, sc.org, sc.orgName, sc.roles, "", "sample data")
		if err != nil {
			existing, lookErr := app.Clients.Client(ctx, sc.id)
			if lookErr != nil {
				return err
			}
			if existing.RevokedAt != nil {
				fmt.Fprintf(stderr, "sample client %s is revoked; left revoked and out of %s\n", sc.id, *out)
				continue
			}
			secret := previous[sc.envPrefix+"_SECRET"]
			if !existing.HasSecret(secret) {
				if secret, err = auth.NewClientSecret(); err != nil {
					return err
				}
				if err := app.Clients.SetSecretHash(ctx, sc.id, auth.HashSecret(secret)); err != nil {
					return err
				}
			}
			nc.ClientID, nc.ClientSecret = sc.id, secret
		}
		env += fmt.Sprintf("export %s_ID=%s\nexport %s_SECRET=%s\n", sc.envPrefix, nc.ClientID, sc.envPrefix, nc.ClientSecret)
	}
	grantor := benefits.Caller{OrgRegNo: "90000000001", ClientID: "sample-grantor"}
	for id, in := range sampleBenefits() {
		if _, _, err := app.Benefits.Put(ctx, grantor, id, in, nil); err != nil && !errors.Is(err, benefits.ErrWithdrawn) {
			return fmt.Errorf("sample benefit %s: %w", id, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(*out, []byte(env), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	fmt.Fprintf(stdout, "sample data loaded: %d clients, %d benefits; credentials in %s\n", len(sampleClients), len(sampleBenefits()), *out)
	return nil
}

// readEnvFile reads the "export NAME=value" lines of a file sampleCommand
// wrote; a missing or unreadable file reads as empty.
func readEnvFile(path string) map[string]string {
	out := map[string]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && !strings.HasPrefix(line, "#") {
			out[name] = value
		}
	}
	return out
}
