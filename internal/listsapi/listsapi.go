// Package listsapi serves person lists and list uploads over HTTP: it
// translates requests into calls of package lists and its results and
// errors into the contract's responses.
package listsapi

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/avis-lv/gateway/api"
	"github.com/avis-lv/gateway/internal/httpx"
	"github.com/avis-lv/gateway/internal/idempotency"
	"github.com/avis-lv/gateway/internal/listfile"
	"github.com/avis-lv/gateway/internal/lists"
	"github.com/avis-lv/gateway/internal/problem"
)

// Handlers implement httpapi.ListsHandlers.
type Handlers struct {
	svc *lists.Service
	// uploadDeadline is how long one upload request may take to arrive.
	uploadDeadline time.Duration
}

// New returns the handlers over svc.
func New(svc *lists.Service) *Handlers {
	return &Handlers{svc: svc, uploadDeadline: 15 * time.Minute}
}

// PushBodyLimit is the largest JSON push body: 100 000 members (the
// contract's maxItems) of up to ~80 bytes each, with room for white space.
const PushBodyLimit = 16 << 20

// UploadOperation and PushOperation are the contract's operation ids, for
// the server's body limits.
const (
	UploadOperation = "uploadListFile"
	PushOperation   = "pushListMembers"
)

func caller(c echo.Context) (lists.Caller, error) {
	p, err := httpx.Principal(c)
	if err != nil {
		return lists.Caller{}, err
	}
	return lists.Caller{OrgRegNo: p.OrgRegNo, ClientID: p.ClientID}, nil
}

func listToAPI(l lists.List) api.PersonList {
	out := api.PersonList{Id: l.ID, Version: l.Version, Size: l.Size}
	if !l.UpdatedAt.IsZero() {
		t := l.UpdatedAt.UTC()
		out.UpdatedAt = &t
	}
	if l.Version > 0 {
		prev, added, removed := l.PreviousVersion, l.Added, l.Removed
		out.PreviousVersion, out.Added, out.Removed = &prev, &added, &removed
		out.ReceiptId = l.ReceiptID
	}
	return out
}

// GetList returns the caller's list.
func (h *Handlers) GetList(c echo.Context, id api.ListId, _ api.GetListParams) error {
	who, err := caller(c)
	if err != nil {
		return err
	}
	l, err := h.svc.Get(c.Request().Context(), who, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", fmt.Sprintf(`"v%d"`, l.Version))
	return c.JSON(http.StatusOK, listToAPI(l))
}

// PushListMembers applies a JSON push as a new version.
func (h *Handlers) PushListMembers(c echo.Context, id api.ListId, p api.PushListMembersParams) error {
	who, err := caller(c)
	if err != nil {
		return err
	}
	// The contract check has read the body within its limit already; keep
	// the exact bytes, which the idempotency record hashes.
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, PushBodyLimit+1))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	var in api.ListMembersPush
	if err := json.Unmarshal(body, &in); err != nil {
		return problem.Fields(problem.Validation, problem.FieldError{Code: "body.malformed", Detail: "the body is not a valid member push"})
	}
	req := lists.PushRequest{Mode: lists.Mode(in.Mode), Key: p.IdempotencyKey, Body: body, Members: make([]lists.PushMember, len(in.Members))}
	for i, m := range in.Members {
		pm := lists.PushMember{PersonCode: string(m.PersonCode)}
		if m.ValidFrom != nil {
			t := m.ValidFrom.Time
			pm.ValidFrom = &t
		}
		if m.ValidTo != nil {
			t := m.ValidTo.Time
			pm.ValidTo = &t
		}
		req.Members[i] = pm
	}
	l, err := h.svc.Push(c.Request().Context(), who, id, req)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", fmt.Sprintf(`"v%d"`, l.Version))
	return c.JSON(http.StatusOK, listToAPI(l))
}

