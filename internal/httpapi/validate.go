package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/avis-lv/gateway/api"
	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/httpx"
	"github.com/avis-lv/gateway/internal/problem"
	"github.com/avis-lv/gateway/internal/schemacheck"
)

// contract is the loaded OpenAPI document, its router and what each
// operation requires, all built once at start.
type contract struct {
	doc    *openapi3.T
	router routers.Router
	// roles lists, per operation, the security requirements any one of
	// which admits a caller; none means the operation is public.
	roles map[*openapi3.Operation][]requirement
	// fast holds, per operation with a JSON body, the compiled check that
	// accepts a valid body without kin-openapi's decoding (see
	// schemacheck), and names the first errors of one it refuses;
	// kin-openapi then checks only the parameters.
	fast map[*openapi3.Operation]*schemacheck.Check
	// static routes the paths without parameters by path and method
	// without the general router, which costs a check a few
	// microseconds and allocations for what a map lookup answers.
	static map[string]map[string]*routers.Route
	// anyParams marks the operations whose parameters any request
	// satisfies (none, or optional unconstrained strings such as
	// Accept-Language): with a body the compiled check accepted,
	// kin-openapi has nothing left to check in them.
	anyParams map[*openapi3.Operation]bool
}

// findRoute is the router's FindRoute with the static paths answered
// from the map.
func (ct *contract) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	if byMethod, ok := ct.static[req.URL.Path]; ok {
		if route, ok := byMethod[req.Method]; ok {
			return route, nil, nil
		}
	}
	return ct.router.FindRoute(req)
}

// allowed lists the methods the contract documents for req's path, for
// the Allow header of a 405.
func (ct *contract) allowed(req *http.Request) string {
	var methods []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := req.Clone(req.Context())
		probe.Method = m
		if _, _, err := ct.findRoute(probe); err == nil {
			methods = append(methods, m)
		}
	}
	return strings.Join(methods, ", ")
}

// requestOptions are the options every request is validated with.
func requestOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError:         true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// kin-openapi checks a date's shape only; 2026-02-30 must fail
		// here, where the error can still name the field.
		// The messages say what is expected with an example: they reach
		// integrators as the detail of the field's problem.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidator("date", openapi3.NewCallbackValidator(func(s string) error {
				if _, err := time.Parse(time.DateOnly, s); err != nil {
					return errors.New("must be a calendar date as YYYY-MM-DD, e.g. 2026-11-23")
				}
				return nil
			})),
			openapi3.WithStringFormatValidator("date-time", openapi3.NewCallbackValidator(func(s string) error {
				if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
					return errors.New("must be an RFC 3339 date-time with its offset, e.g. 2026-11-23T10:15:00+02:00 or 2026-11-23T08:15:00Z")
				}
				return nil
			})),
			openapi3.WithStringFormatValidator("uuid", openapi3.NewCallbackValidator(func(s string) error {
				if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
					return errors.New("must be a UUID as 8-4-4-4-12 hex digits, e.g. 01a2060c-b7a1-7bb8-838e-3c19ef13da72")
				}
				return nil
			})),
		},
	}
}

// compileFast compiles the JSON body schema of every operation that has
// one and that schemacheck can handle.
func compileFast(doc *openapi3.T, opts *openapi3filter.Options) map[*openapi3.Operation]*schemacheck.Check {
	out := map[*openapi3.Operation]*schemacheck.Check{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			mt := op.RequestBody.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
				continue
			}
			if chk, ok := schemacheck.Compile(mt.Schema.Value, opts.SchemaValidationOptions...); ok {
				out[op] = chk
			}
		}
	}
	return out
}

// jsonCheck is the compiled check of op's body, when the request sends
// one as JSON.
func (ct *contract) jsonCheck(op *openapi3.Operation, req *http.Request) *schemacheck.Check {
	chk := ct.fast[op]
	if chk == nil {
		return nil
	}
	ctype := req.Header.Get(echo.HeaderContentType)
	if ctype != echo.MIMEApplicationJSON {
		mt, _, err := mime.ParseMediaType(ctype)
		if err != nil || mt != echo.MIMEApplicationJSON {
			return nil
		}
	}
	return chk
}

// LoadContract parses and validates the embedded OpenAPI document.
func LoadContract(ctx context.Context) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.Spec)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate openapi.yaml: %w", err)
	}
	return doc, nil
}

