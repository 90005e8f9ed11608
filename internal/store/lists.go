package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/idempotency"
	"github.com/avis-lv/gateway/internal/lists"
	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/internal/transactions"
)

// Lists stores person lists, their versions and members, and list uploads.
//
// Members live in immutable sets, one table each (list_sets.s<set>); a
// list's current_set names the set readers see. A new version's table is
// created, loaded and indexed in the transaction that moves current_set, so
// the change becomes visible all at once or not at all.
type Lists struct {
	pool *pgxpool.Pool
}

// NewLists returns the lists storage on pool.
func NewLists(pool *pgxpool.Pool) *Lists { return &Lists{pool: pool} }

var _ lists.Store = (*Lists)(nil)

// List implements lists.Store.
func (s *Lists) List(ctx context.Context, id string) (lists.List, error) {
	var l lists.List
	err := s.pool.QueryRow(ctx, `
		SELECT l.id, l.grantor_reg_no, l.current_version, l.size, l.updated_at,
			coalesce(v.previous_version, 0), coalesce(v.added, 0), coalesce(v.removed, 0), v.receipt_id
		FROM person_lists l
		LEFT JOIN person_list_versions v ON v.list_id = l.id AND v.version = l.current_version
		WHERE l.id = $1`, id).Scan(&l.ID, &l.Grantor, &l.Version, &l.Size, &l.UpdatedAt, &l.PreviousVersion, &l.Added, &l.Removed, &l.ReceiptID)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, lists.ErrNotFound
	}
	if err != nil {
		return l, fmt.Errorf("read list: %w", err)
	}
	return l, nil
}

// ClaimList returns the owner of list id, making grantor its owner first
// when nobody owns it yet (as its first push or upload would).
func (s *Lists) ClaimList(ctx context.Context, id, grantor string) (string, error) {
	// Two statements: in one, a claim committed by another transaction
	// meanwhile would be invisible to the read and make the insert a no-op.
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO person_lists (id, grantor_reg_no) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, grantor); err != nil {
		return "", fmt.Errorf("claim list %s: %w", id, err)
	}
	var owner string
	if err := s.pool.QueryRow(ctx, `SELECT grantor_reg_no FROM person_lists WHERE id = $1`, id).Scan(&owner); err != nil {
		return "", fmt.Errorf("claim list %s: %w", id, err)
	}
	return owner, nil
}

// CurrentVersion is the list's current version number; 0 for a list that
// has nothing applied or does not exist. Caches keyed by (list, version)
// stay correct by comparing it.
func (s *Lists) CurrentVersion(ctx context.Context, listID string) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT current_version FROM person_lists WHERE id = $1`, listID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list version: %w", err)
	}
	return v, nil
}

// Membership looks code up in the list's current version with one index
// probe. found is false when the person is not in the list (or the list
// does not exist); version is the version that was read (0 for none).
func (s *Lists) Membership(ctx context.Context, listID string, code personcode.Code) (m lists.Member, found bool, version int, err error) {
	var from, to pgtype.Date
	err = s.pool.QueryRow(ctx, `SELECT version, is_member, valid_from, valid_to FROM list_membership($1, $2)`,
		listID, lists.CodeNumber(code)).Scan(&version, &found, &from, &to)
	if err != nil {
		return m, false, 0, fmt.Errorf("list membership: %w", err)
	}
	if !found {
		return m, false, version, nil
	}
	m.Code = lists.CodeNumber(code)
	if from.Valid {
		m.ValidFrom = from.Time
	}
	if to.Valid {
		m.ValidTo = to.Time
	}
	return m, true, version, nil
}

// IsMember answers the eligibility question: is the person in the list's
// current version and valid on the calendar day of day? It also returns the
// version it read.
func (s *Lists) IsMember(ctx context.Context, listID string, code personcode.Code, day time.Time) (bool, int, error) {
	m, found, v, err := s.Membership(ctx, listID, code)
	if err != nil || !found {
		return false, v, err
	}
	return m.Covers(day), v, nil
}

// Begin implements lists.Store.
func (s *Lists) Begin(ctx context.Context) (lists.Tx, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &listTx{tx: tx}, nil
}

// listTx builds one new version.
type listTx struct {
	tx pgx.Tx
	// the locked list
	locked     bool
	list       lists.List
	currentSet *int64
	// the written members
	written bool
	mode    lists.Mode
	set     int64
	copied  int64
}

func (t *listTx) Claim(ctx context.Context, r idempotency.Request, prior any) (bool, error) {
	return idempotency.Claim(ctx, t.tx, r, prior)
}

func (t *listTx) Complete(ctx context.Context, r idempotency.Request, result any) error {
	return idempotency.Complete(ctx, t.tx, r, result)
}

// lockList creates the list if needed and locks its row; shared by pushes
// and uploads.
func lockList(ctx context.Context, tx pgx.Tx, id, grantor string) (lists.List, *int64, error) {
	if _, err := tx.Exec(ctx, `
		INSERT INTO person_lists (id, grantor_reg_no) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, grantor); err != nil {
		return lists.List{}, nil, fmt.Errorf("create list: %w", err)
	}
	var l lists.List
	var set *int64
	err := tx.QueryRow(ctx, `
		SELECT id, grantor_reg_no, current_version, current_set, size, updated_at
		FROM person_lists WHERE id = $1 FOR UPDATE`, id).Scan(&l.ID, &l.Grantor, &l.Version, &set, &l.Size, &l.UpdatedAt)
	if err != nil {
		return l, nil, fmt.Errorf("lock list: %w", err)
	}
	if l.Grantor != grantor {
		return l, nil, lists.ErrNotOwner
	}
	return l, set, nil
}

