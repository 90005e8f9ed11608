package signing

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

const (
	excC14N             = string(dsig.CanonicalXML10ExclusiveAlgorithmId)
	excC14NWithComments = string(dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId)
	envelopedTransform  = string(dsig.EnvelopedSignatureAltorithmId)
	excC14NNamespace    = "http://www.w3.org/2001/10/xml-exc-c14n#"
)

// allowedSignatureMethods maps each accepted SignatureMethod to the key type
// it needs. SHA-1 methods, HMAC and DSA are absent on purpose.
var allowedSignatureMethods = map[string]x509.PublicKeyAlgorithm{
	dsig.RSASHA256SignatureMethod:   x509.RSA,
	dsig.RSASHA384SignatureMethod:   x509.RSA,
	dsig.RSASHA512SignatureMethod:   x509.RSA,
	dsig.ECDSASHA256SignatureMethod: x509.ECDSA,
	dsig.ECDSASHA384SignatureMethod: x509.ECDSA,
	dsig.ECDSASHA512SignatureMethod: x509.ECDSA,
}

var allowedDigestMethods = map[string]bool{
	"http://www.w3.org/2001/04/xmlenc#sha256":       true,
	"http://www.w3.org/2001/04/xmldsig-more#sha384": true,
	"http://www.w3.org/2001/04/xmlenc#sha512":       true,
}

// idAttributes are the attribute names treated as XML IDs when looking for
// duplicates and resolving "#id" references. xml:id is checked separately.
var idAttributes = []string{"ID", "Id", "id"}

// Verifier checks enveloped XML-DSig signatures against a fixed set of
// trusted certificates. It is immutable and safe for concurrent use; the
// With* methods return modified copies.
type Verifier struct {
	trusted  []*x509.Certificate
	maxBytes int
	maxDepth int
	now      func() time.Time
}

// Verified is what a successful verification established.
type Verified struct {
	// Element is the signed root element, rebuilt from the canonical bytes
	// whose digest was checked, with the signature removed. It is the only
	// part of the document a caller may act on.
	Element *etree.Element
	// Certificate is the trusted certificate that made the signature.
	Certificate *x509.Certificate
	// SignatureMethod and DigestMethod are the algorithm URIs used.
	SignatureMethod string
	DigestMethod    string
}

// NewVerifier returns a Verifier that trusts exactly the given certificates
// (compared byte for byte, not by chain building) with the default limits.
// Nil certificates are ignored.
func NewVerifier(trusted ...*x509.Certificate) *Verifier {
	v := &Verifier{maxBytes: DefaultMaxBytes, maxDepth: DefaultMaxDepth, now: time.Now}
	for _, c := range trusted {
		if c != nil {
			v.trusted = append(v.trusted, c)
		}
	}
	return v
}

// WithMaxBytes returns a copy of v that accepts documents up to n bytes.
func (v *Verifier) WithMaxBytes(n int) *Verifier {
	c := *v
	if n > 0 {
		c.maxBytes = n
	}
	return &c
}

// WithMaxDepth returns a copy of v that accepts element nesting up to n.
func (v *Verifier) WithMaxDepth(n int) *Verifier {
	c := *v
	if n > 0 {
		c.maxDepth = n
	}
	return &c
}

// WithClock returns a copy of v that checks certificate validity at now().
func (v *Verifier) WithClock(now func() time.Time) *Verifier {
	c := *v
	if now != nil {
		c.now = now
	}
	return &c
}

// Trusted returns the trusted certificates.
func (v *Verifier) Trusted() []*x509.Certificate {
	return append([]*x509.Certificate(nil), v.trusted...)
}

// Verify checks doc's signature and returns the signed root element. See
// Verified.Element for why callers must use only the returned element.
func (v *Verifier) Verify(doc []byte) (*etree.Element, error) {
	res, err := v.VerifyDetailed(doc)
	if err != nil {
		return nil, err
	}
	return res.Element, nil
}

// VerifyDetailed is Verify that also reports which certificate signed and
// with which algorithms, for callers that record who submitted a document.
func (v *Verifier) VerifyDetailed(doc []byte) (*Verified, error) {
	d, err := parseXML(doc, parseLimits{maxBytes: v.maxBytes, maxDepth: v.maxDepth})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	root := d.Root()
	sp, err := inspect(root)
	if err != nil {
		return nil, fmt.Errorf("verify <%s>: %w", root.Tag, err)
	}
	cert, err := v.trustedCertificate(sp)
	if err != nil {
		return nil, fmt.Errorf("verify <%s>: %w", root.Tag, err)
	}
	if err := matchKey(sp.signatureMethod, cert); err != nil {
		return nil, fmt.Errorf("verify <%s>: %w", root.Tag, err)
	}
	if err := normaliseValue(sp.signatureValue, cert); err != nil {
		return nil, fmt.Errorf("verify <%s>: %w", root.Tag, err)
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	ctx.IdAttribute = sp.idAttribute
	ctx.Clock = dsig.NewFakeClockAt(v.now())
	el, err := ctx.Validate(root)
	if err != nil {
		return nil, fmt.Errorf("verify <%s>: %w: %v", root.Tag, ErrTampered, err)
	}
	return &Verified{
		Element:         el,
		Certificate:     cert,
		SignatureMethod: sp.signatureMethod,
		DigestMethod:    sp.digestMethod,
	}, nil
}

func (v *Verifier) trustedCertificate(sp *signatureParts) (*x509.Certificate, error) {
	var trusted *x509.Certificate
	for _, c := range v.trusted {
		if c.Equal(sp.certificate) {
			trusted = c
			break
		}
	}
	if trusted == nil {
		return nil, fmt.Errorf("%w: certificate %q (SHA-256 %s) is not registered",
			ErrUntrusted, sp.certificate.Subject.CommonName, Fingerprint(sp.certificate))
	}
	if err := CheckValidAt(trusted, v.now()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	if trusted.KeyUsage != 0 && trusted.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return nil, fmt.Errorf("%w: certificate %q is not allowed to make digital signatures (key usage)",
			ErrUntrusted, trusted.Subject.CommonName)
	}
	return trusted, nil
}

// matchKey refuses a signature method that does not fit the certificate's
// key, and keys below our strength floor.
func matchKey(method string, cert *x509.Certificate) error {
	if err := checkPublicKey(cert.PublicKey); err != nil {
		return fmt.Errorf("%w: %v", ErrAlgorithm, err)
	}
	want := allowedSignatureMethods[method]
	var have x509.PublicKeyAlgorithm
	switch cert.PublicKey.(type) {
	case *rsa.PublicKey:
		have = x509.RSA
	case *ecdsa.PublicKey:
		have = x509.ECDSA
	}
	if want != have {
		return fmt.Errorf("%w: signature method %s does not fit the certificate's %s key", ErrAlgorithm, method, have)
	}
	return nil
}

// normaliseValue rewrites SignatureValue in the form goxmldsig decodes:
// base64 without white space, and DER for ECDSA. SignatureValue lies outside
// SignedInfo, so this changes nothing that was signed.
func normaliseValue(value *etree.Element, cert *x509.Certificate) error {
	sig, err := decodeBase64(value.Text())
	if err != nil {
		return fmt.Errorf("%w: SignatureValue is not base64: %v", ErrMalformed, err)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); ok {
		if sig, err = rawToDER(sig, pub); err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	value.SetText(base64.StdEncoding.EncodeToString(sig))
	return nil
}

// decodeBase64 accepts the line-wrapped base64 that many XML-DSig tools
// write.
func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
}
