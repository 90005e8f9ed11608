package transactions

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/avis-lv/gateway/internal/signing"
)

// ReceiptNamespace is the XML namespace of receipts.
const ReceiptNamespace = "urn:avis:gateway:receipt:1"

// xmlText writes s as element text the way exclusive XML canonicalisation
// does (only &, <, > and carriage return escaped), so that the receipt is
// written in its canonical form from the start. A character XML 1.0 does
// not allow (and invalid UTF-8) becomes U+FFFD: validation refuses such
// text before it gets here, and a receipt must stay a document that parses
// and verifies.
func xmlText(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			if !xmlChar(r) {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		}
	}
}

// xmlChar reports whether XML 1.0 allows r (its production Char).
func xmlChar(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r':
		return true
	case r < 0x20:
		return false
	case r <= 0xD7FF:
		return true
	case r < 0xE000: // surrogates
		return false
	case r <= 0xFFFD:
		return true
	default: // U+FFFE and U+FFFF are not characters
		return 0x10000 <= r && r <= utf8.MaxRune
	}
}

// textViolation checks a caller's text that goes into a signed receipt:
// every character must be one XML 1.0 allows, in valid UTF-8. The
// violation names the field by pointer, and the character by code point
// and position, never the text.
func textViolation(pointer, s string) *Violation {
	n := 0
	for i, r := range s {
		n++
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return &Violation{Pointer: pointer, Code: CodeInvalidCharacter, Detail: fmt.Sprintf("invalid UTF-8 at character %d", n), DetailLV: fmt.Sprintf("nederīgs UTF-8 %d. rakstzīmē", n)}
			}
		}
		if !xmlChar(r) {
			return &Violation{Pointer: pointer, Code: CodeInvalidCharacter, Detail: fmt.Sprintf("U+%04X at character %d", r, n), DetailLV: fmt.Sprintf("U+%04X %d. rakstzīmē", r, n)}
		}
	}
	return nil
}

// CodeInvalidCharacter is the field-error code of text with a character a
// signed XML receipt cannot hold.
const CodeInvalidCharacter = "text.invalid_character"

func element(b *strings.Builder, name, value string) {
	b.WriteString("<" + name + ">")
	xmlText(b, value)
	b.WriteString("</" + name + ">")
}

func instant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// transactionReceipt builds the unsigned receipt of an accepted
// transaction.
func transactionReceipt(id uuid.UUID, t Transaction) Receipt {
	var b strings.Builder
	b.WriteString(`<Receipt xmlns="` + ReceiptNamespace + `">`)
	element(&b, "ReceiptId", id.String())
	element(&b, "Kind", KindTransaction)
	element(&b, "AcceptedAt", instant(t.AcceptedAt))
	b.WriteString("<Transaction>")
	element(&b, "TransactionId", t.ID.String())
	element(&b, "Provider", t.Provider)
	element(&b, "DecisionId", t.DecisionID.String())
	element(&b, "ReceiptNumber", t.ReceiptNumber)
	element(&b, "OccurredAt", instant(t.OccurredAt))
	if t.TotalCents != nil {
		element(&b, "TotalCents", strconv.FormatInt(*t.TotalCents, 10))
	}
	for _, l := range t.Benefits {
		b.WriteString("<Benefit>")
		element(&b, "BenefitId", l.BenefitID)
		element(&b, "Version", strconv.Itoa(l.Version))
		element(&b, "Grantor", l.Grantor)
		element(&b, "DiscountCents", strconv.FormatInt(l.DiscountCents, 10))
		if l.StandIn {
			element(&b, "StandIn", "true")
		}
		b.WriteString("</Benefit>")
	}
	b.WriteString("</Transaction></Receipt>")
	return newReceipt(id, KindTransaction, t.ID.String(), t.Provider, t.AcceptedAt, b.String())
}

// reversalReceipt builds the unsigned receipt of a reversal.
func reversalReceipt(id uuid.UUID, t Transaction, at time.Time, reason string) Receipt {
	var b strings.Builder
	b.WriteString(`<Receipt xmlns="` + ReceiptNamespace + `">`)
	element(&b, "ReceiptId", id.String())
	element(&b, "Kind", KindReversal)
	element(&b, "AcceptedAt", instant(at))
	b.WriteString("<Reversal>")
	element(&b, "TransactionId", t.ID.String())
	element(&b, "Provider", t.Provider)
	element(&b, "OriginalReceiptId", t.ReceiptID.String())
	if reason != "" {
		element(&b, "Reason", reason)
	}
	b.WriteString("</Reversal></Receipt>")
	return newReceipt(id, KindReversal, t.ID.String(), t.Provider, at, b.String())
}

