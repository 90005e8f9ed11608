package signing

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

const tokenRequest = `<?xml version="1.0" encoding="UTF-8"?>
<TokenRequest><ClientId>avis-gateway</ClientId><Created>2026-01-01T00:00:00Z</Created><Nonce>n-0001</Nonce></TokenRequest>`

const tokenRequestWithID = `<TokenRequest ID="req-1"><ClientId>avis-gateway</ClientId><Nonce>n-0002</Nonce></TokenRequest>`

// personList is indented and namespaced, the shape a grantor's tool writes.
const personList = `<?xml version="1.0" encoding="UTF-8"?>
<pl:PersonList xmlns:pl="urn:avis:person-list:v1" xmlns="urn:avis:default" listId="L-1">
  <pl:Person validFrom="2026-01-01" note="line1&#10;line2&#9;tab">
    <pl:Code>010101-10006</pl:Code>
    <Comment>Ā ē ī ū š ž — &amp; &lt;tag&gt; "quoted"</Comment>
  </pl:Person>
  <pl:Person><pl:Code>320000-00001</pl:Code></pl:Person>
</pl:PersonList>`

func mustSign(t testing.TB, s *Signer, doc string) []byte {
	t.Helper()
	out, err := s.SignDocument([]byte(doc))
	if err != nil {
		t.Fatalf("SignDocument: %v", err)
	}
	return out
}

func canonical(t testing.TB, el *etree.Element) string {
	t.Helper()
	b, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(el)
	if err != nil {
		t.Fatalf("canonicalize: %v", err)
	}
	return string(b)
}

func canonicalOf(t testing.TB, doc string) string {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(doc); err != nil {
		t.Fatal(err)
	}
	return canonical(t, d.Root())
}

func TestVerifyAccepts(t *testing.T) {
	ec, rsa := newTestSigner(t, "ec"), newTestSigner(t, "rsa")
	tests := []struct {
		name   string
		signer *Signer
		doc    string
		edit   func(t testing.TB, signed []byte) []byte
	}{
		{name: "ECDSA P-256", signer: ec, doc: tokenRequest},
		{name: "RSA 2048", signer: rsa, doc: tokenRequest},
		{name: "reference by root ID", signer: ec, doc: tokenRequestWithID},
		{name: "namespaces, indentation, escapes", signer: rsa, doc: personList},
		{
			name: "comment added to signed text is invisible to the caller", signer: ec, doc: tokenRequest,
			edit: func(t testing.TB, b []byte) []byte {
				return replaceOnce(t, b, "avis-gateway", "avis<!-- injected -->-gateway")
			},
		},
		{
			name: "line-wrapped SignatureValue", signer: rsa, doc: tokenRequest,
			edit: func(t testing.TB, b []byte) []byte {
				return mutate(t, b, func(root *etree.Element) {
					v := find(root, "SignatureValue")
					s := v.Text()
					v.SetText("\n  " + s[:40] + "\n  " + s[40:] + "\n")
				})
			},
		},
		{
			name: "ECDSA value in DER as goxmldsig writes it", signer: ec, doc: tokenRequest,
			edit: func(t testing.TB, _ []byte) []byte {
				return signWith(t, id(t, "ec"), crypto.SHA256, dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(""), tokenRequest)
			},
		},
		{
			name: "exclusive c14n with comments", signer: ec, doc: tokenRequest,
			edit: func(t testing.TB, _ []byte) []byte {
				return signWith(t, id(t, "rsa"), crypto.SHA512, dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList(""), tokenRequest)
			},
		},
	}
	v := NewVerifier(id(t, "ec").cert, id(t, "rsa").cert)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signed := mustSign(t, tc.signer, tc.doc)
			if tc.edit != nil {
				signed = tc.edit(t, signed)
			}
			res, err := v.VerifyDetailed(signed)
			if err != nil {
				t.Fatalf("Verify: %v\n%s", err, signed)
			}
			if got, want := canonical(t, res.Element), canonicalOf(t, tc.doc); got != want {
				t.Errorf("verified element differs from what was signed\n got: %s\nwant: %s", got, want)
			}
			if find(res.Element, "Signature") != nil {
				t.Error("verified element still contains the Signature")
			}
			if res.Certificate == nil || res.SignatureMethod == "" || res.DigestMethod == "" {
				t.Errorf("incomplete result: %+v", res)
			}
		})
	}
}

