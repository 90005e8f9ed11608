package signing

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// signatureParts is what inspect extracted from a document whose shape fits
// our profile. Nothing in it is trusted yet.
type signatureParts struct {
	signatureMethod string
	digestMethod    string
	idAttribute     string
	signatureValue  *etree.Element
	certificate     *x509.Certificate
}

// inspect checks the shape of root's signature before any cryptography runs:
// exactly one ds:Signature in the whole document, a direct child of root,
// with exactly SignedInfo, SignatureValue and KeyInfo, one Reference to the
// root, the enveloped transform followed by exclusive c14n, allow-listed
// algorithms, and no duplicated ID values anywhere. goxmldsig is lenient on
// most of these (it picks the first matching signature or reference), which
// is exactly the leniency signature-wrapping attacks exploit.
func inspect(root *etree.Element) (*signatureParts, error) {
	var sigs []*etree.Element
	ids := map[string]string{}
	var walkErr error
	walk(root, func(el *etree.Element) bool {
		if el.Space != "" && el.Space != "xml" && el.NamespaceURI() == "" {
			walkErr = fmt.Errorf("%w: namespace prefix %q of <%s> is not declared", ErrMalformed, el.Space, el.FullTag())
			return false
		}
		for _, a := range el.Attr {
			if !isIDAttr(a) {
				continue
			}
			if prev, dup := ids[a.Value]; dup {
				walkErr = fmt.Errorf("%w: ID value %q appears on both <%s> and <%s>", ErrWrapped, a.Value, prev, el.Tag)
				return false
			}
			ids[a.Value] = el.Tag
		}
		if el.NamespaceURI() == dsig.Namespace {
			if el.Tag != dsig.SignatureTag {
				if !insideSignature(el) {
					walkErr = fmt.Errorf("%w: XML-DSig element <%s> outside a Signature", ErrWrapped, el.Tag)
					return false
				}
				return true
			}
			sigs = append(sigs, el)
		}
		return true
	})
	if walkErr != nil {
		return nil, walkErr
	}
	switch {
	case len(sigs) == 0:
		return nil, ErrNoSignature
	case len(sigs) > 1:
		return nil, fmt.Errorf("%w: %d Signature elements, exactly one allowed", ErrWrapped, len(sigs))
	}
	sig := sigs[0]
	if sig.Parent() != root {
		return nil, fmt.Errorf("%w: Signature is inside <%s>, it must be a direct child of the root <%s>",
			ErrWrapped, sig.Parent().Tag, root.Tag)
	}

	parts, err := dsigChildren(sig, dsig.SignedInfoTag, dsig.SignatureValueTag, dsig.KeyInfoTag)
	if err != nil {
		return nil, err
	}
	signedInfo, sigValue, keyInfo := parts[0], parts[1], parts[2]
	sp := &signatureParts{signatureValue: sigValue}

	si, err := dsigChildren(signedInfo, dsig.CanonicalizationMethodTag, dsig.SignatureMethodTag, dsig.ReferenceTag)
	if err != nil {
		return nil, err
	}
	if alg := algorithm(si[0]); alg != excC14N && alg != excC14NWithComments {
		return nil, fmt.Errorf("%w: CanonicalizationMethod %q, only exclusive c14n is accepted", ErrAlgorithm, alg)
	}
	sp.signatureMethod = algorithm(si[1])
	if _, ok := allowedSignatureMethods[sp.signatureMethod]; !ok {
		return nil, fmt.Errorf("%w: SignatureMethod %q, use RSA or ECDSA with SHA-256, SHA-384 or SHA-512", ErrAlgorithm, sp.signatureMethod)
	}
	if err := noChildren(si[0], si[1]); err != nil {
		return nil, err
	}

	ref := si[2]
	if sp.idAttribute, err = referenceTarget(ref, root); err != nil {
		return nil, err
	}
	rp, err := dsigChildren(ref, dsig.TransformsTag, dsig.DigestMethodTag, dsig.DigestValueTag)
	if err != nil {
		return nil, err
	}
	if err := checkTransforms(rp[0]); err != nil {
		return nil, err
	}
	sp.digestMethod = algorithm(rp[1])
	if !allowedDigestMethods[sp.digestMethod] {
		return nil, fmt.Errorf("%w: DigestMethod %q, use SHA-256, SHA-384 or SHA-512", ErrAlgorithm, sp.digestMethod)
	}
	if err := noChildren(rp[1], rp[2]); err != nil {
		return nil, err
	}
	if _, err := decodeBase64(rp[2].Text()); err != nil || strings.TrimSpace(rp[2].Text()) == "" {
		return nil, fmt.Errorf("%w: DigestValue is not base64", ErrMalformed)
	}

	if err := noChildren(sigValue); err != nil {
		return nil, err
	}
	if sp.certificate, err = signingCertificate(keyInfo); err != nil {
		return nil, err
	}
	return sp, nil
}

// walk visits el and its descendants depth-first until visit returns false.
func walk(el *etree.Element, visit func(*etree.Element) bool) bool {
	if !visit(el) {
		return false
	}
	for _, c := range el.ChildElements() {
		if !walk(c, visit) {
			return false
		}
	}
	return true
}

func isIDAttr(a etree.Attr) bool {
	if a.Space == "xml" {
		return a.Key == "id"
	}
	if a.Space != "" {
		return false
	}
	for _, k := range idAttributes {
		if a.Key == k {
			return true
		}
	}
	return false
}

func insideSignature(el *etree.Element) bool {
	for p := el.Parent(); p != nil; p = p.Parent() {
		if p.Tag == dsig.SignatureTag && p.NamespaceURI() == dsig.Namespace {
			return true
		}
	}
	return false
}