func uploadToAPI(u lists.Upload, lang string) api.Upload {
	out := api.Upload{
		Id:        u.ID,
		ListId:    u.ListID,
		Status:    api.UploadStatus(u.Status),
		CreatedAt: u.CreatedAt.UTC(),
	}
	format, policy, mode := api.UploadFormat(u.Format), api.UploadPolicy(u.Policy), api.UploadMode(u.Mode)
	out.Format, out.Policy, out.Mode = &format, &policy, &mode
	bytes, rows, read := u.Bytes, u.RowsRead, u.BytesRead
	out.Bytes, out.RowsRead, out.BytesRead = &bytes, &rows, &read
	out.RowsTotal, out.ValidRows, out.InvalidRows, out.ListVersion = u.RowsTotal, u.ValidRows, u.InvalidRows, u.ListVersion
	out.KeptRows = u.KeptRows
	out.ReceiptId = u.ReceiptID
	if u.StartedAt != nil {
		t := u.StartedAt.UTC()
		out.StartedAt = &t
	}
	if u.FinishedAt != nil {
		t := u.FinishedAt.UTC()
		out.FinishedAt = &t
	}
	if u.Failure != nil {
		code, reason := u.Failure.Code, lists.FailureMessage(*u.Failure, lang)
		out.FailureCode, out.FailureReason = &code, &reason
	}
	return out
}

// Bounds of an upload form besides its file, so that reading the whole
// request before storing it costs little memory and time.
const (
	// maxFormParts allows the file, policy and mode and whatever a browser
	// or a client library adds.
	maxFormParts = 16
	// maxFormBytes caps the rest of the body: boundaries, part headers,
	// the small fields and anything before the first part.
	maxFormBytes = 64 << 10
)

// UploadListFile stores a multipart upload and queues it. The body is read
// here as a stream (the operation is excluded from the contract check's
// buffering): the file is spooled to local disk and the small fields are
// kept, and only once the whole request has arrived is the upload stored in
// one transaction. However slowly a client sends, it holds no database
// connection.
func (h *Handlers) UploadListFile(c echo.Context, id api.ListId, p api.UploadListFileParams) error {
	httpx.NoStore(c)
	who, err := caller(c)
	if err != nil {
		return err
	}
	req := c.Request()
	ctx := req.Context()
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != "multipart/form-data" {
		return problem.New(problem.UnsupportedMedia,
			"Send the file as multipart/form-data with the fields file, policy and mode",
			"Nosūtiet failu kā multipart/form-data ar laukiem file, policy un mode")
	}
	if params["boundary"] == "" {
		return malformedForm(http.ErrMissingBoundary)
	}
	limit := h.svc.Config().MaxUploadBytes
	if req.ContentLength > limit+maxFormBytes {
		return tooLarge(limit)
	}
	// A 200 MB file over a slow line takes minutes; the server's default
	// deadlines are for small requests.
	rc := http.NewResponseController(c.Response())
	_ = rc.SetReadDeadline(time.Now().Add(h.uploadDeadline))
	_ = rc.SetWriteDeadline(time.Now().Add(h.uploadDeadline + time.Minute))

	w, err := h.svc.StartUpload(ctx, who, id)
	if err != nil {
		return err
	}
	defer w.Close()
	budget := &formBudget{r: req.Body, limit: maxFormBytes}
	mr := multipart.NewReader(budget, params["boundary"])
	opts := lists.UploadOptions{}
	if p.IdempotencyKey != nil {
		opts.Key = *p.IdempotencyKey
	}
	var fields []problem.FieldError
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return budget.problem("", err)
		}
		name := part.FormName()
		if parts == maxFormParts {
			return problem.Fields(problem.Validation, problem.FieldError{Pointer: formPointer(name), Code: "upload.too_many_parts",
				Detail: fmt.Sprintf("at most %d parts; send the fields file, policy and mode", maxFormParts),
				HintLV: fmt.Sprintf("ne vairāk kā %d daļas; sūtiet laukus file, policy un mode", maxFormParts)})
		}
		switch name {
		case "file":
			if w.HasFile() {
				// Not read: the request is refused whatever follows.
				fields = append(fields, problem.FieldError{Pointer: "/file", Code: "upload.file_repeated", Detail: "send exactly one file"})
				return problem.Fields(problem.Validation, fields...)
			}
			budget.inFile = true
			err := w.WriteFile(ctx, part, part.FileName(), part.Header.Get(echo.HeaderContentType))
			budget.inFile = false
			if err != nil {
				return err
			}
		case "policy":
			v, err := smallField(part)
			if err != nil {
				return budget.problem(name, err)
			}
			opts.Policy = lists.Policy(v)
			if !opts.Policy.Valid() {
				fields = append(fields, problem.FieldError{Pointer: "/policy", Code: "schema.enum", Detail: "want all-or-nothing or skip-invalid", HintLV: "atļautās vērtības: all-or-nothing, skip-invalid"})
			}
		case "mode":
			v, err := smallField(part)
			if err != nil {
				return budget.problem(name, err)
			}
			opts.Mode = lists.Mode(v)
			if !opts.Mode.Valid() {
				fields = append(fields, problem.FieldError{Pointer: "/mode", Code: "schema.enum", Detail: "want replace, add or remove", HintLV: "atļautās vērtības: replace, add, remove"})
			}
		default:
			// Unknown fields (a browser's extras) are ignored, within
			// the form's budget.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return budget.problem(name, err)
			}
		}
	}
	if !w.HasFile() {
		fields = append(fields, problem.FieldError{Pointer: "/file", Code: "schema.required", Detail: "the form has no file part", HintLV: "formā nav faila daļas"})
	}
	if len(fields) > 0 {
		return problem.Fields(problem.Validation, fields...)
	}
	u, err := w.Commit(ctx, opts)
	if err != nil {
		return err
	}
	loc := "/v1/uploads/" + u.ID.String()
	c.Response().Header().Set(echo.HeaderLocation, loc)
	return c.JSON(http.StatusAccepted, uploadToAPI(u, httpx.Lang(c)))
}

