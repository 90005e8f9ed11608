-- +goose Up
-- Per-person period limits are counted at the time of the eligibility
-- check the transaction used, not at the till's occurredAt: the check
-- computed what was left of the period it fell in, and a till whose clock
-- is a few minutes off near midnight must not have its sale refused, or
-- counted in a period the check did not look at. Rows written before this
-- count at their occurred_at.
ALTER TABLE transaction_benefits ADD COLUMN counted_at timestamptz;
UPDATE transaction_benefits SET counted_at = occurred_at;
ALTER TABLE transaction_benefits ALTER COLUMN counted_at SET NOT NULL;
DROP INDEX transaction_benefits_person;
CREATE INDEX transaction_benefits_person ON transaction_benefits (person_ref, benefit_id, counted_at) WHERE limited AND NOT reversed;

-- +goose Down
DROP INDEX transaction_benefits_person;
CREATE INDEX transaction_benefits_person ON transaction_benefits (person_ref, benefit_id, occurred_at) WHERE limited AND NOT reversed;
ALTER TABLE transaction_benefits DROP COLUMN counted_at;