func (t *listTx) LockList(ctx context.Context, id, grantor string) (lists.List, error) {
	l, set, err := lockList(ctx, t.tx, id, grantor)
	if err != nil {
		return l, err
	}
	t.locked, t.list, t.currentSet = true, l, set
	return l, nil
}

// setTable names the table of a member set. set is a number from a
// sequence, so the name needs no quoting.
func setTable(set int64) string { return fmt.Sprintf("list_sets.s%d", set) }

// WriteMembers copies a replacement straight into the new version's own
// table, created here without an index (Publish builds it after the load);
// nothing reads that table before Publish. Members to add or remove go to a
// temporary staging table that Publish merges with the current set.
func (t *listTx) WriteMembers(ctx context.Context, mode lists.Mode, src lists.MemberSource) (int64, error) {
	if t.written {
		return 0, errors.New("write members: already written in this transaction")
	}
	t.written, t.mode = true, mode
	var target string
	switch mode {
	case lists.ModeReplace:
		if err := t.tx.QueryRow(ctx, `SELECT nextval('list_member_sets')`).Scan(&t.set); err != nil {
			return 0, fmt.Errorf("new member set: %w", err)
		}
		target = setTable(t.set)
		if _, err := t.tx.Exec(ctx, `CREATE TABLE `+target+` (person_code bigint NOT NULL, valid_from date, valid_to date)`); err != nil {
			return 0, fmt.Errorf("member table: %w", err)
		}
	case lists.ModeAdd, lists.ModeRemove:
		target = "list_staging"
		if _, err := t.tx.Exec(ctx, `
			CREATE TEMP TABLE list_staging (person_code bigint NOT NULL, valid_from date, valid_to date)
			ON COMMIT DROP`); err != nil {
			return 0, fmt.Errorf("staging table: %w", err)
		}
	default:
		return 0, fmt.Errorf("write members: unknown mode %q", mode)
	}
	enc := newMemberCopy(src)
	if _, err := t.tx.Conn().PgConn().CopyFrom(ctx, enc, `COPY `+target+` (person_code, valid_from, valid_to) FROM STDIN BINARY`); err != nil {
		return enc.n, fmt.Errorf("copy members: %w", err)
	}
	if mode != lists.ModeReplace {
		// Temporary tables are never analysed automatically; without
		// statistics the merge in Publish may pick a nested loop.
		if _, err := t.tx.Exec(ctx, `ANALYZE list_staging`); err != nil {
			return enc.n, fmt.Errorf("analyse staging table: %w", err)
		}
	}
	t.copied = enc.n
	return enc.n, nil
}

