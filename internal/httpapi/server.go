// Package httpapi assembles the gateway's HTTP server: the contract-checked
// echo router, its middleware, the operations and docs pages, and the
// handlers of authentication and benefit instructions. Handlers translate
// HTTP to domain calls and back; the domain packages know nothing of HTTP.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	openapi_types "github.com/oapi-codegen/runtime/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"

	"github.com/avis-lv/gateway/api"
	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/benefits"
	"github.com/avis-lv/gateway/internal/httpx"
	"github.com/avis-lv/gateway/internal/problem"
	"github.com/avis-lv/gateway/internal/ratelimit"
)

// ReadinessCheck is one dependency /readyz asks.
type ReadinessCheck struct {
	Name  string
	Check func(context.Context) error
	// Degrades marks a dependency the gateway serves without, slower or
	// with less: its failure makes the instance "degraded", still ready.
	// Taking every instance out of the load balancer because a shared
	// cache is down would turn a slowdown into an outage.
	Degrades bool
}

// ListsHandlers serve person lists and uploads.
type ListsHandlers interface {
	GetList(ctx echo.Context, listId api.ListId, params api.GetListParams) error
	PushListMembers(ctx echo.Context, listId api.ListId, params api.PushListMembersParams) error
	UploadListFile(ctx echo.Context, listId api.ListId, params api.UploadListFileParams) error
	GetUpload(ctx echo.Context, uploadId api.UploadId, params api.GetUploadParams) error
	GetUploadErrors(ctx echo.Context, uploadId api.UploadId, params api.GetUploadErrorsParams) error
}

// MeansHandlers serve identification means.
type MeansHandlers interface {
	PutMeans(ctx echo.Context, pType api.MeansType, number string, params api.PutMeansParams) error
	RevokeMeans(ctx echo.Context, pType api.MeansType, number string, params api.RevokeMeansParams) error
}

// EligibilityHandlers serve the real-time eligibility check.
type EligibilityHandlers interface {
	CheckEligibility(ctx echo.Context, params api.CheckEligibilityParams) error
}

// TransactionHandlers serve transactions, receipts and reports.
type TransactionHandlers interface {
	ListTransactions(ctx echo.Context, params api.ListTransactionsParams) error
	ListReportedTransactions(ctx echo.Context, params api.ListReportedTransactionsParams) error
	ReportTransaction(ctx echo.Context, params api.ReportTransactionParams) error
	ReverseTransaction(ctx echo.Context, transactionId openapi_types.UUID, params api.ReverseTransactionParams) error
	GetReceipt(ctx echo.Context, receiptId openapi_types.UUID, params api.GetReceiptParams) error
	GetSpendReport(ctx echo.Context, params api.GetSpendReportParams) error
}

// Deps are what the server is built from. Capabilities left nil answer 501.
type Deps struct {
	Log      *slog.Logger
	Auth     *auth.Service
	Tokens   *auth.Tokens
	Benefits *benefits.Service
	FeedHead func(context.Context) (int64, error)
	Ready    []ReadinessCheck
	Registry *prometheus.Registry
	// MetricsElsewhere leaves /metrics off this server: NewMetricsServer
	// serves it on a listener of its own.
	MetricsElsewhere bool
	ErrorMappers     []httpx.ErrorMapper
	// TokenLimiter counts token requests per client id (nil: no limit).
	TokenLimiter *ratelimit.Limiter

	Lists        ListsHandlers
	Means        MeansHandlers
	Eligibility  EligibilityHandlers
	Transactions TransactionHandlers
	// Routes adds pages outside the API contract (the upload page).
	Routes func(e *echo.Echo)

	// BodyLimit is the default request body cap; BodyLimits override it by
	// operation id.
	BodyLimit  int64
	BodyLimits map[string]int64
	// Streamed operations read their bodies themselves.
	Streamed []string
	// BenchRoutes adds the bare routes the benchmarks compare against.
	BenchRoutes bool
	// RequestTimeout bounds each request but streamed and Unbounded
	// operations (0 = none).
	RequestTimeout time.Duration
	Unbounded      []string
}

// tokenBodyLimit caps a token request's body.
const tokenBodyLimit = 16 << 10

// Server implements the generated api.ServerInterface.
type Server struct {
	d         Deps
	feedPages *feedPageCache
}

var _ api.ServerInterface = (*Server)(nil)

