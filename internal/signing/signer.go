package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Limits for SignDocument's parse: the documents are our own, so the limits
// only guard against a caller passing something absurd.
const (
	signMaxBytes = 256 << 20
	signMaxDepth = 256
)

// Signer makes enveloped XML-DSig signatures with one key and its
// certificate: RSA-SHA256 or ECDSA-SHA256, SHA-256 digest, exclusive
// canonicalisation, and the certificate (chain) in KeyInfo/X509Data.
// A Signer is safe for concurrent use.
type Signer struct {
	key   crypto.Signer
	cert  *x509.Certificate
	chain [][]byte // DER: cert first, then any intermediates
	now   func() time.Time
}

// NewSigner checks that key belongs to cert and is strong enough, and
// returns a Signer. Extra certificates (intermediates) are embedded in
// KeyInfo after cert so that verifiers holding only a CA can build the path.
func NewSigner(key crypto.Signer, cert *x509.Certificate, intermediates ...*x509.Certificate) (*Signer, error) {
	if key == nil {
		return nil, errors.New("new signer: private key is nil")
	}
	if cert == nil {
		return nil, errors.New("new signer: certificate is nil")
	}
	if err := checkPublicKey(key.Public()); err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("new signer: private key does not match the certificate %q", cert.Subject.CommonName)
	}
	chain := [][]byte{cert.Raw}
	for _, c := range intermediates {
		chain = append(chain, c.Raw)
	}
	return &Signer{key: key, cert: cert, chain: chain, now: time.Now}, nil
}

// LoadSigner reads a PEM private key and a PEM certificate file. The first
// certificate in certPEMFile is the signing certificate; any further ones are
// embedded as intermediates.
func LoadSigner(keyPEMFile, certPEMFile string) (*Signer, error) {
	keyPEM, err := os.ReadFile(keyPEMFile)
	if err != nil {
		return nil, fmt.Errorf("load signer: read key: %w", err)
	}
	key, err := ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load signer: key %s: %w", keyPEMFile, err)
	}
	certPEM, err := os.ReadFile(certPEMFile)
	if err != nil {
		return nil, fmt.Errorf("load signer: read certificate: %w", err)
	}
	certs, err := ParseCertificatesPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load signer: certificate %s: %w", certPEMFile, err)
	}
	s, err := NewSigner(key, certs[0], certs[1:]...)
	if err != nil {
		return nil, fmt.Errorf("load signer from %s and %s: %w", keyPEMFile, certPEMFile, err)
	}
	return s, nil
}

// Certificate returns the signing certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.cert }

// CertificatePEM returns the signing certificate as PEM, the form a
// registry or a grantor registers as trusted.
func (s *Signer) CertificatePEM() []byte { return EncodeCertificatePEM(s.cert) }

// CheckValidAt returns an error wrapping ErrCertificateExpired when cert is
// not valid at now (expired or not yet valid).
func CheckValidAt(cert *x509.Certificate, now time.Time) error {
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("%w: certificate %q is valid %s to %s", ErrCertificateExpired, cert.Subject.CommonName,
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// SignEnveloped returns a copy of el with an enveloped ds:Signature appended
// as its last child. The reference URI is "" unless el has an ID attribute,
// in which case it is "#" + that ID. el itself is not modified. Callers that
// serialise the result themselves should set etree.WriteSettings
// CanonicalText and CanonicalAttrVal, as SignDocument does, so that line
// breaks inside attribute values survive the recipient's parser.
func (s *Signer) SignEnveloped(el *etree.Element) (*etree.Element, error) {
	if el == nil {
		return nil, errors.New("sign: element is nil")
	}
	if err := CheckValidAt(s.cert, s.now()); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if hasSignature(el) {
		return nil, fmt.Errorf("sign <%s>: the element already carries an XML signature", el.Tag)
	}
	ctx, err := dsig.NewSigningContext(s.key, s.chain)
	if err != nil {
		return nil, fmt.Errorf("sign <%s>: %w", el.Tag, err)
	}
	ctx.Hash = crypto.SHA256
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		return nil, fmt.Errorf("sign <%s>: %w", el.Tag, err)
	}
	if pub, ok := s.key.Public().(*ecdsa.PublicKey); ok {
		if err := rewriteECDSAValue(signed, pub); err != nil {
			return nil, fmt.Errorf("sign <%s>: %w", el.Tag, err)
		}
	}
	return signed, nil
}

// canonicalWriteSettings escape carriage returns, tabs and newlines in
// attribute values (and carriage returns in text) as character references.
// Written literally, a conforming parser would normalise them to spaces or
// line feeds and the digest would no longer match for the recipient.
var canonicalWriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}

// SignDocument parses doc, signs its root element and serialises the result.
// The XML declaration and anything else outside the root are kept. doc must
// not contain a DTD, like every document Verify accepts.
func (s *Signer) SignDocument(doc []byte) ([]byte, error) {
	d, err := parseXML(doc, parseLimits{maxBytes: signMaxBytes, maxDepth: signMaxDepth})
	if err != nil {
		return nil, fmt.Errorf("sign document: %w", err)
	}
	signed, err := s.SignEnveloped(d.Root())
	if err != nil {
		return nil, fmt.Errorf("sign document: %w", err)
	}
	d.SetRoot(signed)
	d.WriteSettings = canonicalWriteSettings
	out, err := d.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("sign document: serialise: %w", err)
	}
	return out, nil
}

// rewriteECDSAValue replaces the DER signature goxmldsig wrote with the
// r‖s form XML-DSig specifies. SignatureValue is outside SignedInfo, so
// changing its encoding does not affect what was signed.
func rewriteECDSAValue(signed *etree.Element, pub *ecdsa.PublicKey) error {
	sig := signed.ChildElements()[len(signed.ChildElements())-1]
	var value *etree.Element
	for _, c := range sig.ChildElements() {
		if c.Tag == dsig.SignatureValueTag {
			value = c
		}
	}
	if value == nil {
		return errors.New("signature has no SignatureValue")
	}
	der, err := base64.StdEncoding.DecodeString(value.Text())
	if err != nil {
		return fmt.Errorf("decode SignatureValue: %w", err)
	}
	raw, err := derToRaw(der, pub)
	if err != nil {
		return err
	}
	value.SetText(base64.StdEncoding.EncodeToString(raw))
	return nil
}

// hasSignature reports whether el or any descendant is a ds:Signature.
func hasSignature(el *etree.Element) bool {
	if el.Tag == dsig.SignatureTag && el.NamespaceURI() == dsig.Namespace {
		return true
	}
	for _, c := range el.ChildElements() {
		if hasSignature(c) {
			return true
		}
	}
	return false
}
