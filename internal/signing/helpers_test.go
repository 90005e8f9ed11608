package signing

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// identity is a key and its self-signed certificate.
type identity struct {
	key  crypto.Signer
	cert *x509.Certificate
}

// testIdentities are generated once per test binary: RSA key generation is
// the slowest step of the whole suite.
var testIdentities = sync.OnceValue(func() map[string]identity {
	ids := map[string]identity{}
	add := func(name string, key crypto.Signer, cert *x509.Certificate, err error) {
		if err != nil {
			panic(err)
		}
		ids[name] = identity{key, cert}
	}
	k, c, err := GenerateSelfSigned("gateway-ec", 24*time.Hour)
	add("ec", k, c, err)
	k, c, err = GenerateSelfSignedRSA("gateway-rsa", 24*time.Hour, 2048)
	add("rsa", k, c, err)
	k, c, err = GenerateSelfSigned("attacker", 24*time.Hour)
	add("attacker", k, c, err)
	ek, err := newECKey()
	if err != nil {
		panic(err)
	}
	ec, err := selfSign(ek, "expired", time.Now().Add(-48*time.Hour), 24*time.Hour)
	add("expired", ek, ec, err)
	fc, err := selfSign(ek, "future", time.Now().Add(24*time.Hour), 24*time.Hour)
	add("future", ek, fc, err)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	wc, err := selfSign(weak, "weak", time.Now().Add(-time.Hour), 24*time.Hour)
	add("weak", weak, wc, err)
	return ids
})

func id(t testing.TB, name string) identity {
	t.Helper()
	i, ok := testIdentities()[name]
	if !ok {
		t.Fatalf("no test identity %q", name)
	}
	return i
}

// newECKey returns a fresh P-256 key for tests that need to
// issue several certificates for one key.
func newECKey() (crypto.Signer, error) {
	k, _, err := GenerateSelfSigned("tmp", time.Hour)
	return k, err
}

func newTestSigner(t testing.TB, name string) *Signer {
	t.Helper()
	i := id(t, name)
	s, err := NewSigner(i.key, i.cert)
	if err != nil {
		t.Fatalf("NewSigner(%s): %v", name, err)
	}
	return s
}

// signWith signs doc with goxmldsig directly, bypassing our Signer's choice
// of algorithms, to produce documents our Verifier must refuse.
func signWith(t testing.TB, i identity, hash crypto.Hash, canon dsig.Canonicalizer, doc string) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(doc); err != nil {
		t.Fatalf("parse: %v", err)
	}
	ctx, err := dsig.NewSigningContext(i.key, [][]byte{i.cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Hash = hash
	ctx.Canonicalizer = canon
	signed, err := ctx.SignEnveloped(d.Root())
	if err != nil {
		t.Fatalf("goxmldsig sign: %v", err)
	}
	d.SetRoot(signed)
	out, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// mutate parses doc, applies f to its root and serialises it again.
func mutate(t testing.TB, doc []byte, f func(root *etree.Element)) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatalf("parse for mutation: %v", err)
	}
	f(d.Root())
	d.WriteSettings = canonicalWriteSettings
	out, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sigOf returns root's ds:Signature child.
func sigOf(root *etree.Element) *etree.Element {
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" {
			return c
		}
	}
	return nil
}

// find returns the first descendant-or-self of el with the given local tag.
func find(el *etree.Element, tag string) *etree.Element {
	if el.Tag == tag {
		return el
	}
	for _, c := range el.ChildElements() {
		if f := find(c, tag); f != nil {
			return f
		}
	}
	return nil
}

func replaceOnce(t testing.TB, doc []byte, old, new string) []byte {
	t.Helper()
	s := string(doc)
	if !strings.Contains(s, old) {
		t.Fatalf("%q not found in document", old)
	}
	return []byte(strings.Replace(s, old, new, 1))
}
