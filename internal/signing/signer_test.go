package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

func TestNewSignerRefuses(t *testing.T) {
	ec, other := id(t, "ec"), id(t, "attacker")
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  any
		cert *x509.Certificate
		want string
	}{
		{"nil key", nil, ec.cert, "private key is nil"},
		{"nil certificate", ec.key, nil, "certificate is nil"},
		{"key of another certificate", other.key, ec.cert, "does not match"},
		{"weak RSA", id(t, "weak").key, id(t, "weak").cert, "at least 2048"},
		{"P-224", p224, ec.cert, "curve P-224"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s *Signer
			var err error
			switch k := tc.key.(type) {
			case nil:
				s, err = NewSigner(nil, tc.cert)
			case *ecdsa.PrivateKey:
				s, err = NewSigner(k, tc.cert)
			case *rsa.PrivateKey:
				s, err = NewSigner(k, tc.cert)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewSigner err = %v, want it to mention %q", err, tc.want)
			}
			if s != nil {
				t.Error("returned a Signer with an error")
			}
		})
	}
}

func TestSignEnveloped(t *testing.T) {
	s := newTestSigner(t, "rsa")
	el := etree.NewElement("Receipt")
	el.CreateElement("Amount").SetText("1250")
	signed, err := s.SignEnveloped(el)
	if err != nil {
		t.Fatal(err)
	}
	if len(el.ChildElements()) != 1 {
		t.Error("SignEnveloped modified its argument")
	}
	if _, err := s.SignEnveloped(signed); err == nil || !strings.Contains(err.Error(), "already carries") {
		t.Errorf("signing a signed element: err = %v, want refusal", err)
	}
	if _, err := s.SignEnveloped(nil); err == nil {
		t.Error("signing nil: no error")
	}
	d := etree.NewDocument()
	d.SetRoot(signed)
	b, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewVerifier(s.Certificate()).Verify(b)
	if err != nil {
		t.Fatalf("verify own signature: %v", err)
	}
	if got.SelectElement("Amount").Text() != "1250" {
		t.Errorf("verified Amount = %q", got.SelectElement("Amount").Text())
	}
}

func TestSignRefusesOutsideCertificateValidity(t *testing.T) {
	s := newTestSigner(t, "ec")
	s.now = func() time.Time { return time.Now().Add(72 * time.Hour) }
	if _, err := s.SignDocument([]byte(tokenRequest)); !errors.Is(err, ErrCertificateExpired) {
		t.Errorf("err = %v, want ErrCertificateExpired", err)
	}
}

func TestSignDocumentRefusesDTD(t *testing.T) {
	s := newTestSigner(t, "ec")
	_, err := s.SignDocument([]byte(`<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`))
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v, want ErrMalformed", err)
	}
}

func TestSignDocumentKeepsDeclarationAndLineBreaks(t *testing.T) {
	s := newTestSigner(t, "ec")
	out := mustSign(t, s, personList)
	if !bytes.HasPrefix(out, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("XML declaration lost:\n%.80s", out)
	}
	if !bytes.Contains(out, []byte(`note="line1&#xA;line2&#x9;tab"`)) {
		t.Errorf("line break in attribute not written as a character reference:\n%s", out)
	}
	if !bytes.Contains(out, []byte("<ds:SignatureValue>")) || !bytes.Contains(out, []byte("<ds:X509Certificate>")) {
		t.Error("signature parts missing")
	}
}

func TestECDSASignatureValueIsRawRS(t *testing.T) {
	s := newTestSigner(t, "ec")
	d := etree.NewDocument()
	if err := d.ReadFromBytes(mustSign(t, s, tokenRequest)); err != nil {
		t.Fatal(err)
	}
	raw, err := decodeBase64(find(d.Root(), "SignatureValue").Text())
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 64 {
		t.Errorf("P-256 SignatureValue is %d bytes, want 64 (r‖s as XML-DSig specifies)", len(raw))
	}
}

