// Package benefits holds benefit instructions (atvieglojuma norādījumi): their
// rules, their versions, who may change them and the feed that tells each
// admitted provider what changed.
package benefits

import (
	"context"
	"errors"
	"github.com/google/uuid"
	"time"
)

// Status of a benefit.
type Status string

const (
	StatusActive    Status = "active"
	StatusWithdrawn Status = "withdrawn"
)

// Category tells what a benefit is for.
type Category string

// excludedCategories are the kinds of benefit AVIS does not cover (seed 003):
// taxes and fees, leases of public property, state social and social
// insurance benefits paid in money, employer benefits, and goods or services
// that fail safety or conformity rules.
var excludedCategories = map[Category]bool{
	"tax_or_fee":               true,
	"public_property_lease":    true,
	"cash_social_benefit":      true,
	"social_insurance_benefit": true,
	"employer_benefit":         true,
	"non_conforming_goods":     true,
}

// DiscountType is how the benefit reduces the price.
type DiscountType string

const (
	DiscountPercent DiscountType = "percent"
	DiscountFixed   DiscountType = "fixed"
	DiscountFree    DiscountType = "free"
)

// Period of a per-person limit.
type Period string

// PeriodLimit caps what one person may receive over a calendar period.
type PeriodLimit struct {
	AmountCents int64  `json:"amountCents"`
	Period      Period `json:"period"`
}

// Discount is how much a benefit gives. Money is in euro cents; percentages
// in basis points, so no float ever touches an amount.
type Discount struct {
	Type                   DiscountType `json:"type"`
	PercentBasisPoints     int          `json:"percentBasisPoints,omitempty"`
	AmountCents            int64        `json:"amountCents,omitempty"`
	MaxPerTransactionCents int64        `json:"maxPerTransactionCents,omitempty"`
	PerPersonLimit         *PeriodLimit `json:"perPersonLimit,omitempty"`
}

// RecipientGroup is who gets the benefit: a registry group or a person list.
type RecipientGroup struct {
	RegistryGroup string `json:"registryGroup,omitempty"`
	PersonListID  string `json:"personListId,omitempty"`
}

// Conditions narrow the recipient group.
type Conditions struct {
	Municipality string `json:"municipality,omitempty"`
	MinAge       *int   `json:"minAge,omitempty"`
	MaxAge       *int   `json:"maxAge,omitempty"`
}

// Instruction is the rule set of one benefit version.
type Instruction struct {
	Name           string         `json:"name"`
	Description    string         `json:"description,omitempty"`
	Category       Category       `json:"category"`
	EKKCode        string         `json:"ekkCode"`
	ValidFrom      time.Time      `json:"validFrom"`
	ValidTo        *time.Time     `json:"validTo,omitempty"`
	Priority       int            `json:"priority"`
	Combinable     bool           `json:"combinable"`
	Discount       Discount       `json:"discount"`
	GoodsCodes     []string       `json:"goodsCodes"`
	Providers      []string       `json:"providers"`
	RecipientGroup RecipientGroup `json:"recipientGroup"`
	Conditions     Conditions     `json:"conditions"`
}

// Benefit is one version of a benefit with its instruction.
type Benefit struct {
	ID        string
	Grantor   string
	Version   int
	Status    Status
	CreatedAt time.Time
	UpdatedAt time.Time
	// ReceiptID names the signed receipt of this version (none for
	// versions made before receipts were).
	ReceiptID *uuid.UUID
	Instruction
}

// Caller is the organisation acting, as authenticated.
type Caller struct {
	OrgRegNo string
	ClientID string
}

// Sentinel errors of the domain; the HTTP layer maps them to problems.
// ErrInvalidCursor is a benefit list cursor this service did not issue,
// ErrInvalidFeedCursor an instruction feed position (since) it did not.
var (
	ErrNotFound          = errors.New("benefit not found")
	ErrNotOwner          = errors.New("benefit belongs to another grantor")
	ErrWithdrawn         = errors.New("benefit is withdrawn")
	ErrVersionMismatch   = errors.New("benefit changed since the given version")
	ErrInvalidCursor     = errors.New("invalid cursor")
	ErrConcurrentVersion = errors.New("benefit was changed concurrently")
	ErrInvalidFeedCursor = errors.New("invalid instruction feed cursor")
)

// Violation is one broken rule of an instruction, by JSON pointer.
type Violation struct {
	Pointer string
	Code    string
	Detail  string
	// DetailLV is Detail in Latvian; without it a Latvian answer has the
	// code's catalogue text alone.
	DetailLV string
}

// ValidationError lists every rule an instruction breaks. Excluded is set
// when a violation means AVIS does not cover the benefit at all.
type ValidationError struct {
	Violations []Violation
	Excluded   bool
}

func (e *ValidationError) Error() string {
	s := "invalid benefit instruction"
	for _, v := range e.Violations {
		s += "; " + v.Pointer + ": " + v.Code
	}
	return s
}

// FeedItem is one benefit as a provider sees it in the instruction feed.
type FeedItem struct {
	Seq       int64
	Benefit   Benefit
	Admitted  bool
	ChangedAt time.Time
}

// Store is what the benefits service needs from the core store.
type Store interface {
	// Latest returns the latest version of a benefit, or ErrNotFound.
	Latest(ctx context.Context, id string) (Benefit, error)
	// Version returns one version, or ErrNotFound.
	Version(ctx context.Context, id string, version int) (Benefit, error)
	// SaveVersion stores b as a new version (b.Version must be the latest
	// plus one; ErrConcurrentVersion otherwise) and, in the same transaction,
	// records the change in the feed of every provider in notify.
	SaveVersion(ctx context.Context, b Benefit, createdBy string, notify []FeedChange) error
	// ListByGrantor pages through a grantor's benefits by id.
	ListByGrantor(ctx context.Context, grantor, afterID string, status Status, limit int) ([]Benefit, error)
	// Feed returns a provider's feed items with seq > since, in seq order.
	Feed(ctx context.Context, provider string, since int64, limit int) ([]FeedItem, error)
	// FeedHead is the highest change number handed out so far.
	FeedHead(ctx context.Context) (int64, error)
}

// FeedChange says whether a provider is admitted by the version being saved.
type FeedChange struct {
	Provider string
	Admitted bool
}
