-- +goose Up
-- Person lists (personu saraksti). A list's members live in immutable member
-- sets, one table per set in the schema list_sets (list_sets.s<set id>); a
-- version names one set, and person_lists.current_set says which set readers
-- see. A new version's table is created, bulk-loaded and indexed in the same
-- transaction that moves current_set, so readers see the old set or the new
-- one, never a mixture, and nothing of a failed load remains. Loading a table
-- and then building its index is about twice as fast as inserting into an
-- indexed table, and an old version is pruned by dropping its table.
CREATE SEQUENCE list_member_sets;
CREATE SCHEMA list_sets;

CREATE TABLE person_lists (
    id              text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,64}$'),
    grantor_reg_no  text NOT NULL REFERENCES organisations (reg_no),
    current_version integer NOT NULL DEFAULT 0 CHECK (current_version >= 0),
    -- NULL while nothing has been applied (version 0, an empty list).
    current_set     bigint,
    size            bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_lists_grantor ON person_lists (grantor_reg_no, id);

-- Every applied change is a version; versions and their member tables are
-- kept for audit.
CREATE TABLE person_list_versions (
    list_id          text NOT NULL REFERENCES person_lists (id),
    version          integer NOT NULL CHECK (version > 0),
    member_set       bigint NOT NULL UNIQUE,
    previous_version integer NOT NULL,
    mode             text NOT NULL CHECK (mode IN ('replace', 'add', 'remove')),
    size             bigint NOT NULL,
    added            bigint NOT NULL,
    removed          bigint NOT NULL,
    upload_id        uuid,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, version)
);

-- Each member table is
--   list_sets.s<set> (person_code bigint PRIMARY KEY, valid_from date, valid_to date)
-- with personal codes stored as numbers (11 digits fit a bigint; format back
-- with %011d): half the size of text, so a national list of 1.6 million
-- people and its index stay small.
--
-- list_membership answers "is P in list L's current version" in one round
-- trip and one index probe. STABLE: both reads see one snapshot, so the
-- version and the member row always belong together.
-- +goose StatementBegin
CREATE FUNCTION list_membership(p_list text, p_code bigint,
    OUT version integer, OUT is_member boolean, OUT valid_from date, OUT valid_to date)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s bigint;
BEGIN
    is_member := false;
    SELECT l.current_version, l.current_set INTO version, s FROM person_lists l WHERE l.id = p_list;
    IF NOT FOUND THEN
        version := 0;
        RETURN;
    END IF;
    IF s IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('SELECT true, m.valid_from, m.valid_to FROM list_sets.%I m WHERE m.person_code = $1', 's' || s)
        INTO is_member, valid_from, valid_to USING p_code;
    is_member := coalesce(is_member, false);
END
$$;
-- +goose StatementEnd

-- Certificates a grantor registered for signing person-list XML files.
CREATE TABLE grantor_certificates (
    org_reg_no  text NOT NULL REFERENCES organisations (reg_no),
    fingerprint text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    subject     text NOT NULL,
    not_after   timestamptz NOT NULL,
    pem         text NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    PRIMARY KEY (org_reg_no, fingerprint)
);

-- Uploaded list files and their processing jobs. The row is the job: workers
-- lease it with FOR UPDATE SKIP LOCKED and keep the lease alive while they
-- work; a lease that expires (a killed instance) is taken over.
CREATE TABLE list_uploads (
    id              uuid PRIMARY KEY,
    list_id         text NOT NULL REFERENCES person_lists (id),
    grantor_reg_no  text NOT NULL REFERENCES organisations (reg_no),
    created_by      text NOT NULL,
    status          text NOT NULL CHECK (status IN ('queued', 'processing', 'applied', 'failed', 'rejected')),
    format          text NOT NULL CHECK (format IN ('csv', 'xlsx', 'xml')),
    policy          text NOT NULL CHECK (policy IN ('all-or-nothing', 'skip-invalid')),
    mode            text NOT NULL CHECK (mode IN ('replace', 'add', 'remove')),
    filename        text NOT NULL DEFAULT '',
    bytes           bigint NOT NULL,
    sha256          bytea NOT NULL,
    rows_read       bigint NOT NULL DEFAULT 0,
    bytes_read      bigint NOT NULL DEFAULT 0,
    rows_total      bigint,
    valid_rows      bigint,
    invalid_rows    bigint,
    list_version    integer,
    failure_code    text,
    failure_row     integer,
    failure_detail  text,
    attempts        integer NOT NULL DEFAULT 0,
    lease_owner     text,
    lease_expires   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz
);
CREATE INDEX list_uploads_pending ON list_uploads (created_at) WHERE status IN ('queued', 'processing');
CREATE INDEX list_uploads_list ON list_uploads (list_id, created_at);

-- The file itself, in chunks of 128 KiB, written in the transaction that
-- creates the upload: nothing is acknowledged before it is durable. The
-- chunks are deleted in the transaction that ends the upload. The
-- chunks are not compressed by PostgreSQL (EXTERNAL): spreadsheets are zip
-- files already, and CSV is read back at once.
CREATE TABLE list_upload_chunks (
    upload_id uuid NOT NULL REFERENCES list_uploads (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    seq       integer NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (upload_id, seq)
);
ALTER TABLE list_upload_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- The row-level report of an upload: the first rows found bad (bounded; the
-- upload row holds the total).
CREATE TABLE list_upload_errors (
    upload_id     uuid NOT NULL REFERENCES list_uploads (id) ON DELETE CASCADE,
    seq           integer NOT NULL,
    row_no        integer NOT NULL,
    column_name   text NOT NULL DEFAULT '',
    code          text NOT NULL,
    value         text NOT NULL DEFAULT '',
    first_row     integer NOT NULL DEFAULT 0,
    fields        integer NOT NULL DEFAULT 0,
    header_fields integer NOT NULL DEFAULT 0,
    -- fatal marks the problem that stopped reading the file; value then
    -- holds its language-neutral detail.
    fatal         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (upload_id, seq)
);

-- +goose Down
DROP TABLE list_upload_errors;
DROP TABLE list_upload_chunks;
DROP TABLE list_uploads;
DROP TABLE grantor_certificates;
DROP FUNCTION list_membership;
DROP TABLE person_list_versions;
DROP TABLE person_lists;
DROP SCHEMA list_sets CASCADE;
DROP SEQUENCE list_member_sets;
