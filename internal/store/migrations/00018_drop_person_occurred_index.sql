-- +goose NO TRANSACTION
-- +goose Up
-- Per-person limits are summed by the check's time since 00010, through
-- transaction_benefits_person_counted; the index by occurred_at stayed
-- for the instances of the release before it during that rolling deploy.
-- Every release since reads the new one, so the old one only costs
-- writes. (An instance of a release before 00010 still sums correctly,
-- slower.)
DROP INDEX CONCURRENTLY IF EXISTS transaction_benefits_person;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS transaction_benefits_person ON transaction_benefits (person_ref, benefit_id, occurred_at) WHERE limited AND NOT reversed;
