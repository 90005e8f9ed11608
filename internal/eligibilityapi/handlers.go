// Package eligibilityapi serves identification means, the real-time
// eligibility check, transactions, receipts and spend reports over HTTP:
// it translates the contract's types to the domain packages' calls and
// their errors to problems.
package eligibilityapi

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/avis-lv/gateway/api"
	"github.com/avis-lv/gateway/internal/eligibility"
	"github.com/avis-lv/gateway/internal/httpx"
	"github.com/avis-lv/gateway/internal/means"
	"github.com/avis-lv/gateway/internal/problem"
	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/internal/transactions"
)

// Handlers implements httpapi.MeansHandlers, EligibilityHandlers and
// TransactionHandlers.
type Handlers struct {
	Means        *means.Service
	Eligibility  *eligibility.Service
	Transactions *transactions.Service
}

func org(c echo.Context) (string, error) {
	p, err := httpx.Principal(c)
	if err != nil {
		return "", err
	}
	return p.OrgRegNo, nil
}

func bind(c echo.Context, v any) error {
	var err error
	if b, ok := c.Request().Body.(*httpx.BufferedBody); ok {
		err = json.Unmarshal(b.Bytes(), v)
	} else {
		err = json.NewDecoder(c.Request().Body).Decode(v)
	}
	if err != nil {
		return problem.Fields(problem.Validation, problem.FieldError{Code: "body.malformed", Detail: "the body is not valid JSON for this operation"})
	}
	return nil
}

func datePtr(d *openapi_types.Date) *time.Time {
	if d == nil {
		return nil
	}
	t := d.Time
	return &t
}

func apiDate(t *time.Time) *openapi_types.Date {
	if t == nil {
		return nil
	}
	return &openapi_types.Date{Time: *t}
}

// PutMeans registers or updates an identification means.
func (h *Handlers) PutMeans(c echo.Context, t api.MeansType, number string, _ api.PutMeansParams) error {
	httpx.NoStore(c)
	grantor, err := org(c)
	if err != nil {
		return err
	}
	var body api.MeansRegistration
	if err := bind(c, &body); err != nil {
		return err
	}
	m, created, err := h.Means.Put(c.Request().Context(), means.Caller{OrgRegNo: grantor}, means.Type(t), number,
		means.Registration{PersonCode: body.PersonCode, ValidFrom: datePtr(body.ValidFrom), ValidTo: datePtr(body.ValidTo)})
	if err != nil {
		return err
	}
	out := api.Means{Type: api.MeansType(m.Type), Number: m.Number, Status: api.MeansStatus(m.Status), ValidFrom: apiDate(m.ValidFrom), ValidTo: apiDate(m.ValidTo)}
	if created {
		c.Response().Header().Set("Location", "/v1/means/"+string(m.Type)+"/"+m.Number)
		return c.JSON(http.StatusCreated, out)
	}
	return c.JSON(http.StatusOK, out)
}

