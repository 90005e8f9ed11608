// Package signing signs and verifies XML documents with enveloped XML-DSig
// signatures (W3C XML Signature, exclusive canonicalisation, SHA-2), using
// github.com/russellhaering/goxmldsig for the cryptographic core.
//
// Three callers share it: the gateway's registry client signs DAGR token
// requests, the registry mocks verify them, and the gateway verifies grantors'
// signed person lists and signs transaction receipts.
//
// Verification is deliberately narrower than the XML-DSig specification:
// exactly one signature, enveloped as a child of the document root and
// referencing the whole root, an allow-listed set of algorithms, a signing
// certificate that is one of the caller's trusted certificates, and no DTDs.
// Everything outside that profile is refused, because every extra feature
// of XML-DSig has at some point been the door for a signature-wrapping attack.
// Callers must consume only the element that Verify returns: it is rebuilt
// from the exact bytes whose digest was checked.
package signing

import "errors"

// Sentinel errors let callers map a verification failure to a stable problem
// type. Errors returned by Verify wrap exactly one of them, except that
// ErrCertificateExpired is always accompanied by ErrUntrusted.
var (
	// ErrTooLarge: the document exceeds the verifier's byte limit.
	ErrTooLarge = errors.New("signed XML document is too large")
	// ErrMalformed: not well-formed XML, not UTF-8, a DTD or entity
	// declaration, too deep, or a signature element with a broken shape.
	ErrMalformed = errors.New("signed XML document is malformed")
	// ErrNoSignature: the document carries no XML-DSig signature.
	ErrNoSignature = errors.New("XML document is not signed")
	// ErrWrapped: more than one signature, a signature that is not a child of
	// the root, a reference to anything but the root, ds:Object, or
	// duplicated ID values — the shapes signature-wrapping attacks take.
	ErrWrapped = errors.New("XML signature is not a single signature enveloped in the document root")
	// ErrAlgorithm: a canonicalisation, transform, digest or signature
	// algorithm outside the allow-list, or a key too weak for it.
	ErrAlgorithm = errors.New("XML signature uses an algorithm that is not allowed")
	// ErrUntrusted: the signing certificate is not one of the trusted ones,
	// or it is not usable at this time.
	ErrUntrusted = errors.New("XML signature certificate is not trusted")
	// ErrCertificateExpired: the signing certificate is trusted but outside
	// its validity period. Returned together with ErrUntrusted.
	ErrCertificateExpired = errors.New("XML signature certificate is outside its validity period")
	// ErrTampered: the digest or the signature value does not match the
	// signed content: the document was changed after signing or the
	// signature was made with another key.
	ErrTampered = errors.New("XML signature does not match the document")
)
