package lists

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/avis-lv/gateway/internal/idempotency"
	"github.com/avis-lv/gateway/internal/listfile"
)

// Config bounds what the service accepts and how its workers behave. Zero
// fields take the defaults of DefaultConfig.
type Config struct {
	// MaxUploadBytes caps an uploaded file of any format.
	MaxUploadBytes int64
	// MaxXMLBytes caps a signed XML file: verification holds it in memory.
	MaxXMLBytes int64
	// ChunkBytes is the size of the stored pieces of an uploaded file. It
	// is kept small because the database driver copies each piece into
	// per-connection buffers that it keeps: 1 MiB pieces cost tens of MB.
	ChunkBytes int
	// Lease is how long a worker holds an upload without renewing it; a
	// killed instance's upload is taken over after at most this long.
	Lease time.Duration
	// Poll is how often an idle worker looks for queued uploads.
	Poll time.Duration
	// MaxAttempts is how often an upload is started before it fails.
	MaxAttempts int
	// MaxIssues is how many lines of an error report are stored.
	MaxIssues int
	// Limits bound the file readers.
	Limits listfile.Limits
	// TempDir is where uploaded files are spooled before they are stored
	// and large XLSX string tables spill; "" is the system default ($TMPDIR).
	TempDir string
	// SetRetention is how long the member set of a replaced version is
	// kept before it is dropped (its version record and receipt stay).
	SetRetention time.Duration
	// ReportRetention is how long a finished upload is kept with its
	// error report, which quotes bad rows, personal codes among them.
	ReportRetention time.Duration
	// Registerer takes the service's metrics; nil keeps them unexported.
	Registerer prometheus.Registerer
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		MaxUploadBytes: 200 << 20,
		MaxXMLBytes:    32 << 20,
		ChunkBytes:     128 << 10,
		Lease:          30 * time.Second,
		Poll:           time.Second,
		MaxAttempts:    3,
		MaxIssues:      10_000,
		Limits:         listfile.DefaultLimits(),
		SetRetention:   7 * 24 * time.Hour,
		// ReportRetention matches AVIS_UPLOAD_REPORT_RETENTION's default.
		ReportRetention: 90 * 24 * time.Hour,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxUploadBytes <= 0 {
		c.MaxUploadBytes = d.MaxUploadBytes
	}
	if c.MaxXMLBytes <= 0 {
		c.MaxXMLBytes = d.MaxXMLBytes
	}
	if c.SetRetention <= 0 {
		c.SetRetention = d.SetRetention
	}
	if c.ReportRetention <= 0 {
		c.ReportRetention = d.ReportRetention
	}
	if c.ChunkBytes <= 0 {
		c.ChunkBytes = d.ChunkBytes
	}
	if c.Lease <= 0 {
		c.Lease = d.Lease
	}
	if c.Poll <= 0 {
		c.Poll = d.Poll
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.MaxIssues <= 0 {
		c.MaxIssues = d.MaxIssues
	}
	if c.Limits == (listfile.Limits{}) {
		c.Limits = d.Limits
	}
	if c.Limits.MaxFileBytes <= 0 || c.Limits.MaxFileBytes > c.MaxUploadBytes {
		c.Limits.MaxFileBytes = c.MaxUploadBytes
	}
	if c.Limits.TempDir == "" {
		c.Limits.TempDir = c.TempDir
	}
	return c
}

// Service is the lists domain: pushes, uploads and their processing.
type Service struct {
	store  Store
	notify Notifier
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	// wake tells this instance's idle workers that an upload was queued.
	wake    chan struct{}
	metrics *metrics
	// draining is set by Drain: no more leases.
	draining atomic.Bool
}

// NewService builds the service. notify may be nil.
func NewService(store Store, notify Notifier, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, notify: notify, cfg: cfg.withDefaults(), log: log, now: time.Now,
		wake: make(chan struct{}, 1), metrics: newMetrics(cfg.Registerer)}
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Get returns the caller's list.
func (s *Service) Get(ctx context.Context, c Caller, id string) (List, error) {
	l, err := s.store.List(ctx, id)
	if err != nil {
		return List{}, fmt.Errorf("get list %s: %w", id, err)
	}
	if l.Grantor != c.OrgRegNo {
		return List{}, ErrNotOwner
	}
	return l, nil
}

// PushRequest is a JSON push of members.
type PushRequest struct {
	Mode    Mode
	Members []PushMember
	// Key is the Idempotency-Key; Body is the raw request body it guards.
	Key  string
	Body []byte
}

// canonicalMembers is the validated members as bytes: code, first and
// last day, each fixed-width.
func canonicalMembers(ms []Member) []byte {
	b := make([]byte, 0, len(ms)*24)
	for _, m := range ms {
		b = binary.BigEndian.AppendUint64(b, uint64(m.Code))
		b = binary.BigEndian.AppendUint64(b, uint64(m.ValidFrom.Unix()))
		b = binary.BigEndian.AppendUint64(b, uint64(m.ValidTo.Unix()))
	}
	return b
}

// Push validates the members and applies them as a new version in one
// transaction with the idempotency record. A retry with the same key and
// the same members returns the first result.
func (s *Service) Push(ctx context.Context, c Caller, id string, req PushRequest) (List, error) {
	members, err := ValidateMembers(req.Mode, req.Members)
	if err != nil {
		return List{}, err
	}
	// The same members sent again are the same push, however the client
	// spelt and spaced its JSON this time.
	idem := idempotency.Request{
		Scope: "lists.push:" + c.ClientID,
		Key:   req.Key,
		Hash:  idempotency.HashOf([]byte(id), []byte(req.Mode), canonicalMembers(members)),
		Also:  [][32]byte{idempotency.HashOf([]byte(id), req.Body)},
	}
	tx, err := s.store.Begin(ctx)
	if err != nil {
		return List{}, fmt.Errorf("push list %s: %w", id, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var prior List
	replay, err := tx.Claim(ctx, idem, &prior)
	if err != nil {
		return List{}, err
	}
	if replay {
		return prior, nil
	}
	l, err := tx.LockList(ctx, id, c.OrgRegNo)
	if err != nil {
		return List{}, err
	}
	if _, err := tx.WriteMembers(ctx, req.Mode, &sliceSource{members: members, i: -1}); err != nil {
		return List{}, fmt.Errorf("push list %s: %w", id, err)
	}
	nl, err := tx.Publish(ctx, l, VersionMeta{Mode: req.Mode, CreatedBy: c.ClientID, ContentSHA256: sha256.Sum256(req.Body)})
	if err != nil {
		return List{}, fmt.Errorf("push list %s: %w", id, err)
	}
	if err := tx.Complete(ctx, idem, nl); err != nil {
		return List{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return List{}, fmt.Errorf("push list %s: commit: %w", id, err)
	}
	s.metrics.versions.WithLabelValues("push").Inc()
	s.changed(ctx, nl)
	return nl, nil
}

func (s *Service) changed(ctx context.Context, l List) {
	if s.notify != nil {
		s.notify.ListChanged(context.WithoutCancel(ctx), l.ID, l.Version)
	}
}

type sliceSource struct {
	members []Member
	i       int
}

func (s *sliceSource) Next() bool     { s.i++; return s.i < len(s.members) }
func (s *sliceSource) Member() Member { return s.members[s.i] }
func (s *sliceSource) Err() error     { return nil }

// TooLargeError means an uploaded file exceeds a limit.
type TooLargeError struct {
	Limit  int64
	Format listfile.Format
}

func (e *TooLargeError) Error() string {
	if e.Format != "" {
		return fmt.Sprintf("the %s file is larger than %d bytes", e.Format, e.Limit)
	}
	return fmt.Sprintf("the file is larger than %d bytes", e.Limit)
}

// UploadWriter takes one uploaded file: StartUpload, WriteFile, then
// Commit, or Close to give up. WriteFile only spools the file to local disk:
// the database sees nothing of the upload until Commit, which is called once
// the whole request has arrived, so no transaction waits on the client.
type UploadWriter struct {
	s        *Service
	caller   Caller
	listID   string
	id       uuid.UUID
	format   listfile.Format
	filename string
	bytes    int64
	sum      hash.Hash
	written  bool
	// spool holds the file from WriteFile until Close. It has no name on
	// disk, so nothing is left behind even if the process dies.
	spool *os.File
}

// StartUpload checks that the caller may upload to the list, before any
// of the file is read. (A new list is created when the upload commits.)
func (s *Service) StartUpload(ctx context.Context, c Caller, listID string) (*UploadWriter, error) {
	l, err := s.store.List(ctx, listID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("start upload: %w", err)
	case l.Grantor != c.OrgRegNo:
		return nil, ErrNotOwner
	}
	return &UploadWriter{s: s, caller: c, listID: listID, id: uuid.New(), sum: sha256.New()}, nil
}

// WriteFile spools the file to local disk, hashing and counting it. The
// format is told from the first bytes; an empty or unsupported file is
// refused with a *listfile.FileError and an oversized one with a
// *TooLargeError.
func (w *UploadWriter) WriteFile(ctx context.Context, r io.Reader, filename, contentType string) error {
	if w.written {
		return errors.New("upload: the form has more than one file")
	}
	w.written = true
	w.filename = filename
	br := bufio.NewReaderSize(r, listfile.DetectBytes)
	head, err := br.Peek(listfile.DetectBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return fmt.Errorf("%w: %v", ErrReadUpload, err)
	}
	f, err := listfile.Detect(head, filename, contentType)
	if err != nil {
		return err
	}
	w.format = f
	limit := w.s.cfg.MaxUploadBytes
	switch f {
	case listfile.FormatXLSX:
		limit = min(limit, w.s.cfg.Limits.MaxXLSXFileBytes)
	case listfile.FormatXML:
		limit = min(limit, w.s.cfg.MaxXMLBytes)
	}
	// The file arrives at the client's pace, a clerk's slow line or a
	// client that stalls on purpose; only local disk waits for it.
	spool, err := os.CreateTemp(w.s.cfg.TempDir, TempFilePrefix+"*")
	if err != nil {
		return fmt.Errorf("spool uploaded file: %w", err)
	}
	_ = os.Remove(spool.Name()) // gone with the descriptor, even after a crash
	kept := false
	defer func() {
		if !kept {
			spool.Close()
		}
	}()
	cr := &checkedReader{r: br, sum: w.sum, limit: limit, format: f}
	n, err := io.Copy(spool, cr)
	if cr.err != nil {
		return cr.err // the file's own problem, not the disk's
	}
	if err != nil {
		return fmt.Errorf("spool uploaded file: %w", err)
	}
	if n == 0 {
		return &listfile.FileError{Code: listfile.CodeFileEmpty}
	}
	w.spool, w.bytes, kept = spool, n, true
	return nil
}

// checkedReader hashes and counts the file on its way to disk and stops
// it at the size limit.
type checkedReader struct {
	r      io.Reader
	sum    hash.Hash
	n      int64
	limit  int64
	format listfile.Format
	err    error
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.limit {
		c.err = &TooLargeError{Limit: c.limit, Format: c.format}
		return 0, c.err
	}
	c.sum.Write(p[:n])
	if err != nil && err != io.EOF {
		c.err = fmt.Errorf("%w: %v", ErrReadUpload, err)
		return n, c.err
	}
	return n, err
}

// ErrReadUpload means the request body ended or broke before the file did.
var ErrReadUpload = errors.New("the uploaded file could not be read")

// HasFile reports whether WriteFile was called.
func (w *UploadWriter) HasFile() bool { return w.written }

// UploadOptions are the form fields besides the file.
type UploadOptions struct {
	Policy Policy
	Mode   Mode
	// Key is the optional Idempotency-Key.
	Key string
}

type uploadResult struct {
	UploadID uuid.UUID `json:"uploadId"`
}

// Commit stores the spooled file and queues its upload in one transaction,
// begun only now, and makes it durable. With a key, a retry of the same file
// and options returns the first upload.
func (w *UploadWriter) Commit(ctx context.Context, o UploadOptions) (Upload, error) {
	if w.spool == nil {
		return Upload{}, errors.New("upload: commit without a spooled file")
	}
	defer w.Close() // stored or failed, the spooled copy has served
	if o.Policy == "" {
		o.Policy = PolicyAllOrNothing
	}
	if o.Mode == "" {
		o.Mode = ModeReplace
	}
	if _, err := w.spool.Seek(0, io.SeekStart); err != nil {
		return Upload{}, fmt.Errorf("spool uploaded file: %w", err)
	}
	tx, err := w.s.store.BeginUpload(ctx)
	if err != nil {
		return Upload{}, fmt.Errorf("start upload: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := tx.EnsureList(ctx, w.listID, w.caller.OrgRegNo); err != nil {
		return Upload{}, err
	}
	stored, err := tx.WriteFile(ctx, w.id, w.spool, w.s.cfg.ChunkBytes)
	if err != nil {
		return Upload{}, fmt.Errorf("store uploaded file: %w", err)
	}
	if stored != w.bytes {
		return Upload{}, fmt.Errorf("store uploaded file: %d of %d bytes stored", stored, w.bytes)
	}
	var sum [32]byte
	copy(sum[:], w.sum.Sum(nil))
	var idem idempotency.Request
	if o.Key != "" {
		idem = idempotency.Request{
			Scope: "lists.upload:" + w.caller.ClientID,
			Key:   o.Key,
			Hash:  idempotency.HashOf([]byte(w.listID), []byte(o.Policy), []byte(o.Mode), sum[:]),
		}
		var prior uploadResult
		replay, err := tx.Claim(ctx, idem, &prior)
		if err != nil {
			return Upload{}, err
		}
		if replay {
			// The first request stored the file; drop this copy.
			_ = tx.Rollback(ctx)
			return w.s.store.Upload(ctx, prior.UploadID)
		}
	}
	u := Upload{
		ID: w.id, ListID: w.listID, Grantor: w.caller.OrgRegNo, CreatedBy: w.caller.ClientID,
		Status: StatusQueued, Format: w.format, Policy: o.Policy, Mode: o.Mode,
		Filename: w.filename, Bytes: w.bytes, SHA256: sum, CreatedAt: w.s.now().UTC().Truncate(time.Microsecond),
	}
	if err := tx.Insert(ctx, u); err != nil {
		return Upload{}, fmt.Errorf("queue upload: %w", err)
	}
	if o.Key != "" {
		if err := tx.Complete(ctx, idem, uploadResult{UploadID: w.id}); err != nil {
			return Upload{}, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return Upload{}, fmt.Errorf("queue upload: commit: %w", err)
	}
	select {
	case w.s.wake <- struct{}{}:
	default:
	}
	return u, nil
}

// Close releases the spooled file of an upload that is not committed (Commit
// releases it itself). It may be called more than once.
func (w *UploadWriter) Close() {
	if w.spool != nil {
		_ = w.spool.Close()
		w.spool = nil
	}
}

// GetUpload returns the caller's upload.
func (s *Service) GetUpload(ctx context.Context, c Caller, id uuid.UUID) (Upload, error) {
	u, err := s.store.Upload(ctx, id)
	if err != nil {
		return Upload{}, fmt.Errorf("get upload %s: %w", id, err)
	}
	if u.Grantor != c.OrgRegNo {
		return Upload{}, ErrNotOwner
	}
	return u, nil
}

// ErrInvalidCursor means a cursor this service did not issue.
var ErrInvalidCursor = errors.New("invalid cursor")

// Issues returns a page of the caller's upload's error report and the
// cursor of the next page ("" at the end).
func (s *Service) Issues(ctx context.Context, c Caller, id uuid.UUID, cursor string, limit int) ([]Issue, string, error) {
	if _, err := s.GetUpload(ctx, c, id); err != nil {
		return nil, "", err
	}
	after := 0
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil {
			return nil, "", ErrInvalidCursor
		}
		n, err := strconv.Atoi(string(raw))
		if err != nil || n < 0 {
			return nil, "", ErrInvalidCursor
		}
		after = n
	}
	items, err := s.store.Issues(ctx, id, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("upload %s report: %w", id, err)
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(items[limit-1].Seq)))
	}
	return items, next, nil
}

// AllIssues calls yield with every stored line of the caller's upload's
// report, in order, reading them a page at a time.
func (s *Service) AllIssues(ctx context.Context, c Caller, id uuid.UUID, yield func(Issue) error) error {
	if _, err := s.GetUpload(ctx, c, id); err != nil {
		return err
	}
	after := 0
	for {
		items, err := s.store.Issues(ctx, id, after, 1000)
		if err != nil {
			return fmt.Errorf("upload %s report: %w", id, err)
		}
		for _, it := range items {
			if err := yield(it); err != nil {
				return err
			}
			after = it.Seq
		}
		if len(items) < 1000 {
			return nil
		}
	}
}

// RunPruner drops the member sets of replaced versions once they are older
// than the retention, until ctx ends. Several instances may run it.
func (s *Service) RunPruner(ctx context.Context) {
	every := min(s.cfg.SetRetention/4, 10*time.Minute)
	for {
		for {
			n, err := s.store.PruneMemberSets(ctx, s.cfg.SetRetention, 50)
			if n > 0 {
				s.log.Info("member sets of replaced list versions dropped", "sets", n)
			}
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("list member sets not pruned this round", "error", err)
				}
				break
			}
			if n < 50 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// RunReportPurger deletes finished uploads and their error reports once
// they are older than the report retention, until ctx ends. Instances
// take turns: one purges while the others skip that round.
func (s *Service) RunReportPurger(ctx context.Context) {
	every := min(s.cfg.ReportRetention/4, 10*time.Minute)
	for {
		n, ran, err := s.store.PurgeUploadReports(ctx, s.cfg.ReportRetention)
		if n > 0 {
			s.log.Info("uploads past their report retention deleted", "uploads", n)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("upload reports not purged this round", "error", err)
		}
		if err == nil && !ran {
			s.log.Debug("upload report purge skipped: another instance is purging")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
