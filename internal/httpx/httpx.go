// Package httpx holds what every HTTP handler of the gateway shares: the
// authenticated principal and language of a request, and the one place where
// errors become problem+json responses.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/problem"
)

type principalKey struct{}

// WithPrincipal stores the authenticated principal in a request context.
func WithPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the authenticated principal of a request context.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// Principal returns the request's principal. Handlers behind the security
// check always have one; a missing principal is a wiring bug, reported as
// 401 rather than a panic.
func Principal(c echo.Context) (auth.Principal, error) {
	p, ok := PrincipalFrom(c.Request().Context())
	if !ok {
		return auth.Principal{}, problem.New(problem.Unauthorized, "No access token was sent", "Piekļuves marķieris nav nosūtīts")
	}
	return p, nil
}

// Lang is the language of the request's messages: "lv" or "en".
func Lang(c echo.Context) string {
	return problem.Language(c.Request().Header.Get("Accept-Language"))
}

// NoStore marks the answer as one no browser or proxy may keep: every
// answer that carries personal codes or other data about a person (upload
// status and error reports, transactions, identification means,
// eligibility) sets it, before anything can fail, so that its problem
// answers carry it too.
func NoStore(c echo.Context) {
	c.Response().Header().Set("Cache-Control", "no-store")
}

// Private marks the answer as one organisation's data without personal
// data (its benefits, its instruction feed, its spend report): a shared
// cache must not serve it to another caller, and the caller's own cache
// asks again (with the ETag, where the answer has one) before reusing it.
func Private(c echo.Context) {
	c.Response().Header().Set("Cache-Control", "private, no-cache")
}

// RequestID is the id the request-id middleware gave the request.
func RequestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// StatusClientClosed is recorded for a request whose client went away
// before its answer.
const StatusClientClosed = 499

// ErrorMapper turns a domain error into a problem, or returns nil when the
// error is not its own.
type ErrorMapper func(error) *problem.Problem

// ErrorHandler is the gateway's only translation of errors into HTTP
// responses. Unknown errors are logged with the request id and answered as
// a bare 500.
func ErrorHandler(log *slog.Logger, mappers ...ErrorMapper) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		// The client went away (a till's own timeout): nobody reads the
		// answer, and it is no server error to page anyone about.
		// Metrics and the access log record nginx's 499.
		if errors.Is(c.Request().Context().Err(), context.Canceled) && errors.Is(err, context.Canceled) {
			log.DebugContext(c.Request().Context(), "client closed the request",
				"request_id", RequestID(c), "route", c.Path(), "error", err)
			c.Response().Status = StatusClientClosed
			return
		}
		p := toProblem(err, mappers)
		if p.Kind.Status >= 500 {
			log.ErrorContext(c.Request().Context(), "request failed",
				"request_id", RequestID(c), "route", c.Path(), "status", p.Kind.Status, "error", err)
		} else if p.Cause != nil {
			log.DebugContext(c.Request().Context(), "request refused",
				"request_id", RequestID(c), "route", c.Path(), "status", p.Kind.Status, "error", p.Cause)
		}
		WriteProblem(c, p)
	}
}

// WriteProblem writes p as application/problem+json.
func WriteProblem(c echo.Context, p *problem.Problem) {
	body := p.Render(Lang(c), c.Request().URL.Path, RequestID(c))
	h := c.Response().Header()
	for k, v := range p.Headers {
		h.Set(k, v)
	}
	h.Set(echo.HeaderContentType, "application/problem+json")
	h.Set("Content-Language", Lang(c))
	// A problem is about one request, and some name a person's data: no
	// cache keeps one.
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(p.Kind.Status)
	if c.Request().Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(c.Response()).Encode(body)
}

func toProblem(err error, mappers []ErrorMapper) *problem.Problem {
	var p *problem.Problem
	if errors.As(err, &p) {
		return p
	}
	for _, m := range mappers {
		if p := m(err); p != nil {
			return p
		}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return problem.New(problem.NotFound, "No such resource", "Šāda resursa nav")
		case http.StatusMethodNotAllowed:
			return problem.New(problem.MethodNotAllowed, "", "")
		case http.StatusRequestEntityTooLarge:
			return problem.New(problem.TooLarge, "", "")
		case http.StatusUnsupportedMediaType:
			return problem.New(problem.UnsupportedMedia, "", "")
		case http.StatusUnauthorized:
			return problem.New(problem.Unauthorized, "", "")
		case http.StatusServiceUnavailable:
			return &problem.Problem{Kind: problem.Unavailable, Cause: err}
		case http.StatusBadRequest:
			return &problem.Problem{Kind: problem.Validation, DetailEN: "The request could not be read", DetailLV: "Pieprasījumu nevarēja nolasīt", Cause: err}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &problem.Problem{Kind: problem.RequestTimeout, Cause: err}
	}
	return &problem.Problem{Kind: problem.Internal, Cause: err}
}

// NotImplemented answers for operations a later release implements.
func NotImplemented(echo.Context) error {
	return problem.New(problem.NotImplemented, "This operation is specified but not yet available in this gateway release", "Šī darbība ir specificēta, bet šajā vārtejas versijā vēl nav pieejama")
}

// ValueOr is *p, or def when the optional field or parameter was not
// given.
func ValueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
