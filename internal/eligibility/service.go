// Package eligibility answers, at the till, which benefits apply to a
// person and how much they give: it resolves the person (by personal code
// or identification means), takes the instructions that admit the asking
// provider, gathers the registry facts and list memberships it needs
// (from the Redis cache when it can, from the registries and PostgreSQL
// when it must), applies priority, combinability, caps and per-person
// limits, and records the decision for the transaction that follows. The
// answer never says why a person qualifies.
package eligibility

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Riga must resolve on hosts without zoneinfo

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/avis-lv/gateway/internal/benefits"
	"github.com/avis-lv/gateway/internal/means"
	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/internal/registry"
)

// Registry is what the check needs of the registries.
type Registry interface {
	// Record returns a data set's raw record of a person, registry.ErrNotFound
	// or an error wrapping registry.ErrUnavailable.
	Record(ctx context.Context, d registry.Dataset, code string) ([]byte, error)
	// Card returns the eID record of a card's holder.
	Card(ctx context.Context, number string) ([]byte, error)
}

// ListMembership answers whether a person is on a grantor's person list.
type ListMembership interface {
	// IsMember reports whether code is in the list's current version and
	// valid on day, and which version was read.
	IsMember(ctx context.Context, listID string, code personcode.Code, day time.Time) (bool, int, error)
}

// ListVersions tells a list's current version without asking PostgreSQL
// each time (the cache keys carry it).
type ListVersions interface {
	Current(ctx context.Context, listID string) (int, error)
	// Seen reports a version read from the store, which may be newer.
	Seen(listID string, version int)
}

// MeansLookup finds registered identification means.
type MeansLookup interface {
	Lookup(ctx context.Context, t means.Type, number string) (means.Means, error)
}

// SpendQuery asks what a person received from one benefit in [From, To).
type SpendQuery struct {
	BenefitID string
	From, To  time.Time
}

// Store is what the check needs from the core store.
type Store interface {
	// AdmittedBenefits returns the current active versions of the
	// benefits that admit provider.
	AdmittedBenefits(ctx context.Context, provider string) ([]Benefit, error)
	// Spent sums, per benefit, the discounts of the person's accepted
	// (not reversed) transactions in each query's period.
	Spent(ctx context.Context, personRef []byte, qs []SpendQuery) (map[string]int64, error)
	// SaveDecision records a decision before it is answered.
	SaveDecision(ctx context.Context, d Decision) error
}

// Decision is one answer, as stored for the transaction that follows.
type Decision struct {
	ID        uuid.UUID
	Provider  string
	PersonRef []byte
	At        time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	WithLines bool
	// SaleCents is the sum of the receipt lines, what all benefits of a
	// transaction together may not exceed; nil without lines (or for a
	// decision stored before it was kept).
	SaleCents  *int64
	Benefits   []Applied
	TotalCents int64
}

// Request is one eligibility question.
type Request struct {
	// PersonCode, or MeansType and MeansNumber.
	PersonCode  string
	MeansType   string
	MeansNumber string
	PointOfSale string
	Terminal    string
	// At is the time of the sale; now when nil.
	At    *time.Time
	Lines []Line
}

// Sentinel errors.
var (
	// ErrUnknownMeans: no active means with this type and number.
	ErrUnknownMeans = errors.New("identification means is not registered or not valid")
	// ErrIdentificationUnavailable: the registry that identifies an eID
	// card could not answer, so the person is not known.
	ErrIdentificationUnavailable = errors.New("the registry that identifies this means is unavailable")
)

// Violation is one invalid field of a request.
type Violation struct {
	Pointer string
	Code    string
	Detail  string
	// DetailLV is Detail in Latvian; without it a Latvian answer has the
	// code's catalogue text alone.
	DetailLV string
}

// ValidationError lists what is wrong with a request.
type ValidationError struct{ Violations []Violation }

func (e *ValidationError) Error() string {
	s := "invalid eligibility request"
	for _, v := range e.Violations {
		s += "; " + v.Pointer + ": " + v.Code
	}
	return s
}

// Config tunes the check.
type Config struct {
	Location    *time.Location
	DecisionTTL time.Duration
	// MaxPast and MaxFuture bound the sale time a check may name.
	MaxPast   time.Duration
	MaxFuture time.Duration
	// InstructionsMaxAge bounds how long the admitted benefits of a
	// provider are reused while the feed head is not known to be current.
	InstructionsMaxAge time.Duration
}