// ListVersion is what a person list version's receipt attests.
type ListVersion struct {
	ListID, Grantor, Mode string
	Version, Previous     int
	Size, Added, Removed  int64
	UploadID              *uuid.UUID
	// ContentSHA256 is the SHA-256 of what the grantor sent (the pushed
	// body or the uploaded file); zero when not known.
	ContentSHA256 [32]byte
	CreatedAt     time.Time
}

// ListVersionReceipt builds the unsigned receipt of a person list version.
func ListVersionReceipt(id uuid.UUID, v ListVersion) Receipt {
	var b strings.Builder
	b.WriteString(`<Receipt xmlns="` + ReceiptNamespace + `">`)
	element(&b, "ReceiptId", id.String())
	element(&b, "Kind", KindListVersion)
	element(&b, "AcceptedAt", instant(v.CreatedAt))
	b.WriteString("<ListVersion>")
	element(&b, "ListId", v.ListID)
	element(&b, "Grantor", v.Grantor)
	element(&b, "Version", strconv.Itoa(v.Version))
	element(&b, "PreviousVersion", strconv.Itoa(v.Previous))
	element(&b, "Mode", v.Mode)
	element(&b, "Size", strconv.FormatInt(v.Size, 10))
	element(&b, "Added", strconv.FormatInt(v.Added, 10))
	element(&b, "Removed", strconv.FormatInt(v.Removed, 10))
	if v.UploadID != nil {
		element(&b, "UploadId", v.UploadID.String())
	}
	if v.ContentSHA256 != ([32]byte{}) {
		element(&b, "ContentSha256", hex.EncodeToString(v.ContentSHA256[:]))
	}
	b.WriteString("</ListVersion></Receipt>")
	return newReceipt(id, KindListVersion, v.ListID+":"+strconv.Itoa(v.Version), v.Grantor, v.CreatedAt, b.String())
}

// BenefitVersion is what a benefit instruction version's receipt attests:
// the version and the SHA-256 of its instruction as stored.
type BenefitVersion struct {
	BenefitID, Grantor, Status string
	Version                    int
	InstructionSHA256          [32]byte
	CreatedAt                  time.Time
}

// BenefitVersionReceipt builds the unsigned receipt of a benefit version.
func BenefitVersionReceipt(id uuid.UUID, v BenefitVersion) Receipt {
	var b strings.Builder
	b.WriteString(`<Receipt xmlns="` + ReceiptNamespace + `">`)
	element(&b, "ReceiptId", id.String())
	element(&b, "Kind", KindBenefitVersion)
	element(&b, "AcceptedAt", instant(v.CreatedAt))
	b.WriteString("<BenefitVersion>")
	element(&b, "BenefitId", v.BenefitID)
	element(&b, "Grantor", v.Grantor)
	element(&b, "Version", strconv.Itoa(v.Version))
	element(&b, "Status", v.Status)
	element(&b, "InstructionSHA256", hex.EncodeToString(v.InstructionSHA256[:]))
	b.WriteString("</BenefitVersion></Receipt>")
	return newReceipt(id, KindBenefitVersion, v.BenefitID+":"+strconv.Itoa(v.Version), v.Grantor, v.CreatedAt, b.String())
}

// newReceipt wraps a receipt document written in exclusive canonical form:
// its SHA-256 is the DigestValue its enveloped signature will carry.
func newReceipt(id uuid.UUID, kind, subject, owner string, at time.Time, content string) Receipt {
	c := []byte(content)
	return Receipt{ID: id, Kind: kind, SubjectID: subject, Owner: owner, AcceptedAt: at, Digest: sha256.Sum256(c), Content: c}
}

