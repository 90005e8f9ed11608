package server

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/mocks/registry"
)

func TestTokenIssued(t *testing.T) {
	h := newHarness(t)
	res := h.postToken(h.tokenRequest(h.signer, nil))
	if res.status != http.StatusOK {
		t.Fatalf("%d %s", res.status, res.body)
	}
	var tr TokenResponse
	h.decode(res, &tr)
	if tr.TokenType != "Bearer" || len(tr.AccessToken) < 40 || tr.ExpiresIn != int(DefaultTokenTTL.Seconds()) || tr.ClientID != "avis-gateway" {
		t.Errorf("token response %+v", tr)
	}
	if !tr.ExpiresAt.Equal(h.clock.Now().Add(DefaultTokenTTL).UTC()) {
		t.Errorf("expires_at %s", tr.ExpiresAt)
	}
	if res.header.Get("Cache-Control") != "no-store" {
		t.Error("token response may be cached")
	}
	// text/xml with a charset parameter is XML too.
	res = h.do(http.MethodPost, "/dagr/v1/token", h.tokenRequest(h.signer, nil), map[string]string{"Content-Type": "text/xml; charset=utf-8"})
	if res.status != http.StatusOK {
		t.Errorf("text/xml: %d %s", res.status, res.body)
	}
}

// A lifetime under a second would be answered as expires_in 0, which
// clients refuse: the server does not start with one. One second is
// answered as expires_in 1.
func TestTokenLifetimeAtLeastASecond(t *testing.T) {
	h := newHarness(t)
	if _, err := New(Config{Population: h.pop, TokenTTL: 999 * time.Millisecond}); err == nil {
		t.Error("started with a token lifetime of 999ms")
	}
	h = newHarness(t, func(c *Config) { c.TokenTTL = MinTokenTTL })
	var tr TokenResponse
	h.decode(h.postToken(h.tokenRequest(h.signer, nil)), &tr)
	if tr.ExpiresIn != 1 {
		t.Errorf("expires_in %d with a lifetime of %s", tr.ExpiresIn, MinTokenTTL)
	}
}