// RevokeMeans revokes an identification means.
func (h *Handlers) RevokeMeans(c echo.Context, t api.MeansType, number string, _ api.RevokeMeansParams) error {
	grantor, err := org(c)
	if err != nil {
		return err
	}
	if err := h.Means.Revoke(c.Request().Context(), means.Caller{OrgRegNo: grantor}, means.Type(t), number); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// CheckEligibility answers which benefits apply.
func (h *Handlers) CheckEligibility(c echo.Context, _ api.CheckEligibilityParams) error {
	provider, err := org(c)
	if err != nil {
		return err
	}
	var body api.EligibilityRequest
	if err := bind(c, &body); err != nil {
		return err
	}
	req := eligibility.Request{PointOfSale: body.PointOfSale.Id, At: body.At}
	if body.PointOfSale.TerminalId != nil {
		req.Terminal = *body.PointOfSale.TerminalId
	}
	if body.Person.PersonCode != nil {
		req.PersonCode = *body.Person.PersonCode
	}
	if m := body.Person.Means; m != nil {
		req.MeansType, req.MeansNumber = string(m.Type), m.Number
	}
	if body.Lines != nil {
		req.Lines = make([]eligibility.Line, len(*body.Lines))
		for i, l := range *body.Lines {
			q := 1
			if l.Quantity != nil {
				q = *l.Quantity
			}
			req.Lines[i] = eligibility.Line{ID: l.LineId, GoodsCode: l.GoodsCode, Quantity: q, AmountCents: l.AmountCents}
		}
	}
	d, err := h.Eligibility.Check(c.Request().Context(), provider, req)
	if err != nil {
		return err
	}
	httpx.NoStore(c)
	return c.JSONBlob(http.StatusOK, appendDecision(make([]byte, 0, 512), d))
}

// appendDecision writes the EligibilityDecision of the contract by hand:
// it is the answer of the gateway's hottest operation, and reflection-based
// encoding cost more than the decision itself.
func appendDecision(b []byte, d eligibility.Decision) []byte {
	b = append(b, `{"decisionId":"`...)
	b = append(b, d.ID.String()...)
	b = append(b, `","expiresAt":"`...)
	b = d.ExpiresAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","benefits":[`...)
	for i, a := range d.Benefits {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"benefitId":`...)
		b = appendJSONString(b, a.BenefitID)
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(a.Version), 10)
		b = append(b, `,"grantor":`...)
		b = appendJSONString(b, a.Grantor)
		b = append(b, `,"status":`...)
		b = appendJSONString(b, string(a.Status))
		b = append(b, `,"combinable":`...)
		b = strconv.AppendBool(b, a.Combinable)
		if a.DiscountCents != nil {
			b = append(b, `,"discountCents":`...)
			b = strconv.AppendInt(b, *a.DiscountCents, 10)
		}
		if a.MaxCents != nil {
			b = append(b, `,"maxDiscountCents":`...)
			b = strconv.AppendInt(b, *a.MaxCents, 10)
		}
		if len(a.Lines) > 0 {
			b = append(b, `,"lines":[`...)
			for j, l := range a.Lines {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"lineId":`...)
				b = appendJSONString(b, l.LineID)
				b = append(b, `,"discountCents":`...)
				b = strconv.AppendInt(b, l.DiscountCents, 10)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, `],"totalDiscountCents":`...)
	b = strconv.AppendInt(b, d.TotalCents, 10)
	return append(b, '}', '\n')
}

// appendJSONString writes s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// ReportTransaction records a transaction.
func (h *Handlers) ReportTransaction(c echo.Context, p api.ReportTransactionParams) error {
	httpx.NoStore(c)
	provider, err := org(c)
	if err != nil {
		return err
	}
	var body api.TransactionReport
	if err := bind(c, &body); err != nil {
		return err
	}
	r := transactions.Report{DecisionID: body.DecisionId, ReceiptNumber: body.ReceiptNumber, OccurredAt: body.OccurredAt, TotalCents: body.TotalCents}
	for _, b := range body.Benefits {
		r.Benefits = append(r.Benefits, transactions.Claim{BenefitID: b.BenefitId, DiscountCents: b.DiscountCents})
	}
	t, _, err := h.Transactions.Report(c.Request().Context(), provider, p.IdempotencyKey, r)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/v1/receipts/"+t.ReceiptID.String())
	return c.JSON(http.StatusCreated, providerTransaction(t))
}

// ReverseTransaction cancels a transaction.
func (h *Handlers) ReverseTransaction(c echo.Context, id openapi_types.UUID, p api.ReverseTransactionParams) error {
	httpx.NoStore(c)
	provider, err := org(c)
	if err != nil {
		return err
	}
	var body api.ReversalRequest
	raw, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<16))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &body) != nil {
		return problem.Fields(problem.Validation, problem.FieldError{Code: "body.malformed", Detail: "the body is not valid JSON for this operation"})
	}
	reason := ""
	if body.Reason != nil {
		reason = *body.Reason
	}
	t, err := h.Transactions.Reverse(c.Request().Context(), provider, id, p.IdempotencyKey, reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, providerTransaction(t))
}