// New builds the echo server with every route of the contract.
func New(ctx context.Context, d Deps) (*echo.Echo, error) {
	ct, err := newContract(ctx)
	if err != nil {
		return nil, err
	}
	if d.BodyLimit == 0 {
		d.BodyLimit = 1 << 20
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = httpx.ErrorHandler(d.Log, append(d.ErrorMappers, benefitsErrors)...)

	m := newHTTPMetrics(d.Registry)
	limits := bodyLimits{byOperation: map[string]int64{
		// The one public operation with a body: a form of a few fields
		// or a signed assertion, never near the default cap.
		"issueToken": tokenBodyLimit,
	}, fallback: d.BodyLimit, streamed: map[string]bool{}, unbounded: map[string]bool{}}
	for op, limit := range d.BodyLimits {
		limits.byOperation[op] = limit
	}
	for _, op := range d.Streamed {
		limits.streamed[op] = true
	}
	for _, op := range d.Unbounded {
		limits.unbounded[op] = true
	}
	e.Use(
		requestID,
		// A panic becomes a 500 problem inside the metrics and the access
		// log, so that both record it.
		m.middleware,
		accessLog(d.Log),
		recoverer(d.Log),
		securityHeaders,
		authenticate(d.Tokens),
		ct.validate(limits, d.RequestTimeout),
	)

	s := &Server{d: d, feedPages: newFeedPageCache(32 << 20)}
	api.RegisterHandlers(e, s)

	e.GET("/openapi.yaml", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
		return c.Blob(http.StatusOK, "application/yaml", api.Spec)
	})
	docs := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "AVIS integration gateway API",
		SwaggerJSON: "/openapi.yaml",
		BasePath:    "/docs/",
		SettingsUI:  map[string]string{"persistAuthorization": "false", "tryItOutEnabled": "true"},
	})
	e.GET("/docs", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/docs/") })
	e.GET("/docs/*", echo.WrapHandler(docs))
	if d.Registry != nil && !d.MetricsElsewhere {
		e.GET("/metrics", echo.WrapHandler(metricsHandler(d.Registry)))
	}
	if d.Routes != nil {
		d.Routes(e)
	}
	if d.BenchRoutes {
		// The benchmarks' baseline: the same server and middleware chain's
		// cheapest possible answer.
		e.GET("/bench/bare", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
		e.POST("/bench/bare", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	}
	return e, nil
}

// NewHTTPServer wraps h with the timeouts echo leaves unset.
func NewHTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		// Uploads extend their own read deadline; everything else is small.
		ReadTimeout:    60 * time.Second,
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// requestID names the request in the X-Request-ID answer header, where
// logs and problem bodies read it. A caller's id is taken only if it is
// short and plain (see plainRequestID), since it goes into every log line
// and problem body of the request; otherwise the gateway makes one.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		rid := c.Request().Header.Get(echo.HeaderXRequestID)
		if !plainRequestID(rid) {
			rid = newRequestID()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, rid)
		return next(c)
	}
}

// maxRequestIDLen bounds a caller's request id.
const maxRequestIDLen = 64

// plainRequestID reports whether s matches ^[A-Za-z0-9._:-]{1,64}$, by a
// byte loop: it runs on every request.
func plainRequestID(s string) bool {
	if len(s) == 0 || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '.', b == '_', b == ':', b == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	return strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + randomToken(6)
}

// authenticate reads a bearer token when one is sent. A bad token is refused
// at once; a missing one is left to the contract check, which knows whether
// the operation is public.
func authenticate(tokens *auth.Tokens) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			if len(h) < 7 || !equalFoldASCII(h[:7], "bearer ") {
				return next(c)
			}
			p, err := tokens.Verify(h[7:])
			if err != nil {
				pr := problem.New(problem.InvalidToken,
					"The access token is not valid here: it was not issued by this gateway (another environment or key?) or was altered; get a new one from POST /oauth/token",
					"Piekļuves marķieris šeit nav derīgs: to nav izsniegusi šī vārteja (cita vide vai atslēga?) vai tas ir mainīts; saņemiet jaunu no POST /oauth/token")
				description := "The access token is not valid here"
				if errors.Is(err, auth.ErrTokenExpired) {
					pr = problem.New(problem.InvalidToken,
						"The access token has expired; get a new one from POST /oauth/token and reuse it for its expires_in seconds",
						"Piekļuves marķiera derīgums ir beidzies; saņemiet jaunu no POST /oauth/token un izmantojiet to expires_in sekundes")
					description = "The access token expired"
				}
				pr.Headers = map[string]string{"WWW-Authenticate": `Bearer realm="avis", error="invalid_token", error_description="` + description + `"`}
				pr.Cause = err
				return pr
			}
			req := c.Request()
			c.SetRequest(req.WithContext(httpx.WithPrincipal(req.Context(), p)))
			return next(c)
		}
	}
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// No page of the gateway (the API docs, the upload page) is meant to
		// be framed: framing is how clickjacking starts. Pages may set a
		// fuller Content-Security-Policy of their own.
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		return next(c)
	}
}

// recoverer turns a panic below it into a 500 problem, which the metrics
// and access log above it then record. It logs the panic with its stack,
// never the request's headers or body.
func recoverer(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					log.ErrorContext(c.Request().Context(), "handler panicked", "request_id", httpx.RequestID(c), "route", c.Path(),
						"panic", panicSummary(r), "stack", string(debug.Stack()))
					err = &problem.Problem{Kind: problem.Internal}
				}
			}()
			return next(c)
		}
	}
}

// panicSummary is what the log says of a panic value: a runtime error's
// own message (an index, a nil pointer: never data), otherwise only the
// value's type. A handler panicking with an error or a string built from
// the request would otherwise put a personal code into the log; the stack
// tells where it happened.
func panicSummary(r any) string {
	if re, ok := r.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("%T (value not logged)", r)
}

// accessLog writes one line per request. It logs the route template, never
// the raw path or query, which may hold personal codes.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			ctx := c.Request().Context()
			if !log.Enabled(ctx, slog.LevelInfo) {
				return nil
			}
			attrs := []any{
				"request_id", httpx.RequestID(c),
				"method", c.Request().Method,
				"route", c.Path(),
				"status", c.Response().Status,
				"duration_ms", float64(time.Since(start).Microseconds()) / 1000,
				"bytes_out", c.Response().Size,
			}
			if p, ok := httpx.PrincipalFrom(c.Request().Context()); ok {
				attrs = append(attrs, "client_id", p.ClientID, "org", p.OrgRegNo)
			}
			log.InfoContext(ctx, "request", attrs...)
			return nil
		}
	}
}
