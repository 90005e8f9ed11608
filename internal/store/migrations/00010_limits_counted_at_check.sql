-- +goose Up
-- Per-person period limits are counted at the time of the eligibility
-- check the transaction used, not at the till's occurredAt: the check
-- computed what was left of the period it fell in, and a till whose clock
-- is a few minutes off near midnight must not have its sale refused, or
-- counted in a period the check did not look at.
-- Nullable, with no backfill, so that instances still running the earlier
-- code keep inserting (without it) during a rolling deploy: a row without
-- counted_at counts at its occurred_at. The earlier index stays for those
-- instances' sums; a later migration can drop it.
ALTER TABLE transaction_benefits ADD COLUMN counted_at timestamptz;
CREATE INDEX transaction_benefits_person_counted ON transaction_benefits (person_ref, benefit_id, (coalesce(counted_at, occurred_at)))
    WHERE limited AND NOT reversed;

-- +goose Down
DROP INDEX transaction_benefits_person_counted;
ALTER TABLE transaction_benefits DROP COLUMN counted_at;