// Service runs eligibility checks.
type Service struct {
	cfg      Config
	store    Store
	registry Registry
	lists    ListMembership
	versions ListVersions
	means    MeansLookup
	cache    *Cache
	keys     Keys
	feedHead func() (int64, bool)
	log      *slog.Logger
	now      func() time.Time

	imu          sync.Mutex
	instructions map[string]instructionEntry

	statuses         *prometheus.CounterVec
	applies, unknown prometheus.Counter
}

type instructionEntry struct {
	head     int64
	loadedAt time.Time
	benefits []Benefit
}

// Deps are the service's collaborators. Lists and Versions may be nil
// while person lists are not wired: list benefits are then unknown.
type Deps struct {
	Store      Store
	Registry   Registry
	Lists      ListMembership
	Versions   ListVersions
	Means      MeansLookup
	Cache      *Cache
	Keys       Keys
	FeedHead   func() (int64, bool)
	Registerer prometheus.Registerer
	Log        *slog.Logger
	Now        func() time.Time
}

// NewService builds the service.
func NewService(cfg Config, d Deps) (*Service, error) {
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Europe/Riga")
		if err != nil {
			return nil, fmt.Errorf("eligibility: %w", err)
		}
		cfg.Location = loc
	}
	if cfg.DecisionTTL <= 0 {
		cfg.DecisionTTL = 5 * time.Minute
	}
	if cfg.MaxPast <= 0 {
		cfg.MaxPast = 24 * time.Hour
	}
	if cfg.MaxFuture <= 0 {
		cfg.MaxFuture = 10 * time.Minute
	}
	if cfg.InstructionsMaxAge <= 0 {
		cfg.InstructionsMaxAge = time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.FeedHead == nil {
		d.FeedHead = func() (int64, bool) { return 0, false }
	}
	s := &Service{
		cfg: cfg, store: d.Store, registry: d.Registry, lists: d.Lists, versions: d.Versions, means: d.Means,
		cache: d.Cache, keys: d.Keys, feedHead: d.FeedHead, log: d.Log, now: d.Now,
		instructions: map[string]instructionEntry{},
		statuses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avis_eligibility_benefits_total",
			Help: "Benefits answered by eligibility checks, by status (applies, unknown: a source could not answer).",
		}, []string{"status"}),
	}
	s.applies, s.unknown = s.statuses.WithLabelValues(string(StatusApplies)), s.statuses.WithLabelValues(string(StatusUnknown))
	if d.Registerer != nil {
		if err := d.Registerer.Register(s.statuses); err != nil {
			return nil, fmt.Errorf("eligibility metrics: %w", err)
		}
	}
	return s, nil
}

// Location is the time zone of validity dates.
func (s *Service) Location() *time.Location { return s.cfg.Location }

