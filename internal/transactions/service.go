package transactions

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/avis-lv/gateway/internal/benefits"
	"github.com/avis-lv/gateway/internal/eligibility"
	"github.com/avis-lv/gateway/internal/idempotency"
)

// Service records and reports transactions.
type Service struct {
	store   Store
	signer  *ReceiptSigner
	loc     *time.Location
	now     func() time.Time
	log     *slog.Logger
	periods func(p benefits.Period, at time.Time) (time.Time, time.Time)
	// maxLate bounds how long after its decision a sale may be reported
	// as having happened; maxAhead how far in the future.
	maxAhead time.Duration

	// afterDurable runs once a push is committed, before it is answered;
	// tests use it to play a gateway killed at that moment.
	afterDurable func()
}

// Config of the service.
type Config struct {
	Location *time.Location
	// Periods is the calendar of per-person limits (eligibility's).
	Periods func(p benefits.Period, at time.Time) (time.Time, time.Time)
	Now     func() time.Time
	Log     *slog.Logger
	// AfterDurable, for tests only, runs between commit and answer.
	AfterDurable func()
}

// NewService builds the service.
func NewService(store Store, signer *ReceiptSigner, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.AfterDurable == nil {
		cfg.AfterDurable = func() {}
	}
	return &Service{store: store, signer: signer, loc: cfg.Location, now: cfg.Now, log: cfg.Log,
		periods: cfg.Periods, maxAhead: 10 * time.Minute, afterDurable: cfg.AfterDurable}
}

// Signer returns the receipt signer.
func (s *Service) Signer() *ReceiptSigner { return s.signer }

// Report records a transaction for provider. It returns the transaction
// and whether it is the replay of an earlier report with the same key.
func (s *Service) Report(ctx context.Context, provider, key string, r Report) (Transaction, bool, error) {
	canon, err := json.Marshal(r)
	if err != nil {
		return Transaction{}, false, fmt.Errorf("encode report: %w", err)
	}
	hash := idempotency.HashOf([]byte(provider), canon)

	d, err := s.store.Decision(ctx, r.DecisionID)
	if errors.Is(err, ErrDecisionNotFound) || (err == nil && d.Provider != provider) {
		// Decisions are purged an hour after they were made, and lost
		// with their unlogged table if PostgreSQL crashes; a retry of a
		// report accepted before that still replays.
		if prior, ok, err := s.replay(ctx, provider, key, hash); ok || err != nil {
			return prior, ok, err
		}
		// Another provider's decision is reported as unknown: its id tells
		// nothing about whether it exists.
		return Transaction{}, false, &RuleError{Violations: []Violation{{Pointer: "/decisionId", Code: "decision.unknown"}}}
	}
	if err != nil {
		return Transaction{}, false, fmt.Errorf("read decision: %w", err)
	}
	// PostgreSQL keeps microseconds: the receipt and a replayed answer must
	// say exactly what is stored.
	now := s.now().UTC().Truncate(time.Microsecond)
	t := Transaction{
		ID: uuid.Must(uuid.NewV7()), Status: StatusAccepted, Provider: provider, DecisionID: d.ID, PersonRef: d.PersonRef,
		ReceiptNumber: r.ReceiptNumber, OccurredAt: r.OccurredAt.UTC().Truncate(time.Microsecond), TotalCents: r.TotalCents,
		AcceptedAt: now.UTC(), ReceiptID: uuid.Must(uuid.NewV7()),
	}
	limits, verr := s.validate(r, d, now, &t)
	if verr != nil {
		// A retry of a report that was accepted before its decision
		// expired must still replay, so the key is looked up first.
		if prior, ok, err := s.replay(ctx, provider, key, hash); ok || err != nil {
			return prior, ok, err
		}
		return Transaction{}, false, verr
	}
	rec := transactionReceipt(t.ReceiptID, t)
	stored, replay, err := s.store.Insert(ctx, Insert{Transaction: t, Receipt: rec, IdempotencyKey: key, RequestHash: hash, Limits: limits, CountedAt: d.At})
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			i := slices.IndexFunc(r.Benefits, func(c Claim) bool { return c.BenefitID == le.BenefitID })
			return Transaction{}, false, &RuleError{Violations: []Violation{{Pointer: "/benefits/" + strconv.Itoa(i) + "/discountCents", Code: "discount.above_limit",
				Detail: fmt.Sprintf("%d cents left", le.LeftCents), DetailLV: fmt.Sprintf("atlikums centos: %d", le.LeftCents)}}}
		}
		return Transaction{}, false, err
	}
	if !replay {
		s.afterDurable()
		s.signer.Enqueue(rec)
	}
	return stored, replay, nil
}