// KeepCurrent implements lists.Tx in one statement, however many codes.
// The new table has no index yet, so the written members are looked up by
// a hash anti-join: one scan of the new version, not a probe per code.
func (t *listTx) KeepCurrent(ctx context.Context, codes []int64) (int64, error) {
	if !t.locked || !t.written || t.mode != lists.ModeReplace {
		return 0, errors.New("keep current: lock the list and write a replacement first")
	}
	if len(codes) == 0 || t.currentSet == nil {
		return 0, nil
	}
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO `+setTable(t.set)+` (person_code, valid_from, valid_to)
		SELECT o.person_code, o.valid_from, o.valid_to FROM `+setTable(*t.currentSet)+` o
		WHERE o.person_code = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM `+setTable(t.set)+` n WHERE n.person_code = o.person_code)`, codes)
	if err != nil {
		return 0, fmt.Errorf("keep current members: %w", err)
	}
	t.copied += tag.RowsAffected()
	return tag.RowsAffected(), nil
}

// PushedSince implements lists.Tx. A version's created_at is the
// database's clock and an upload's the gateway's: they agree to within
// what NTP keeps, and a push in that margin is the race this guards
// against at its fuzziest, where refusing a replacement that could have
// gone through costs the clerk an upload, not a change.
func (t *listTx) PushedSince(ctx context.Context, since time.Time) (bool, error) {
	if !t.locked {
		return false, errors.New("pushed since: lock the list first")
	}
	var pushed bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM person_list_versions
		WHERE list_id = $1 AND upload_id IS NULL AND created_at >= $2)`, t.list.ID, since).Scan(&pushed)
	if err != nil {
		return false, fmt.Errorf("list pushed since: %w", err)
	}
	return pushed, nil
}

// Publish implements lists.Tx.
func (t *listTx) Publish(ctx context.Context, _ lists.List, meta lists.VersionMeta) (lists.List, error) {
	if !t.locked || !t.written {
		return lists.List{}, errors.New("publish: lock the list and write members first")
	}
	prev := t.list
	var size, added, removed int64
	set := t.set
	switch t.mode {
	case lists.ModeReplace:
		size = t.copied
	case lists.ModeAdd, lists.ModeRemove:
		if err := t.tx.QueryRow(ctx, `SELECT nextval('list_member_sets')`).Scan(&set); err != nil {
			return lists.List{}, fmt.Errorf("new member set: %w", err)
		}
		var parts []string
		if t.mode == lists.ModeAdd {
			parts = append(parts, `SELECT person_code, valid_from, valid_to FROM list_staging`)
		}
		if t.currentSet != nil {
			parts = append(parts, `SELECT m.person_code, m.valid_from, m.valid_to FROM `+setTable(*t.currentSet)+` m
				WHERE NOT EXISTS (SELECT 1 FROM list_staging s WHERE s.person_code = m.person_code)`)
		}
		if len(parts) == 0 {
			parts = append(parts, `SELECT person_code, valid_from, valid_to FROM list_staging WHERE false`)
		}
		tag, err := t.tx.Exec(ctx, `CREATE TABLE `+setTable(set)+` AS `+strings.Join(parts, " UNION ALL "))
		if err != nil {
			return lists.List{}, fmt.Errorf("build version: %w", err)
		}
		size = tag.RowsAffected()
	}
	// The index is built once the rows are in: a sorted build instead of
	// a million random inserts. It also proves the codes unique.
	if _, err := t.tx.Exec(ctx, `ALTER TABLE `+setTable(set)+` ADD PRIMARY KEY (person_code)`); err != nil {
		return lists.List{}, fmt.Errorf("index version: %w", err)
	}
	switch {
	case t.mode == lists.ModeAdd:
		added = size - prev.Size
	case t.mode == lists.ModeRemove:
		removed = prev.Size - size
	case t.currentSet == nil || prev.Size == 0:
		added, removed = size, prev.Size
	default:
		var common int64
		if err := t.tx.QueryRow(ctx, `
			SELECT count(*) FROM `+setTable(set)+` n JOIN `+setTable(*t.currentSet)+` o USING (person_code)`).Scan(&common); err != nil {
			return lists.List{}, fmt.Errorf("compare versions: %w", err)
		}
		added, removed = size-common, prev.Size-common
	}
	version := prev.Version + 1
	receiptID := uuid.Must(uuid.NewV7())
	var createdAt time.Time
	if err := t.tx.QueryRow(ctx, `
		INSERT INTO person_list_versions (list_id, version, member_set, previous_version, mode, size, added, removed, upload_id, created_by, receipt_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		RETURNING created_at`,
		prev.ID, version, set, prev.Version, string(t.mode), size, added, removed, meta.UploadID, meta.CreatedBy, receiptID).Scan(&createdAt); err != nil {
		return lists.List{}, fmt.Errorf("record version: %w", err)
	}
	rec := transactions.ListVersionReceipt(receiptID, transactions.ListVersion{ListID: prev.ID, Grantor: prev.Grantor, Mode: string(t.mode),
		Version: version, Previous: prev.Version, Size: size, Added: added, Removed: removed, UploadID: meta.UploadID,
		ContentSHA256: meta.ContentSHA256, CreatedAt: createdAt.UTC()})
	if err := insertReceipt(ctx, t.tx, rec); err != nil {
		return lists.List{}, err
	}
	if _, err := t.tx.Exec(ctx, `
		UPDATE person_lists SET current_version = $2, current_set = $3, size = $4, updated_at = $5 WHERE id = $1`,
		prev.ID, version, set, size, createdAt); err != nil {
		return lists.List{}, fmt.Errorf("make version current: %w", err)
	}
	return lists.List{
		ID: prev.ID, Grantor: prev.Grantor, Version: version, Size: size, UpdatedAt: createdAt.UTC(),
		PreviousVersion: prev.Version, Added: added, Removed: removed, ReceiptID: &receiptID,
	}, nil
}

