package transactions

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"github.com/avis-lv/gateway/internal/signing"
)

func testSigner(t testing.TB) *signing.Signer {
	t.Helper()
	key, cert, err := signing.GenerateSelfSigned("receipts-test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewSigner(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// receiptSigner makes a receipt key with a self-signed certificate valid
// from five minutes ago for validFor, and a signer (without a store) for it.
func receiptSigner(t *testing.T, name string, validFor time.Duration) (*ReceiptSigner, *ReceiptKey) {
	t.Helper()
	key, cert, err := signing.GenerateSelfSigned(name, validFor)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewReceiptKey(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewReceiptSigner(k, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w, k
}

func sampleTransaction(number string) Transaction {
	total := int64(1999)
	return Transaction{
		ID: uuid.Must(uuid.NewV7()), Provider: "40000000001", DecisionID: uuid.New(), ReceiptNumber: number,
		OccurredAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), TotalCents: &total, AcceptedAt: time.Now().UTC(),
		ReceiptID: uuid.Must(uuid.NewV7()),
		Benefits: []Line{
			{BenefitID: "ride", Version: 3, Grantor: "90000000001", DiscountCents: 150},
			{BenefitID: "meal", Version: 1, Grantor: "90000000002", DiscountCents: 250, StandIn: true},
		},
	}
}

// The receipt is written in exclusive canonical form, so its SHA-256 is the
// DigestValue of its signature, whatever the receipt number holds.
func TestReceiptDigestIsTheSignedDigest(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	for number, want := range map[string]string{
		"K-1": "K-1", `a<b>&"c"'d`: `a<b>&"c"'d`, "tab\there\nnew\rline": "tab\there\nnew\rline", "Rīga ŗūķīš": "Rīga ŗūķīš",
		"astral \U0001F600": "astral \U0001F600",
		// Refused by validation; written as U+FFFD should one get here.
		"\x01ctrl": "\uFFFDctrl", "bad\uFFFE": "bad\uFFFD", "\uFFFF": "\uFFFD",
		"lone \xed\xa0\x80 surrogate": "lone \uFFFD\uFFFD\uFFFD surrogate", "\xff\xfe": "\uFFFD\uFFFD",
	} {
		tr := sampleTransaction(number)
		r := transactionReceipt(tr.ReceiptID, tr)
		signed, err := s.SignDocument(r.Content)
		if err != nil {
			t.Fatalf("%q: sign: %v", number, err)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(signed); err != nil {
			t.Fatal(err)
		}
		dv, err := base64.StdEncoding.DecodeString(doc.FindElement("//DigestValue").Text())
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(r.Content); string(dv) != string(sum[:]) || r.Digest != sum {
			t.Errorf("%q: digest of the content is not the signature's DigestValue\n%s", number, r.Content)
		}
		el, err := signing.NewVerifier(s.Certificate()).Verify(signed)
		if err != nil {
			t.Fatalf("%q: verify: %v", number, err)
		}
		if got := el.FindElement("Transaction/ReceiptNumber").Text(); got != want {
			t.Errorf("receipt number %+q came back as %+q, want %+q", number, got, want)
		}
	}
}

// Text XML 1.0 does not allow is written as U+FFFD, one for each
// character or invalid byte, so that the receipt still parses.
func TestXMLTextReplacesWhatXMLDoesNotAllow(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"K-1", "K-1"},
		{"a<b>&c\r", "a&lt;b&gt;&amp;c&#xD;"},
		{"tab\tnl\n", "tab\tnl\n"},
		{"\x00\x01\x1f", "\uFFFD\uFFFD\uFFFD"},
		{"bad\uFFFE", "bad\uFFFD"},
		{"\uFFFF", "\uFFFD"},
		{"\uFFFD\uFFFC\uE000\uD7FF", "\uFFFD\uFFFC\uE000\uD7FF"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // a surrogate in UTF-8: three invalid bytes
		{"\xff", "\uFFFD"},
		{"\U0001F600\U0010FFFF\x7f\u0085", "\U0001F600\U0010FFFF\x7f\u0085"},
	} {
		var b strings.Builder
		xmlText(&b, tt.in)
		if b.String() != tt.want {
			t.Errorf("xmlText(%+q) = %+q, want %+q", tt.in, b.String(), tt.want)
		}
	}
}

func TestTextViolation(t *testing.T) {
	for _, tt := range []struct {
		in, detail string // detail "" when accepted
	}{
		{"", ""},
		{"K-1 Rīga", ""},
		{"tab\tcr\rnl\n", ""},
		{"\uFFFD replacement character", ""},
		{"\U0001F600", ""},
		{"bad\uFFFE", "U+FFFE at character 4"},
		{"ā\uFFFF", "U+FFFF at character 2"},
		{"\x01", "U+0001 at character 1"},
		{"x\xed\xa0\x80", "invalid UTF-8 at character 2"},
		{"\xff", "invalid UTF-8 at character 1"},
	} {
		v := textViolation("/receiptNumber", tt.in)
		switch {
		case tt.detail == "" && v != nil:
			t.Errorf("%+q refused: %+v", tt.in, v)
		case tt.detail != "" && (v == nil || v.Pointer != "/receiptNumber" || v.Code != "text.invalid_character" || v.Detail != tt.detail):
			t.Errorf("%+q: %+v, want %q", tt.in, v, tt.detail)
		}
	}
}

func TestVerifyChecksTheStoredContent(t *testing.T) {
	t.Parallel()
	w, k := receiptSigner(t, "receipts-test", time.Hour)
	cert := k.cert
	sign := func(r Receipt, k *ReceiptKey) Receipt {
		v, err := k.Sign(r.Digest)
		if err != nil {
			t.Fatal(err)
		}
		r.Signature = &Signature{Value: v, Certificate: k.cert, SignedAt: time.Now()}
		return r
	}
	tr := sampleTransaction("K-2")
	r := sign(transactionReceipt(tr.ReceiptID, tr), k)
	if !w.Verify(r) {
		t.Fatal("a good receipt does not verify")
	}
	other := transactionReceipt(tr.ReceiptID, sampleTransaction("K-3"))
	other.Signature = r.Signature
	if w.Verify(other) {
		t.Error("a signature over other content verifies")
	}
	fkey, fcert, _ := signing.GenerateSelfSigned("foreign", time.Hour)
	fk, _ := NewReceiptKey(fkey, fcert)
	forged := sign(transactionReceipt(tr.ReceiptID, tr), fk)
	forged.Signature.Certificate = cert
	if w.Verify(forged) {
		t.Error("a receipt signed with another key verifies")
	}
	rev := sign(reversalReceipt(uuid.Must(uuid.NewV7()), tr, time.Now(), "till error"), k)
	if !w.Verify(rev) {
		t.Error("reversal receipt does not verify")
	}
	if _, err := SignedXML(transactionReceipt(tr.ReceiptID, tr)); err == nil {
		t.Error("an unsigned receipt has signed XML")
	}
}

// A receipt signed while its certificate was valid stays valid after the
// certificate expires; one dated after the expiry does not verify.
func TestReceiptOutlivesItsCertificate(t *testing.T) {
	t.Parallel()
	// Valid from five minutes ago until a minute ago.
	w, k := receiptSigner(t, "expired-receipts", 4*time.Minute)
	cert := k.cert
	tr := sampleTransaction("K-9")
	r := transactionReceipt(tr.ReceiptID, tr)
	v, err := k.Sign(r.Digest)
	if err != nil {
		t.Fatal(err)
	}
	r.Signature = &Signature{Value: v, Certificate: cert, SignedAt: time.Now().Add(-3 * time.Minute)}
	if !w.Verify(r) {
		t.Error("a receipt signed while the certificate was valid no longer verifies")
	}
	r.Signature.SignedAt = time.Now()
	if w.Verify(r) {
		t.Error("a receipt dated after its certificate expired verifies")
	}
}

func TestReceiptKeyMakesWhatTheVerifierAccepts(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"ecdsa", "rsa"} {
		var s *signing.Signer
		var key crypto.Signer
		var cert *x509.Certificate
		var err error
		if alg == "ecdsa" {
			key, cert, err = signing.GenerateSelfSigned("receipts-"+alg, time.Hour)
		} else {
			key, cert, err = signing.GenerateSelfSignedRSA("receipts-"+alg, time.Hour, 2048)
		}
		if err != nil {
			t.Fatal(err)
		}
		if s, err = signing.NewSigner(key, cert); err != nil {
			t.Fatal(err)
		}
		k, err := NewReceiptKey(key, cert)
		if err != nil {
			t.Fatal(err)
		}
		for _, number := range []string{"K-1", `a<b>&"c"'d`, "tab\there\r\nline", "Rīga"} {
			tr := sampleTransaction(number)
			r := transactionReceipt(tr.ReceiptID, tr)
			value, err := k.Sign(r.Digest)
			if err != nil {
				t.Fatal(err)
			}
			signed, err := k.Assemble(r.Content, r.Digest, value)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := signing.NewVerifier(cert).Verify(signed); err != nil {
				t.Fatalf("%s %q: the verifier refuses the fast signature: %v\n%s", alg, number, err, signed)
			}
			// The same as the general signer's, but for the signature value
			// (ECDSA is randomised; the template must match byte for byte).
			slow, err := s.SignDocument(append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), r.Content...))
			if err != nil {
				t.Fatal(err)
			}
			strip := func(b []byte) string {
				doc := etree.NewDocument()
				if err := doc.ReadFromBytes(b); err != nil {
					t.Fatal(err)
				}
				doc.FindElement("//SignatureValue").SetText("")
				doc.Indent(0)
				out, _ := doc.WriteToString()
				return out
			}
			if a, b := strip(signed), strip(slow); a != b {
				t.Errorf("%s %q: fast and general signatures differ beyond the value:\n%s\n%s", alg, number, a, b)
			}
			if _, err := signing.NewVerifier(cert).Verify(bytes.Replace(signed, []byte("<ReceiptNumber>"), []byte("<ReceiptNumber>X"), 1)); err == nil {
				t.Errorf("%s: a changed receipt verifies", alg)
			}
		}
	}
}

