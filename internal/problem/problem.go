// Package problem describes the gateway's errors as RFC 9457 problem details:
// a stable type per kind of problem, the offending fields, and messages in
// Latvian or English.
package problem

import (
	"fmt"
	"strconv"
	"strings"
)

// TypeBase prefixes every problem type URI. The URIs are identifiers that
// integrators match on; they are documented in the README.
const TypeBase = "https://avis.gov.lv/problems/"

// Kind is one stable kind of problem.
type Kind struct {
	Slug    string
	Status  int
	TitleEN string
	TitleLV string
}

// Type is the problem's stable type URI.
func (k Kind) Type() string { return TypeBase + k.Slug }

// The kinds of problems the gateway answers with.
var (
	Validation       = Kind{"validation", 400, "The request is not valid", "Pieprasījums nav derīgs"}
	Unauthorized     = Kind{"unauthorized", 401, "Authentication is required", "Nepieciešama autentifikācija"}
	InvalidToken     = Kind{"invalid-token", 401, "The access token is not valid", "Piekļuves marķieris nav derīgs"}
	InvalidClient    = Kind{"invalid-client", 401, "Client authentication failed", "Klienta autentifikācija neizdevās"}
	InvalidGrant     = Kind{"invalid-request", 400, "The token request is not valid", "Marķiera pieprasījums nav derīgs"}
	Forbidden        = Kind{"forbidden", 403, "You may not do this", "Jums nav tiesību to darīt"}
	NotOwner         = Kind{"not-owner", 403, "This belongs to another organisation", "Tas pieder citai organizācijai"}
	NotFound         = Kind{"not-found", 404, "Not found", "Nav atrasts"}
	MethodNotAllowed = Kind{"method-not-allowed", 405, "Method not allowed", "Metode nav atļauta"}
	Conflict         = Kind{"conflict", 409, "The resource is in a state that forbids this", "Resursa stāvoklis to neļauj"}
	PreconditionFail = Kind{"precondition-failed", 412, "The resource has changed since you read it", "Resurss ir mainījies kopš nolasīšanas"}
	TooLarge         = Kind{"too-large", 413, "The request body is too large", "Pieprasījuma saturs ir pārāk liels"}
	UnsupportedMedia = Kind{"unsupported-media-type", 415, "Unsupported content type", "Neatbalstīts satura tips"}
	BusinessRule     = Kind{"business-rule", 422, "The request breaks a business rule", "Pieprasījums pārkāpj biznesa noteikumu"}
	ExcludedKind     = Kind{"excluded-benefit-kind", 422, "AVIS does not cover this kind of benefit", "AVIS neaptver šāda veida atvieglojumus"}
	IdempotencyReuse = Kind{"idempotency-key-reused", 422, "The Idempotency-Key was used with a different request", "Idempotences atslēga izmantota citam pieprasījumam"}
	RateLimited      = Kind{"rate-limited", 429, "Too many requests", "Pārāk daudz pieprasījumu"}
	Internal         = Kind{"internal", 500, "Internal error", "Iekšēja kļūda"}
	NotImplemented   = Kind{"not-implemented", 501, "Not available in this gateway release", "Šajā vārtejas versijā nav pieejams"}
	Unavailable      = Kind{"unavailable", 503, "A dependency is unavailable; try again", "Atkarīgs pakalpojums nav pieejams; mēģiniet vēlreiz"}
	RequestTimeout   = Kind{"timeout", 504, "The request took too long", "Pieprasījums ilga pārāk ilgi"}
)

// Kinds lists every kind, for documentation checks.
func Kinds() []Kind {
	return []Kind{Validation, Unauthorized, InvalidToken, InvalidClient, InvalidGrant, Forbidden, NotOwner, NotFound, MethodNotAllowed, Conflict, PreconditionFail, TooLarge, UnsupportedMedia, BusinessRule, ExcludedKind, IdempotencyReuse, RateLimited, Internal, NotImplemented, Unavailable, RequestTimeout}
}

// FieldError names one offending field: a JSON pointer into the body, a
// parameter, or a file row and column.
type FieldError struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Row       int    `json:"row,omitempty"`
	Column    string `json:"column,omitempty"`
	Code      string `json:"code"`
	// Detail is an English explanation used when the code has no catalog
	// entry, or to add specifics such as the allowed values.
	Detail string `json:"detail"`
	// HintLV is Detail's specifics in Latvian, added to the catalogue's
	// Latvian text. Without it a Latvian message has the catalogue's text
	// alone: Detail is English and is never mixed into Latvian.
	HintLV string `json:"-"`
	// DetailLV, when set, is Detail in Latvian, and the two are complete
	// texts that replace the catalog's: for errors that carry their own
	// bilingual texts (an uploaded file's), which the catalog does not hold.
	DetailLV string `json:"-"`
}