// ListTransactions pages through the grantor's transactions.
func (h *Handlers) ListTransactions(c echo.Context, p api.ListTransactionsParams) error {
	httpx.NoStore(c)
	grantor, err := org(c)
	if err != nil {
		return err
	}
	var f transactions.Filter
	if p.BenefitId != nil {
		f.BenefitID = *p.BenefitId
	}
	if p.Provider != nil {
		f.Provider = *p.Provider
	}
	if p.From != nil {
		f.From = p.From.Time
	}
	if p.To != nil {
		f.To = p.To.Time
	}
	if p.From != nil && p.To != nil && f.To.Before(f.From) {
		return problem.Fields(problem.Validation, problem.FieldError{Parameter: "to", Code: "dates.order"})
	}
	if p.Status != nil {
		f.Status = transactions.Status(*p.Status)
	}
	items, resume, more, err := h.Transactions.List(c.Request().Context(), grantor, f, httpx.ValueOr(p.Cursor, ""), httpx.ValueOr(p.Limit, 100))
	if err != nil {
		return err
	}
	// nextCursor only while more is available, as clients that page
	// "while nextCursor is given" expect; resumeCursor on every page.
	page := api.TransactionPage{Items: make([]api.Transaction, len(items)), ResumeCursor: resume, HasMore: more}
	if more {
		page.NextCursor = &resume
	}
	for i, t := range items {
		// No receipt ids: a receipt names every benefit of the sale,
		// also other grantors', and is its provider's to read.
		page.Items[i] = transactionToAPI(t)
	}
	return c.JSON(http.StatusOK, page)
}

// ListReportedTransactions pages through the transactions the provider
// reported, by sale date.
func (h *Handlers) ListReportedTransactions(c echo.Context, p api.ListReportedTransactionsParams) error {
	httpx.NoStore(c)
	provider, err := org(c)
	if err != nil {
		return err
	}
	var from, to time.Time
	if p.From != nil {
		from = p.From.Time
	}
	if p.To != nil {
		to = p.To.Time
	}
	var status transactions.Status
	if p.Status != nil {
		status = transactions.Status(*p.Status)
	}
	items, next, err := h.Transactions.ListReported(c.Request().Context(), provider, from, to,
		httpx.ValueOr(p.ReceiptNumber, ""), status, httpx.ValueOr(p.Cursor, ""), httpx.ValueOr(p.Limit, 100))
	if errors.Is(err, transactions.ErrDateOrder) || errors.Is(err, transactions.ErrDateRange) {
		// Name the date the caller gave: with to left out, it is today.
		fe := problem.FieldError{Parameter: "to", Code: "dates.order"}
		if p.To == nil {
			fe.Parameter = "from"
		}
		if errors.Is(err, transactions.ErrDateRange) {
			fe.Code, fe.Detail = "dates.range", err.Error()
			fe.HintLV = fmt.Sprintf("no pirmā datuma līdz pēdējam ne vairāk kā %d dienas", transactions.MaxReportedDays)
		}
		return problem.Fields(problem.Validation, fe)
	}
	if err != nil {
		return err
	}
	page := api.ReportedTransactionPage{Items: make([]api.Transaction, len(items)), HasMore: next != ""}
	if next != "" {
		page.NextCursor = &next
	}
	for i, t := range items {
		page.Items[i] = providerTransaction(t)
	}
	return c.JSON(http.StatusOK, page)
}

// GetSpendReport reports the grantor's spend.
func (h *Handlers) GetSpendReport(c echo.Context, p api.GetSpendReportParams) error {
	httpx.Private(c)
	grantor, err := org(c)
	if err != nil {
		return err
	}
	if p.To.Before(p.From.Time) {
		return problem.Fields(problem.Validation, problem.FieldError{Parameter: "to", Code: "dates.order"})
	}
	rep, err := h.Transactions.Spend(c.Request().Context(), grantor, p.From.Time, p.To.Time, string(p.GroupBy))
	if err != nil {
		return err
	}
	out := api.SpendReport{From: p.From, To: p.To, GroupBy: api.SpendReportGroupBy(p.GroupBy),
		TotalDiscountCents: rep.TotalCents, TotalReversedDiscountCents: rep.TotalReversedCents, Groups: make([]api.SpendGroup, len(rep.Groups))}
	for i, g := range rep.Groups {
		out.Groups[i] = api.SpendGroup{Key: g.Key, Transactions: g.Transactions, DiscountCents: g.DiscountCents,
			ReversedTransactions: g.ReversedTransactions, ReversedDiscountCents: g.ReversedDiscountCents}
		if g.Name != "" {
			name := g.Name
			out.Groups[i].Name = &name
		}
	}
	return c.JSON(http.StatusOK, out)
}