func newContract(ctx context.Context) (*contract, error) {
	doc, err := LoadContract(ctx)
	if err != nil {
		return nil, err
	}
	// Servers would make the router match only those hosts; the gateway
	// answers on whatever address it is deployed at.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("build openapi router: %w", err)
	}
	c := &contract{doc: doc, router: router, roles: map[*openapi3.Operation][]requirement{}, fast: compileFast(doc, requestOptions()),
		static: map[string]map[string]*routers.Route{}, anyParams: map[*openapi3.Operation]bool{}}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !strings.Contains(path, "{") {
				if c.static[path] == nil {
					c.static[path] = map[string]*routers.Route{}
				}
				c.static[path][method] = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
			}
			c.anyParams[op] = acceptsAnyParameters(item.Parameters) && acceptsAnyParameters(op.Parameters)
			reqs := doc.Security
			if op.Security != nil {
				reqs = *op.Security
			}
			c.roles[op] = requirementsOf(reqs)
		}
	}
	return c, nil
}

// acceptsAnyParameters reports whether every parameter is optional and
// its schema a string without constraints.
func acceptsAnyParameters(params openapi3.Parameters) bool {
	for _, ref := range params {
		p := ref.Value
		if p == nil || p.Required || p.Content != nil || p.Schema == nil || p.Schema.Value == nil {
			return false
		}
		s := p.Schema.Value
		if !s.Type.Is(openapi3.TypeString) || s.Pattern != "" || s.Format != "" || len(s.Enum) > 0 ||
			s.MinLength > 0 || s.MaxLength != nil || s.Not != nil || len(s.OneOf)+len(s.AnyOf)+len(s.AllOf) > 0 {
			return false
		}
	}
	return true
}

// unvalidatedPrefixes are served outside the API contract.
var unvalidatedPrefixes = []string{"/docs", "/openapi.yaml", "/metrics", "/ui", "/bench/", "/certs/"}

// bodyLimits caps request bodies by operation; others get the default.
type bodyLimits struct {
	byOperation map[string]int64
	fallback    int64
	// streamed operations read their own body (file uploads) and are not
	// buffered or schema-checked here.
	streamed map[string]bool
	// unbounded operations get no request deadline (see validate).
	unbounded map[string]bool
}

// validate checks every request against the contract: the route, the
// caller's roles, parameters and body. It runs after authentication.
func (ct *contract) validate(limits bodyLimits, timeout time.Duration) echo.MiddlewareFunc {
	opts := requestOptions()
	streamOpts := *opts
	streamOpts.ExcludeRequestBody = true
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		// A database that takes the connection and never answers would
		// hold the request, and the till, for ever. The clock starts once
		// the body is read, at the handler. A file upload streams for
		// minutes under its own read deadline, and a large list push may
		// publish a big version: those go unbounded.
		bounded := next
		if timeout > 0 {
			bounded = func(c echo.Context) error {
				client := c.Request()
				ctx, cancel := context.WithTimeout(client.Context(), timeout)
				defer cancel()
				c.SetRequest(client.WithContext(ctx))
				err := next(c)
				// The error handler, which runs after this returns, tells
				// a client that went away by the client's own context,
				// not by this one, cancelled now.
				c.SetRequest(client)
				return err
			}
		}
		return func(c echo.Context) error {
			req := c.Request()
			for _, p := range unvalidatedPrefixes {
				if strings.HasPrefix(req.URL.Path, p) {
					return next(c)
				}
			}
			route, pathParams, err := ct.findRoute(req)
			if err != nil {
				if errors.Is(err, routers.ErrMethodNotAllowed) {
					// RFC 9110 15.5.6: a 405 lists the methods the
					// resource does support.
					p := problem.New(problem.MethodNotAllowed, "", "")
					if allow := ct.allowed(req); allow != "" {
						p.Headers = map[string]string{"Allow": allow}
					}
					return p
				}
				return problem.New(problem.NotFound, "No such resource", "Šāda resursa nav")
			}
			if err := ct.authorise(c, route.Operation); err != nil {
				return err
			}
			handle := bounded
			if op := route.Operation.OperationID; limits.streamed[op] || limits.unbounded[op] {
				handle = next
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: opts}
			var bodyErrors []problem.FieldError
			var bodyErrorsTruncated bool
			if limits.streamed[route.Operation.OperationID] {
				in.Options = &streamOpts
			} else if req.Body != nil && req.Body != http.NoBody {
				limit := limits.fallback
				if l, ok := limits.byOperation[route.Operation.OperationID]; ok {
					limit = l
				}
				if req.ContentLength > limit {
					return forOperation(route.Operation, problem.New(problem.TooLarge, fmt.Sprintf("The body may have at most %d bytes", limit), fmt.Sprintf("Saturs drīkst būt ne lielāks par %d baitiem", limit)))
				}
				body, err := readBody(req, limit)
				if err != nil {
					return fmt.Errorf("read request body: %w", err)
				}
				if int64(len(body)) > limit {
					return forOperation(route.Operation, problem.New(problem.TooLarge, fmt.Sprintf("The body may have at most %d bytes", limit), fmt.Sprintf("Saturs drīkst būt ne lielāks par %d baitiem", limit)))
				}
				req.Body = httpx.NewBufferedBody(body)
				req.GetBody = func() (io.ReadCloser, error) { return httpx.NewBufferedBody(body), nil }
				chk := ct.jsonCheck(route.Operation, req)
				switch {
				case chk == nil:
				case chk.Valid(body):
					if ct.anyParams[route.Operation] {
						req.Body, _ = req.GetBody()
						return handle(c)
					}
					in.Options = &streamOpts
				default:
					// kin-openapi would decode the whole body and build
					// every one of its errors, at a cost that grows without
					// bound; the first ones are as useful. It still checks
					// a body that is not JSON (cheaply: it stops at the
					// syntax error) and one without violations (which may
					// need its defaults written).
					if vs, more, ok := chk.Violations(body, problem.MaxErrors); ok && len(vs) > 0 {
						for _, v := range vs {
							bodyErrors = append(bodyErrors, schemaFieldError(v.Path, v.Field, v.Reason))
						}
						bodyErrorsTruncated = more
						in.Options = &streamOpts
					}
				}
			}
			if in.Options == &streamOpts {
				// kin-openapi reads the whole body of a secured operation
				// into memory for the authentication function even when
				// told not to validate it; ours does not look, and a
				// streamed upload must reach its handler unread.
				body := req.Body
				req.Body = http.NoBody
				err = openapi3filter.ValidateRequest(req.Context(), in)
				req.Body = body
			} else {
				err = openapi3filter.ValidateRequest(req.Context(), in)
			}
			if err != nil || len(bodyErrors) > 0 {
				p := requestProblem(route.Operation, err, bodyErrors...)
				p.ErrorsTruncated = bodyErrorsTruncated
				return forOperation(route.Operation, p)
			}
			if req.GetBody != nil {
				req.Body, _ = req.GetBody()
			}
			return handle(c)
		}
	}
}