// replay finds an earlier accepted report with the same key: with the
// same body it is replayed, with another the key was reused.
func (s *Service) replay(ctx context.Context, provider, key string, hash [32]byte) (Transaction, bool, error) {
	t, h, err := s.store.ByKey(ctx, provider, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return Transaction{}, false, nil
	case err != nil:
		return Transaction{}, false, fmt.Errorf("look up idempotency key: %w", err)
	case h != hash:
		return Transaction{}, false, ErrKeyReused
	}
	return t, true, nil
}

// validate checks the report against its decision and fills t's lines.
func (s *Service) validate(r Report, d eligibility.Decision, now time.Time, t *Transaction) ([]LimitCheck, error) {
	var vs []Violation
	if v := textViolation("/receiptNumber", r.ReceiptNumber); v != nil {
		vs = append(vs, *v)
	}
	if now.After(d.ExpiresAt) {
		vs = append(vs, Violation{Pointer: "/decisionId", Code: "decision.expired",
			Detail:   "expired at " + d.ExpiresAt.UTC().Format(time.RFC3339),
			DetailLV: "derīgums beidzās " + d.ExpiresAt.UTC().Format(time.RFC3339)})
	}
	// The sale is the moment the check was asked about: its at (a sale
	// checked afterwards names its time there), or the check itself and
	// the decision's lifetime after it. Limits and validity were decided
	// for that moment; a sale far from it could spend another period's
	// limit or a benefit that had ended. maxAhead allows for the till's
	// clock.
	earliest, latest := d.At.Add(-s.maxAhead), d.At.Add(d.ExpiresAt.Sub(d.CreatedAt)+s.maxAhead)
	if r.OccurredAt.After(now.Add(s.maxAhead)) || r.OccurredAt.Before(earliest) || r.OccurredAt.After(latest) {
		vs = append(vs, Violation{Pointer: "/occurredAt", Code: "transaction.occurred_at_out_of_range",
			Detail: fmt.Sprintf("between %s and %s (the eligibility check's time), and not in the future",
				earliest.UTC().Format(time.RFC3339), latest.UTC().Format(time.RFC3339)),
			DetailLV: fmt.Sprintf("no %s līdz %s (atbilstības pārbaudes laiks), un ne nākotnē",
				earliest.UTC().Format(time.RFC3339), latest.UTC().Format(time.RFC3339))})
	}
	// Without lines, combinable benefits stack as they do on lines: a
	// percentage gives its rate of what the benefits before it in the
	// decision (applying ones; a stand-in takes nothing) left of the total.
	inDecision := make([]int, len(r.Benefits)) // each claim's place in the decision, -1 if none
	for i, c := range r.Benefits {
		inDecision[i] = slices.IndexFunc(d.Benefits, func(a eligibility.Applied) bool { return a.BenefitID == c.BenefitID })
	}
	claimedBefore := func(j int) int64 {
		var n int64
		for i, c := range r.Benefits {
			if k := inDecision[i]; k >= 0 && k < j && d.Benefits[k].Status == eligibility.StatusApplies {
				n += c.DiscountCents
			}
		}
		return n
	}
	seen := map[string]bool{}
	var sum int64
	var limits []LimitCheck
	exclusive := -1
	unbounded := false // a claimed benefit whose decision gave no amount
	for i, c := range r.Benefits {
		ptr := "/benefits/" + strconv.Itoa(i)
		if seen[c.BenefitID] {
			vs = append(vs, Violation{Pointer: ptr + "/benefitId", Code: "benefit.duplicate"})
			continue
		}
		seen[c.BenefitID] = true
		j := inDecision[i]
		if j < 0 {
			vs = append(vs, Violation{Pointer: ptr + "/benefitId", Code: "benefit.not_in_decision"})
			continue
		}
		a := d.Benefits[j]
		most, bounded := int64(0), false
		if a.MaxCents != nil {
			most, bounded = *a.MaxCents, true
		}
		// A percentage checked without lines gives its rate of the sale.
		if a.PercentBasisPoints != nil {
			if r.TotalCents == nil {
				bounded = false // transaction.total_required below
			} else if p := eligibility.PercentOf(max(*r.TotalCents-claimedBefore(j), 0), *a.PercentBasisPoints); !bounded || p < most {
				most, bounded = p, true
			}
		}
		if bounded && c.DiscountCents > most {
			vs = append(vs, Violation{Pointer: ptr + "/discountCents", Code: "discount.above_decision",
				Detail: fmt.Sprintf("at most %d cents", most), DetailLV: fmt.Sprintf("lielākā pieļaujamā atlaide centos: %d", most)})
		}
		if !bounded {
			unbounded = true
		}
		if !a.Combinable {
			exclusive = i
		}
		sum += c.DiscountCents
		t.Benefits = append(t.Benefits, Line{BenefitID: a.BenefitID, Version: a.Version, Grantor: a.Grantor, EKKCode: a.EKKCode,
			DiscountCents: c.DiscountCents, StandIn: a.Status == eligibility.StatusUnknown, Limited: a.Limit != nil})
		if a.Limit != nil && c.DiscountCents > 0 {
			// The period the check computed what was left of, whatever
			// the till's clock says.
			from, to := s.periods(a.Limit.Period, d.At)
			limits = append(limits, LimitCheck{BenefitID: a.BenefitID, From: from, To: to, LimitCents: a.Limit.AmountCents, ClaimedCents: c.DiscountCents})
		}
	}
	if exclusive >= 0 && len(r.Benefits) > 1 {
		vs = append(vs, Violation{Pointer: "/benefits/" + strconv.Itoa(exclusive) + "/benefitId", Code: "benefit.exclusive_combined"})
	}
	if r.TotalCents != nil && sum > *r.TotalCents {
		vs = append(vs, Violation{Pointer: "/totalCents", Code: "discount.above_total"})
	}
	// Each benefit is checked against its own amount above; together they
	// may not exceed the sale either. A stand-in benefit is computed on
	// what the benefits before it left without taking from it, so the
	// benefits after it may count the same cents.
	if d.SaleCents != nil && sum > *d.SaleCents {
		vs = append(vs, Violation{Pointer: "/benefits", Code: "discount.above_sale",
			Detail:   fmt.Sprintf("the receipt lines checked total %d cents", *d.SaleCents),
			DetailLV: fmt.Sprintf("pārbaudīto čeka rindu summa centos: %d", *d.SaleCents)})
	}
	// Without receipt lines the sale's total is what bounds the claims
	// together (and a percentage or a free benefit, which has no amount in
	// the decision, each).
	if !d.WithLines && r.TotalCents == nil && (unbounded || sum > 0) {
		vs = append(vs, Violation{Pointer: "/totalCents", Code: "transaction.total_required"})
	}
	if len(vs) > 0 {
		return nil, &RuleError{Violations: vs}
	}
	return limits, nil
}