// smallField reads a policy or mode value. Its first 65 bytes are enough to
// refuse a longer value as none of the allowed ones, naming the field; the
// rest is read (within the form's budget) and dropped.
func smallField(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 65))
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// formBudget counts the bytes of an upload body that are not the file's
// (inFile is set while the file is read) and fails the body once they pass
// limit. The multipart reader reads up to 4 KiB ahead, so a few KiB at the
// file's edges may be counted on the wrong side.
type formBudget struct {
	r      io.Reader
	inFile bool
	used   int64
	limit  int64
}

var errFormTooLarge = errors.New("the form's fields besides the file are too large")

func (b *formBudget) Read(p []byte) (int, error) {
	if !b.inFile && b.used > b.limit {
		return 0, errFormTooLarge
	}
	n, err := b.r.Read(p)
	if !b.inFile {
		b.used += int64(n)
		if b.used > b.limit {
			return n, errFormTooLarge
		}
	}
	return n, err
}

// problem answers a failure to read the form: too large if the budget ran
// out (in the part named, if known), otherwise malformed.
func (b *formBudget) problem(name string, err error) *problem.Problem {
	if b.used <= b.limit {
		return malformedForm(err)
	}
	p := problem.New(problem.TooLarge,
		fmt.Sprintf("The form's fields besides the file may have at most %d bytes together (%d KiB)", b.limit, b.limit>>10),
		fmt.Sprintf("Formas laukiem, izņemot failu, kopā drīkst būt ne vairāk par %d baitiem (%d KiB)", b.limit, b.limit>>10))
	p.Errors = []problem.FieldError{{Pointer: formPointer(name), Code: "upload.fields_too_large",
		Detail: fmt.Sprintf("at most %d bytes together", b.limit), HintLV: fmt.Sprintf("kopā ne vairāk kā %d baiti", b.limit)}}
	p.Cause = err
	return p
}

// formPointer names a form field as a JSON pointer ("" for none).
func formPointer(name string) string {
	if name == "" {
		return ""
	}
	return "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
}

func malformedForm(err error) *problem.Problem {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(mbe.Limit)
	}
	p := problem.New(problem.Validation,
		"The multipart/form-data body could not be read; send the fields file, policy and mode",
		"multipart/form-data saturu neizdevās nolasīt; nosūtiet laukus file, policy un mode")
	p.Cause = err
	return p
}