// MaxErrors bounds the errors one problem lists: a caller who sent 100 000
// bad items needs the first ones to fix, not a document of hundreds of
// megabytes that costs the gateway as much to build.
const MaxErrors = 100

// Problem is an error that knows how to present itself to a client.
type Problem struct {
	Kind     Kind
	DetailEN string
	DetailLV string
	Errors   []FieldError
	// ErrorsTruncated says that Errors are not all the errors found: their
	// producer stopped looking. Render sets it too when it drops some.
	ErrorsTruncated bool
	// OAuthError is the RFC 6749 error code, set on token-endpoint problems.
	OAuthError string
	// Headers are added to the response (WWW-Authenticate, Retry-After, ...).
	Headers map[string]string
	// Cause is logged, never shown.
	Cause error
}

// New makes a problem of the given kind with an English and a Latvian detail.
func New(kind Kind, detailEN, detailLV string) *Problem {
	return &Problem{Kind: kind, DetailEN: detailEN, DetailLV: detailLV}
}

// Fields makes a validation problem from field errors.
func Fields(kind Kind, errs ...FieldError) *Problem {
	return &Problem{Kind: kind, Errors: errs}
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Kind.Slug)
	if p.DetailEN != "" {
		b.WriteString(": ")
		b.WriteString(p.DetailEN)
	}
	for _, e := range p.Errors {
		fmt.Fprintf(&b, "; %s%s%s %s", e.Pointer, e.Parameter, e.Column, e.Code)
	}
	if p.Cause != nil {
		b.WriteString(": ")
		b.WriteString(p.Cause.Error())
	}
	return b.String()
}

func (p *Problem) Unwrap() error { return p.Cause }

// Body is the JSON document of a problem.
type Body struct {
	Type             string       `json:"type"`
	Title            string       `json:"title"`
	Status           int          `json:"status"`
	Detail           string       `json:"detail,omitempty"`
	Instance         string       `json:"instance,omitempty"`
	RequestID        string       `json:"requestId,omitempty"`
	Errors           []FieldError `json:"errors,omitempty"`
	ErrorsTruncated  bool         `json:"errorsTruncated,omitempty"`
	OAuthError       string       `json:"error,omitempty"`
	OAuthDescription string       `json:"error_description,omitempty"`
}

// Render presents the problem in lang ("lv" or anything else for English).
func (p *Problem) Render(lang, instance, requestID string) Body {
	lv := lang == "lv"
	b := Body{
		Type:      p.Kind.Type(),
		Title:     p.Kind.TitleEN,
		Status:    p.Kind.Status,
		Detail:    p.DetailEN,
		Instance:  instance,
		RequestID: requestID,
	}
	if lv {
		b.Title = p.Kind.TitleLV
		if p.DetailLV != "" {
			b.Detail = p.DetailLV
		}
	}
	errs := p.Errors
	b.ErrorsTruncated = p.ErrorsTruncated
	if len(errs) > MaxErrors {
		errs, b.ErrorsTruncated = errs[:MaxErrors], true
	}
	if len(errs) > 0 {
		b.Errors = make([]FieldError, len(errs))
		for i, e := range errs {
			switch {
			case e.DetailLV == "":
				e.Detail = Message(e.Code, lang, e.Detail, e.HintLV)
			case lv:
				e.Detail = e.DetailLV
			}
			b.Errors[i] = e
		}
	}
	if b.ErrorsTruncated && b.Detail == "" {
		b.Detail = fmt.Sprintf("Only the first %d errors are listed; fix them and send the request again to see any others", len(errs))
		if lv {
			b.Detail = fmt.Sprintf("Uzskaitītas tikai pirmās %d kļūdas; izlabojiet tās un nosūtiet pieprasījumu vēlreiz, lai redzētu pārējās", len(errs))
		}
	}
	if p.OAuthError != "" {
		b.OAuthError = p.OAuthError
		b.OAuthDescription = p.DetailEN
		if b.OAuthDescription == "" {
			b.OAuthDescription = p.Kind.TitleEN
		}
	}
	return b
}

// Language picks "lv" or "en" from an Accept-Language header, honouring the
// order (and ignoring q-values beyond order, which clients rarely vary).
func Language(acceptLanguage string) string {
	best, bestQ := "en", 0.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		var lang string
		switch {
		case tag == "lv" || strings.HasPrefix(tag, "lv-"):
			lang = "lv"
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			lang = "en"
		default:
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				continue
			}
			q = f
		}
		// q=0 means "not this one"; among the rest the highest wins, the
		// first of equals.
		if q > bestQ {
			best, bestQ = lang, q
		}
	}
	return best
}