func TestTokenRefusals(t *testing.T) {
	h := newHarness(t)
	other, err := signerFor(t, "someone-else", time.Now().Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expiredKey, expiredCert := mustSigner(t, "expired-client", time.Now().Add(-48*time.Hour), 24*time.Hour)
	if res := h.do(http.MethodPost, "/__admin/trusted-certs", signing.EncodeCertificatePEM(expiredCert), nil); res.status != http.StatusCreated {
		t.Fatalf("trust expired certificate: %d %s", res.status, res.body)
	}

	replayed := h.tokenRequest(h.signer, nil)
	if res := h.postToken(replayed); res.status != http.StatusOK {
		t.Fatalf("first use: %d %s", res.status, res.body)
	}

	tests := []struct {
		name   string
		body   func() []byte
		ctype  string
		status int
		slug   string
		field  string
	}{
		{name: "replayed nonce", body: func() []byte { return replayed }, status: 401, slug: "token-request-replayed", field: "/TokenRequest/Nonce"},
		{name: "not XML content type", ctype: "application/json", body: func() []byte { return []byte("{}") }, status: 415, slug: "unsupported-media-type", field: "header:Content-Type"},
		{name: "unsigned", body: func() []byte {
			req, _ := registry.NewTokenRequest("avis-gateway", h.clock.Now(), time.Minute)
			b, _ := req.Document().WriteToBytes()
			return b
		}, status: 401, slug: "signature-missing"},
		{name: "untrusted certificate", body: func() []byte { return h.tokenRequest(other, nil) }, status: 401, slug: "certificate-untrusted"},
		{name: "expired certificate", body: func() []byte {
			return rawSign(t, expiredKey, expiredCert, crypto.SHA256, h.tokenRequestXML(nil))
		}, status: 401, slug: "certificate-expired"},
		{name: "tampered client id", body: func() []byte {
			return bytes.Replace(h.tokenRequest(h.signer, nil), []byte("avis-gateway"), []byte("evil-gateway"), 1)
		}, status: 401, slug: "signature-invalid"},
		{name: "wrapped signature", body: func() []byte {
			signed := h.tokenRequest(h.signer, nil)
			inner := strings.TrimPrefix(string(signed), `<?xml version="1.0" encoding="UTF-8"?>`)
			return []byte(`<TokenRequest><ClientId>evil</ClientId><Created>x</Created><Expires>y</Expires><Nonce>z</Nonce><W>` + inner + `</W></TokenRequest>`)
		}, status: 401, slug: "signature-wrapped"},
		{name: "SHA-1", body: func() []byte {
			return rawSign(t, h.key, h.signer.Certificate(), crypto.SHA1, h.tokenRequestXML(nil))
		}, status: 401, slug: "signature-algorithm"},
		{name: "malformed XML", body: func() []byte { return []byte("<TokenRequest>") }, status: 400, slug: "malformed-xml"},
		{name: "DOCTYPE", body: func() []byte { return []byte(`<!DOCTYPE x [<!ENTITY e "x">]><TokenRequest>&e;</TokenRequest>`) }, status: 400, slug: "malformed-xml"},
		{name: "too large", body: func() []byte { return bytes.Repeat([]byte(" "), tokenRequestMax+1) }, status: 413, slug: "request-too-large"},
		{name: "bad field", body: func() []byte {
			return h.tokenRequest(h.signer, func(r *registry.TokenRequest) { r.ClientID = "no spaces allowed" })
		}, status: 400, slug: "invalid-token-request", field: "/TokenRequest/ClientId"},
		{name: "window too long", body: func() []byte {
			return h.tokenRequest(h.signer, func(r *registry.TokenRequest) { r.Expires = r.Created.Add(time.Hour) })
		}, status: 400, slug: "token-request-window-too-long", field: "/TokenRequest/Expires"},
		{name: "created in the future", body: func() []byte {
			return h.tokenRequest(h.signer, func(r *registry.TokenRequest) {
				r.Created = r.Created.Add(10 * time.Minute)
				r.Expires = r.Created.Add(time.Minute)
			})
		}, status: 401, slug: "token-request-not-yet-valid", field: "/TokenRequest/Created"},
		{name: "expired request", body: func() []byte {
			return h.tokenRequest(h.signer, func(r *registry.TokenRequest) {
				r.Created = r.Created.Add(-20 * time.Minute)
				r.Expires = r.Created.Add(5 * time.Minute)
			})
		}, status: 401, slug: "token-request-expired", field: "/TokenRequest/Expires"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.ctype
			if ct == "" {
				ct = "application/xml"
			}
			res := h.do(http.MethodPost, "/dagr/v1/token", tc.body(), map[string]string{"Content-Type": ct})
			p := h.wantProblem(res, tc.status, tc.slug)
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field) {
				t.Errorf("errors %+v, want field %s", p.Errors, tc.field)
			}
		})
	}
}

func (h *harness) tokenRequestXML(edit func(*registry.TokenRequest)) []byte {
	req, err := registry.NewTokenRequest("avis-gateway", h.clock.Now(), 5*time.Minute)
	if err != nil {
		h.t.Fatal(err)
	}
	if edit != nil {
		edit(&req)
	}
	b, err := req.Document().WriteToBytes()
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// mustSigner makes a key and a certificate valid from notBefore for
// validFor, which may lie entirely in the past.
func mustSigner(t *testing.T, cn string, notBefore time.Time, validFor time.Duration) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func signerFor(t *testing.T, cn string, notBefore time.Time, validFor time.Duration) (*signing.Signer, error) {
	key, cert := mustSigner(t, cn, notBefore, validFor)
	return signing.NewSigner(key, cert)
}

// rawSign signs with goxmldsig directly, with algorithms and certificates
// our Signer refuses to use but an attacker's tool would not.
func rawSign(t *testing.T, key crypto.Signer, cert *x509.Certificate, hash crypto.Hash, doc []byte) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	ctx, err := dsig.NewSigningContext(key, [][]byte{cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Hash = hash
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := ctx.SignEnveloped(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	d.SetRoot(signed)
	b, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