func tooLarge(limit int64) *problem.Problem {
	return problem.New(problem.TooLarge,
		fmt.Sprintf("The file may have at most %d bytes (%d MiB)", limit, limit>>20),
		fmt.Sprintf("Fails drīkst būt ne lielāks par %d baitiem (%d MiB)", limit, limit>>20))
}

// GetUpload returns the caller's upload.
func (h *Handlers) GetUpload(c echo.Context, id api.UploadId, _ api.GetUploadParams) error {
	httpx.NoStore(c)
	who, err := caller(c)
	if err != nil {
		return err
	}
	u, err := h.svc.GetUpload(c.Request().Context(), who, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, uploadToAPI(u, httpx.Lang(c)))
}

// GetUploadErrors returns the error report as JSON pages or as one CSV.
func (h *Handlers) GetUploadErrors(c echo.Context, id api.UploadId, p api.GetUploadErrorsParams) error {
	httpx.NoStore(c)
	who, err := caller(c)
	if err != nil {
		return err
	}
	lang := httpx.Lang(c)
	wantCSV := p.Format != nil && *p.Format == api.GetUploadErrorsParamsFormatCsv
	if p.Format == nil {
		wantCSV = httpx.Negotiate(c.Request().Header.Get(echo.HeaderAccept), "application/json", "text/csv") == "text/csv"
	}
	if wantCSV {
		comma := ','
		if p.Delimiter != nil && *p.Delimiter == api.Semicolon {
			comma = ';'
		}
		return h.errorsCSV(c, who, id, lang, comma)
	}
	limit := 100
	if p.Limit != nil {
		limit = *p.Limit
	}
	cursor := ""
	if p.Cursor != nil {
		cursor = *p.Cursor
	}
	ctx := c.Request().Context()
	u, err := h.svc.GetUpload(ctx, who, id)
	if err != nil {
		return err
	}
	items, next, err := h.svc.Issues(ctx, who, id, cursor, limit)
	if err != nil {
		return err
	}
	page := api.UploadErrorPage{Items: make([]api.UploadError, len(items))}
	for i, is := range items {
		page.Items[i] = issueToAPI(is, lang)
	}
	if next != "" {
		page.NextCursor = &next
	}
	var total int64
	if u.InvalidRows != nil {
		total = *u.InvalidRows
	}
	page.Total = &total
	fatal := false
	if u.Failure != nil {
		switch u.Failure.Code {
		case lists.CodeInvalidRows, lists.CodeNoValidRows, lists.CodeInterrupted:
		default:
			fatal = true // the file itself was refused; its line is in the report
		}
	}
	page.Fatal = &fatal
	return c.JSON(http.StatusOK, page)
}

func issueToAPI(is lists.Issue, lang string) api.UploadError {
	out := api.UploadError{Row: is.Row, Code: is.Code, Message: lists.IssueMessage(is, lang)}
	if is.Column != "" {
		col := is.Column
		out.Column = &col
	}
	if is.Value != "" && !is.Fatal {
		v := is.Value
		out.Value = &v
	}
	return out
}

