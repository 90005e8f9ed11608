package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/signing"
)

// A certificate that is not valid now would make every signature fail
// verification: the gateway refuses it at start rather than sign with it.
func TestLoadSignerRefusesCertificateOutsideValidity(t *testing.T) {
	key, cert, err := signing.GenerateSelfSigned("gw", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPEM, err := signing.EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, certFile := filepath.Join(dir, "gw.key"), filepath.Join(dir, "gw.crt")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, signing.EncodeCertificatePEM(cert), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSigner(keyFile, certFile, time.Now()); err != nil {
		t.Fatalf("current certificate refused: %v", err)
	}
	for _, at := range []time.Time{time.Now().Add(2 * time.Hour), time.Now().Add(-time.Hour)} {
		if _, err := loadSigner(keyFile, certFile, at); err == nil || !strings.Contains(err.Error(), "not now") {
			t.Errorf("at %s: %v, want a refusal", at, err)
		}
	}
	if _, err := loadSigner(filepath.Join(dir, "none.key"), certFile, time.Now()); err == nil {
		t.Error("a missing key loaded")
	}
}
