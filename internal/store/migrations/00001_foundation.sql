-- +goose Up
CREATE TABLE organisations (
    reg_no     text PRIMARY KEY CHECK (reg_no ~ '^[0-9]{11}$'),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE clients (
    id             text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{3,128}$'),
    org_reg_no     text NOT NULL REFERENCES organisations (reg_no),
    roles          text[] NOT NULL CHECK (cardinality(roles) > 0 AND roles <@ ARRAY['grantor', 'provider', 'admin']),
    -- SHA-256 of a 256-bit random secret: the secret is a key, not a password,
    -- so a slow hash adds nothing but latency to every token request.
    secret_hash    bytea CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
    public_key_pem text,
    description    text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    CHECK (secret_hash IS NOT NULL OR public_key_pem IS NOT NULL)
);

-- private_key_jwt assertions seen, so a captured assertion cannot be replayed.
CREATE TABLE client_assertions (
    client_id  text NOT NULL REFERENCES clients (id),
    jti        text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertions_expiry ON client_assertions (expires_at);

CREATE TABLE benefits (
    id              text PRIMARY KEY,
    grantor_reg_no  text NOT NULL REFERENCES organisations (reg_no),
    current_version integer NOT NULL,
    status          text NOT NULL CHECK (status IN ('active', 'withdrawn')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX benefits_grantor ON benefits (grantor_reg_no, id);

-- Every change of a benefit is a new row; rows are never updated.
CREATE TABLE benefit_versions (
    benefit_id  text NOT NULL REFERENCES benefits (id),
    version     integer NOT NULL CHECK (version > 0),
    status      text NOT NULL CHECK (status IN ('active', 'withdrawn')),
    instruction jsonb NOT NULL,
    ekk_code    text NOT NULL,
    valid_from  date NOT NULL,
    valid_to    date,
    priority    integer NOT NULL,
    combinable  boolean NOT NULL,
    list_id     text,
    registry_group text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL,
    PRIMARY KEY (benefit_id, version),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);

-- One counter row: writers take its row lock, so change numbers are handed
-- out in commit order and a feed reader can never skip a late commit.
CREATE TABLE instruction_feed_counter (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq       bigint NOT NULL
);
INSERT INTO instruction_feed_counter VALUES (true, 0);

-- The current state of each benefit as each provider sees it. A provider that
-- lost admission keeps a row with admitted = false so its feed tells it once.
CREATE TABLE provider_instructions (
    provider_reg_no text NOT NULL CHECK (provider_reg_no ~ '^[0-9]{11}$'),
    benefit_id      text NOT NULL REFERENCES benefits (id),
    version         integer NOT NULL,
    admitted        boolean NOT NULL,
    seq             bigint NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider_reg_no, benefit_id),
    FOREIGN KEY (benefit_id, version) REFERENCES benefit_versions (benefit_id, version)
);
CREATE INDEX provider_instructions_feed ON provider_instructions (provider_reg_no, seq);

-- +goose Down
DROP TABLE provider_instructions;
DROP TABLE instruction_feed_counter;
DROP TABLE benefit_versions;
DROP TABLE benefits;
DROP TABLE client_assertions;
DROP TABLE clients;
DROP TABLE organisations;
