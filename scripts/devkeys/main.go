// Command devkeys creates the gateway's development XML-DSig identity,
// gateway.key and gateway.crt, if they are absent:
//
//	go run ./scripts/devkeys -dir var/keys
//
// The gateway signs registry token requests and transaction receipts with
// it; the registry mocks trust gateway.crt (-trusted-cert). Running it again
// keeps a valid pair untouched, so it is safe in Makefiles and CI. The files
// are written with mode 0600 into a 0700 directory and belong under var/,
// which git ignores: never commit keys.
package main

import (
	"crypto"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/avis-lv/gateway/internal/signing"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, "devkeys:", err)
		os.Exit(1)
	}
}

type options struct {
	dir      string
	name     string
	cn       string
	alg      string
	bits     int
	validFor time.Duration
	renewIn  time.Duration
}

func run(args []string, stdout io.Writer, now func() time.Time) error {
	fl := flag.NewFlagSet("devkeys", flag.ContinueOnError)
	var o options
	fl.StringVar(&o.dir, "dir", "var/keys", "directory for the key files (created 0700 if missing)")
	fl.StringVar(&o.name, "name", "gateway", "base name: writes NAME.key and NAME.crt")
	fl.StringVar(&o.cn, "cn", "avis-gateway-dev", "certificate subject common name")
	fl.StringVar(&o.alg, "alg", "rsa", "key algorithm: rsa (RSA-SHA256, what most XML-DSig tooling expects) or ecdsa (P-256)")
	fl.IntVar(&o.bits, "bits", 3072, "RSA key size in bits (at least 2048)")
	fl.DurationVar(&o.validFor, "valid-for", 2*365*24*time.Hour, "certificate validity")
	fl.DurationVar(&o.renewIn, "renew-within", 7*24*time.Hour, "replace an existing pair whose certificate expires within this time")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fl.Args())
	}
	if o.alg != "rsa" && o.alg != "ecdsa" {
		return fmt.Errorf("-alg %q: use rsa or ecdsa", o.alg)
	}
	return ensure(o, stdout, now)
}

func ensure(o options, stdout io.Writer, now func() time.Time) error {
	keyPath := filepath.Join(o.dir, o.name+".key")
	certPath := filepath.Join(o.dir, o.name+".crt")
	keyExists, err := exists(keyPath)
	if err != nil {
		return err
	}
	certExists, err := exists(certPath)
	if err != nil {
		return err
	}
	switch {
	case keyExists && certExists:
		s, err := signing.LoadSigner(keyPath, certPath)
		if err != nil {
			return fmt.Errorf("existing pair is unusable (delete both files to regenerate): %w", err)
		}
		cert := s.Certificate()
		if now().Add(o.renewIn).Before(cert.NotAfter) {
			fmt.Fprintf(stdout, "kept %s and %s (%s, expires %s, SHA-256 %s)\n",
				keyPath, certPath, cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.DateOnly), signing.Fingerprint(cert))
			return nil
		}
		fmt.Fprintf(stdout, "certificate %s expires %s: replacing the pair; restart the mocks so they trust the new one\n",
			certPath, cert.NotAfter.UTC().Format(time.RFC3339))
	case keyExists != certExists:
		return fmt.Errorf("only one of %s and %s exists; refusing to guess which belongs to which, delete it and run again", keyPath, certPath)
	}
	return generate(o, keyPath, certPath, stdout)
}

func generate(o options, keyPath, certPath string, stdout io.Writer) error {
	var (
		key  crypto.Signer
		cert *x509.Certificate
		err  error
	)
	if o.alg == "ecdsa" {
		key, cert, err = signing.GenerateSelfSigned(o.cn, o.validFor)
	} else {
		key, cert, err = signing.GenerateSelfSignedRSA(o.cn, o.validFor, o.bits)
	}
	if err != nil {
		return err
	}
	keyPEM, err := signing.EncodePrivateKeyPEM(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", o.dir, err)
	}
	if err := writeFile(keyPath, keyPEM); err != nil {
		return err
	}
	if err := writeFile(certPath, signing.EncodeCertificatePEM(cert)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s and %s (%s %s, expires %s, SHA-256 %s)\n",
		keyPath, certPath, o.alg, cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.DateOnly), signing.Fingerprint(cert))
	return nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("check %s: %w", path, err)
	}
}

// writeFile writes through a temporary file and a rename so that an
// interrupted run never leaves a truncated key behind.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".devkeys-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
