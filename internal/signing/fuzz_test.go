package signing

import (
	"crypto"
	"errors"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// FuzzVerify feeds mutations of signed documents to Verify. The fuzzer
// cannot forge a signature, so the property is: Verify never panics, every
// error wraps one of our sentinels, and whenever Verify succeeds, the element
// it returns is exactly one of the documents that really were signed.
func FuzzVerify(f *testing.F) {
	ec, rsa := newTestSigner(f, "ec"), newTestSigner(f, "rsa")
	originals := []string{
		tokenRequest,
		tokenRequestWithID,
		personList,
		`<a xmlns="urn:x"><b xmlns:p="urn:p" p:attr="1">t<!--c--><![CDATA[<x>]]></b></a>`,
	}
	allowed := map[string]bool{}
	for _, doc := range originals {
		allowed[canonicalOf(f, doc)] = true
		f.Add(mustSign(f, ec, doc))
		f.Add(mustSign(f, rsa, doc))
	}
	withComments := signWith(f, id(f, "ec"), crypto.SHA256, dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList(""), tokenRequest)
	f.Add(withComments)
	allowed[canonicalWithComments(f, tokenRequest)] = true
	f.Add(signWith(f, id(f, "rsa"), crypto.SHA1, dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(""), tokenRequest))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`))
	f.Add([]byte(`<a ID="1"><b ID="1"/></a>`))
	f.Add([]byte(``))

	sentinels := []error{ErrTooLarge, ErrMalformed, ErrNoSignature, ErrWrapped, ErrAlgorithm, ErrUntrusted, ErrTampered}
	now := time.Now()
	v := NewVerifier(ec.Certificate(), rsa.Certificate()).WithMaxBytes(1 << 16).WithClock(func() time.Time { return now })
	f.Fuzz(func(t *testing.T, doc []byte) {
		el, err := v.Verify(doc)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		got := canonical(t, el)
		if !allowed[got] && !allowed[canonicalWithCommentsEl(t, el)] {
			t.Fatalf("Verify accepted content that was never signed:\n%s", got)
		}
		if find(el, "Signature") != nil {
			t.Fatalf("verified element still holds a Signature:\n%s", got)
		}
	})
}

func canonicalWithComments(t testing.TB, doc string) string {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(doc); err != nil {
		t.Fatal(err)
	}
	return canonicalWithCommentsEl(t, d.Root())
}

func canonicalWithCommentsEl(t testing.TB, el *etree.Element) string {
	t.Helper()
	b, err := dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList("").Canonicalize(el)
	if err != nil {
		t.Fatalf("canonicalize: %v", err)
	}
	return string(b)
}