// Reverse cancels a transaction of provider. Repeating a reversal with the
// same key answers the reversed transaction again.
func (s *Service) Reverse(ctx context.Context, provider string, id uuid.UUID, key, reason string) (Transaction, error) {
	t, err := s.store.Get(ctx, id)
	if err != nil {
		return Transaction{}, err
	}
	if t.Provider != provider {
		return Transaction{}, ErrNotFound
	}
	if t.Status == StatusReversed {
		return s.reversedAgain(t, key, reason)
	}
	if v := textViolation("/reason", reason); v != nil {
		return Transaction{}, &RuleError{Violations: []Violation{*v}}
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	rec := reversalReceipt(uuid.Must(uuid.NewV7()), t, now, reason)
	ok, err := s.store.Reverse(ctx, id, key, reason, now, rec)
	if err != nil {
		return Transaction{}, err
	}
	after, err := s.store.Get(ctx, id)
	if err != nil {
		return Transaction{}, err
	}
	if !ok {
		// Reversed concurrently: by this same request's retry, or not.
		return s.reversedAgain(after, key, reason)
	}
	s.afterDurable()
	s.signer.Enqueue(rec)
	return after, nil
}

// reversedAgain answers a reversal of a reversed transaction: the same
// key and reason replay it, the same key with another reason is a reused
// key, another key is a conflict.
func (s *Service) reversedAgain(t Transaction, key, reason string) (Transaction, error) {
	switch {
	case t.ReversalKey != key:
		return Transaction{}, ErrAlreadyReversed
	case t.ReversalReason != reason:
		return Transaction{}, ErrKeyReused
	}
	return t, nil
}

// List pages through the transactions on grantor's benefits.
func (s *Service) List(ctx context.Context, grantor string, f Filter, cursor string, limit int) (items []Transaction, resume string, more bool, err error) {
	var after Position
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		switch {
		case err == nil && len(raw) == 17 && raw[0] == 'x':
			after = Position{XID: binary.BigEndian.Uint64(raw[1:9]), Seq: int64(binary.BigEndian.Uint64(raw[9:]))}
		case err == nil && len(raw) == 9 && raw[0] == 't':
			// A cursor of the seq-ordered listing, still in integrators'
			// hands: the store finds its place in the commit order.
			after = Position{Seq: int64(binary.BigEndian.Uint64(raw[1:]))}
		default:
			return nil, "", false, ErrInvalidCursor
		}
	}
	items, err = s.store.ListForGrantor(ctx, grantor, f, s.loc, after, limit+1)
	if err != nil {
		return nil, "", false, fmt.Errorf("list transactions: %w", err)
	}
	more = len(items) > limit
	if more {
		items = items[:limit]
	}
	// The cursor after the page is returned on every page, the last one
	// too: a grantor polling for new transactions keeps it and asks again
	// later, and gets only what was committed since.
	if len(items) > 0 {
		after = items[len(items)-1].Position
	}
	raw := make([]byte, 17)
	raw[0] = 'x'
	binary.BigEndian.PutUint64(raw[1:9], after.XID)
	binary.BigEndian.PutUint64(raw[9:], uint64(after.Seq))
	return items, base64.RawURLEncoding.EncodeToString(raw), more, nil
}