func BenchmarkReceiptSigning(b *testing.B) {
	key, cert, err := signing.GenerateSelfSigned("bench", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	k, _ := NewReceiptKey(key, cert)
	s, _ := signing.NewSigner(key, cert)
	tr := sampleTransaction("K-1")
	r := transactionReceipt(tr.ReceiptID, tr)
	b.Run("template", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.Sign(r.Digest); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("general", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.SignDocument(r.Content); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sweepStore holds receipts by id for the sweep, and records what it signs.
type sweepStore struct {
	Store
	receipts []Receipt // in id order
	signed   map[uuid.UUID]bool
}

func (s *sweepStore) UnsignedReceipts(_ context.Context, after, before uuid.UUID, limit int) ([]Receipt, uuid.UUID, error) {
	var out []Receipt
	var last uuid.UUID
	for _, r := range s.receipts {
		if bytes.Compare(r.ID[:], after[:]) > 0 && bytes.Compare(r.ID[:], before[:]) < 0 && len(out) < limit {
			last = r.ID
			if !s.signed[r.ID] {
				out = append(out, r)
			}
		}
	}
	return out, last, nil
}

func (s *sweepStore) SaveSignatures(_ context.Context, _ [32]byte, values map[uuid.UUID][]byte, _ time.Time) error {
	for id := range values {
		s.signed[id] = true
	}
	return nil
}

// A receipt the full queue turned away is signed by the sweep, also when
// its transaction committed after the sweep had passed its id (a report
// that waited on a person's lock, under the load that filled the queue).
func TestSweepGoesBackForADroppedReceipt(t *testing.T) {
	w, _ := receiptSigner(t, "sweep", time.Hour)
	st := &sweepStore{signed: map[uuid.UUID]bool{}}
	w.store = st
	w.queue = make(chan Receipt) // full: nobody takes from it
	late := Receipt{ID: uuidAt(time.Now().Add(-time.Minute))}
	late.ID[15] = 1
	st.receipts = []Receipt{late}
	w.watermark = uuidAt(time.Now().Add(-10 * time.Second)) // already past the receipt's id
	w.Enqueue(late)
	w.sweep(context.Background())
	if !st.signed[late.ID] {
		t.Error("the dropped receipt was not signed by the sweep")
	}
}