// requirement is one security requirement of an operation: public, or a
// valid token carrying every one of roles (none: any valid token).
type requirement struct {
	public bool
	roles  []auth.Role
}

// requirementsOf reads an operation's security requirements. {} is
// OpenAPI's "no authentication"; {oauth2: []} needs a valid token with no
// particular role.
func requirementsOf(reqs openapi3.SecurityRequirements) []requirement {
	var sets []requirement
	for _, req := range reqs {
		set := requirement{public: len(req) == 0}
		for _, scopes := range req {
			for _, s := range scopes {
				set.roles = append(set.roles, auth.Role(s))
			}
		}
		sets = append(sets, set)
	}
	return sets
}

// authorise answers 401 without a valid token and 403 when no security
// requirement of the operation is met by the caller's roles.
func (ct *contract) authorise(c echo.Context, op *openapi3.Operation) error {
	sets := ct.roles[op]
	if len(sets) == 0 {
		return nil // security: [] — public
	}
	for _, set := range sets {
		if set.public {
			return nil
		}
	}
	p, ok := httpx.PrincipalFrom(c.Request().Context())
	if !ok {
		pr := problem.New(problem.Unauthorized, "Send an access token from POST /oauth/token as 'Authorization: Bearer <token>'", "Nosūtiet piekļuves marķieri no POST /oauth/token kā 'Authorization: Bearer <marķieris>'")
		pr.Headers = map[string]string{"WWW-Authenticate": `Bearer realm="avis"`}
		return pr
	}
	var needed []string
	for _, set := range sets {
		all := true
		for _, r := range set.roles {
			if !p.Has(r) {
				all = false
			}
			needed = append(needed, string(r))
		}
		if all {
			return nil
		}
	}
	return problem.New(problem.Forbidden,
		"This operation needs the role "+strings.Join(needed, " or "),
		"Šai darbībai vajadzīga loma "+strings.Join(needed, " vai "))
}