// MaxReportedDays bounds the dates of one provider listing: a month's
// reconciliation at most, so that one request cannot walk a merchant's
// whole history.
const MaxReportedDays = 31

// ErrDateRange is a provider listing over more than MaxReportedDays;
// ErrDateOrder one whose last date comes before its first.
var (
	ErrDateRange = fmt.Errorf("from the first date to the last, at most %d days", MaxReportedDays)
	ErrDateOrder = errors.New("the last date is before the first")
)

// ListReported pages through the transactions provider reported with a
// sale (occurredAt) on the inclusive dates from to to, read in the
// service's time zone; a zero to is today, a zero from is to. The cursor
// is the previous page's next; next is empty on the last page.
func (s *Service) ListReported(ctx context.Context, provider string, from, to time.Time, receiptNumber string, status Status, cursor string, limit int) (items []Transaction, next string, err error) {
	if to.IsZero() {
		to = s.now().In(s.loc)
	}
	if from.IsZero() {
		from = to
	}
	f := ReportedFilter{
		From:          time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, s.loc),
		To:            time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, s.loc).AddDate(0, 0, 1),
		ReceiptNumber: receiptNumber, Status: status,
	}
	if f.To.Before(f.From.AddDate(0, 0, 1)) {
		return nil, "", ErrDateOrder
	}
	if f.To.After(f.From.AddDate(0, 0, MaxReportedDays)) {
		return nil, "", ErrDateRange
	}
	after := SalePosition{OccurredAt: f.From} // (from, nil id): every sale from the first instant
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(raw) != 25 || raw[0] != 'o' {
			return nil, "", ErrInvalidCursor
		}
		after.OccurredAt = time.UnixMicro(int64(binary.BigEndian.Uint64(raw[1:9])))
		copy(after.ID[:], raw[9:])
	}
	items, err = s.store.ListForProvider(ctx, provider, f, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list reported transactions: %w", err)
	}
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	last := items[len(items)-1]
	raw := make([]byte, 25)
	raw[0] = 'o'
	binary.BigEndian.PutUint64(raw[1:9], uint64(last.OccurredAt.UnixMicro()))
	copy(raw[9:], last.ID[:])
	return items, base64.RawURLEncoding.EncodeToString(raw), nil
}

// SpendReport is a grantor's spend over inclusive dates.
type SpendReport struct {
	From, To           time.Time
	GroupBy            string
	Groups             []SpendGroup
	TotalCents         int64
	TotalReversedCents int64
}

// Spend reports a grantor's discounts in sales between two inclusive dates
// in Europe/Riga, grouped by benefit, provider or EKK code: those still
// accepted, and apart those reversed since.
func (s *Service) Spend(ctx context.Context, grantor string, from, to time.Time, groupBy string) (SpendReport, error) {
	if to.Before(from) {
		return SpendReport{}, &RuleError{Violations: []Violation{{Pointer: "to", Code: "dates.order"}}}
	}
	start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, s.loc)
	end := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, s.loc).AddDate(0, 0, 1)
	groups, err := s.store.Spend(ctx, grantor, start, end, groupBy)
	if err != nil {
		return SpendReport{}, fmt.Errorf("spend report: %w", err)
	}
	rep := SpendReport{From: from, To: to, GroupBy: groupBy, Groups: groups}
	for _, g := range groups {
		rep.TotalCents += g.DiscountCents
		rep.TotalReversedCents += g.ReversedDiscountCents
	}
	return rep, nil
}

// ReceiptView is a receipt as its owner may see it.
type ReceiptView struct {
	Receipt
	SignatureValid bool
}

// Receipt returns a receipt of org's own push, signed.
func (s *Service) Receipt(ctx context.Context, org string, id uuid.UUID) (ReceiptView, error) {
	r, err := s.store.Receipt(ctx, id)
	if err != nil {
		return ReceiptView{}, err
	}
	if r.Owner != org {
		return ReceiptView{}, ErrNotFound
	}
	r, err = s.signer.ensureSigned(ctx, r)
	if err != nil && !errors.Is(err, ErrSigningDisabled) {
		return ReceiptView{}, err
	}
	return ReceiptView{Receipt: r, SignatureValid: s.signer.Verify(r)}, nil
}