// ReceiptSigner adds XML-DSig signatures to receipts after their pushes are
// durable. Signing is taken off the request path on purpose: with an
// RSA-3072 key one signature costs milliseconds, which would cap durable
// transactions at a few hundred a second per core. A receipt's content and
// digest are fixed in the same database transaction as the push, so the
// signature made a moment later attests exactly what was accepted; a
// receipt fetched before the background signer reached it is signed on the
// spot. A sweep signs what the in-memory queue missed (a full queue, a
// restart), walking receipts by their time-ordered ids.
type ReceiptSigner struct {
	key   *ReceiptKey
	store Store
	log   *slog.Logger
	now   func() time.Time
	queue chan Receipt

	// watermark: every receipt with a smaller id has been looked at by
	// the sweep. It starts an hour back; older receipts left unsigned (a
	// gateway down with a backlog for longer) are signed when fetched.
	watermark uuid.UUID
	// sweepLag keeps the sweep off receipts the queue is still handling.
	sweepLag time.Duration
	// dropped is the smallest id of a receipt the full queue turned away
	// since the last sweep (zero: none). Its commit may have come after
	// the watermark had passed its id, so the sweep goes back for it.
	droppedMu sync.Mutex
	dropped   uuid.UUID

	backlog prometheus.Gauge
	signed  *prometheus.CounterVec
}

// NewReceiptSigner builds the signer; key may be nil when no signing
// identity is configured, and then receipts stay unsigned (their JSON view
// still answers, the XML view answers 503).
func NewReceiptSigner(key *ReceiptKey, store Store, reg prometheus.Registerer, log *slog.Logger) (*ReceiptSigner, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &ReceiptSigner{
		key: key, store: store, log: log, now: time.Now, queue: make(chan Receipt, 16384), sweepLag: 5 * time.Second,
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "avis_receipts_signing_queue", Help: "Receipts waiting in memory for their signature.",
		}),
		signed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avis_receipts_signed_total", Help: "Receipts signed, by path (background, sweep, on_demand).",
		}, []string{"path"}),
	}
	w.watermark = uuidAt(time.Now().Add(-time.Hour))
	if reg != nil {
		for _, c := range []prometheus.Collector{w.backlog, w.signed} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("receipt metrics: %w", err)
			}
		}
	}
	return w, nil
}

// uuidAt is the smallest UUIDv7 of instant t.
func uuidAt(t time.Time) uuid.UUID {
	var u uuid.UUID
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	return u
}

// Register records the signing certificate, so that signatures can name
// it; call it once at start.
func (w *ReceiptSigner) Register(ctx context.Context) error {
	if w.key == nil {
		return nil
	}
	return w.store.RegisterCertificate(ctx, w.key.cert.Raw)
}

// Certificate returns the PEM certificate receipts are verified with, or
// nil without a key.
func (w *ReceiptSigner) Certificate() []byte {
	if w.key == nil {
		return nil
	}
	return signing.EncodeCertificatePEM(w.key.cert)
}

// Fingerprint is the SHA-256 fingerprint of the signing certificate.
func (w *ReceiptSigner) Fingerprint() string {
	if w.key == nil {
		return ""
	}
	return signing.Fingerprint(w.key.cert)
}

// Enqueue hands a durable receipt to the background signer. When the
// queue is full the receipt is left to the sweep.
func (w *ReceiptSigner) Enqueue(r Receipt) {
	if w.key == nil {
		return
	}
	select {
	case w.queue <- r:
		w.backlog.Inc()
	default:
		w.droppedMu.Lock()
		if w.dropped == (uuid.UUID{}) || bytes.Compare(r.ID[:], w.dropped[:]) < 0 {
			w.dropped = r.ID
		}
		w.droppedMu.Unlock()
	}
}

// Run signs queued receipts, and sweeps up those left unsigned, until ctx
// ends. The sweep runs only while the queue is empty, so the two never
// sign the same receipt at once.
func (w *ReceiptSigner) Run(ctx context.Context) {
	if w.key == nil {
		return
	}
	sweep := time.NewTicker(w.sweepLag)
	defer sweep.Stop()
	batch := make([]Receipt, 0, 256)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			if len(w.queue) == 0 {
				w.sweep(ctx)
			}
		case r := <-w.queue:
			batch = append(batch[:0], r)
		drain:
			for len(batch) < cap(batch) {
				select {
				case r := <-w.queue:
					batch = append(batch, r)
				default:
					break drain
				}
			}
			w.backlog.Sub(float64(len(batch)))
			w.signBatch(ctx, batch, "background")
		}
	}
}

