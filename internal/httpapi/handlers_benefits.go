package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/avis-lv/gateway/api"
	"github.com/avis-lv/gateway/internal/benefits"
	"github.com/avis-lv/gateway/internal/httpx"
	"github.com/avis-lv/gateway/internal/problem"
)

const defaultPageSize = 100

func caller(c echo.Context) (benefits.Caller, error) {
	p, err := httpx.Principal(c)
	if err != nil {
		return benefits.Caller{}, err
	}
	return benefits.Caller{OrgRegNo: p.OrgRegNo, ClientID: p.ClientID}, nil
}

// PutBenefit creates a benefit or stores a new version of it.
func (s *Server) PutBenefit(c echo.Context, id api.BenefitId, p api.PutBenefitParams) error {
	who, err := caller(c)
	if err != nil {
		return err
	}
	var body api.BenefitInstruction
	if err := c.Bind(&body); err != nil {
		return problem.Fields(problem.Validation, problem.FieldError{Code: "body.malformed", Detail: "the body is not a valid benefit instruction"})
	}
	var ifMatch *benefits.IfMatch
	if p.IfMatch != nil {
		if strings.TrimSpace(*p.IfMatch) == "*" {
			ifMatch = &benefits.IfMatch{Any: true}
		} else {
			ifMatch = &benefits.IfMatch{}
			for tag := range strings.SplitSeq(*p.IfMatch, ",") {
				v, weak, ok := parseVersionETag(tag)
				if !ok {
					return problem.Fields(problem.Validation, problem.FieldError{Parameter: "If-Match", Code: "parameter.invalid", Detail: `send the ETag of a version, e.g. "v3", a list of them, or *`, HintLV: `sūtiet versijas ETag, piemēram, "v3", to sarakstu vai *`})
				}
				// If-Match compares strongly (RFC 9110 13.1.1): a weak
				// tag is well formed but matches no version, so the
				// change is refused with 412 rather than applied.
				if !weak {
					ifMatch.Versions = append(ifMatch.Versions, v)
				}
			}
		}
	}
	b, created, err := s.d.Benefits.Put(c.Request().Context(), who, id, instructionFromAPI(body), ifMatch)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", versionETag(b.Version))
	if created {
		c.Response().Header().Set("Location", "/v1/benefits/"+id)
		return c.JSON(http.StatusCreated, benefitToAPI(b))
	}
	return c.JSON(http.StatusOK, benefitToAPI(b))
}

// GetBenefit returns the latest or a given version of the caller's benefit.
func (s *Server) GetBenefit(c echo.Context, id api.BenefitId, p api.GetBenefitParams) error {
	httpx.Private(c)
	who, err := caller(c)
	if err != nil {
		return err
	}
	v := 0
	if p.Version != nil {
		v = *p.Version
	}
	b, err := s.d.Benefits.Get(c.Request().Context(), who, id, v)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", versionETag(b.Version))
	return c.JSON(http.StatusOK, benefitToAPI(b))
}

// ListBenefits pages through the caller's own benefits.
func (s *Server) ListBenefits(c echo.Context, p api.ListBenefitsParams) error {
	httpx.Private(c)
	who, err := caller(c)
	if err != nil {
		return err
	}
	limit := defaultPageSize
	if p.Limit != nil {
		limit = *p.Limit
	}
	var cursor string
	if p.Cursor != nil {
		cursor = *p.Cursor
	}
	var status benefits.Status
	if p.Status != nil {
		status = benefits.Status(*p.Status)
	}
	items, next, err := s.d.Benefits.List(c.Request().Context(), who, cursor, status, limit)
	if err != nil {
		return err
	}
	page := api.BenefitPage{Items: make([]api.Benefit, len(items))}
	for i, b := range items {
		page.Items[i] = benefitToAPI(b)
	}
	if next != "" {
		page.NextCursor = &next
	}
	return c.JSON(http.StatusOK, page)
}

