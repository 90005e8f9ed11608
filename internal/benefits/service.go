package benefits

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/google/uuid"
	"slices"
	"time"
)

// Service applies the rules of benefit instructions.
type Service struct {
	store Store
	ekk   EKKChecker
	lists ListClaimer
	now   func() time.Time
}

// ListClaimer tells who owns a person list, making the caller its owner
// when nobody does yet.
type ListClaimer interface {
	ClaimList(ctx context.Context, id, grantor string) (owner string, err error)
}

// CheckListsWith makes Put refuse a benefit whose recipients are another
// grantor's person list: its answers at the till would tell the benefit's
// grantor (and its providers) who is on that list. A list nobody owns yet
// becomes the caller's, so that nobody else can create it later and fill
// the benefit with their own members.
func (s *Service) CheckListsWith(l ListClaimer) { s.lists = l }

// NewService builds the service; now may be nil for time.Now.
func NewService(store Store, classifier EKKChecker, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, ekk: classifier, now: now}
}

// IfMatch is the precondition of a change (HTTP If-Match): the versions
// the caller based its change on (any one of them current will do), or,
// with Any, any current version ("*").
type IfMatch struct {
	Any      bool
	Versions []int
}

// Put creates a benefit or stores a new version of it. ifMatch, when not
// nil, is the precondition of the change: it fails with ErrVersionMismatch
// when the benefit does not exist yet or, unless Any, when Version is not the
// current version. It reports whether the benefit was created. Sending the
// same instruction again changes nothing and returns the current version;
// so does an identical retry of the change that made the current version
// (If-Match naming the version before it), whose first answer was lost.
func (s *Service) Put(ctx context.Context, caller Caller, id string, in Instruction, ifMatch *IfMatch) (Benefit, bool, error) {
	in = normalise(in)
	if err := Validate(in, s.ekk); err != nil {
		return Benefit{}, false, err
	}
	prev, err := s.store.Latest(ctx, id)
	created := errors.Is(err, ErrNotFound)
	if err != nil && !created {
		return Benefit{}, false, fmt.Errorf("put benefit %s: %w", id, err)
	}
	if !created {
		if prev.Grantor != caller.OrgRegNo {
			return Benefit{}, false, ErrNotOwner
		}
		if prev.Status == StatusWithdrawn {
			return Benefit{}, false, ErrWithdrawn
		}
	}
	same := !created && sameInstruction(prev.Instruction, in)
	if ifMatch != nil {
		switch {
		case created:
			return Benefit{}, false, ErrVersionMismatch
		case ifMatch.Any, slices.Contains(ifMatch.Versions, prev.Version):
		case same && slices.Contains(ifMatch.Versions, prev.Version-1):
			// The retry of the change that made the current version:
			// answered as the first time, with no new version.
		default:
			return Benefit{}, false, ErrVersionMismatch
		}
	}
	if same {
		return prev, false, nil
	}
	// Claimed only for a change that is going to be saved: a refused or
	// repeated PUT claims nothing.
	if listID := in.RecipientGroup.PersonListID; listID != "" && s.lists != nil {
		owner, err := s.lists.ClaimList(ctx, listID, caller.OrgRegNo)
		if err != nil {
			return Benefit{}, false, fmt.Errorf("put benefit %s: %w", id, err)
		}
		if owner != caller.OrgRegNo {
			return Benefit{}, false, &ValidationError{Violations: []Violation{{
				Pointer: "/recipientGroup/personListId", Code: "list.not_owner",
			}}}
		}
	}
	now := s.now().UTC().Truncate(time.Microsecond) // the database's precision: a later read shows the same instant
	b := Benefit{
		ID:          id,
		Grantor:     caller.OrgRegNo,
		Version:     prev.Version + 1,
		Status:      StatusActive,
		CreatedAt:   now,
		UpdatedAt:   now,
		Instruction: in,
	}
	if !created {
		b.CreatedAt = prev.CreatedAt
	}
	receipt := uuid.Must(uuid.NewV7())
	b.ReceiptID = &receipt
	if err := s.store.SaveVersion(ctx, b, caller.ClientID, feedChanges(prev.Providers, in.Providers)); err != nil {
		if errors.Is(err, ErrConcurrentVersion) {
			// Another change came first: the version this one was based
			// on is no longer current, which is what If-Match guards.
			if ifMatch != nil && !ifMatch.Any {
				return Benefit{}, false, ErrVersionMismatch
			}
			return Benefit{}, false, err
		}
		return Benefit{}, false, fmt.Errorf("put benefit %s: %w", id, err)
	}
	return b, created, nil
}