// Check answers one eligibility question for provider.
func (s *Service) Check(ctx context.Context, provider string, req Request) (Decision, error) {
	now := s.now().Truncate(time.Microsecond)
	at := now
	var vs []Violation
	if req.At != nil {
		at = *req.At
		if at.Before(now.Add(-s.cfg.MaxPast)) || at.After(now.Add(s.cfg.MaxFuture)) {
			vs = append(vs, Violation{Pointer: "/at", Code: "eligibility.at_out_of_range",
				Detail:   fmt.Sprintf("within the last %s and at most %s ahead", s.cfg.MaxPast, s.cfg.MaxFuture),
				DetailLV: fmt.Sprintf("ne senāk kā pirms %s un ne vairāk kā %s uz priekšu", s.cfg.MaxPast, s.cfg.MaxFuture)})
		}
	}
	seen := map[string]bool{}
	for i, l := range req.Lines {
		if seen[l.ID] {
			vs = append(vs, Violation{Pointer: "/lines/" + strconv.Itoa(i) + "/lineId", Code: "eligibility.line_id_duplicate"})
		}
		seen[l.ID] = true
		if l.AmountCents < 0 {
			vs = append(vs, Violation{Pointer: "/lines/" + strconv.Itoa(i) + "/amountCents", Code: "schema.minimum", Detail: "must be 0 or more", DetailLV: "mazākā pieļaujamā vērtība: 0"})
		}
	}
	var code personcode.Code
	switch {
	case req.PersonCode != "" && req.MeansType != "":
		vs = append(vs, Violation{Pointer: "/person", Code: "eligibility.person_exactly_one"})
	case req.PersonCode != "":
		c, err := personcode.Parse(req.PersonCode)
		if err != nil {
			// The code's catalogue text says what err says.
			vs = append(vs, Violation{Pointer: "/person/personCode", Code: personcode.ErrorCode(err)})
		}
		code = c
	case req.MeansType == "":
		vs = append(vs, Violation{Pointer: "/person", Code: "eligibility.person_exactly_one"})
	}
	if len(vs) > 0 {
		return Decision{}, &ValidationError{Violations: vs}
	}
	day := civil(at, s.cfg.Location)
	var onlyGrantor string // a grantor's means unlock only its benefits
	if code == "" {
		c, g, err := s.resolveMeans(ctx, means.Type(req.MeansType), req.MeansNumber, day)
		if err != nil {
			return Decision{}, err
		}
		code, onlyGrantor = c, g
	}

	candidates, err := s.admitted(ctx, provider)
	if err != nil {
		return Decision{}, err
	}
	if onlyGrantor != "" {
		var own []Benefit
		for _, b := range candidates {
			if b.Grantor == onlyGrantor {
				own = append(own, b)
			}
		}
		candidates = own
	}
	d := Decision{
		ID: uuid.Must(uuid.NewV7()), Provider: provider, PersonRef: s.keys.PersonRefOf(string(code)),
		At: at.UTC().Truncate(time.Microsecond), CreatedAt: now.UTC(), ExpiresAt: now.Add(s.cfg.DecisionTTL).UTC(), WithLines: len(req.Lines) > 0,
	}
	if len(req.Lines) > 0 {
		var sale int64
		for _, l := range req.Lines {
			sale += l.AmountCents
		}
		d.SaleCents = &sale
	}
	if len(candidates) > 0 {
		ev, err := s.gather(ctx, code, candidates, day, at, d.PersonRef)
		if err != nil {
			return Decision{}, err
		}
		if !ev.PersonKnown || ev.Person.Found {
			d.Benefits = Decide(candidates, ev, day, req.Lines)
		}
	}
	for _, b := range d.Benefits {
		if b.Status == StatusApplies {
			if b.DiscountCents != nil {
				d.TotalCents += *b.DiscountCents
			}
			s.applies.Inc()
		} else {
			s.unknown.Inc()
		}
	}
	if err := s.store.SaveDecision(ctx, d); err != nil {
		return Decision{}, fmt.Errorf("save decision: %w", err)
	}
	return d, nil
}

// admitted returns the benefits that admit provider, from memory while the
// instruction feed has not moved.
func (s *Service) admitted(ctx context.Context, provider string) ([]Benefit, error) {
	head, current := s.feedHead()
	now := s.now()
	s.imu.Lock()
	e, ok := s.instructions[provider]
	s.imu.Unlock()
	if ok && ((current && e.head == head) || (!current && now.Sub(e.loadedAt) < s.cfg.InstructionsMaxAge)) {
		return e.benefits, nil
	}
	bs, err := s.store.AdmittedBenefits(ctx, provider)
	if err != nil {
		return nil, fmt.Errorf("admitted benefits: %w", err)
	}
	s.imu.Lock()
	s.instructions[provider] = instructionEntry{head: head, loadedAt: now, benefits: bs}
	s.imu.Unlock()
	return bs, nil
}

// periodBounds is the calendar period (in loc) around at.
func periodBounds(p benefits.Period, at time.Time, loc *time.Location) (time.Time, time.Time) {
	t := at.In(loc)
	y, m, d := t.Date()
	switch p {
	case "day":
		from := time.Date(y, m, d, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 0, 1)
	case "week":
		offset := (int(t.Weekday()) + 6) % 7 // Monday first
		from := time.Date(y, m, d-offset, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 0, 7)
	case "year":
		from := time.Date(y, 1, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(1, 0, 0)
	default: // month
		from := time.Date(y, m, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 1, 0)
	}
}

// PeriodBounds is the calendar period of a per-person limit around at, in
// the service's time zone.
func (s *Service) PeriodBounds(p benefits.Period, at time.Time) (time.Time, time.Time) {
	return periodBounds(p, at, s.cfg.Location)
}
