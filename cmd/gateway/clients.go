package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/store"
)

var (
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{3,128}$`)
	regNoPattern    = regexp.MustCompile(`^[0-9]{11}$`)
)

// splitFlags separates a command's own flags from the settings' flags, so
// that "clients add -id x -database-url y" works.
func splitFlags(args []string, own map[string]bool) (mine, rest []string) {
	for i := 0; i < len(args); i++ {
		name := strings.TrimLeft(args[i], "-")
		name, _, hasValue := strings.Cut(name, "=")
		target := &rest
		if own[name] {
			target = &mine
		}
		*target = append(*target, args[i])
		// A lone "-" is a value (standard input), not a flag.
		if !hasValue && i+1 < len(args) && strings.HasPrefix(args[i], "-") && (!strings.HasPrefix(args[i+1], "-") || args[i+1] == "-") {
			*target = append(*target, args[i+1])
			i++
		}
	}
	return mine, rest
}

func openClients(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer) (*store.Clients, func(), error) {
	pool, _, err := openStore(ctx, name, args, getenv, stderr)
	if err != nil {
		return nil, nil, err
	}
	return store.NewClients(pool), pool.Close, nil
}

// openStore reads the configuration of an operator command and opens the
// database, migrated; the caller closes the pool.
func openStore(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer) (*pgxpool.Pool, *slog.Logger, error) {
	cfg, log, err := setup(name, args, getenv, stderr)
	if err != nil {
		return nil, nil, err
	}
	pool, err := store.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return nil, nil, err
	}
	if err := store.Migrate(ctx, pool, log); err != nil {
		pool.Close()
		return nil, nil, err
	}
	return pool, log, nil
}

// NewClient is what "clients add" prints, once: the secret is not stored.
type NewClient struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret,omitempty"`
	Org          string   `json:"org"`
	Roles        []string `json:"roles"`
	TokenURL     string   `json:"token_url"`
}

// addClient registers a client; now is when a certificate given as its key
// must still be valid.
func addClient(ctx context.Context, clients auth.ClientStore, now time.Time, id, org, orgName, roles, publicKeyFile, description string) (NewClient, error) {
	if !clientIDPattern.MatchString(id) {
		return NewClient{}, fmt.Errorf("-id must be 3-128 of A-Z a-z 0-9 . _ -")
	}
	if !regNoPattern.MatchString(org) {
		return NewClient{}, fmt.Errorf("-org must be an 11-digit registration number")
	}
	c := auth.Client{ID: id, OrgRegNo: org, OrgName: orgName, Description: description}
	var names []string
	for _, r := range strings.Split(roles, ",") {
		r = strings.TrimSpace(r)
		if !auth.ValidRole(auth.Role(r)) {
			return NewClient{}, fmt.Errorf("-roles: %q is not one of grantor, provider, admin", r)
		}
		c.Roles = append(c.Roles, auth.Role(r))
		names = append(names, r)
	}
	out := NewClient{ClientID: id, Org: org, Roles: names}
	if publicKeyFile != "" {
		pemText, err := os.ReadFile(publicKeyFile)
		if err != nil {
			return NewClient{}, fmt.Errorf("read -public-key: %w", err)
		}
		k, err := auth.ParseClientKey(string(pemText))
		if err != nil {
			return NewClient{}, fmt.Errorf("-public-key %s: %w", publicKeyFile, err)
		}
		// Every assertion would be refused; a certificate not yet valid
		// may be registered ahead of its start.
		if err := k.ValidAt(now); errors.Is(err, auth.ErrCertificateExpired) {
			return NewClient{}, fmt.Errorf("-public-key %s: %w: register a certificate that is still valid", publicKeyFile, err)
		}
		c.PublicKeyPEM = string(pemText)
	} else {
		secret, err := auth.NewClientSecret()
		if err != nil {
			return NewClient{}, err
		}
		c.SecretHash = auth.HashSecret(secret)
		out.ClientSecret = secret
	}
	if err := clients.AddClient(ctx, c); err != nil {
		if errors.Is(err, auth.ErrClientExists) {
			return NewClient{}, fmt.Errorf("client %s exists already; revoke it or choose another -id", id)
		}
		return NewClient{}, err
	}
	return out, nil
}

