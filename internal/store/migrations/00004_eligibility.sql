-- +goose Up
-- Secrets the gateway generates for itself and every instance must share:
-- the key of the keyed hash that pseudonymises personal codes in
-- transactions and cache keys. It lives with the data it protects the
-- meaning of: losing it would orphan every per-person spend total.
CREATE TABLE gateway_secrets (
    name       text PRIMARY KEY,
    secret     bytea NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Identification means (e-talons, school cards, ...) a grantor issued, and
-- the person each identifies. A number is unique per type across grantors.
CREATE TABLE identification_means (
    means_type     text NOT NULL CHECK (means_type IN ('eid_card', 'etalons', 'school_card', 'municipal_card')),
    number         text NOT NULL CHECK (number ~ '^[A-Za-z0-9-]{4,32}$'),
    grantor_reg_no text NOT NULL REFERENCES organisations (reg_no),
    person_code    text NOT NULL CHECK (person_code ~ '^[0-9]{11}$'),
    valid_from     date,
    valid_to       date,
    status         text NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (means_type, number),
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
);

-- Eligibility decisions: what the gateway told a provider, kept until a
-- while after they expire so that a transaction can be held against them.
-- person_ref is the keyed hash of the personal code, never the code.
-- The table is UNLOGGED and written in batches a few milliseconds after
-- the answer: a decision lives five minutes, and a WAL write for every
-- check at every till would make the database the limit of the
-- eligibility check. After a crash (of the database, or of the gateway
-- before its batch) the outstanding decisions are gone and the tills
-- check again. Ids are UUIDv7 (time
-- ordered): inserts append to the primary key, and old decisions are
-- purged by a range of it without another index.
CREATE UNLOGGED TABLE eligibility_decisions (
    id              uuid PRIMARY KEY,
    provider_reg_no text NOT NULL,
    person_ref      bytea NOT NULL CHECK (length(person_ref) = 32),
    checked_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    with_lines      boolean NOT NULL,
    -- The decision's benefits as JSON (bytes: nothing queries into them).
    benefits        bytea NOT NULL
);

-- Accepted transactions. One per decision; one per provider and
-- Idempotency-Key, so a retried report can never make a second one. Indexes
-- are kept to what a report needs: each costs every one of thousands of
-- inserts a second.
CREATE TABLE transactions (
    id              uuid PRIMARY KEY,
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    provider_reg_no text NOT NULL,
    idempotency_key text NOT NULL,
    request_hash    bytea NOT NULL CHECK (length(request_hash) = 32),
    decision_id     uuid NOT NULL UNIQUE,
    person_ref      bytea NOT NULL CHECK (length(person_ref) = 32),
    receipt_number  text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    total_cents     bigint CHECK (total_cents >= 0),
    status          text NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted', 'reversed')),
    accepted_at     timestamptz NOT NULL,
    receipt_id      uuid NOT NULL,
    reversed_at     timestamptz,
    reversal_reason text,
    reversal_key    text,
    reversal_receipt_id uuid,
    UNIQUE (provider_reg_no, idempotency_key)
);

-- The benefits applied in each transaction. Grantor, EKK code, provider,
-- person, time and order are copied from the transaction and the benefit
-- version so that grantors' listings, reports and per-person limits read
-- one table through one index. There is no foreign key to transactions:
-- rows are only ever written by the statement that writes their
-- transaction.
CREATE TABLE transaction_benefits (
    transaction_id  uuid NOT NULL,
    pos             smallint NOT NULL,
    tx_seq          bigint NOT NULL,
    provider_reg_no text NOT NULL,
    benefit_id      text NOT NULL,
    benefit_version integer NOT NULL,
    grantor_reg_no  text NOT NULL,
    ekk_code        text NOT NULL,
    discount_cents  bigint NOT NULL CHECK (discount_cents >= 0),
    stand_in        boolean NOT NULL DEFAULT false,
    -- limited: the benefit has a per-person period limit, so this row
    -- counts towards it (only such rows enter the person index).
    limited         boolean NOT NULL DEFAULT false,
    person_ref      bytea NOT NULL,
    occurred_at     timestamptz NOT NULL,
    reversed        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (transaction_id, benefit_id)
);
CREATE INDEX transaction_benefits_person ON transaction_benefits (person_ref, benefit_id, occurred_at) WHERE limited AND NOT reversed;
CREATE INDEX transaction_benefits_grantor ON transaction_benefits (grantor_reg_no, tx_seq);
CREATE INDEX transaction_benefits_report ON transaction_benefits (grantor_reg_no, occurred_at);

-- Receipts of accepted pushes. content is the receipt document in
-- exclusive canonical XML, written in the same transaction as what it
-- acknowledges; digest is its SHA-256, the DigestValue of its signature.
-- Ids are UUIDv7 (time ordered), so the signer finds receipts still to
-- sign by a range of the primary key.
CREATE TABLE receipts (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('transaction', 'reversal', 'list_version')),
    subject_id   text NOT NULL,
    owner_reg_no text NOT NULL,
    accepted_at  timestamptz NOT NULL,
    digest       bytea NOT NULL CHECK (length(digest) = 32),
    content      bytea NOT NULL
);

-- The certificates receipts were signed with, by SHA-256 fingerprint.
CREATE TABLE signing_certificates (
    sha256   bytea PRIMARY KEY CHECK (length(sha256) = 32),
    der      bytea NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now()
);

-- The XML-DSig signature value of each receipt, added just after the push
-- is durable so that signing never limits how many pushes a second become
-- durable. The signed document is the receipt with the fixed signature
-- template around this value and the certificate: nothing else needs
-- storing. A receipt is signed once; the first signature stays.
CREATE TABLE receipt_signatures (
    receipt_id         uuid PRIMARY KEY,
    value              bytea NOT NULL,
    certificate_sha256 bytea NOT NULL REFERENCES signing_certificates (sha256),
    signed_at          timestamptz NOT NULL
);

-- +goose Down
DROP TABLE receipt_signatures;
DROP TABLE signing_certificates;
DROP TABLE receipts;
DROP TABLE transaction_benefits;
DROP TABLE transactions;
DROP TABLE eligibility_decisions;
DROP TABLE identification_means;
DROP TABLE gateway_secrets;
