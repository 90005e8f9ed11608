// Package lists keeps grantors' person lists (personu saraksti): who is in a
// list and from when to when. A list changes only as a whole new version —
// by a JSON push or by a file upload processed in the background — and a
// reader sees either the previous version or the new one, never a mixture.
//
// Uploads are jobs: the file is stored durably with the job, workers lease
// jobs from the store so several gateway instances share them and a killed
// instance's job is taken over, and each job ends applied, rejected (the
// file or its rows are bad; the list is untouched) or failed (the gateway
// could not finish it; the list is untouched).
package lists

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/avis-lv/gateway/internal/idempotency"
	"github.com/avis-lv/gateway/internal/listfile"
)

// Mode says how a push or upload changes the list.
type Mode string

const (
	// ModeReplace makes the sent members the whole list.
	ModeReplace Mode = "replace"
	// ModeAdd adds the sent members; a member already in the list gets the
	// sent validity dates.
	ModeAdd Mode = "add"
	// ModeRemove removes the sent personal codes; their dates are ignored.
	ModeRemove Mode = "remove"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeReplace || m == ModeAdd || m == ModeRemove }

// Policy says what an upload with bad rows does.
type Policy string

const (
	// PolicyAllOrNothing rejects the whole upload if any row is bad.
	PolicyAllOrNothing Policy = "all-or-nothing"
	// PolicySkipInvalid applies the valid rows and reports the bad ones.
	PolicySkipInvalid Policy = "skip-invalid"
)

// Valid reports whether p is a known policy.
func (p Policy) Valid() bool { return p == PolicyAllOrNothing || p == PolicySkipInvalid }

// Status is where an upload is in its life.
type Status string

const (
	StatusQueued     Status = "queued"
	StatusProcessing Status = "processing"
	StatusApplied    Status = "applied"
	// StatusRejected: the file or its rows are not acceptable; the list is
	// unchanged and the error report says why.
	StatusRejected Status = "rejected"
	// StatusFailed: the gateway could not finish the upload; the list is
	// unchanged and failureReason says why.
	StatusFailed Status = "failed"
)

// Final reports whether the upload has ended.
func (s Status) Final() bool {
	return s == StatusApplied || s == StatusRejected || s == StatusFailed
}

// Errors the domain returns; the HTTP layer maps them to problems.
var (
	ErrNotFound       = errors.New("not found")
	ErrNotOwner       = errors.New("the list belongs to another grantor")
	ErrUploadNotFound = errors.New("upload not found")
	// ErrLeaseLost means another worker took the upload over; the caller
	// must drop its work without writing anything.
	ErrLeaseLost = errors.New("upload lease lost")
)

// Caller is the authenticated client acting on lists.
type Caller struct {
	OrgRegNo string
	ClientID string
}

// List is a person list's current state.
type List struct {
	ID      string
	Grantor string
	// Version is 0 while nothing has been applied.
	Version   int
	Size      int64
	UpdatedAt time.Time
	// The current version's change: the version it was built on and how
	// many codes it added and removed.
	PreviousVersion int
	Added, Removed  int64
	// ReceiptID names the signed receipt of the current version.
	ReceiptID *uuid.UUID
}

// Member is one person in a list. Code is the normalised 11-digit personal
// code as a number; a zero date is open-ended.
type Member struct {
	Code      int64
	ValidFrom time.Time
	ValidTo   time.Time
}

// Covers reports whether the member is valid on the calendar day of day.
func (m Member) Covers(day time.Time) bool {
	d := civil(day)
	if !m.ValidFrom.IsZero() && d.Before(civil(m.ValidFrom)) {
		return false
	}
	if !m.ValidTo.IsZero() && d.After(civil(m.ValidTo)) {
		return false
	}
	return true
}

func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// MemberSource yields members to copy into a new version, one at a time,
// so that a million rows never sit in memory together.
type MemberSource interface {
	// Next advances to the next member; false at the end or on error.
	Next() bool
	Member() Member
	// Err is the error that stopped Next, if any.
	Err() error
}

// VersionMeta describes who made a new version and how.
type VersionMeta struct {
	Mode      Mode
	CreatedBy string
	UploadID  *uuid.UUID
	// ContentSHA256 is the SHA-256 of what the grantor sent: the pushed
	// request body, or the uploaded file. The version's receipt attests it.
	ContentSHA256 [32]byte
}