// GetReceipt answers the signed XML receipt or its JSON view.
func (h *Handlers) GetReceipt(c echo.Context, id openapi_types.UUID, _ api.GetReceiptParams) error {
	owner, err := org(c)
	if err != nil {
		return err
	}
	r, err := h.Transactions.Receipt(c.Request().Context(), owner, id)
	if err != nil {
		return err
	}
	if httpx.Negotiate(c.Request().Header.Get("Accept"), "application/json", "application/xml", "text/xml") != "application/json" {
		doc, err := transactions.SignedXML(r.Receipt)
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "application/xml", doc)
	}
	valid := r.SignatureValid
	out := api.Receipt{Id: r.ID, Kind: api.ReceiptKind(r.Kind), SubjectId: r.SubjectID, AcceptedAt: r.AcceptedAt.UTC(),
		Digest: hex.EncodeToString(r.Digest[:]), SignatureValid: &valid}
	// The certificate that signed this receipt, which after a key rotation
	// is no longer the one the gateway signs with now.
	if sig := r.Receipt.Signature; sig != nil && sig.Certificate != nil {
		fp := signing.Fingerprint(sig.Certificate)
		out.CertificateSha256 = &fp
	} else if fp := h.Transactions.Signer().Fingerprint(); fp != "" {
		out.CertificateSha256 = &fp
	}
	return c.JSON(http.StatusOK, out)
}

// providerTransaction is the transaction as its provider sees it: with its
// receipts.
func providerTransaction(t transactions.Transaction) api.Transaction {
	out := transactionToAPI(t)
	receipt := t.ReceiptID
	out.ReceiptId, out.ReversalReceiptId = &receipt, t.ReversalReceiptID
	return out
}

// transactionToAPI is the transaction without its receipts, as its
// benefits' grantors see it.
func transactionToAPI(t transactions.Transaction) api.Transaction {
	provider := t.Provider
	acceptedAt := t.AcceptedAt.UTC()
	out := api.Transaction{
		Id: t.ID, Status: api.TransactionStatus(t.Status), DecisionId: t.DecisionID, Provider: &provider,
		ReceiptNumber: t.ReceiptNumber, OccurredAt: t.OccurredAt.UTC(), TotalCents: t.TotalCents,
		AcceptedAt: &acceptedAt,
	}
	if t.ReversedAt != nil {
		v := t.ReversedAt.UTC()
		out.ReversedAt = &v
	}
	if t.ReversalReason != "" {
		r := t.ReversalReason
		out.ReversalReason = &r
	}
	out.Benefits = make([]struct {
		BenefitId     string                  `json:"benefitId"`
		DiscountCents int64                   `json:"discountCents"`
		Grantor       *api.RegistrationNumber `json:"grantor,omitempty"`
		StandIn       *bool                   `json:"standIn,omitempty"`
		Version       *int                    `json:"version,omitempty"`
	}, len(t.Benefits))
	for i, l := range t.Benefits {
		b := &out.Benefits[i]
		b.BenefitId, b.DiscountCents = l.BenefitID, l.DiscountCents
		grantor, version := l.Grantor, l.Version
		b.Grantor, b.Version = &grantor, &version
		if l.StandIn {
			v := true
			b.StandIn = &v
		}
	}
	return out
}

// Routes adds the gateway's certificate, the one receipts are verified
// with, at /certs/gateway.pem.
func (h *Handlers) Routes(e *echo.Echo) {
	e.GET("/certs/gateway.pem", h.certificate)
}

