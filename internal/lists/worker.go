package lists

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/avis-lv/gateway/internal/listfile"
)

// NewWorkerID names one worker of this process in lease records: the host,
// the process and a random part, so a restarted process never mistakes an
// old lease for its own.
func NewWorkerID(n int) string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s/%d", host, os.Getpid(), hex.EncodeToString(b), n)
}

// RunWorker processes uploads until ctx ends: it leases the oldest waiting
// upload, processes it, and otherwise waits for a new one (this instance's
// uploads wake it at once, other instances' within Poll).
func (s *Service) RunWorker(ctx context.Context, owner string) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		}
		for ctx.Err() == nil {
			did, err := s.ProcessNext(ctx, owner)
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "upload worker", "worker", owner, "error", err)
			}
			if !did || err != nil {
				break
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(s.cfg.Poll)
	}
}

// Drain stops this instance's workers from leasing further uploads, for
// a shutdown: uploads in progress go on until the workers' context ends.
// Leased during the drain, an upload would only be cut short by the
// shutdown.
func (s *Service) Drain() { s.draining.Store(true) }

// ProcessNext leases one upload and processes it to its end. It reports
// whether there was an upload to work on.
func (s *Service) ProcessNext(ctx context.Context, owner string) (bool, error) {
	if s.draining.Load() {
		return false, nil
	}
	u, ok, err := s.store.Lease(ctx, owner, s.cfg.Lease)
	if err != nil || !ok {
		return false, err
	}
	log := s.log.With("upload_id", u.ID.String(), "list_id", u.ListID, "worker", owner, "attempt", u.Attempts)
	if u.Attempts > s.cfg.MaxAttempts {
		log.WarnContext(ctx, "upload given up after repeated interruptions")
		err := s.store.Finish(ctx, u.ID, owner, Outcome{
			Status:  StatusFailed,
			Failure: &Failure{Code: CodeInterrupted, Detail: strconv.Itoa(u.Attempts - 1)},
		})
		if err == nil {
			s.metrics.uploads.WithLabelValues(string(StatusFailed)).Inc()
		}
		return true, err
	}
	start := time.Now()
	log.InfoContext(ctx, "upload processing", "format", u.Format, "bytes", u.Bytes, "mode", u.Mode, "policy", u.Policy)
	o, err := s.process(ctx, u, owner)
	switch {
	case errors.Is(err, ErrLeaseLost):
		log.WarnContext(ctx, "upload lease lost; another worker has it")
		return true, nil
	case err != nil:
		// Leave the upload to be retried (here or by another instance);
		// after MaxAttempts it fails with a reason.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		delay, graceful := time.Second, false
		if ctx.Err() != nil {
			// Shutting down: let another instance take it at once, and
			// do not count this attempt, or a few rolling deploys in a
			// row would fail a good upload as upload.interrupted.
			delay, graceful = 0, true
		}
		if rerr := s.store.Release(rctx, u.ID, owner, delay, graceful); rerr != nil && !errors.Is(rerr, ErrLeaseLost) {
			log.WarnContext(ctx, "release upload", "error", rerr)
		}
		if ctx.Err() != nil {
			return true, nil
		}
		return true, fmt.Errorf("process upload %s: %w", u.ID, err)
	}
	s.metrics.uploads.WithLabelValues(string(o.Status)).Inc()
	s.metrics.rows.Add(float64(o.RowsTotal))
	s.metrics.duration.Observe(time.Since(start).Seconds())
	if o.Status == StatusApplied {
		s.metrics.versions.WithLabelValues("upload").Inc()
	}
	log.InfoContext(ctx, "upload finished", "status", o.Status, "rows", o.RowsTotal, "valid_rows", o.ValidRows,
		"invalid_rows", o.InvalidRows, "list_version", o.ListVersion, "duration_ms", time.Since(start).Milliseconds())
	return true, nil
}

// progress is shared between the reading goroutine and the heartbeat.
type progress struct {
	rows, bytes atomic.Int64
}

func (p *progress) get() Progress {
	return Progress{RowsRead: p.rows.Load(), BytesRead: p.bytes.Load()}
}