func (t *listTx) FinishUpload(ctx context.Context, id uuid.UUID, owner string, o lists.Outcome) error {
	return finishUpload(ctx, t.tx, id, owner, o)
}

func (t *listTx) Commit(ctx context.Context) error { return commit(ctx, t.tx) }

func (t *listTx) Rollback(ctx context.Context) error {
	err := t.tx.Rollback(ctx)
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return err
}

// finishUpload records an upload's end, fenced by the lease: a worker that
// lost its lease cannot overwrite the new holder's work.
func finishUpload(ctx context.Context, tx pgx.Tx, id uuid.UUID, owner string, o lists.Outcome) error {
	var code, detail *string
	var row *int
	if o.Failure != nil {
		code, detail, row = &o.Failure.Code, &o.Failure.Detail, &o.Failure.Row
	}
	var version *int
	if o.ListVersion > 0 {
		version = &o.ListVersion
	}
	tag, err := tx.Exec(ctx, `
		UPDATE list_uploads SET status = $3, rows_total = $4, rows_read = $4, bytes_read = $11, valid_rows = $5, invalid_rows = $6,
			kept_rows = $12, list_version = $7, failure_code = $8, failure_row = $9, failure_detail = $10,
			finished_at = now(), lease_owner = NULL, lease_expires = NULL
		WHERE id = $1 AND lease_owner = $2 AND status = 'processing'`,
		id, owner, string(o.Status), o.RowsTotal, o.ValidRows, o.InvalidRows, version, code, row, detail, o.BytesRead, o.KeptRows)
	if err != nil {
		return fmt.Errorf("finish upload: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return lists.ErrLeaseLost
	}
	if _, err := tx.Exec(ctx, `DELETE FROM list_upload_errors WHERE upload_id = $1`, id); err != nil {
		return fmt.Errorf("clear upload report: %w", err)
	}
	// The file has served its purpose: the list version (or the report)
	// is the record now, and a second copy of a million personal codes is
	// a liability. Its SHA-256 stays with the upload.
	if _, err := tx.Exec(ctx, `DELETE FROM list_upload_chunks WHERE upload_id = $1`, id); err != nil {
		return fmt.Errorf("delete uploaded file: %w", err)
	}
	if len(o.Issues) == 0 {
		return nil
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"list_upload_errors"},
		[]string{"upload_id", "seq", "row_no", "column_name", "code", "value", "first_row", "fields", "header_fields", "fatal"},
		pgx.CopyFromSlice(len(o.Issues), func(i int) ([]any, error) {
			is := o.Issues[i]
			return []any{id, is.Seq, is.Row, is.Column, is.Code, is.Value, is.FirstRow, is.Fields, is.HeaderFields, is.Fatal}, nil
		}))
	if err != nil {
		return fmt.Errorf("store upload report: %w", err)
	}
	return nil
}

// Finish implements lists.Store.
func (s *Lists) Finish(ctx context.Context, id uuid.UUID, owner string, o lists.Outcome) error {
	return inTx(ctx, s.pool, func(tx pgx.Tx) error {
		return finishUpload(ctx, tx, id, owner, o)
	})
}

const uploadColumns = `id, list_id, grantor_reg_no, created_by, status, format, policy, mode, filename, bytes, sha256,
	rows_read, bytes_read, rows_total, valid_rows, invalid_rows, kept_rows, list_version,
	failure_code, failure_row, failure_detail, attempts, created_at, started_at, finished_at,
	(SELECT v.receipt_id FROM person_list_versions v WHERE v.list_id = list_uploads.list_id AND v.version = list_uploads.list_version)`

