-- +goose Up
-- Person lists (personu saraksti). A list's members live in immutable member
-- sets; a version names one set, and person_lists.current_set says which set
-- readers see. A new version is written in full under a fresh set id that no
-- reader looks at, and becomes visible only when the same transaction moves
-- current_set: readers see the old set or the new one, never a mixture.
CREATE SEQUENCE list_member_sets;

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

-- Every applied change is a version; versions are kept for audit.
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

-- The members of each set. Personal codes are stored as numbers (11 digits
-- fit a bigint; format back with %011d): half the size of text, so a
-- national list of 1.6 million people and its index stay small. There is no
-- foreign key and no check constraint on purpose: rows are bulk-copied
-- before their version row exists, and every value was validated on the way
-- in. The primary key answers "is P in set S" in one index probe.
CREATE TABLE list_members (
    member_set  bigint NOT NULL,
    person_code bigint NOT NULL,
    valid_from  date,
    valid_to    date,
    PRIMARY KEY (member_set, person_code)
);

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

-- The file itself, in chunks of about 1 MiB, written in the transaction that
-- creates the upload: nothing is acknowledged before it is durable. The
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
DROP TABLE list_members;
DROP TABLE person_list_versions;
DROP TABLE person_lists;
DROP SEQUENCE list_member_sets;