// process reads the upload and either applies it as a new version, or
// finishes it as rejected. An error means it should be retried.
func (s *Service) process(ctx context.Context, u Upload, owner string) (Outcome, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	prog := &progress{}
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		s.heartbeat(ctx, u, owner, prog, cancel)
	}()
	defer func() {
		cancel(nil)
		<-hbDone
	}()

	o, err := s.apply(ctx, u, owner, prog)
	if err == nil {
		// Finished under this worker's lease (finishing is fenced by it);
		// a heartbeat that raced the finish and found the upload no longer
		// processing does not make it lost.
		return o, nil
	}
	if cause := context.Cause(ctx); errors.Is(cause, ErrLeaseLost) {
		return o, ErrLeaseLost
	}
	return o, err
}

func (s *Service) heartbeat(ctx context.Context, u Upload, owner string, prog *progress, cancel context.CancelCauseFunc) {
	// Progress is shown to a clerk watching a progress bar, so it is
	// written every second even when the lease is long.
	t := time.NewTicker(max(min(s.cfg.Lease/3, time.Second), 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.store.Heartbeat(ctx, u.ID, owner, prog.get(), s.cfg.Lease)
		if errors.Is(err, ErrLeaseLost) {
			cancel(ErrLeaseLost)
			return
		}
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "upload heartbeat", "upload_id", u.ID.String(), "error", err)
		}
	}
}

// storageError marks a failure to read the stored file, which is the
// gateway's problem (retry), not the file's (reject).
type storageError struct{ err error }

func (e *storageError) Error() string { return "read stored upload: " + e.err.Error() }
func (e *storageError) Unwrap() error { return e.err }

type storageReader struct{ r io.Reader }

func (s storageReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &storageError{err}
	}
	return n, err
}