func scanUpload(row pgx.Row) (lists.Upload, error) {
	var u lists.Upload
	var sum []byte
	var code, detail *string
	var frow *int
	err := row.Scan(&u.ID, &u.ListID, &u.Grantor, &u.CreatedBy, &u.Status, &u.Format, &u.Policy, &u.Mode, &u.Filename,
		&u.Bytes, &sum, &u.RowsRead, &u.BytesRead, &u.RowsTotal, &u.ValidRows, &u.InvalidRows, &u.KeptRows, &u.ListVersion,
		&code, &frow, &detail, &u.Attempts, &u.CreatedAt, &u.StartedAt, &u.FinishedAt, &u.ReceiptID)
	if err != nil {
		return u, err
	}
	copy(u.SHA256[:], sum)
	if code != nil {
		u.Failure = &lists.Failure{Code: *code}
		if frow != nil {
			u.Failure.Row = *frow
		}
		if detail != nil {
			u.Failure.Detail = *detail
		}
	}
	return u, nil
}

// Upload implements lists.Store.
func (s *Lists) Upload(ctx context.Context, id uuid.UUID) (lists.Upload, error) {
	u, err := scanUpload(s.pool.QueryRow(ctx, `SELECT `+uploadColumns+` FROM list_uploads WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, lists.ErrUploadNotFound
	}
	if err != nil {
		return u, fmt.Errorf("read upload: %w", err)
	}
	return u, nil
}

// Issues implements lists.Store.
func (s *Lists) Issues(ctx context.Context, id uuid.UUID, afterSeq, limit int) ([]lists.Issue, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT seq, row_no, column_name, code, value, first_row, fields, header_fields, fatal
		FROM list_upload_errors WHERE upload_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, id, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("read upload report: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (lists.Issue, error) {
		var is lists.Issue
		err := r.Scan(&is.Seq, &is.Row, &is.Column, &is.Code, &is.Value, &is.FirstRow, &is.Fields, &is.HeaderFields, &is.Fatal)
		return is, err
	})
}

// Lease implements lists.Store. SKIP LOCKED lets workers of every instance
// ask at once without waiting for each other; a processing upload whose
// lease expired (its worker died) is taken over. Uploads to one list are
// processed one at a time in the order they arrived, so the later upload
// is the later version.
func (s *Lists) Lease(ctx context.Context, owner string, lease time.Duration) (lists.Upload, bool, error) {
	u, err := scanUpload(s.pool.QueryRow(ctx, `
		UPDATE list_uploads SET status = 'processing', lease_owner = $1,
			lease_expires = now() + $2 * interval '1 millisecond', attempts = attempts + 1,
			started_at = coalesce(started_at, now()), rows_read = 0, bytes_read = 0
		WHERE id = (
			SELECT u.id FROM list_uploads u
			WHERE (u.status = 'queued' OR (u.status = 'processing' AND u.lease_expires < now()))
			AND NOT EXISTS (
				SELECT 1 FROM list_uploads e
				WHERE e.list_id = u.list_id AND e.status IN ('queued', 'processing')
				AND e.queue_seq < u.queue_seq)
			ORDER BY u.queue_seq
			LIMIT 1
			FOR UPDATE SKIP LOCKED)
		RETURNING `+uploadColumns, owner, lease.Milliseconds()))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, false, nil
	}
	if err != nil {
		return u, false, fmt.Errorf("lease upload: %w", err)
	}
	return u, true, nil
}

// Heartbeat implements lists.Store.
func (s *Lists) Heartbeat(ctx context.Context, id uuid.UUID, owner string, p lists.Progress, lease time.Duration) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE list_uploads SET rows_read = $3, bytes_read = $4, lease_expires = now() + $5 * interval '1 millisecond'
		WHERE id = $1 AND lease_owner = $2 AND status = 'processing'`, id, owner, p.RowsRead, p.BytesRead, lease.Milliseconds())
	if err != nil {
		return fmt.Errorf("upload heartbeat: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return lists.ErrLeaseLost
	}
	return nil
}

// Release implements lists.Store.
func (s *Lists) Release(ctx context.Context, id uuid.UUID, owner string, delay time.Duration, graceful bool) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE list_uploads SET lease_expires = now() + $3 * interval '1 millisecond',
			attempts = CASE WHEN $4 THEN greatest(attempts - 1, 0) ELSE attempts END
		WHERE id = $1 AND lease_owner = $2 AND status = 'processing'`, id, owner, delay.Milliseconds(), graceful)
	if err != nil {
		return fmt.Errorf("release upload: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return lists.ErrLeaseLost
	}
	return nil
}

// OpenFile implements lists.Store. The chunks come from one query whose
// rows PostgreSQL streams ahead into the socket while the reader parses, so
// reading never waits for a round trip; only the current chunk is held.
func (s *Lists) OpenFile(ctx context.Context, id uuid.UUID) (io.ReadCloser, error) {
	return &chunkReader{ctx: ctx, pool: s.pool, id: id}, nil
}

type chunkReader struct {
	ctx  context.Context
	pool *pgxpool.Pool
	id   uuid.UUID
	rows pgx.Rows
	buf  pgtype.PreallocBytes
	pos  int
	eof  bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for r.pos >= len(r.buf) {
		if r.eof {
			return 0, io.EOF
		}
		if r.rows == nil {
			rows, err := r.pool.Query(r.ctx, `SELECT data FROM list_upload_chunks WHERE upload_id = $1 ORDER BY seq`, r.id)
			if err != nil {
				return 0, fmt.Errorf("read upload: %w", err)
			}
			r.rows = rows
		}
		if !r.rows.Next() {
			err := r.rows.Err()
			r.rows.Close()
			if err != nil {
				return 0, fmt.Errorf("read upload: %w", err)
			}
			r.eof, r.buf = true, r.buf[:0]
			return 0, io.EOF
		}
		if cap(r.buf) > 0 {
			r.buf = r.buf[:cap(r.buf)]
		}
		if err := r.rows.Scan(&r.buf); err != nil {
			return 0, fmt.Errorf("read upload chunk: %w", err)
		}
		r.pos = 0
	}
	n := copy(p, r.buf[r.pos:])
	r.pos += n
	return n, nil
}

func (r *chunkReader) Close() error {
	if r.rows != nil {
		r.rows.Close()
	}
	return nil
}

// GrantorCertificates implements lists.Store.
func (s *Lists) GrantorCertificates(ctx context.Context, org string) ([][]byte, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT pem FROM grantor_certificates WHERE org_reg_no = $1 AND revoked_at IS NULL ORDER BY added_at`, org)
	if err != nil {
		return nil, fmt.Errorf("grantor certificates: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]byte, error) {
		var p string
		err := r.Scan(&p)
		return []byte(p), err
	})
}

