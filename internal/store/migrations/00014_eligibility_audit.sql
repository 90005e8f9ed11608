-- +goose Up
-- Who asked about whom: one row per eligibility check, kept for
-- AVIS_AUDIT_RETENTION, so that an operator can answer a person's question
-- "which providers checked me, and when" (gateway audit). The person is
-- the same keyed hash as in transactions, never the personal code; the
-- answer is counted (benefits that applied, that were unknown), never
-- named, like the answer the provider got. Written with the decisions, in
-- batches a few milliseconds after the answer (a crash loses at most
-- that); unlike the decisions it is logged, so a database crash keeps it.
CREATE TABLE eligibility_audit (
    decision_id     uuid PRIMARY KEY,
    checked_at      timestamptz NOT NULL,
    provider_reg_no text NOT NULL,
    person_ref      bytea NOT NULL,
    applied         smallint NOT NULL,
    unknown         smallint NOT NULL
);
CREATE INDEX eligibility_audit_person ON eligibility_audit (person_ref, checked_at);
-- Decision ids are UUIDv7, ordered by time: the purge deletes by a range of
-- the primary key and needs no index of its own.

-- +goose Down
DROP TABLE eligibility_audit;
