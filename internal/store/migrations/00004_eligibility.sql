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
CREATE TABLE eligibility_decisions (
    id              uuid PRIMARY KEY,
    provider_reg_no text NOT NULL,
    person_ref      bytea NOT NULL CHECK (length(person_ref) = 32),
    checked_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    with_lines      boolean NOT NULL,
    benefits        jsonb NOT NULL
);
CREATE INDEX eligibility_decisions_expiry ON eligibility_decisions (expires_at);

-- Accepted transactions. One per decision; one per provider and
-- Idempotency-Key, so a retried report can never make a second one.
CREATE TABLE transactions (
    id              uuid PRIMARY KEY,
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
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
    receipt_id      uuid NOT NULL UNIQUE,
    reversed_at     timestamptz,
    reversal_reason text,
    reversal_key    text,
    reversal_receipt_id uuid UNIQUE,
    UNIQUE (provider_reg_no, idempotency_key)
);
CREATE INDEX transactions_provider ON transactions (provider_reg_no, seq);

-- The benefits applied in each transaction. Grantor, EKK code, person and
-- time are copied from the transaction and the benefit version so that
-- reports and per-person limits read one table.
CREATE TABLE transaction_benefits (
    transaction_id  uuid NOT NULL REFERENCES transactions (id),
    benefit_id      text NOT NULL,
    benefit_version integer NOT NULL,
    grantor_reg_no  text NOT NULL,
    ekk_code        text NOT NULL,
    discount_cents  bigint NOT NULL CHECK (discount_cents >= 0),
    stand_in        boolean NOT NULL DEFAULT false,
    person_ref      bytea NOT NULL,
    occurred_at     timestamptz NOT NULL,
    reversed        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (transaction_id, benefit_id)
);
CREATE INDEX transaction_benefits_person ON transaction_benefits (person_ref, benefit_id, occurred_at) WHERE NOT reversed;
CREATE INDEX transaction_benefits_grantor ON transaction_benefits (grantor_reg_no, occurred_at);

-- Receipts of accepted pushes. content is the unsigned receipt document,
-- written in the same transaction as what it acknowledges; the XML-DSig
-- signature over it is added just after (signed_xml), so signing never
-- limits how many pushes per second become durable.
CREATE TABLE receipts (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('transaction', 'reversal', 'list_version')),
    subject_id  text NOT NULL,
    owner_reg_no text NOT NULL,
    accepted_at timestamptz NOT NULL,
    digest      bytea NOT NULL CHECK (length(digest) = 32),
    content     bytea NOT NULL,
    signed_xml  bytea,
    signed_at   timestamptz
);
CREATE INDEX receipts_unsigned ON receipts (accepted_at) WHERE signed_xml IS NULL;

-- +goose Down
DROP TABLE receipts;
DROP TABLE transaction_benefits;
DROP TABLE transactions;
DROP TABLE eligibility_decisions;
DROP TABLE identification_means;
DROP TABLE gateway_secrets;