// GrantorCertificate is a registered certificate.
type GrantorCertificate struct {
	Org         string
	Fingerprint string
	Subject     string
	NotAfter    time.Time
	AddedAt     time.Time
	RevokedAt   *time.Time
}

// AddGrantorCertificates registers the certificates in pemData as trusted
// for the organisation's signed person-list files. The organisation must
// exist (it has a client). Registering a revoked certificate again
// reinstates it.
func (s *Lists) AddGrantorCertificates(ctx context.Context, org string, pemData []byte) ([]GrantorCertificate, error) {
	certs, err := signing.ParseCertificatesPEM(pemData)
	if err != nil {
		return nil, fmt.Errorf("grantor certificate: %w", err)
	}
	var out []GrantorCertificate
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organisations WHERE reg_no = $1)`, org).Scan(&exists); err != nil {
			return fmt.Errorf("find organisation: %w", err)
		}
		if !exists {
			return fmt.Errorf("organisation %s is not registered; add a client for it first", org)
		}
		for _, c := range certs {
			g := GrantorCertificate{Org: org, Fingerprint: signing.Fingerprint(c), Subject: c.Subject.String(), NotAfter: c.NotAfter}
			if err := tx.QueryRow(ctx, `
				INSERT INTO grantor_certificates (org_reg_no, fingerprint, subject, not_after, pem)
				VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (org_reg_no, fingerprint) DO UPDATE SET revoked_at = NULL
				RETURNING added_at`, org, g.Fingerprint, g.Subject, g.NotAfter, string(signing.EncodeCertificatePEM(c))).Scan(&g.AddedAt); err != nil {
				return fmt.Errorf("register certificate: %w", err)
			}
			out = append(out, g)
		}
		return nil
	})
	return out, err
}

// RevokeGrantorCertificate stops trusting a certificate for new uploads.
func (s *Lists) RevokeGrantorCertificate(ctx context.Context, org, fingerprint string) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE grantor_certificates SET revoked_at = now()
		WHERE org_reg_no = $1 AND fingerprint = $2 AND revoked_at IS NULL`, org, fingerprint)
	if err != nil {
		return fmt.Errorf("revoke certificate: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// ListGrantorCertificates lists an organisation's certificates, revoked too.
func (s *Lists) ListGrantorCertificates(ctx context.Context, org string) ([]GrantorCertificate, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT org_reg_no, fingerprint, subject, not_after, added_at, revoked_at
		FROM grantor_certificates WHERE org_reg_no = $1 ORDER BY added_at`, org)
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (GrantorCertificate, error) {
		var g GrantorCertificate
		err := r.Scan(&g.Org, &g.Fingerprint, &g.Subject, &g.NotAfter, &g.AddedAt, &g.RevokedAt)
		return g, err
	})
}

// BeginUpload implements lists.Store.
func (s *Lists) BeginUpload(ctx context.Context) (lists.UploadTx, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &uploadTx{tx: tx}, nil
}

type uploadTx struct {
	tx pgx.Tx
}

func (t *uploadTx) Claim(ctx context.Context, r idempotency.Request, prior any) (bool, error) {
	return idempotency.Claim(ctx, t.tx, r, prior)
}

func (t *uploadTx) Complete(ctx context.Context, r idempotency.Request, result any) error {
	return idempotency.Complete(ctx, t.tx, r, result)
}

func (t *uploadTx) EnsureList(ctx context.Context, id, grantor string) error {
	if _, err := t.tx.Exec(ctx, `
		INSERT INTO person_lists (id, grantor_reg_no) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, grantor); err != nil {
		return fmt.Errorf("create list: %w", err)
	}
	var owner string
	if err := t.tx.QueryRow(ctx, `SELECT grantor_reg_no FROM person_lists WHERE id = $1`, id).Scan(&owner); err != nil {
		return fmt.Errorf("read list owner: %w", err)
	}
	if owner != grantor {
		return lists.ErrNotOwner
	}
	return nil
}

// WriteFile implements lists.UploadTx with one binary COPY that pulls the
// file through in chunks: no round trip per chunk, and PostgreSQL's pace
// (the socket filling up) holds the request body back instead of memory.
func (t *uploadTx) WriteFile(ctx context.Context, id uuid.UUID, r io.Reader, chunkBytes int) (int64, error) {
	enc := &chunkCopy{id: id, r: r, data: make([]byte, chunkBytes)}
	_, err := t.tx.Conn().PgConn().CopyFrom(ctx, enc, `COPY list_upload_chunks (upload_id, seq, data) FROM STDIN BINARY`)
	if enc.err != nil {
		return enc.bytes, enc.err
	}
	if err != nil {
		return enc.bytes, fmt.Errorf("store upload: %w", err)
	}
	return enc.bytes, nil
}

// chunkCopy encodes a file as binary COPY rows (upload_id, seq, data).
type chunkCopy struct {
	id      uuid.UUID
	r       io.Reader
	data    []byte
	out     []byte
	off     int
	seq     int32
	bytes   int64
	started bool
	done    bool
	err     error
}

func (c *chunkCopy) Read(p []byte) (int, error) {
	if c.off == len(c.out) {
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			c.err = err
			return 0, err
		}
	}
	n := copy(p, c.out[c.off:])
	c.off += n
	return n, nil
}