// Get returns the latest version of a benefit, or version v when v > 0.
func (s *Service) Get(ctx context.Context, caller Caller, id string, v int) (Benefit, error) {
	latest, err := s.store.Latest(ctx, id)
	if err != nil {
		return Benefit{}, fmt.Errorf("get benefit %s: %w", id, err)
	}
	if latest.Grantor != caller.OrgRegNo {
		return Benefit{}, ErrNotOwner
	}
	if v == 0 || v == latest.Version {
		return latest, nil
	}
	b, err := s.store.Version(ctx, id, v)
	if err != nil {
		return Benefit{}, fmt.Errorf("get benefit %s version %d: %w", id, v, err)
	}
	return b, nil
}

// List pages through the caller's own benefits in id order.
func (s *Service) List(ctx context.Context, caller Caller, cursor string, status Status, limit int) ([]Benefit, string, error) {
	after := ""
	if cursor != "" {
		var err error
		if after, err = decodeStringCursor(cursor); err != nil {
			return nil, "", err
		}
	}
	items, err := s.store.ListByGrantor(ctx, caller.OrgRegNo, after, status, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list benefits: %w", err)
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = encodeStringCursor(items[limit-1].ID)
	}
	return items, next, nil
}

// withdrawAttempts bounds how often Withdraw reads the latest version again
// after another change to the benefit won the race for the next version.
const withdrawAttempts = 5

// Withdraw stores a final version with status withdrawn and tells every
// provider that was admitted. Withdrawing twice is not an error, also when
// the two withdrawals race (a client retrying after a timeout): the loser
// reads the latest version again and finds the benefit withdrawn. When a
// concurrent change other than a withdrawal won, it tries again on top of it,
// at most withdrawAttempts times.
func (s *Service) Withdraw(ctx context.Context, caller Caller, id string) error {
	var err error
	for range withdrawAttempts {
		if err = s.withdrawOnce(ctx, caller, id); !errors.Is(err, ErrConcurrentVersion) {
			return err
		}
	}
	return fmt.Errorf("withdraw benefit %s after %d attempts: %w", id, withdrawAttempts, err)
}

func (s *Service) withdrawOnce(ctx context.Context, caller Caller, id string) error {
	prev, err := s.store.Latest(ctx, id)
	if err != nil {
		return fmt.Errorf("withdraw benefit %s: %w", id, err)
	}
	if prev.Grantor != caller.OrgRegNo {
		return ErrNotOwner
	}
	if prev.Status == StatusWithdrawn {
		return nil
	}
	b := prev
	b.Version++
	b.Status = StatusWithdrawn
	b.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
	receipt := uuid.Must(uuid.NewV7())
	b.ReceiptID = &receipt
	if err := s.store.SaveVersion(ctx, b, caller.ClientID, feedChanges(prev.Providers, nil)); err != nil {
		if errors.Is(err, ErrConcurrentVersion) {
			return err
		}
		return fmt.Errorf("withdraw benefit %s: %w", id, err)
	}
	return nil
}

// FeedPage is one page of a provider's instruction feed.
type FeedPage struct {
	Items      []FeedItem
	NextCursor string
	HasMore    bool
}

// Feed returns the changes for provider after the since cursor.
func (s *Service) Feed(ctx context.Context, provider, since string, limit int) (FeedPage, error) {
	var after int64
	if since != "" {
		var err error
		if after, err = decodeSeqCursor(since); err != nil {
			return FeedPage{}, err
		}
	}
	items, err := s.store.Feed(ctx, provider, after, limit+1)
	if err != nil {
		return FeedPage{}, fmt.Errorf("instruction feed: %w", err)
	}
	page := FeedPage{NextCursor: since}
	if len(items) > limit {
		items = items[:limit]
		page.HasMore = true
	}
	page.Items = items
	if len(items) > 0 {
		page.NextCursor = encodeSeqCursor(items[len(items)-1].Seq)
	} else if since == "" {
		page.NextCursor = encodeSeqCursor(0)
	}
	return page, nil
}

// feedChanges lists every provider that must hear of a change: those now
// admitted, and those that were admitted before and are no longer.
func feedChanges(before, after []string) []FeedChange {
	out := make([]FeedChange, 0, len(before)+len(after))
	for _, p := range after {
		out = append(out, FeedChange{Provider: p, Admitted: true})
	}
	for _, p := range before {
		if !slices.Contains(after, p) {
			out = append(out, FeedChange{Provider: p, Admitted: false})
		}
	}
	return out
}

func normalise(in Instruction) Instruction {
	in.Providers = slices.Clone(in.Providers)
	slices.Sort(in.Providers)
	in.Providers = slices.Compact(in.Providers)
	in.GoodsCodes = slices.Clone(in.GoodsCodes)
	slices.Sort(in.GoodsCodes)
	in.GoodsCodes = slices.Compact(in.GoodsCodes)
	return in
}

func sameInstruction(a, b Instruction) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}