// errorsCSV streams the whole stored report as a spreadsheet-safe CSV:
// UTF-8 with a BOM (so Excel reads it as UTF-8), the separator asked for,
// and every cell neutralised against formula injection.
func (h *Handlers) errorsCSV(c echo.Context, who lists.Caller, id uuid.UUID, lang string, comma rune) error {
	ctx := c.Request().Context()
	if _, err := h.svc.GetUpload(ctx, who, id); err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set("Content-Language", lang)
	res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="upload-%s-errors.csv"`, id))
	res.WriteHeader(http.StatusOK)
	_, _ = res.Write([]byte("\ufeff"))
	w := csv.NewWriter(res)
	w.Comma = comma
	header := []string{"row", "column", "code", "message", "value"}
	if lang == "lv" {
		header = []string{"rinda", "kolonna", "kods", "paziņojums", "vērtība"}
	}
	if err := w.Write(header); err != nil {
		return nil // the client went away; the status is sent already
	}
	err := h.svc.AllIssues(ctx, who, id, func(is lists.Issue) error {
		value := is.Value
		if is.Fatal {
			value = ""
		}
		return w.Write([]string{
			fmt.Sprint(is.Row),
			safeCell(is.Column),
			safeCell(is.Code),
			safeCell(lists.IssueMessage(is, lang)),
			safeCell(value),
		})
	})
	w.Flush()
	if err != nil {
		// Headers are sent; all that is left is to stop.
		return nil
	}
	return w.Error()
}

// safeCell neutralises a cell of the CSV report. Short values go through
// listfile.NeutraliseCell; long texts (messages) keep their length but get
// the same protection: control characters removed and a leading apostrophe
// when a spreadsheet would read a formula.
func safeCell(s string) string {
	const short = 64
	if len([]rune(s)) <= short {
		return listfile.NeutraliseCell(s)
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	head := []rune(s)[:16]
	if strings.HasPrefix(listfile.NeutraliseCell(string(head)), "'") && !strings.HasPrefix(s, "'") {
		return "'" + s
	}
	return s
}

// ErrorMapper turns the lists domain's errors into problems.
func ErrorMapper(err error) *problem.Problem {
	var ve *lists.ValidationError
	var tl *lists.TooLargeError
	var fe *listfile.FileError
	switch {
	case errors.As(err, &ve):
		p := problem.Fields(problem.Validation)
		for _, v := range ve.Violations {
			p.Errors = append(p.Errors, problem.FieldError{Pointer: v.Pointer, Code: v.Code, Detail: v.Detail, HintLV: v.DetailLV})
		}
		if ve.More > 0 {
			p.ErrorsTruncated = true
			p.DetailEN = fmt.Sprintf("%d more members are invalid; fix the ones listed and push again", ve.More)
			p.DetailLV = fmt.Sprintf("Vēl %d dalībnieki nav derīgi; izlabojiet uzskaitītos un nosūtiet vēlreiz", ve.More)
		}
		return p
	case errors.As(err, &tl):
		return tooLarge(tl.Limit)
	case errors.As(err, &fe):
		switch fe.Code {
		case listfile.CodeFileEmpty:
			return problem.Fields(problem.Validation, problem.FieldError{Pointer: "/file", Code: listfile.CodeFileEmpty})
		default:
			p := problem.New(problem.UnsupportedMedia, fe.Message("en"), fe.Message("lv"))
			p.Errors = []problem.FieldError{{Pointer: "/file", Code: fe.Code, Detail: fe.Message("en"), DetailLV: fe.Message("lv")}}
			return p
		}
	case errors.Is(err, lists.ErrReadUpload):
		return malformedForm(err)
	case errors.Is(err, lists.ErrNotOwner):
		return problem.New(problem.NotOwner, "This person list belongs to another grantor", "Šis personu saraksts pieder citam devējam")
	case errors.Is(err, lists.ErrNotFound):
		return problem.New(problem.NotFound, "No such person list", "Šāda personu saraksta nav")
	case errors.Is(err, lists.ErrUploadNotFound):
		// Finished uploads are deleted with their reports after the
		// report retention: the answer says so, since the client may
		// well have seen the upload before.
		return problem.New(problem.NotFound, "No such upload (a finished upload is deleted with its error report after the retention, 90 days unless the operator set another)",
			"Šādas augšupielādes nav (pabeigtas augšupielādes pēc glabāšanas termiņa, parasti 90 dienām, tiek dzēstas kopā ar kļūdu pārskatu)")
	case errors.Is(err, lists.ErrInvalidCursor):
		return problem.Fields(problem.Validation, problem.FieldError{Parameter: "cursor", Code: "cursor.invalid", Detail: "use the nextCursor of a previous page", HintLV: "izmantojiet iepriekšējās lapas nextCursor"})
	case errors.Is(err, idempotency.ErrKeyReused):
		return problem.Fields(problem.IdempotencyReuse, problem.FieldError{Parameter: "Idempotency-Key", Code: "idempotency.key_reused"})
	}
	return nil
}