// next reads one chunk of the file and encodes it as the next row.
func (c *chunkCopy) next() error {
	c.out, c.off = c.out[:0], 0
	if !c.started {
		c.out = append(c.out, copyHeader...)
		c.started = true
	}
	n, err := io.ReadFull(c.r, c.data)
	if n > 0 {
		c.out = binary.BigEndian.AppendUint16(c.out, 3)
		c.out = binary.BigEndian.AppendUint32(c.out, 16)
		c.out = append(c.out, c.id[:]...)
		c.out = binary.BigEndian.AppendUint32(c.out, 4)
		c.out = binary.BigEndian.AppendUint32(c.out, uint32(c.seq))
		c.out = binary.BigEndian.AppendUint32(c.out, uint32(n))
		c.out = append(c.out, c.data[:n]...)
		c.seq++
		c.bytes += int64(n)
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		c.out = binary.BigEndian.AppendUint16(c.out, 0xffff)
		c.done = true
	case err != nil:
		return err
	}
	return nil
}

func (t *uploadTx) Insert(ctx context.Context, u lists.Upload) error {
	// Uploads of one list take their queue_seq one at a time, so that the
	// order of the numbers is the order of the commits (see migration
	// 00013). The lock is the list's own, held only until this commits.
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('list-upload-queue:' || $1, 0))`, u.ListID); err != nil {
		return fmt.Errorf("insert upload: queue lock: %w", err)
	}
	_, err := t.tx.Exec(ctx, `
		INSERT INTO list_uploads (id, list_id, grantor_reg_no, created_by, status, format, policy, mode, filename, bytes, sha256, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		u.ID, u.ListID, u.Grantor, u.CreatedBy, string(u.Status), string(u.Format), string(u.Policy), string(u.Mode),
		u.Filename, u.Bytes, u.SHA256[:], u.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert upload: %w", err)
	}
	return nil
}