func TestVerifyReturnsValuesCallersCanTrust(t *testing.T) {
	s := newTestSigner(t, "ec")
	signed := replaceOnce(t, mustSign(t, s, tokenRequest), "avis-gateway", "avis<!---->-gateway")
	el, err := NewVerifier(s.Certificate()).Verify(signed)
	if err != nil {
		t.Fatal(err)
	}
	if got := el.SelectElement("ClientId").Text(); got != "avis-gateway" {
		t.Errorf("ClientId = %q, want avis-gateway", got)
	}
	for _, tok := range el.SelectElement("ClientId").Child {
		if _, ok := tok.(*etree.Comment); ok {
			t.Error("comment survived into the verified element")
		}
	}
}

// TestVerifyRefuses is the attack corpus: each case starts from a validly
// signed document and turns it into something that must not verify.
func TestVerifyRefuses(t *testing.T) {
	ec := newTestSigner(t, "ec")
	exc := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")

	signedEC := func(t testing.TB) []byte { return mustSign(t, ec, tokenRequest) }
	signedID := func(t testing.TB) []byte { return mustSign(t, ec, tokenRequestWithID) }
	// bodyAndSig returns the signed root's inner XML without the signature
	// and the serialised signature, for hand-built wrapping documents.
	bodyAndSig := func(t testing.TB, signed []byte) (root, sig string) {
		d := etree.NewDocument()
		if err := d.ReadFromBytes(signed); err != nil {
			t.Fatal(err)
		}
		s := sigOf(d.Root())
		sd := etree.NewDocument()
		sd.SetRoot(s.Copy())
		sig, _ = sd.WriteToString()
		d.Root().RemoveChild(s)
		rd := etree.NewDocument()
		rd.SetRoot(d.Root().Copy())
		root, _ = rd.WriteToString()
		return root, sig
	}

	tests := []struct {
		name  string
		doc   func(t testing.TB) []byte
		want  error
		trust []string // default: ec and rsa
		now   time.Time
	}{
		// Stripped, tampered, re-ordered.
		{name: "unsigned", want: ErrNoSignature, doc: func(t testing.TB) []byte { return []byte(tokenRequest) }},
		{name: "signature removed", want: ErrNoSignature, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) { r.RemoveChild(sigOf(r)) })
		}},
		{name: "value tampered", want: ErrTampered, doc: func(t testing.TB) []byte {
			return replaceOnce(t, signedEC(t), "avis-gateway", "evil-gateway")
		}},
		{name: "element moved", want: ErrTampered, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) {
				n := r.SelectElement("Nonce")
				r.RemoveChild(n)
				r.InsertChildAt(0, n)
			})
		}},
		{name: "element added", want: ErrTampered, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) {
				r.InsertChildAt(0, etree.NewElement("Admin"))
			})
		}},
		{name: "attribute added to root", want: ErrTampered, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) { r.CreateAttr("role", "admin") })
		}},
		{name: "text appended after signature", want: ErrTampered, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) { r.CreateText("extra") })
		}},
		{name: "digest value changed", want: ErrTampered, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) {
				find(r, "DigestValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 32)))
			})
		}},
		{name: "signature value from another document", want: ErrTampered, doc: func(t testing.TB) []byte {
			other := mutate(t, mustSign(t, ec, strings.Replace(tokenRequest, "n-0001", "n-9999", 1)), func(*etree.Element) {})
			d := etree.NewDocument()
			if err := d.ReadFromBytes(other); err != nil {
				t.Fatal(err)
			}
			stolen := find(d.Root(), "SignatureValue").Text()
			return mutate(t, signedEC(t), func(r *etree.Element) { find(r, "SignatureValue").SetText(stolen) })
		}},
		{name: "trusted certificate swapped in, signed by attacker", want: ErrTampered, doc: func(t testing.TB) []byte {
			forged := mustSign(t, newTestSigner(t, "attacker"), tokenRequest)
			trusted := base64.StdEncoding.EncodeToString(id(t, "ec").cert.Raw)
			return mutate(t, forged, func(r *etree.Element) { find(r, "X509Certificate").SetText(trusted) })
		}},
		{name: "signature method relabelled RSA on ECDSA key", want: ErrAlgorithm, doc: func(t testing.TB) []byte {
			return replaceOnce(t, signedEC(t), dsig.ECDSASHA256SignatureMethod, dsig.RSASHA256SignatureMethod)
		}},

		// Algorithms.
		{name: "RSA-SHA1", want: ErrAlgorithm, doc: func(t testing.TB) []byte {
			return signWith(t, id(t, "rsa"), crypto.SHA1, exc, tokenRequest)
		}},
		{name: "ECDSA-SHA1", want: ErrAlgorithm, doc: func(t testing.TB) []byte {
			return signWith(t, id(t, "ec"), crypto.SHA1, exc, tokenRequest)
		}},
		{name: "SHA-1 digest under SHA-256 signature", want: ErrAlgorithm, doc: func(t testing.TB) []byte {
			return replaceOnce(t, signedEC(t), "http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2000/09/xmldsig#sha1")
		}},
		{name: "C14N 1.1 (goxmldsig default)", want: ErrAlgorithm, doc: func(t testing.TB) []byte {
			return signWith(t, id(t, "rsa"), crypto.SHA256, dsig.MakeC14N11Canonicalizer(), tokenRequest)
		}},
		{name: "inclusive C14N 1.0", want: ErrAlgorithm, doc: func(t testing.TB) []byte {
			return signWith(t, id(t, "rsa"), crypto.SHA256, dsig.MakeC14N10RecCanonicalizer(), tokenRequest)
		}},
		{name: "HMAC signature method", want: ErrAlgorithm, doc: func(t testing.TB) []byte {
			return replaceOnce(t, signedEC(t), dsig.ECDSASHA256SignatureMethod, "http://www.w3.org/2000/09/xmldsig#hmac-sha1")
		}},
		{name: "XPath transform", want: ErrAlgorithm, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) {
				x := find(r, "Transforms").CreateElement("ds:Transform")
				x.CreateAttr("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
			})
		}},
		{name: "enveloped transform missing", want: ErrAlgorithm, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) {
				ts := find(r, "Transforms")
				ts.RemoveChild(ts.ChildElements()[0])
			})
		}},
		{name: "RSA key below 2048 bits", want: ErrAlgorithm, trust: []string{"weak"}, doc: func(t testing.TB) []byte {
			return signWith(t, id(t, "weak"), crypto.SHA256, exc, tokenRequest)
		}},

		// Trust.
		{name: "untrusted certificate", want: ErrUntrusted, doc: func(t testing.TB) []byte {
			return mustSign(t, newTestSigner(t, "attacker"), tokenRequest)
		}},
		{name: "no trusted certificates at all", want: ErrUntrusted, trust: []string{}, doc: signedEC},
		{name: "expired certificate", want: ErrCertificateExpired, trust: []string{"expired"}, doc: func(t testing.TB) []byte {
			return signWith(t, id(t, "expired"), crypto.SHA256, exc, tokenRequest)
		}},
		{name: "expired is also untrusted", want: ErrUntrusted, trust: []string{"expired"}, doc: func(t testing.TB) []byte {
			return signWith(t, id(t, "expired"), crypto.SHA256, exc, tokenRequest)
		}},
		{name: "certificate not yet valid", want: ErrCertificateExpired, trust: []string{"future"}, doc: func(t testing.TB) []byte {
			return signWith(t, id(t, "future"), crypto.SHA256, exc, tokenRequest)
		}},
		{name: "verified after the certificate ran out", want: ErrCertificateExpired, now: time.Now().Add(48 * time.Hour), doc: signedEC},

		// Wrapping (XSW) and structure.
		{name: "XSW: signed root wrapped inside a forged root", want: ErrWrapped, doc: func(t testing.TB) []byte {
			inner := strings.TrimPrefix(string(signedEC(t)), `<?xml version="1.0" encoding="UTF-8"?>`)
			return []byte(`<TokenRequest><ClientId>evil</ClientId><Nonce>x</Nonce><Wrapper>` + inner + `</Wrapper></TokenRequest>`)
		}},
		{name: "XSW: forged root keeps signature, original hidden in ds:Object", want: ErrWrapped, doc: func(t testing.TB) []byte {
			root, sig := bodyAndSig(t, signedEC(t))
			sig = strings.Replace(sig, "</ds:Signature>", "<ds:Object>"+root+"</ds:Object></ds:Signature>", 1)
			return []byte(`<TokenRequest><ClientId>evil</ClientId><Nonce>x</Nonce>` + sig + `</TokenRequest>`)
		}},
		{name: "XSW: forged root, ID reference points at nested original", want: ErrWrapped, doc: func(t testing.TB) []byte {
			root, sig := bodyAndSig(t, signedID(t))
			return []byte(`<TokenRequest><ClientId>evil</ClientId>` + sig + `<Wrapper>` + root + `</Wrapper></TokenRequest>`)
		}},
		{name: "XSW: forged root reuses the signed ID", want: ErrWrapped, doc: func(t testing.TB) []byte {
			root, sig := bodyAndSig(t, signedID(t))
			return []byte(`<TokenRequest ID="req-1"><ClientId>evil</ClientId>` + sig + `<Wrapper>` + root + `</Wrapper></TokenRequest>`)
		}},
		{name: "XSW: signature moved into a child element", want: ErrWrapped, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) {
				s := sigOf(r)
				r.RemoveChild(s)
				r.SelectElement("Nonce").AddChild(s)
			})
		}},
		{name: "duplicated signature", want: ErrWrapped, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) { r.AddChild(sigOf(r).Copy()) })
		}},
		{name: "second signature by attacker", want: ErrWrapped, doc: func(t testing.TB) []byte {
			forged := mustSign(t, newTestSigner(t, "attacker"), tokenRequest)
			d := etree.NewDocument()
			if err := d.ReadFromBytes(forged); err != nil {
				t.Fatal(err)
			}
			return mutate(t, signedEC(t), func(r *etree.Element) { r.InsertChildAt(0, sigOf(d.Root()).Copy()) })
		}},
		{name: "duplicated ID value", want: ErrWrapped, doc: func(t testing.TB) []byte {
			return mutate(t, signedID(t), func(r *etree.Element) { r.SelectElement("Nonce").CreateAttr("ID", "req-1") })
		}},
		{name: "duplicated ID via xml:id", want: ErrWrapped, doc: func(t testing.TB) []byte {
			return mutate(t, signedID(t), func(r *etree.Element) { r.SelectElement("Nonce").CreateAttr("xml:id", "req-1") })
		}},
		{name: "second Reference", want: ErrWrapped, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) {
				si := find(r, "SignedInfo")
				si.AddChild(find(r, "Reference").Copy())
			})
		}},
		{name: "ds:Object inside Signature", want: ErrWrapped, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) {
				sigOf(r).CreateElement("ds:Object").CreateElement("ClientId").SetText("evil")
			})
		}},
		{name: "external reference URI", want: ErrWrapped, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) {
				find(r, "Reference").CreateAttr("URI", "https://evil.example/doc.xml")
			})
		}},
		{name: "reference to unknown ID", want: ErrWrapped, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) { find(r, "Reference").CreateAttr("URI", "#nope") })
		}},
		{name: "stray SignedInfo outside the signature", want: ErrWrapped, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) {
				si := find(r, "SignedInfo").Copy()
				si.CreateAttr("xmlns:ds", dsig.Namespace)
				r.AddChild(si)
			})
		}},
		{name: "signature in a look-alike namespace", want: ErrNoSignature, doc: func(t testing.TB) []byte {
			return replaceOnce(t, signedEC(t), `xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`, `xmlns:ds="urn:not-xmldsig"`)
		}},
		{name: "KeyInfo missing", want: ErrMalformed, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) { s := sigOf(r); s.RemoveChild(find(s, "KeyInfo")) })
		}},
		{name: "SignatureValue not base64", want: ErrMalformed, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) { find(r, "SignatureValue").SetText("!!!") })
		}},
		{name: "undeclared namespace prefix", want: ErrMalformed, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) { r.CreateElement("evil:Extra") })
		}},
		{name: "garbage certificate", want: ErrMalformed, doc: func(t testing.TB) []byte {
			return mutate(t, signedEC(t), func(r *etree.Element) { find(r, "X509Certificate").SetText("AAAA") })
		}},

		// Parser hardening.
		{name: "DOCTYPE with external entity", want: ErrMalformed, doc: func(t testing.TB) []byte {
			return []byte(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>` +
				strings.TrimPrefix(string(signedEC(t)), `<?xml version="1.0" encoding="UTF-8"?>`))
		}},
		{name: "billion laughs", want: ErrMalformed, doc: func(t testing.TB) []byte {
			return []byte(`<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>`)
		}},
		{name: "undeclared entity", want: ErrMalformed, doc: func(t testing.TB) []byte {
			return replaceOnce(t, signedEC(t), "avis-gateway", "&xxe;")
		}},
		{name: "non-UTF-8 encoding", want: ErrMalformed, doc: func(t testing.TB) []byte {
			return replaceOnce(t, signedEC(t), `encoding="UTF-8"`, `encoding="ISO-8859-1"`)
		}},
		{name: "duplicate attribute", want: ErrMalformed, doc: func(t testing.TB) []byte {
			return replaceOnce(t, signedID(t), `ID="req-1"`, `ID="req-1" ID="other"`)
		}},
		{name: "two root elements", want: ErrMalformed, doc: func(t testing.TB) []byte {
			return append(signedEC(t), []byte("<Second/>")...)
		}},
		{name: "empty", want: ErrMalformed, doc: func(t testing.TB) []byte { return nil }},
		{name: "not XML", want: ErrMalformed, doc: func(t testing.TB) []byte { return []byte("{\"json\":true}") }},
		{name: "too deep", want: ErrMalformed, doc: func(t testing.TB) []byte {
			return []byte(strings.Repeat("<a>", DefaultMaxDepth+1) + strings.Repeat("</a>", DefaultMaxDepth+1))
		}},
		{name: "too large", want: ErrTooLarge, doc: func(t testing.TB) []byte {
			return []byte("<a>" + strings.Repeat(" ", DefaultMaxBytes) + "</a>")
		}},
		{name: "too many elements for its size", want: ErrTooLarge, doc: func(t testing.TB) []byte {
			return []byte("<a>" + strings.Repeat("<b/>", 100_000) + "</a>")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trust := tc.trust
			if trust == nil {
				trust = []string{"ec", "rsa"}
			}
			v := NewVerifier()
			for _, n := range trust {
				v = NewVerifier(append(v.Trusted(), id(t, n).cert)...)
			}
			if !tc.now.IsZero() {
				v = v.WithClock(func() time.Time { return tc.now })
			}
			doc := tc.doc(t)
			el, err := v.Verify(doc)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v\n%s", err, tc.want, truncate(doc))
			}
			if el != nil {
				t.Error("Verify returned an element along with an error")
			}
		})
	}
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return string(b)
}

func TestVerifierLimits(t *testing.T) {
	s := newTestSigner(t, "ec")
	signed := mustSign(t, s, personList)
	if _, err := NewVerifier(s.Certificate()).WithMaxBytes(len(signed) - 1).Verify(signed); !errors.Is(err, ErrTooLarge) {
		t.Errorf("WithMaxBytes below size: err = %v, want ErrTooLarge", err)
	}
	if _, err := NewVerifier(s.Certificate()).WithMaxDepth(2).Verify(signed); !errors.Is(err, ErrMalformed) {
		t.Errorf("WithMaxDepth(2): err = %v, want ErrMalformed", err)
	}
	if _, err := NewVerifier(s.Certificate()).WithMaxBytes(len(signed)).WithMaxDepth(6).Verify(signed); err != nil {
		t.Errorf("limits exactly at the document: %v", err)
	}
}

func TestVerifyErrorsNameTheProblem(t *testing.T) {
	s := newTestSigner(t, "attacker")
	_, err := NewVerifier(id(t, "ec").cert).Verify(mustSign(t, s, tokenRequest))
	if err == nil || !strings.Contains(err.Error(), "attacker") || !strings.Contains(err.Error(), Fingerprint(s.Certificate())) {
		t.Errorf("untrusted error should name the certificate and its fingerprint, got: %v", err)
	}
	_, err = NewVerifier().Verify(bytes.Repeat([]byte("<a>"), 3))
	if err == nil || !strings.HasPrefix(err.Error(), "verify:") {
		t.Errorf("error should carry the operation, got: %v", err)
	}
}
