package signing

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// MinRSABits is the smallest RSA modulus accepted for signing or verifying.
const MinRSABits = 2048

// ParseCertificatesPEM returns every CERTIFICATE block in data, in order.
// Any other PEM block, or text that is not PEM at all, is an error: a
// trust-store file that silently yields fewer certificates than it appears
// to hold is worse than one that fails loudly.
func ParseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d: type %q, want CERTIFICATE", n, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		certs = append(certs, cert)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("PEM block %d: not PEM-encoded data after %d certificate(s)", len(certs)+1, len(certs))
	}
	if len(certs) == 0 {
		return nil, errors.New("no CERTIFICATE PEM block found")
	}
	return certs, nil
}

// EncodeCertificatePEM returns cert as a CERTIFICATE PEM block.
func EncodeCertificatePEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// ParsePrivateKeyPEM reads the first PEM block of data as an RSA or ECDSA
// private key in PKCS #8, PKCS #1 ("RSA PRIVATE KEY") or SEC 1
// ("EC PRIVATE KEY") form. Encrypted PEM is not supported: dev keys are
// protected by file permissions, production keys by the secret store.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, errors.New("encrypted private keys are not supported")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block type %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("private key type %T is not supported, use RSA or ECDSA", key)
	}
}

// EncodePrivateKeyPEM returns key as an unencrypted PKCS #8 PEM block.
func EncodePrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Fingerprint returns the hex SHA-256 of the certificate's DER encoding, the
// form operators compare with `openssl x509 -fingerprint -sha256`.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// DevelopmentOrganisation is the organisation of the certificates
// GenerateSelfSigned makes, so that a development certificate can be told
// from a real one.
const DevelopmentOrganisation = "AVIS development"

// GenerateSelfSigned creates an ECDSA P-256 key and a self-signed certificate
// for it, valid from a few minutes ago (to absorb clock skew) for validFor.
// It is meant for development keys and tests.
func GenerateSelfSigned(commonName string, validFor time.Duration) (crypto.Signer, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate ECDSA key: %w", err)
	}
	cert, err := selfSign(key, commonName, time.Now().Add(-5*time.Minute), validFor)
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}

// GenerateSelfSignedRSA is GenerateSelfSigned with an RSA key of the given
// size, for peers whose XML-DSig tooling expects RSA.
func GenerateSelfSignedRSA(commonName string, validFor time.Duration, bits int) (crypto.Signer, *x509.Certificate, error) {
	if bits < MinRSABits {
		return nil, nil, fmt.Errorf("RSA key size %d is below the minimum %d", bits, MinRSABits)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, nil, fmt.Errorf("generate RSA key: %w", err)
	}
	cert, err := selfSign(key, commonName, time.Now().Add(-5*time.Minute), validFor)
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}

// selfSign issues a self-signed certificate valid over [notBefore,
// notBefore+validFor]. Tests use it directly to make expired certificates.
func selfSign(key crypto.Signer, commonName string, notBefore time.Time, validFor time.Duration) (*x509.Certificate, error) {
	if commonName == "" {
		return nil, errors.New("certificate common name is empty")
	}
	if validFor <= 0 {
		return nil, fmt.Errorf("certificate validity %s is not positive", validFor)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{DevelopmentOrganisation}},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validFor),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create certificate for %q: %w", commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new certificate: %w", err)
	}
	return cert, nil
}

// checkPublicKey enforces the key types and sizes both signing and
// verification accept.
func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("RSA key of %d bits, at least %d required", k.N.BitLen(), MinRSABits)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return fmt.Errorf("ECDSA curve %s is not allowed, use P-256, P-384 or P-521", k.Curve.Params().Name)
		}
	default:
		return fmt.Errorf("public key type %T is not allowed, use RSA or ECDSA", pub)
	}
	return nil
}