func (t *uploadTx) Commit(ctx context.Context) error { return commit(ctx, t.tx) }

func (t *uploadTx) Rollback(ctx context.Context) error {
	err := t.tx.Rollback(ctx)
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return err
}

// PruneMemberSets drops the member tables of list versions replaced more
// than retention ago, at most limit of them, and returns how many it
// dropped. The current set of a list is never dropped, nor the set of a
// version whose successor is younger than retention. Readers only ever
// read current sets; DROP TABLE waits for any that still reads one.
func (s *Lists) PruneMemberSets(ctx context.Context, retention time.Duration, limit int) (int, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT v.list_id, v.version, v.member_set FROM person_list_versions v
		JOIN person_lists l ON l.id = v.list_id
		JOIN person_list_versions n ON n.list_id = v.list_id AND n.version = v.version + 1
		WHERE v.set_dropped_at IS NULL AND v.member_set IS DISTINCT FROM l.current_set
		  AND n.created_at < now() - $1 * interval '1 microsecond'
		ORDER BY n.created_at
		LIMIT $2`, retention.Microseconds(), limit)
	if err != nil {
		return 0, fmt.Errorf("prune member sets: %w", err)
	}
	type victim struct {
		list    string
		version int
		set     int64
	}
	var victims []victim
	for rows.Next() {
		var v victim
		if err := rows.Scan(&v.list, &v.version, &v.set); err != nil {
			rows.Close()
			return 0, fmt.Errorf("prune member sets: %w", err)
		}
		victims = append(victims, v)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("prune member sets: %w", err)
	}
	for i, v := range victims {
		err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+setTable(v.set)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE person_list_versions SET set_dropped_at = now() WHERE list_id = $1 AND version = $2`, v.list, v.version)
			return err
		})
		if err != nil {
			return i, fmt.Errorf("prune member set of %s v%d: %w", v.list, v.version, err)
		}
	}
	return len(victims), nil
}

// PurgeUploadReports implements lists.Store. The error rows go first, a
// slice at a time (an upload has up to MaxIssues of them, so a slice of
// uploads would be no bound), then the uploads, whose chunks went when
// they finished. One instance purges at a time.
func (s *Lists) PurgeUploadReports(ctx context.Context, retention time.Duration) (int64, bool, error) {
	cutoff := time.Now().Add(-retention)
	var uploads int64
	ran, err := exclusively(ctx, s.pool, "avis-purge:upload-reports", func(ctx context.Context, conn *pgxpool.Conn) error {
		if _, err := deleteInSlices(ctx, conn, `
			DELETE FROM list_upload_errors WHERE (upload_id, seq) IN (
				SELECT e.upload_id, e.seq FROM list_uploads u JOIN list_upload_errors e ON e.upload_id = u.id
				WHERE u.status IN ('applied', 'failed', 'rejected') AND u.finished_at < $2
				LIMIT $1)`, cutoff); err != nil {
			return fmt.Errorf("purge upload reports: %w", err)
		}
		var err error
		uploads, err = deleteInSlices(ctx, conn, `
			DELETE FROM list_uploads WHERE id IN (
				SELECT id FROM list_uploads
				WHERE status IN ('applied', 'failed', 'rejected') AND finished_at < $2
				LIMIT $1)`, cutoff)
		if err != nil {
			return fmt.Errorf("purge finished uploads: %w", err)
		}
		return nil
	})
	return uploads, ran, err
}