// openReader opens the stored file with the reader of its format. A file
// that cannot be read as a list gives a Failure; a storage problem an error.
func (s *Service) openReader(ctx context.Context, u Upload) (listfile.Reader, *Failure, error) {
	f, err := s.store.OpenFile(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var rd listfile.Reader
	// Persons to remove need no dates: a file of codes alone will do, and a
	// date nobody uses cannot block the removal.
	lim := s.cfg.Limits
	lim.DatesIgnored = u.Mode == ModeRemove
	switch u.Format {
	case listfile.FormatCSV:
		lim.SizeHint = u.Bytes // the duplicate table is sized for the file's rows
		rd, err = listfile.NewCSVReader(storageReader{f}, lim)
		if err == nil {
			rc := f
			f = nil // the reader owns it now
			return &closingReader{Reader: rd, c: rc}, nil, nil
		}
	case listfile.FormatXLSX:
		// excelize needs random access: spool the package to a temporary
		// file (bounded by the XLSX size cap checked at upload).
		// The file holds personal codes: it loses its name at once, so
		// that a crash leaves nothing on disk (the open descriptor keeps
		// it readable until it is closed).
		tmp, terr := os.CreateTemp(s.cfg.TempDir, TempFilePrefix+"*.xlsx")
		if terr != nil {
			return nil, nil, fmt.Errorf("spool xlsx: %w", terr)
		}
		if rerr := os.Remove(tmp.Name()); rerr != nil {
			tmp.Close()
			return nil, nil, fmt.Errorf("spool xlsx: %w", rerr)
		}
		if _, cerr := io.Copy(tmp, f); cerr != nil {
			tmp.Close()
			return nil, nil, fmt.Errorf("spool xlsx: %w", cerr)
		}
		rd, err = listfile.NewXLSXReader(tmp, u.Bytes, lim)
		if err != nil {
			tmp.Close()
		} else {
			return &closingReader{Reader: rd, c: tmp}, nil, nil
		}
	case listfile.FormatXML:
		doc, rerr := io.ReadAll(io.LimitReader(f, s.cfg.MaxXMLBytes+1))
		if rerr != nil {
			return nil, nil, fmt.Errorf("read xml: %w", rerr)
		}
		certs, cerr := s.store.GrantorCertificates(ctx, u.Grantor)
		if cerr != nil {
			return nil, nil, cerr
		}
		rd, fail := verifyXML(doc, certs, u.ListID, s.cfg.MaxXMLBytes, lim)
		if fail != nil {
			return nil, fail, nil
		}
		return rd, nil, nil
	default:
		return nil, &Failure{Code: listfile.CodeFileFormat, Detail: string(u.Format)}, nil
	}
	var se *storageError
	if errors.As(err, &se) {
		return nil, nil, se
	}
	var fe *listfile.FileError
	if errors.As(err, &fe) {
		return nil, &Failure{Code: fe.Code, Row: fe.Row, Detail: fe.Detail}, nil
	}
	return nil, nil, err
}

type closingReader struct {
	listfile.Reader
	c io.Closer
}

func (r *closingReader) Close() error {
	err := r.Reader.Close()
	if cerr := r.c.Close(); err == nil {
		err = cerr
	}
	return err
}

// errBadRow stops the copy at the first bad row of an all-or-nothing upload.
var errBadRow = errors.New("bad row under the all-or-nothing policy")

// fileSource turns a file reader into the members of a version, collecting
// the bad rows for the report.
type fileSource struct {
	rd      listfile.Reader
	policy  Policy
	prog    *progress
	max     int
	issues  []Issue
	invalid int64
	valid   int64
	cur     Member
	fatal   *listfile.FileError
	err     error
	// keepCodes are the valid personal codes of bad rows, whose current
	// entries a skip-invalid replacement keeps (collected only when keep
	// is set). One int64 per bad row, and the reader stops at
	// Limits.MaxRowErrors bad rows (100 000: 800 KB); with that limit off
	// it is still at most MaxRows (2 million: 16 MB). No cap of its own:
	// dropping a code past one would drop an entitled person, the very
	// loss this prevents.
	keep      bool
	keepCodes []int64
}

func (f *fileSource) Next() bool {
	if f.err != nil {
		return false
	}
	for {
		row, err := f.rd.Next()
		rows, bytes := f.rd.Progress()
		f.prog.rows.Store(int64(rows))
		f.prog.bytes.Store(bytes)
		if err == nil {
			f.valid++
			f.cur = Member{Code: CodeNumber(row.PersonCode), ValidFrom: row.ValidFrom}
			if row.ValidTo != nil {
				f.cur.ValidTo = *row.ValidTo
			}
			return true
		}
		if err == io.EOF {
			return false
		}
		var re *listfile.RowError
		if errors.As(err, &re) {
			f.addRowError(re)
			if f.policy == PolicyAllOrNothing {
				f.err = errBadRow
				return false
			}
			continue
		}
		var se *storageError
		var fe *listfile.FileError
		switch {
		case errors.As(err, &se):
			f.err = se
		case errors.As(err, &fe):
			f.fatal = fe
			f.err = fe
		default:
			f.err = err
		}
		return false
	}
}

func (f *fileSource) addRowError(re *listfile.RowError) {
	f.invalid++
	if f.keep && re.PersonCode != "" {
		f.keepCodes = append(f.keepCodes, CodeNumber(re.PersonCode))
	}
	if len(f.issues) < f.max {
		f.issues = append(f.issues, Issue{
			Seq: len(f.issues) + 1, Row: re.Row, Column: re.Column, Code: re.Code, Value: re.Value,
			FirstRow: re.FirstRow, Fields: re.Fields, HeaderFields: re.HeaderFields,
		})
	}
}

// drain reads the rest of the file after an all-or-nothing upload met its
// first bad row, so the report lists every bad row and not just the first.
func (f *fileSource) drain() {
	f.err = nil
	f.policy = PolicySkipInvalid
	for f.Next() {
	}
}

func (f *fileSource) Member() Member { return f.cur }
func (f *fileSource) Err() error     { return f.err }

func (f *fileSource) fatalIssue() {
	if f.fatal == nil {
		return
	}
	f.issues = append(f.issues, Issue{
		Seq: len(f.issues) + 1, Fatal: true, Row: f.fatal.Row, Code: f.fatal.Code, Value: f.fatal.Detail,
	})
}

func (f *fileSource) outcome(status Status) Outcome {
	rows, bytes := f.rd.Progress()
	return Outcome{
		Status: status, RowsTotal: int64(rows), BytesRead: bytes, ValidRows: f.valid, InvalidRows: f.invalid, Issues: f.issues,
	}
}

// apply does the work of one upload.
func (s *Service) apply(ctx context.Context, u Upload, owner string, prog *progress) (Outcome, error) {
	rd, fail, err := s.openReader(ctx, u)
	if err != nil {
		return Outcome{}, err
	}
	if fail != nil {
		o := Outcome{Status: StatusRejected, Failure: fail, Issues: []Issue{{Seq: 1, Fatal: true, Row: fail.Row, Code: fail.Code, Value: fail.Detail}}}
		return o, s.store.Finish(ctx, u.ID, owner, o)
	}
	defer rd.Close()
	// A bad row must not cost a listed person their entry: a replacement
	// that skips bad rows keeps what the list holds for them.
	keep := u.Mode == ModeReplace && u.Policy == PolicySkipInvalid
	src := &fileSource{rd: rd, policy: u.Policy, prog: prog, max: s.cfg.MaxIssues, keep: keep}

	tx, err := s.store.Begin(ctx)
	if err != nil {
		return Outcome{}, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	_, werr := tx.WriteMembers(ctx, u.Mode, src)
	var se *storageError
	switch {
	case errors.As(src.err, &se):
		return Outcome{}, se
	case errors.Is(src.err, errBadRow):
		_ = tx.Rollback(ctx)
		src.drain()
		if errors.As(src.err, &se) {
			return Outcome{}, se
		}
		src.fatalIssue()
		o := src.outcome(StatusRejected)
		o.Failure = &Failure{Code: CodeInvalidRows, Detail: strconv.FormatInt(src.invalid, 10)}
		if src.fatal != nil {
			o.Failure = &Failure{Code: src.fatal.Code, Row: src.fatal.Row, Detail: src.fatal.Detail}
		}
		return o, s.store.Finish(ctx, u.ID, owner, o)
	case src.fatal != nil:
		_ = tx.Rollback(ctx)
		src.fatalIssue()
		o := src.outcome(StatusRejected)
		o.Failure = &Failure{Code: src.fatal.Code, Row: src.fatal.Row, Detail: src.fatal.Detail}
		return o, s.store.Finish(ctx, u.ID, owner, o)
	case src.err != nil:
		return Outcome{}, src.err
	case werr != nil:
		return Outcome{}, werr
	case src.valid == 0:
		_ = tx.Rollback(ctx)
		o := src.outcome(StatusRejected)
		o.Failure = &Failure{Code: CodeNoValidRows}
		return o, s.store.Finish(ctx, u.ID, owner, o)
	}
	l, err := tx.LockList(ctx, u.ListID, u.Grantor)
	if err != nil {
		return Outcome{}, err
	}
	// Uploads are applied in the order they came, but a push is applied at
	// once: a replacement queued before a push and applied after it would
	// silently undo a change the gateway had acknowledged.
	if u.Mode == ModeReplace {
		pushed, err := tx.PushedSince(ctx, u.CreatedAt)
		if err != nil {
			return Outcome{}, err
		}
		if pushed {
			_ = tx.Rollback(ctx)
			o := src.outcome(StatusRejected)
			o.Failure = &Failure{Code: CodePushedSince}
			return o, s.store.Finish(ctx, u.ID, owner, o)
		}
	}
	var kept int64
	if keep {
		if kept, err = tx.KeepCurrent(ctx, src.keepCodes); err != nil {
			return Outcome{}, err
		}
	}
	id := u.ID
	nl, err := tx.Publish(ctx, l, VersionMeta{Mode: u.Mode, CreatedBy: u.CreatedBy, UploadID: &id, ContentSHA256: u.SHA256})
	if err != nil {
		return Outcome{}, err
	}
	o := src.outcome(StatusApplied)
	o.ListVersion, o.KeptRows = nl.Version, kept
	if err := tx.FinishUpload(ctx, u.ID, owner, o); err != nil {
		return Outcome{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Outcome{}, fmt.Errorf("commit list version: %w", err)
	}
	s.changed(ctx, nl)
	return o, nil
}