// forOperation adapts a contract problem to its operation: the token
// endpoint's errors carry the RFC 6749 error code OAuth libraries look for.
func forOperation(op *openapi3.Operation, p *problem.Problem) *problem.Problem {
	if op.OperationID != "issueToken" {
		return p
	}
	// The contract documents one type for the token endpoint's 400s, the
	// one its handler answers with; a client must not have to match two.
	if p.Kind == problem.Validation {
		p.Kind = problem.InvalidGrant
	}
	p.OAuthError = "invalid_request"
	for _, f := range p.Errors {
		if f.Pointer == "/grant_type" && f.Code == "schema.enum" {
			p.OAuthError = "unsupported_grant_type"
		}
	}
	return p
}

// requestProblem turns kin-openapi's findings, and the body's errors it
// did not look for, into one validation problem that names every
// offending field.
func requestProblem(op *openapi3.Operation, err error, bodyErrors ...problem.FieldError) *problem.Problem {
	var fields []problem.FieldError
	var walk func(error)
	walk = func(err error) {
		// A type switch, not errors.As: kin-openapi's errors unwrap into
		// each other, and As would jump past the level that names the field.
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, inner := range e {
				walk(inner)
			}
		case *openapi3filter.RequestError:
			fields = append(fields, requestErrorFields(e)...)
		case *openapi3.SchemaError:
			walkSchema(e, &fields)
		default:
			fields = append(fields, problem.FieldError{Code: "schema.invalid", Detail: err.Error()})
		}
	}
	if err != nil {
		walk(err)
	}
	fields = append(fields, bodyErrors...)
	for _, f := range fields {
		// Only kin-openapi's own errors: a member's name is in the detail
		// of its error.
		if f.Code != "schema.invalid" && f.Code != "body.malformed" {
			continue
		}
		if strings.Contains(f.Detail, "unsupported content type") || strings.Contains(f.Detail, "header Content-Type has unexpected value") {
			return unsupportedMedia(op)
		}
	}
	return problem.Fields(problem.Validation, fields...)
}

// unsupportedMedia names the content types op documents: "usually JSON"
// misleads a caller of an operation that takes something else, such as the
// token endpoint's form.
func unsupportedMedia(op *openapi3.Operation) *problem.Problem {
	var types []string
	if op != nil && op.RequestBody != nil && op.RequestBody.Value != nil {
		for t := range op.RequestBody.Value.Content {
			types = append(types, t)
		}
	}
	switch len(types) {
	case 0:
		return problem.New(problem.UnsupportedMedia, "This operation takes no body", "Šai operācijai saturs nav jāsūta")
	case 1:
		return problem.New(problem.UnsupportedMedia, "Send the body as "+types[0], "Sūtiet saturu kā "+types[0])
	}
	slices.Sort(types)
	list := strings.Join(types, ", ")
	return problem.New(problem.UnsupportedMedia, "Send the body as one of "+list, "Sūtiet saturu kā vienu no šiem tipiem: "+list)
}

// requiredHints tell what to send for a required parameter that is
// missing, where its name alone does not.
var requiredHints = map[string][2]string{
	"Idempotency-Key": {"send a new key (a UUID) with each new request, and the same key again when you retry that request",
		"katram jaunam pieprasījumam sūtiet jaunu atslēgu (UUID), bet, atkārtojot to pašu pieprasījumu, to pašu atslēgu"},
}

func requestErrorFields(re *openapi3filter.RequestError) []problem.FieldError {
	if re.Parameter != nil {
		code := "parameter.invalid"
		if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
			code = "parameter.required"
			if hint, ok := requiredHints[re.Parameter.Name]; ok {
				return []problem.FieldError{{Parameter: re.Parameter.Name, Code: code, Detail: hint[0], HintLV: hint[1]}}
			}
		}
		detail := re.Reason
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			code = "schema." + se.SchemaField
			detail = se.Reason
		} else if re.Err != nil && detail == "" {
			detail = re.Err.Error()
		}
		return []problem.FieldError{{Parameter: re.Parameter.Name, Code: code, Detail: detail, HintLV: schemaHintLV(detail)}}
	}
	if re.Err == nil {
		return []problem.FieldError{{Code: "schema.invalid", Detail: re.Reason}}
	}
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		return []problem.FieldError{{Code: "body.required", Detail: "a body is required"}}
	}
	var out []problem.FieldError
	walkSchema(re.Err, &out)
	if len(out) == 0 {
		out = append(out, problem.FieldError{Code: "body.malformed", Detail: re.Err.Error()})
	}
	return out
}

func walkSchema(err error, out *[]problem.FieldError) {
	if me, ok := err.(openapi3.MultiError); ok {
		for _, e := range me {
			walkSchema(e, out)
		}
		return
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		*out = append(*out, schemaFieldError(se.JSONPointer(), se.SchemaField, se.Reason))
	}
}

