// Package transactions records the transactions (darījumi) providers report
// after an eligibility decision, their reversals (storno), the receipts the
// gateway signs for each, and the grantors' listings and spend reports.
// Nothing is acknowledged before it is durable in PostgreSQL.
package transactions

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/avis-lv/gateway/internal/eligibility"
)

// Status of a transaction.
type Status string

const (
	StatusAccepted Status = "accepted"
	StatusReversed Status = "reversed"
)

// Claim is one benefit a provider applied, as reported.
type Claim struct {
	BenefitID     string `json:"benefitId"`
	DiscountCents int64  `json:"discountCents"`
}

// Report is what a provider reports.
type Report struct {
	DecisionID    uuid.UUID `json:"decisionId"`
	ReceiptNumber string    `json:"receiptNumber"`
	OccurredAt    time.Time `json:"occurredAt"`
	TotalCents    *int64    `json:"totalCents,omitempty"`
	Benefits      []Claim   `json:"benefits"`
}

// Line is one benefit applied in a transaction.
type Line struct {
	BenefitID     string
	Version       int
	Grantor       string
	EKKCode       string
	DiscountCents int64
	// StandIn marks a benefit the decision could not confirm (a registry
	// was unavailable) that the provider applied on its own judgement.
	StandIn bool
	// Limited marks a benefit with a per-person period limit: the line
	// counts towards it.
	Limited bool
}

// Transaction is an accepted (or later reversed) transaction.
type Transaction struct {
	ID  uuid.UUID
	Seq int64
	// Position is where a grantor's listing had it (set by ListForGrantor).
	Position          Position
	Status            Status
	Provider          string
	DecisionID        uuid.UUID
	PersonRef         []byte
	ReceiptNumber     string
	OccurredAt        time.Time
	TotalCents        *int64
	Benefits          []Line
	AcceptedAt        time.Time
	ReceiptID         uuid.UUID
	ReversedAt        *time.Time
	ReversalReason    string
	ReversalReceiptID *uuid.UUID
	// ReversalKey is the Idempotency-Key the reversal came with.
	ReversalKey string
}

// Receipt kinds.
const (
	KindTransaction    = "transaction"
	KindReversal       = "reversal"
	KindListVersion    = "list_version"
	KindBenefitVersion = "benefit_version"
)

// Receipt is the gateway's signed acknowledgement of an accepted push.
// Content is the receipt document in exclusive canonical XML, Digest its
// SHA-256; Signature is nil until it is signed.
type Receipt struct {
	ID         uuid.UUID
	Kind       string
	SubjectID  string
	Owner      string
	AcceptedAt time.Time
	Digest     [32]byte
	Content    []byte
	Signature  *Signature
}

// Signature is a receipt's XML-DSig signature value and the certificate
// that verifies it.
type Signature struct {
	Value       []byte
	Certificate *x509.Certificate
	SignedAt    time.Time
}

// LimitCheck asks the store to confirm, under a per-person lock, that a
// claim fits what is left of a per-person period limit.
type LimitCheck struct {
	BenefitID    string
	From, To     time.Time
	LimitCents   int64
	ClaimedCents int64
}

// Insert is one transaction to record, with its idempotency key.
type Insert struct {
	Transaction    Transaction
	Receipt        Receipt
	IdempotencyKey string
	RequestHash    [32]byte
	Limits         []LimitCheck
	// CountedAt is when the transaction counts towards per-person period
	// limits: the time of the eligibility check it used (OccurredAt when
	// zero).
	CountedAt time.Time
}

// Position is a place in a grantor's listing: the database transaction
// that made a transaction visible, then its seq.
type Position struct {
	XID uint64
	Seq int64
}

// ReportedFilter selects a provider's transactions: sales in [From, To),
// and, when set, one receipt number and one status.
type ReportedFilter struct {
	From, To      time.Time
	ReceiptNumber string
	Status        Status
}

// SalePosition is a place in a provider's listing, in (occurredAt, id)
// order.
type SalePosition struct {
	OccurredAt time.Time
	ID         uuid.UUID
}

// Filter narrows a grantor's listing.
type Filter struct {
	BenefitID string
	Provider  string
	// From and To are inclusive dates (midnight UTC standing for the
	// date), read in Europe/Riga; zero for open.
	From, To time.Time
	Status   Status
}