func (w *ReceiptSigner) sweep(ctx context.Context) {
	w.droppedMu.Lock()
	if d := w.dropped; d != (uuid.UUID{}) && bytes.Compare(d[:], w.watermark[:]) <= 0 {
		// The id's first 48 bits are its UUIDv7 time in milliseconds.
		var ms int64
		for _, b := range d[:6] {
			ms = ms<<8 | int64(b)
		}
		w.watermark = uuidAt(time.UnixMilli(ms - 1))
	}
	w.dropped = uuid.UUID{}
	w.droppedMu.Unlock()
	for ctx.Err() == nil {
		before := uuidAt(w.now().Add(-w.sweepLag))
		unsigned, last, err := w.store.UnsignedReceipts(ctx, w.watermark, before, 1000)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("list unsigned receipts", "error", err)
			}
			return
		}
		if len(unsigned) > 0 && !w.signBatch(ctx, unsigned, "sweep") {
			return
		}
		if last == (uuid.UUID{}) {
			return
		}
		w.watermark = last
	}
}

// signBatch signs and stores; it reports whether the signatures are stored.
func (w *ReceiptSigner) signBatch(ctx context.Context, rs []Receipt, path string) bool {
	values := make(map[uuid.UUID][]byte, len(rs))
	for _, r := range rs {
		v, err := w.key.Sign(r.Digest)
		if err != nil {
			w.log.Error("sign receipt", "receipt", r.ID, "error", err)
			continue
		}
		values[r.ID] = v
	}
	if len(values) == 0 {
		return true
	}
	if err := w.store.SaveSignatures(context.WithoutCancel(ctx), sha256.Sum256(w.key.cert.Raw), values, w.now()); err != nil {
		w.log.Warn("store receipt signatures; the sweep will retry", "error", err)
		return false
	}
	w.signed.WithLabelValues(path).Add(float64(len(values)))
	return true
}

// ensureSigned returns r with its signature, signing it now if the
// background signer has not yet.
func (w *ReceiptSigner) ensureSigned(ctx context.Context, r Receipt) (Receipt, error) {
	if r.Signature != nil {
		return r, nil
	}
	if w.key == nil {
		return r, ErrSigningDisabled
	}
	v, err := w.key.Sign(r.Digest)
	if err != nil {
		return r, err
	}
	if err := w.store.SaveSignatures(ctx, sha256.Sum256(w.key.cert.Raw), map[uuid.UUID][]byte{r.ID: v}, w.now()); err != nil {
		return r, err
	}
	w.signed.WithLabelValues("on_demand").Inc()
	// Another instance may have signed it first; the stored one counts.
	return w.store.Receipt(ctx, r.ID)
}

// SignedXML is the signed receipt document.
func SignedXML(r Receipt) ([]byte, error) {
	if r.Signature == nil {
		return nil, ErrSigningDisabled
	}
	k, err := verifyingKey(r.Signature.Certificate)
	if err != nil {
		return nil, err
	}
	return k.Assemble(r.Content, r.Digest, r.Signature.Value)
}

// verifyingKey is a ReceiptKey without the private half, for assembling.
func verifyingKey(cert *x509.Certificate) (*ReceiptKey, error) {
	k := &ReceiptKey{cert: cert, certB64: base64.StdEncoding.EncodeToString(cert.Raw)}
	switch cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		k.method = methodECDSA256
	case *rsa.PublicKey:
		k.method = methodRSA256
	default:
		return nil, fmt.Errorf("receipt certificate has a %T key", cert.PublicKey)
	}
	return k, nil
}

// Verify reports whether the receipt's signature verifies, with the
// certificate it was signed with (one of the gateway's, valid when it
// signed), over exactly its content.
func (w *ReceiptSigner) Verify(r Receipt) bool {
	if r.Signature == nil {
		return false
	}
	doc, err := SignedXML(r)
	if err != nil {
		return false
	}
	// A receipt proves what was accepted when it was signed: it stays
	// valid after the certificate that signed it expires or is rotated.
	signedAt := r.Signature.SignedAt
	if signedAt.IsZero() {
		signedAt = time.Now()
	}
	el, err := signing.NewVerifier(r.Signature.Certificate).WithClock(func() time.Time { return signedAt }).Verify(doc)
	if err != nil {
		return false
	}
	accepted := etree.NewDocument()
	if err := accepted.ReadFromBytes(r.Content); err != nil || accepted.Root() == nil {
		return false
	}
	c14n := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signedPart, err1 := c14n.Canonicalize(el)
	want, err2 := c14n.Canonicalize(accepted.Root())
	return err1 == nil && err2 == nil && bytes.Equal(signedPart, want)
}