func TestLoadSigner(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ec, rsaID := id(t, "ec"), id(t, "rsa")
	pkcs8, err := EncodePrivateKeyPEM(ec.key)
	if err != nil {
		t.Fatal(err)
	}
	sec1DER, err := x509.MarshalECPrivateKey(ec.key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1DER})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaID.key.(*rsa.PrivateKey))})
	ecCert := write("ec.crt", EncodeCertificatePEM(ec.cert))
	rsaCert := write("rsa.crt", EncodeCertificatePEM(rsaID.cert))
	chain := write("chain.crt", append(EncodeCertificatePEM(ec.cert), EncodeCertificatePEM(id(t, "attacker").cert)...))

	ok := []struct{ name, key, cert string }{
		{"PKCS #8", write("k8.pem", pkcs8), ecCert},
		{"SEC 1", write("sec1.pem", sec1), ecCert},
		{"PKCS #1", write("k1.pem", pkcs1), rsaCert},
		{"with intermediate", write("k8b.pem", pkcs8), chain},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadSigner(tc.key, tc.cert)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := NewVerifier(s.Certificate()).Verify(mustSign(t, s, tokenRequest)); err != nil {
				t.Errorf("verify: %v", err)
			}
			if !bytes.Equal(s.CertificatePEM(), EncodeCertificatePEM(s.Certificate())) {
				t.Error("CertificatePEM does not match Certificate")
			}
		})
	}

	bad := []struct{ name, key, cert, want string }{
		{"missing key file", filepath.Join(dir, "nope"), ecCert, "read key"},
		{"missing cert file", write("k.pem", pkcs8), filepath.Join(dir, "nope"), "read certificate"},
		{"key is a certificate", ecCert, ecCert, "not a private key"},
		{"cert is a key", write("k2.pem", pkcs8), write("k3.pem", pkcs8), "want CERTIFICATE"},
		{"mismatched pair", write("k4.pem", pkcs8), rsaCert, "does not match"},
		{"encrypted key", write("enc.pem", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")), ecCert, "encrypted"},
		{"not PEM", write("junk.pem", []byte("hello")), ecCert, "no PEM block"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSigner(tc.key, tc.cert)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestParseCertificatesPEM(t *testing.T) {
	a, b := EncodeCertificatePEM(id(t, "ec").cert), EncodeCertificatePEM(id(t, "rsa").cert)
	certs, err := ParseCertificatesPEM(append(append([]byte("\n"), a...), b...))
	if err != nil || len(certs) != 2 {
		t.Fatalf("two certificates: got %d, %v", len(certs), err)
	}
	key, _ := EncodePrivateKeyPEM(id(t, "ec").key)
	for name, in := range map[string][]byte{
		"empty":            nil,
		"private key":      key,
		"trailing garbage": append(append([]byte{}, a...), []byte("garbage")...),
		"bad DER":          pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}),
	} {
		if _, err := ParseCertificatesPEM(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestGenerateSelfSigned(t *testing.T) {
	key, cert, err := GenerateSelfSigned("dev", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "dev" || cert.NotAfter.Sub(cert.NotBefore) != time.Hour {
		t.Errorf("certificate: CN %q, validity %s", cert.Subject.CommonName, cert.NotAfter.Sub(cert.NotBefore))
	}
	if _, err := NewSigner(key, cert); err != nil {
		t.Errorf("generated pair is not a valid signer: %v", err)
	}
	if _, _, err := GenerateSelfSigned("", time.Hour); err == nil {
		t.Error("empty common name accepted")
	}
	if _, _, err := GenerateSelfSigned("x", 0); err == nil {
		t.Error("zero validity accepted")
	}
	if _, _, err := GenerateSelfSignedRSA("x", time.Hour, 1024); err == nil {
		t.Error("1024-bit RSA accepted")
	}
}