// Upload is a stored list file and its processing job.
type Upload struct {
	ID          uuid.UUID
	ListID      string
	Grantor     string
	CreatedBy   string
	Status      Status
	Format      listfile.Format
	Policy      Policy
	Mode        Mode
	Filename    string
	Bytes       int64
	SHA256      [32]byte
	RowsRead    int64
	BytesRead   int64
	RowsTotal   *int64
	ValidRows   *int64
	InvalidRows *int64
	KeptRows    *int64
	ListVersion *int
	// ReceiptID names the signed receipt of the version it made.
	ReceiptID  *uuid.UUID
	Failure    *Failure
	Attempts   int
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// Failure is why an upload was rejected or failed: a stable code, the row
// where it happened (0 if none) and a language-neutral detail.
type Failure struct {
	Code   string
	Row    int
	Detail string
}

// Issue is one line of an upload's error report: a bad row, or the fatal
// problem of the file (Fatal; Row may then be 0 and Value holds the
// failure's detail).
type Issue struct {
	Seq          int
	Fatal        bool
	Row          int
	Column       string
	Code         string
	Value        string
	FirstRow     int
	Fields       int
	HeaderFields int
}

// Progress is how far processing has come.
type Progress struct {
	RowsRead  int64
	BytesRead int64
}

// Outcome is how an upload ended, written with its final status.
type Outcome struct {
	Status    Status
	RowsTotal int64
	// BytesRead is how much of the file was read, recorded with the end so
	// that an upload finished between two heartbeats does not keep the
	// last heartbeat's figure (or none).
	BytesRead   int64
	ValidRows   int64
	InvalidRows int64
	// KeptRows is how many persons with a bad row kept their current
	// entry in a skip-invalid replacement.
	KeptRows    int64
	ListVersion int
	Failure     *Failure
	// Issues are the stored lines of the error report (bounded).
	Issues []Issue
}

// Store is the persistence the lists domain needs. Implemented by
// internal/store.Lists.
type Store interface {
	// List returns a list's current state; ErrNotFound if it does not exist.
	List(ctx context.Context, id string) (List, error)
	// PruneMemberSets drops up to limit member sets of versions replaced
	// more than retention ago, and says how many it dropped.
	PruneMemberSets(ctx context.Context, retention time.Duration, limit int) (int, error)
	// Begin starts a transaction in which a new version is built.
	Begin(ctx context.Context) (Tx, error)

	// BeginUpload starts the transaction that stores an uploaded file.
	BeginUpload(ctx context.Context) (UploadTx, error)
	// Upload returns an upload; ErrUploadNotFound if there is none.
	Upload(ctx context.Context, id uuid.UUID) (Upload, error)
	// Issues returns up to limit lines of an upload's report after seq.
	Issues(ctx context.Context, id uuid.UUID, afterSeq, limit int) ([]Issue, error)
	// OpenFile streams the stored file of an upload.
	OpenFile(ctx context.Context, id uuid.UUID) (io.ReadCloser, error)

	// Lease gives owner the oldest queued upload, or one whose lease
	// expired, for lease; ok is false when there is none.
	Lease(ctx context.Context, owner string, lease time.Duration) (u Upload, ok bool, err error)
	// Heartbeat records progress and extends the lease; ErrLeaseLost if
	// owner no longer holds it.
	Heartbeat(ctx context.Context, id uuid.UUID, owner string, p Progress, lease time.Duration) error
	// Release gives the lease up so the upload is retried after delay. A
	// graceful release (the worker's instance is shutting down) also gives
	// back the attempt its lease counted: only attempts that failed, or
	// ended in a crash or an expired lease, count toward MaxAttempts.
	Release(ctx context.Context, id uuid.UUID, owner string, delay time.Duration, graceful bool) error
	// Finish ends an upload that changed nothing (rejected or failed),
	// fenced by the lease.
	Finish(ctx context.Context, id uuid.UUID, owner string, o Outcome) error

	// PurgeUploadReports deletes the uploads that finished more than
	// retention ago, with their error reports, and says how many; ran is
	// false when another instance was purging them.
	PurgeUploadReports(ctx context.Context, retention time.Duration) (uploads int64, ran bool, err error)

	// GrantorCertificates returns the PEM certificates a grantor registered
	// for signed list files (revoked ones excluded).
	GrantorCertificates(ctx context.Context, org string) ([][]byte, error)
}

// Tx builds a new list version in one database transaction. Call LockList
// before Publish; WriteMembers may come before or after LockList.
type Tx interface {
	// Claim and Complete record an idempotency key with the work.
	Claim(ctx context.Context, r idempotency.Request, prior any) (bool, error)
	Complete(ctx context.Context, r idempotency.Request, result any) error
	// LockList locks the list for this transaction, creating it owned by
	// grantor (version 0) if it does not exist; ErrNotOwner if another
	// grantor owns it.
	LockList(ctx context.Context, id, grantor string) (List, error)
	// WriteMembers bulk-copies the members the mode works with: for
	// replace the new version's members, for add and remove the members to
	// add or remove. Call it once.
	WriteMembers(ctx context.Context, mode Mode, src MemberSource) (int64, error)
	// PushedSince reports whether a JSON push (a version made by no
	// upload) changed the locked list at or after since.
	PushedSince(ctx context.Context, since time.Time) (bool, error)
	// KeepCurrent copies into a replacement the current entries (codes
	// and dates) of the persons in codes who are on the locked list and
	// not among the written members, and says how many it copied. Call it
	// after WriteMembers in mode replace and LockList, before Publish.
	KeepCurrent(ctx context.Context, codes []int64) (int64, error)
	// Publish builds the new version from the locked list and the written
	// members and makes it the current version.
	Publish(ctx context.Context, l List, meta VersionMeta) (List, error)
	// FinishUpload marks the upload applied (or as o says) in this
	// transaction, fenced by owner's lease: ErrLeaseLost if it was lost.
	FinishUpload(ctx context.Context, id uuid.UUID, owner string, o Outcome) error
	Commit(ctx context.Context) error
	// Rollback is safe to call after Commit.
	Rollback(ctx context.Context) error
}

// UploadTx stores one uploaded file and its job in one transaction.
type UploadTx interface {
	Claim(ctx context.Context, r idempotency.Request, prior any) (bool, error)
	Complete(ctx context.Context, r idempotency.Request, result any) error
	// EnsureList creates the list owned by grantor if it does not exist;
	// ErrNotOwner if another grantor owns it.
	EnsureList(ctx context.Context, id, grantor string) error
	// WriteFile streams r into storage in pieces of chunkBytes and returns
	// the bytes stored. An error r returns aborts the write and is returned
	// as it is.
	WriteFile(ctx context.Context, id uuid.UUID, r io.Reader, chunkBytes int) (int64, error)
	// Insert records the upload as queued.
	Insert(ctx context.Context, u Upload) error
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Notifier learns of each new list version after it is committed, so that
// caches can drop what they know of the list. It must not fail the caller:
// correctness never depends on it.
type Notifier interface {
	ListChanged(ctx context.Context, listID string, version int)
}