// dsigChildren returns el's child elements if they are exactly the named
// XML-DSig elements in that order; text other than white space is refused.
func dsigChildren(el *etree.Element, names ...string) ([]*etree.Element, error) {
	if err := onlyWhitespace(el); err != nil {
		return nil, err
	}
	kids := el.ChildElements()
	for i, k := range kids {
		if k.NamespaceURI() != dsig.Namespace {
			return nil, fmt.Errorf("%w: <%s> inside %s is not an XML-DSig element", ErrWrapped, k.FullTag(), el.Tag)
		}
		if k.Tag == "Object" || k.Tag == "Manifest" {
			return nil, fmt.Errorf("%w: %s is not allowed in %s", ErrWrapped, k.Tag, el.Tag)
		}
		if i >= len(names) {
			return nil, fmt.Errorf("%w: unexpected %s in %s", ErrWrapped, k.Tag, el.Tag)
		}
		if k.Tag != names[i] {
			return nil, fmt.Errorf("%w: %s in %s where %s is required", ErrMalformed, k.Tag, el.Tag, names[i])
		}
	}
	if len(kids) < len(names) {
		return nil, fmt.Errorf("%w: %s is missing %s", ErrMalformed, el.Tag, names[len(kids)])
	}
	return kids, nil
}

func onlyWhitespace(el *etree.Element) error {
	for _, t := range el.Child {
		if cd, ok := t.(*etree.CharData); ok && strings.TrimSpace(cd.Data) != "" {
			return fmt.Errorf("%w: text inside %s", ErrMalformed, el.Tag)
		}
	}
	return nil
}

func noChildren(els ...*etree.Element) error {
	for _, el := range els {
		if len(el.ChildElements()) > 0 {
			return fmt.Errorf("%w: %s must not have child elements", ErrMalformed, el.Tag)
		}
	}
	return nil
}

func algorithm(el *etree.Element) string {
	return el.SelectAttrValue(dsig.AlgorithmAttr, "")
}

// referenceTarget checks that the Reference points at the root, either as
// URI="" (the whole document) or "#id" where id is the root's own ID, and
// returns the name of the ID attribute goxmldsig must match.
func referenceTarget(ref, root *etree.Element) (string, error) {
	uri := ref.SelectAttr(dsig.URIAttr)
	if uri == nil {
		return "", fmt.Errorf("%w: Reference has no URI attribute", ErrWrapped)
	}
	if uri.Value == "" {
		return dsig.DefaultIdAttr, nil
	}
	id, ok := strings.CutPrefix(uri.Value, "#")
	if !ok || id == "" {
		return "", fmt.Errorf("%w: Reference URI %q is not a same-document reference", ErrWrapped, uri.Value)
	}
	for _, k := range idAttributes {
		if a := root.SelectAttr(k); a != nil && a.Space == "" && a.Value == id {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w: Reference URI %q does not point at the root <%s>", ErrWrapped, uri.Value, root.Tag)
}

// checkTransforms accepts exactly: enveloped-signature, then exclusive c14n
// (optionally with an InclusiveNamespaces prefix list).
func checkTransforms(transforms *etree.Element) error {
	if err := onlyWhitespace(transforms); err != nil {
		return err
	}
	ts := transforms.ChildElements()
	for _, t := range ts {
		if t.NamespaceURI() != dsig.Namespace || t.Tag != dsig.TransformTag {
			return fmt.Errorf("%w: <%s> inside Transforms", ErrMalformed, t.FullTag())
		}
	}
	if len(ts) != 2 {
		return fmt.Errorf("%w: %d Transforms, want enveloped-signature then exclusive c14n", ErrAlgorithm, len(ts))
	}
	if alg := algorithm(ts[0]); alg != envelopedTransform {
		return fmt.Errorf("%w: first Transform %q, want enveloped-signature", ErrAlgorithm, alg)
	}
	if err := noChildren(ts[0]); err != nil {
		return err
	}
	if alg := algorithm(ts[1]); alg != excC14N && alg != excC14NWithComments {
		return fmt.Errorf("%w: second Transform %q, want exclusive c14n", ErrAlgorithm, alg)
	}
	for _, c := range ts[1].ChildElements() {
		if c.Tag != dsig.InclusiveNamespacesTag || c.NamespaceURI() != excC14NNamespace {
			return fmt.Errorf("%w: <%s> inside the c14n Transform", ErrAlgorithm, c.FullTag())
		}
	}
	if len(ts[1].ChildElements()) > 1 {
		return fmt.Errorf("%w: more than one InclusiveNamespaces", ErrMalformed)
	}
	return nil
}

// signingCertificate returns the first X509Certificate of the single
// X509Data in KeyInfo, which by convention (and in goxmldsig) is the
// signer's own certificate.
func signingCertificate(keyInfo *etree.Element) (*x509.Certificate, error) {
	var data []*etree.Element
	for _, c := range keyInfo.ChildElements() {
		if c.NamespaceURI() == dsig.Namespace && c.Tag == dsig.X509DataTag {
			data = append(data, c)
		}
	}
	if len(data) != 1 {
		return nil, fmt.Errorf("%w: KeyInfo must hold exactly one X509Data, found %d", ErrMalformed, len(data))
	}
	var first *etree.Element
	for _, c := range data[0].ChildElements() {
		if c.NamespaceURI() == dsig.Namespace && c.Tag == dsig.X509CertificateTag {
			first = c
			break
		}
	}
	if first == nil {
		return nil, fmt.Errorf("%w: X509Data holds no X509Certificate", ErrMalformed)
	}
	der, err := decodeBase64(first.Text())
	if err != nil {
		return nil, fmt.Errorf("%w: X509Certificate is not base64: %v", ErrMalformed, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: X509Certificate: %v", ErrMalformed, err)
	}
	return cert, nil
}