// maxSecretOverlap bounds how long a rotated-out secret keeps working: an
// overlap is for switching, not a second secret.
const maxSecretOverlap = 30 * 24 * time.Hour

func clientsCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("clients: want add, list, revoke or rotate-secret\n%s", usage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("clients "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "client id")
	org := fs.String("org", "", "organisation registration number (11 digits)")
	orgName := fs.String("org-name", "", "organisation name")
	roles := fs.String("roles", "", "comma-separated roles: grantor, provider, admin")
	pub := fs.String("public-key", "", "PEM public key or certificate for private_key_jwt (no secret is issued)")
	desc := fs.String("description", "", "free text")
	overlap := fs.Duration("overlap", 24*time.Hour, "rotate-secret: how long the old secret keeps working (0 ends it at once; at most 720h)")
	force := fs.Bool("force", false, "rotate-secret: rotate although the previous rotation's overlap still runs (ends the secret before the current one)")
	own := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { own[f.Name] = true })
	mine, rest := splitFlags(args, own)
	if err := fs.Parse(mine); err != nil {
		return err
	}
	clients, closeDB, err := openClients(ctx, "clients "+sub, rest, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	switch sub {
	case "add":
		out, err := addClient(ctx, clients, time.Now(), *id, *org, *orgName, *roles, *pub, *desc)
		if err != nil {
			return err
		}
		cfg, _ := config.Load("clients", rest, getenv)
		out.TokenURL = cfg.PublicURL + "/oauth/token"
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
		if out.ClientSecret != "" {
			fmt.Fprintln(stderr, "The client secret is shown only now; the gateway keeps just its hash.")
		}
		return nil
	case "list":
		list, err := clients.ListClients(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT\tORG\tNAME\tROLES\tAUTH\tCREATED\tREVOKED\tOLD SECRET UNTIL")
		for _, c := range list {
			method := "secret"
			if c.PublicKeyPEM != "" {
				method = "private_key_jwt"
			}
			revoked := "-"
			if c.RevokedAt != nil {
				revoked = c.RevokedAt.UTC().Format(time.RFC3339)
			}
			var rs []string
			for _, r := range c.Roles {
				rs = append(rs, string(r))
			}
			oldUntil := "-"
			if c.PreviousSecretUntil != nil && c.PreviousSecretUntil.After(time.Now()) && c.PreviousSecretHash != nil {
				oldUntil = c.PreviousSecretUntil.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.OrgRegNo, c.OrgName, strings.Join(rs, ","), method, c.CreatedAt.UTC().Format(time.RFC3339), revoked, oldUntil)
		}
		return tw.Flush()
	case "revoke":
		if *id == "" {
			return fmt.Errorf("clients revoke: -id is required")
		}
		if err := clients.RevokeClient(ctx, *id, time.Now()); err != nil {
			return fmt.Errorf("revoke %s: %w", *id, err)
		}
		fmt.Fprintf(stdout, "revoked %s (tokens already issued expire within the token lifetime)\n", *id)
		return nil
	case "rotate-secret":
		if *id == "" {
			return fmt.Errorf("clients rotate-secret: -id is required")
		}
		if *overlap < 0 || *overlap > maxSecretOverlap {
			return fmt.Errorf("clients rotate-secret: -overlap must be from 0 to %s", maxSecretOverlap)
		}
		secret, err := auth.NewClientSecret()
		if err != nil {
			return err
		}
		until, err := clients.RotateSecret(ctx, *id, auth.HashSecret(secret), *overlap, *force)
		if errors.Is(err, store.ErrRotationInProgress) {
			return fmt.Errorf("rotate the secret of %s: %w (the integrator may still use it; -force rotates anyway)", *id, err)
		}
		if err != nil {
			return fmt.Errorf("rotate the secret of %s: %w", *id, err)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]string{"client_id": *id, "client_secret": secret, "previous_secret_valid_until": until.UTC().Format(time.RFC3339)}); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "The new client secret is shown only now; the old one works until previous_secret_valid_until,")
		fmt.Fprintln(stderr, "on instances of this release (an instance of an earlier one accepts only the new secret).")
		return nil
	default:
		return fmt.Errorf("clients: unknown subcommand %q", sub)
	}
}
