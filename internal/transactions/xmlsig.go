package transactions

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
)

// ReceiptKey signs receipts with an enveloped XML-DSig signature of the
// profile internal/signing verifies (exclusive c14n, SHA-256, RSA-SHA256 or
// ECDSA-SHA256 with r‖s, the certificate in KeyInfo/X509Data).
//
// A receipt is written in exclusive canonical form from the start, so its
// reference digest is the SHA-256 of its bytes and SignedInfo is a fixed
// template: signing costs one hash and one private-key operation instead of
// parsing, canonicalising and re-serialising the document. And because the
// signature is the only thing added, the signed document can be assembled
// again at any time from the receipt, the signature value and the
// certificate: only those 64 (ECDSA P-256) or 384 (RSA-3072) bytes are
// stored.
type ReceiptKey struct {
	key       crypto.Signer
	cert      *x509.Certificate
	certB64   string
	method    string
	curveSize int // ECDSA: bytes of r and of s
}

// The algorithm identifiers of the profile.
const (
	dsigNamespace  = "http://www.w3.org/2000/09/xmldsig#"
	excC14N        = "http://www.w3.org/2001/10/xml-exc-c14n#"
	enveloped      = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	digestSHA256   = "http://www.w3.org/2001/04/xmlenc#sha256"
	methodRSA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	methodECDSA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
)

// NewReceiptKey checks that key belongs to cert.
func NewReceiptKey(key crypto.Signer, cert *x509.Certificate) (*ReceiptKey, error) {
	if key == nil || cert == nil {
		return nil, errors.New("receipt key: key and certificate are required")
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("receipt key: the private key does not match the certificate %q", cert.Subject.CommonName)
	}
	k := &ReceiptKey{key: key, cert: cert, certB64: base64.StdEncoding.EncodeToString(cert.Raw)}
	switch p := key.Public().(type) {
	case *ecdsa.PublicKey:
		k.method = methodECDSA256
		k.curveSize = (p.Curve.Params().BitSize + 7) / 8
	case *rsa.PublicKey:
		k.method = methodRSA256
	default:
		return nil, fmt.Errorf("receipt key: %T keys are not supported, use RSA or ECDSA", p)
	}
	return k, nil
}

// Certificate is the certificate receipts are verified with.
func (k *ReceiptKey) Certificate() *x509.Certificate { return k.cert }

// signedInfo is the canonical SignedInfo for a reference digest, the exact
// bytes a verifier canonicalises SignedInfo to (the ds prefix is declared
// on it, empty elements are written as start and end tags).
func (k *ReceiptKey) signedInfo(digest [32]byte, standalone bool) []byte {
	var b bytes.Buffer
	b.WriteString(`<ds:SignedInfo`)
	if standalone {
		b.WriteString(` xmlns:ds="` + dsigNamespace + `"`)
	}
	b.WriteString(`><ds:CanonicalizationMethod Algorithm="` + excC14N + `"></ds:CanonicalizationMethod>`)
	b.WriteString(`<ds:SignatureMethod Algorithm="` + k.method + `"></ds:SignatureMethod>`)
	b.WriteString(`<ds:Reference URI=""><ds:Transforms>`)
	b.WriteString(`<ds:Transform Algorithm="` + enveloped + `"></ds:Transform>`)
	b.WriteString(`<ds:Transform Algorithm="` + excC14N + `"></ds:Transform>`)
	b.WriteString(`</ds:Transforms><ds:DigestMethod Algorithm="` + digestSHA256 + `"></ds:DigestMethod>`)
	b.WriteString(`<ds:DigestValue>` + base64.StdEncoding.EncodeToString(digest[:]) + `</ds:DigestValue>`)
	b.WriteString(`</ds:Reference></ds:SignedInfo>`)
	return b.Bytes()
}

// Sign returns the signature value over a receipt whose canonical bytes
// have the SHA-256 digest: PKCS #1 v1.5 for RSA, r‖s for ECDSA.
func (k *ReceiptKey) Sign(digest [32]byte) ([]byte, error) {
	h := sha256.Sum256(k.signedInfo(digest, true))
	sig, err := k.key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign receipt: %w", err)
	}
	if k.curveSize == 0 {
		return sig, nil
	}
	// crypto.Signer gives ECDSA signatures in DER; XML-DSig wants r‖s.
	r, s, err := parseECDSADER(sig)
	if err != nil {
		return nil, fmt.Errorf("sign receipt: %w", err)
	}
	out := make([]byte, 2*k.curveSize)
	r.FillBytes(out[:k.curveSize])
	s.FillBytes(out[k.curveSize:])
	return out, nil
}

// Assemble returns the signed receipt: the receipt with its enveloped
// signature as the last child of the root element.
func (k *ReceiptKey) Assemble(content []byte, digest [32]byte, value []byte) ([]byte, error) {
	return assembleSigned(content, k.signedInfo(digest, false), value, k.certB64)
}

func assembleSigned(content, signedInfo, value []byte, certB64 string) ([]byte, error) {
	end := bytes.LastIndex(content, []byte("</"))
	if end < 0 {
		return nil, errors.New("assemble receipt: no closing tag")
	}
	var b bytes.Buffer
	b.Grow(len(content) + len(signedInfo) + len(certB64) + 2*len(value) + 256)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.Write(content[:end])
	b.WriteString(`<ds:Signature xmlns:ds="` + dsigNamespace + `">`)
	b.Write(signedInfo)
	b.WriteString(`<ds:SignatureValue>` + base64.StdEncoding.EncodeToString(value) + `</ds:SignatureValue>`)
	b.WriteString(`<ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + certB64 + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`)
	b.WriteString(`</ds:Signature>`)
	b.Write(content[end:])
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// parseECDSADER reads the ASN.1 SEQUENCE { r INTEGER, s INTEGER } that
// crypto/ecdsa produces.
func parseECDSADER(der []byte) (*big.Int, *big.Int, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 || sig.R == nil || sig.S == nil {
		return nil, nil, errors.New("malformed ECDSA signature")
	}
	return sig.R, sig.S, nil
}