// schemaFieldError names the field of a schema violation: the value at
// path broke the keyword field, as reason says.
func schemaFieldError(path []string, field, reason string) problem.FieldError {
	ptr := "/" + strings.Join(escapePointer(path), "/")
	if ptr == "/" {
		ptr = ""
	}
	if field == "properties" {
		// An unknown member: point at it, not at its parent. kin-openapi
		// quotes its name with %q.
		if quoted, ok := strings.CutPrefix(reason, "property "); ok {
			if quoted, ok := strings.CutSuffix(quoted, " is unsupported"); ok {
				if name, err := strconv.Unquote(quoted); err == nil {
					ptr += "/" + escapePointer([]string{name})[0]
					field = "additionalProperties"
				}
			}
		}
	}
	if field == "" {
		field = "invalid"
	}
	return problem.FieldError{Pointer: ptr, Code: "schema." + field, Detail: reason, HintLV: schemaHintLV(reason)}
}

// schemaHints give the Latvian form of kin-openapi's reasons that carry
// something the catalogue's text does not: a bound, the allowed values, a
// pattern or format, a missing member's name. Each matches the reason's
// English text (kin-openapi's wording, and schemacheck's copy of it) with
// one variable part, which is the same in both languages. Reasons that only
// restate the code ("duplicate items found") need no hint.
var schemaHints = []struct{ prefix, suffix, lv string }{
	{"number must be at least ", "", "mazākā pieļaujamā vērtība: %s"},
	{"number must be at most ", "", "lielākā pieļaujamā vērtība: %s"},
	{"number must be more than ", "", "jābūt lielākam par %s"},
	{"number must be less than ", "", "jābūt mazākam par %s"},
	{"minimum string length is ", "", "mazākais pieļaujamais garums: %s"},
	{"maximum string length is ", "", "lielākais pieļaujamais garums: %s"},
	{"minimum number of items is ", "", "mazākais pieļaujamais elementu skaits: %s"},
	{"maximum number of items is ", "", "lielākais pieļaujamais elementu skaits: %s"},
	{"value is not one of the allowed values ", "", "atļautās vērtības: %s"},
	{`string doesn't match the regular expression `, "", "regulārā izteiksme: %s"},
	{"property ", " is missing", "trūkst lauka %s"},
}

// schemaTypesLV names JSON Schema types in Latvian, for "value must be a
// string" and the like.
var schemaTypesLV = map[string]string{
	"string": "teksts", "number": "skaitlis", "integer": "vesels skaitlis", "boolean": "būla vērtība",
	"array": "masīvs", "object": "objekts",
}

// schemaHintLV is reason's specifics in Latvian, or "" when there are none
// (or the reason is one this gateway does not know to translate).
func schemaHintLV(reason string) string {
	for _, h := range schemaHints {
		if v, ok := strings.CutPrefix(reason, h.prefix); ok {
			if v, ok := strings.CutSuffix(v, h.suffix); ok && v != "" {
				return fmt.Sprintf(h.lv, v)
			}
		}
	}
	// "string doesn't match the format "date": <parser's error>" keeps
	// only the format's name: the parser's error is English.
	for _, kind := range []string{"string", "number", "integer"} {
		if rest, ok := strings.CutPrefix(reason, kind+` doesn't match the format "`); ok {
			if name, _, ok := strings.Cut(rest, `"`); ok {
				return "formāts: " + name
			}
		}
	}
	if t, ok := strings.CutPrefix(reason, "value must be "); ok {
		t = strings.TrimPrefix(strings.TrimPrefix(t, "an "), "a ")
		if lv, ok := schemaTypesLV[t]; ok {
			return "vajadzīgais tips: " + lv
		}
	}
	return ""
}

func escapePointer(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1")
	}
	return out
}

// presizeLimit bounds the buffer allocated from an announced length
// before any of it has arrived: a caller announcing a megabyte and sending
// a byte must not hold a megabyte of memory per connection.
const presizeLimit = 64 << 10

// readBody reads at most limit+1 bytes of the body, into a buffer of the
// announced length when that is small.
func readBody(req *http.Request, limit int64) ([]byte, error) {
	if req.ContentLength < 0 || req.ContentLength > limit || req.ContentLength > presizeLimit {
		return io.ReadAll(io.LimitReader(req.Body, limit+1))
	}
	// net/http's body reader ends at the announced length.
	buf := make([]byte, req.ContentLength)
	n, err := io.ReadFull(req.Body, buf)
	return buf[:n], err
}
