-- +goose NO TRANSACTION
-- +goose Up
-- A per-person limit counts every accepted transaction of the benefit in
-- the period, also those reported while the benefit had no limit: a
-- grantor who caps a running benefit in mid-month caps that month's spend,
-- and a limit taken off and put back counts what was given meanwhile. So
-- the person index now holds every row, not only limited ones. An instance
-- of the previous release (which sums only limited rows) can still use it:
-- its condition implies this index's. Built concurrently, so that
-- transactions keep being taken while it is built; an interrupted build
-- leaves an invalid index, dropped and built anew on the next run.
SET statement_timeout = 0;
DROP INDEX CONCURRENTLY IF EXISTS transaction_benefits_person_all;
CREATE INDEX CONCURRENTLY transaction_benefits_person_all ON transaction_benefits
    (person_ref, benefit_id, (coalesce(counted_at, occurred_at))) WHERE NOT reversed;
DROP INDEX CONCURRENTLY IF EXISTS transaction_benefits_person_counted;
RESET statement_timeout;

-- +goose Down
SET statement_timeout = 0;
CREATE INDEX CONCURRENTLY IF NOT EXISTS transaction_benefits_person_counted ON transaction_benefits
    (person_ref, benefit_id, (coalesce(counted_at, occurred_at))) WHERE limited AND NOT reversed;
DROP INDEX CONCURRENTLY IF EXISTS transaction_benefits_person_all;
RESET statement_timeout;