func (h *Handlers) certificate(c echo.Context) error {
	pem := h.Transactions.Signer().Certificate()
	if pem == nil {
		return problem.New(problem.NotFound, "The gateway has no signing certificate configured", "Vārtejai nav konfigurēts parakstīšanas sertifikāts")
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, "application/x-pem-file", pem)
}

// ErrorMapper turns the errors of means, eligibility and transactions into
// problems.
func ErrorMapper(err error) *problem.Problem {
	var mv *means.ValidationError
	var ev *eligibility.ValidationError
	var tr *transactions.RuleError
	switch {
	case errors.As(err, &mv):
		fs := make([]problem.FieldError, len(mv.Violations))
		for i, v := range mv.Violations {
			fs[i] = problem.FieldError{Pointer: v.Pointer, Parameter: v.Parameter, Code: v.Code, Detail: v.Detail, HintLV: v.DetailLV}
		}
		return problem.Fields(problem.Validation, fs...)
	case errors.As(err, &ev):
		fs := make([]problem.FieldError, len(ev.Violations))
		for i, v := range ev.Violations {
			fs[i] = problem.FieldError{Pointer: v.Pointer, Code: v.Code, Detail: v.Detail, HintLV: v.DetailLV}
		}
		return problem.Fields(problem.Validation, fs...)
	case errors.As(err, &tr):
		fs := make([]problem.FieldError, len(tr.Violations))
		for i, v := range tr.Violations {
			fs[i] = problem.FieldError{Pointer: v.Pointer, Code: v.Code, Detail: v.Detail, HintLV: v.DetailLV}
			if !strings.HasPrefix(v.Pointer, "/") {
				fs[i].Pointer, fs[i].Parameter = "", v.Pointer
			}
		}
		return problem.Fields(problem.BusinessRule, fs...)
	case errors.Is(err, means.ErrNotFound):
		return problem.New(problem.NotFound, "No identification means with this type and number", "Nav identifikācijas līdzekļa ar šo veidu un numuru")
	case errors.Is(err, means.ErrNotOwner):
		return problem.New(problem.NotOwner, "This identification means was registered by another grantor", "Šo identifikācijas līdzekli reģistrējis cits devējs")
	case errors.Is(err, eligibility.ErrUnknownMeans):
		return problem.New(problem.NotFound, "No active identification means with this type and number", "Nav aktīva identifikācijas līdzekļa ar šo veidu un numuru")
	case errors.Is(err, eligibility.ErrIdentificationUnavailable):
		p := problem.New(problem.Unavailable, "The registry that identifies this means cannot answer now; try again or use the personal code", "Reģistrs, kas identificē šo līdzekli, pašlaik neatbild; mēģiniet vēlreiz vai izmantojiet personas kodu")
		p.Headers = map[string]string{"Retry-After": "1"}
		p.Cause = err
		return p
	case errors.Is(err, transactions.ErrDecisionUsed):
		return problem.Fields(problem.Conflict, problem.FieldError{Pointer: "/decisionId", Code: "decision.used"})
	case errors.Is(err, transactions.ErrKeyReused):
		return problem.Fields(problem.IdempotencyReuse, problem.FieldError{Parameter: "Idempotency-Key", Code: "idempotency.key_reused"})
	case errors.Is(err, transactions.ErrAlreadyReversed):
		return problem.Fields(problem.Conflict, problem.FieldError{Parameter: "transactionId", Code: "transaction.already_reversed"})
	case errors.Is(err, transactions.ErrInvalidCursor):
		return problem.Fields(problem.Validation, problem.FieldError{Parameter: "cursor", Code: "cursor.invalid"})
	case errors.Is(err, transactions.ErrNotFound):
		return problem.New(problem.NotFound, "No such transaction or receipt of yours", "Nav šāda jūsu darījuma vai kvīts")
	case errors.Is(err, transactions.ErrSigningDisabled):
		return problem.New(problem.Unavailable, "The gateway has no signing key configured; the JSON view of the receipt is available", "Vārtejai nav konfigurēta parakstīšanas atslēga; pieejams kvīts JSON skats")
	}
	return nil
}