// WithdrawBenefit withdraws the caller's benefit.
func (s *Server) WithdrawBenefit(c echo.Context, id api.BenefitId, _ api.WithdrawBenefitParams) error {
	who, err := caller(c)
	if err != nil {
		return err
	}
	if err := s.d.Benefits.Withdraw(c.Request().Context(), who, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// ListInstructions is the provider's instruction feed. While nothing has
// changed it answers 304 from memory, without touching the database.
func (s *Server) ListInstructions(c echo.Context, p api.ListInstructionsParams) error {
	httpx.Private(c)
	who, err := caller(c)
	if err != nil {
		return err
	}
	limit := defaultPageSize
	if p.Limit != nil {
		limit = *p.Limit
	}
	since := ""
	if p.Since != nil {
		since = *p.Since
	}
	if err := benefits.CheckFeedCursor(since); err != nil {
		return err
	}
	ctx := c.Request().Context()
	// The head is read before the page, so the ETag can only be older than
	// the content: at worst a client fetches an unchanged page once more.
	head, err := s.d.FeedHead(ctx)
	if err != nil {
		return fmt.Errorf("instruction feed head: %w", err)
	}
	etag := feedETag(head, who.OrgRegNo, since, limit)
	c.Response().Header().Set("ETag", etag)
	if p.IfNoneMatch != nil && etagMatches(*p.IfNoneMatch, etag) {
		return c.NoContent(http.StatusNotModified)
	}
	// Pages are cached by what they are of, not by the ETag's hash: a
	// since chosen to collide with another provider's must not get its page.
	pageKey := who.OrgRegNo + "\x00" + since + "\x00" + strconv.Itoa(limit)
	if body, ok := s.feedPages.get(head, pageKey); ok {
		return c.JSONBlob(http.StatusOK, body)
	}
	page, err := s.d.Benefits.Feed(ctx, who.OrgRegNo, since, limit)
	if err != nil {
		return err
	}
	out := api.InstructionPage{Items: make([]api.Instruction, len(page.Items)), NextCursor: page.NextCursor, HasMore: page.HasMore}
	for i, it := range page.Items {
		out.Items[i] = instructionToAPI(it)
	}
	body, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode instruction page: %w", err)
	}
	s.feedPages.put(head, pageKey, body)
	return c.JSONBlob(http.StatusOK, body)
}

func feedETag(head int64, org, since string, limit int) string {
	h := fnv.New64a()
	h.Write([]byte(org))
	h.Write([]byte{0})
	h.Write([]byte(since))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(limit)))
	return fmt.Sprintf(`W/"%d-%x"`, head, h.Sum64())
}

// etagMatches implements If-None-Match's weak comparison over a list.
func etagMatches(header, etag string) bool {
	bare := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == bare {
			return true
		}
	}
	return false
}

func versionETag(v int) string { return `"v` + strconv.Itoa(v) + `"` }

// parseVersionETag reads an entity tag of a version, "v3", and whether it
// was given as weak (W/"v3").
func parseVersionETag(s string) (v int, weak bool, ok bool) {
	s, weak = strings.CutPrefix(strings.TrimSpace(s), "W/")
	s, ok = strings.CutPrefix(s, `"v`)
	if !ok {
		return 0, false, false
	}
	s, ok = strings.CutSuffix(s, `"`)
	if !ok {
		return 0, false, false
	}
	v, err := strconv.Atoi(s)
	return v, weak, err == nil && v > 0
}

// benefitsErrors maps the benefits domain's errors to problems.
func benefitsErrors(err error) *problem.Problem {
	var ve *benefits.ValidationError
	switch {
	case errors.As(err, &ve):
		kind := problem.BusinessRule
		if ve.Excluded {
			kind = problem.ExcludedKind
		}
		p := problem.Fields(kind)
		for _, v := range ve.Violations {
			p.Errors = append(p.Errors, problem.FieldError{Pointer: v.Pointer, Code: v.Code, Detail: v.Detail, HintLV: v.DetailLV})
		}
		return p
	case errors.Is(err, benefits.ErrNotFound):
		return problem.New(problem.NotFound, "No such benefit", "Šāda atvieglojuma nav")
	case errors.Is(err, benefits.ErrNotOwner):
		return problem.New(problem.NotOwner, "This benefit belongs to another grantor", "Šis atvieglojums pieder citam devējam")
	case errors.Is(err, benefits.ErrWithdrawn):
		return problem.New(problem.Conflict, "The benefit is withdrawn and can no longer change; create a new benefit id", "Atvieglojums ir atsaukts un vairs nav maināms; izveidojiet jaunu atvieglojuma identifikatoru")
	case errors.Is(err, benefits.ErrVersionMismatch):
		return problem.New(problem.PreconditionFail, "If-Match does not name the current version, or the benefit does not exist yet; GET it and apply your change again", "If-Match nenorāda pašreizējo versiju, vai atvieglojuma vēl nav; nolasiet to un veiciet izmaiņas vēlreiz")
	case errors.Is(err, benefits.ErrConcurrentVersion):
		return problem.New(problem.Conflict, "The benefit was changed at the same moment; GET it and try again", "Atvieglojums tika mainīts tajā pašā brīdī; nolasiet to un mēģiniet vēlreiz")
	case errors.Is(err, benefits.ErrInvalidCursor):
		return problem.Fields(problem.Validation, problem.FieldError{Parameter: "cursor", Code: "cursor.invalid", Detail: "use the nextCursor of a previous page", HintLV: "izmantojiet iepriekšējās lapas nextCursor"})
	case errors.Is(err, benefits.ErrInvalidFeedCursor):
		return problem.Fields(problem.Validation, problem.FieldError{Parameter: "since", Code: "cursor.invalid", Detail: "use the nextCursor of a previous page", HintLV: "izmantojiet iepriekšējās lapas nextCursor"})
	}
	return nil
}