// SpendGroup is one row of a spend report.
type SpendGroup struct {
	Key           string
	Name          string
	Transactions  int64
	DiscountCents int64
	// Reversed* are the transactions of the period reversed since, apart
	// from the accepted ones above.
	ReversedTransactions  int64
	ReversedDiscountCents int64
}

// Store is what the service needs from the core store.
type Store interface {
	// Decision returns a stored eligibility decision or ErrDecisionNotFound.
	Decision(ctx context.Context, id uuid.UUID) (eligibility.Decision, error)
	// Insert records a transaction, its benefits and its receipt in one
	// database transaction. A retry (same provider, key and hash) returns
	// the stored transaction and true. Errors: ErrKeyReused, ErrDecisionUsed,
	// *LimitError.
	Insert(ctx context.Context, in Insert) (Transaction, bool, error)
	// ByKey returns the transaction provider reported with key, and the
	// hash of that report; ErrNotFound if there is none.
	ByKey(ctx context.Context, provider, key string) (Transaction, [32]byte, error)
	// Get returns a transaction or ErrNotFound.
	Get(ctx context.Context, id uuid.UUID) (Transaction, error)
	// Reverse marks an accepted transaction reversed with its receipt. It
	// returns false when the transaction was no longer accepted.
	Reverse(ctx context.Context, id uuid.UUID, key, reason string, at time.Time, r Receipt) (bool, error)
	// ListForGrantor pages through transactions with a benefit of grantor,
	// in the order they became visible, after a position; only the
	// grantor's benefits are in each transaction's lines, and each has its
	// Position set.
	ListForGrantor(ctx context.Context, grantor string, f Filter, loc *time.Location, after Position, limit int) ([]Transaction, error)
	// ListForProvider pages through the transactions provider reported
	// that f selects, in (occurredAt, id) order after a position, with all
	// their lines.
	ListForProvider(ctx context.Context, provider string, f ReportedFilter, after SalePosition, limit int) ([]Transaction, error)
	// Spend sums a grantor's accepted discounts over [from, to) by key.
	Spend(ctx context.Context, grantor string, from, to time.Time, groupBy string) ([]SpendGroup, error)
	// Receipt returns a receipt or ErrNotFound.
	Receipt(ctx context.Context, id uuid.UUID) (Receipt, error)
	// RegisterCertificate records a signing certificate (DER).
	RegisterCertificate(ctx context.Context, der []byte) error
	// SaveSignatures stores signature values, made with the certificate of
	// that SHA-256, for receipts not signed yet.
	SaveSignatures(ctx context.Context, certSHA256 [32]byte, values map[uuid.UUID][]byte, at time.Time) error
	// UnsignedReceipts walks up to limit receipts with ids in (after,
	// before), oldest first, and returns those without a signature and the
	// last id looked at (zero when there were none).
	UnsignedReceipts(ctx context.Context, after, before uuid.UUID, limit int) ([]Receipt, uuid.UUID, error)
}

// Sentinel errors; the HTTP layer maps them to problems.
var (
	ErrNotFound         = errors.New("not found")
	ErrNotOwner         = errors.New("belongs to another organisation")
	ErrDecisionNotFound = errors.New("eligibility decision not found")
	ErrDecisionExpired  = errors.New("eligibility decision expired")
	ErrDecisionUsed     = errors.New("eligibility decision already used by another transaction")
	ErrKeyReused        = errors.New("idempotency key reused with a different request")
	ErrAlreadyReversed  = errors.New("transaction already reversed")
	ErrInvalidCursor    = errors.New("invalid cursor")
	ErrSigningDisabled  = errors.New("receipt signing is not configured")
)

// Violation is one broken rule of a report, by JSON pointer.
type Violation struct {
	Pointer string
	Code    string
	Detail  string
	// DetailLV is Detail in Latvian; without it a Latvian answer has the
	// code's catalogue text alone.
	DetailLV string
}

// RuleError lists the business rules a report breaks (422).
type RuleError struct{ Violations []Violation }

func (e *RuleError) Error() string {
	s := "transaction breaks business rules"
	for _, v := range e.Violations {
		s += "; " + v.Pointer + ": " + v.Code
	}
	return s
}

// LimitError is a claim above what is left of a per-person limit,
// discovered when the transaction is recorded.
type LimitError struct {
	BenefitID string
	LeftCents int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("benefit %s: only %d cents left of the per-person limit", e.BenefitID, e.LeftCents)
}
