-- +goose Up
-- The sum of the receipt lines a decision was computed for, so that a
-- transaction's claims together cannot exceed the sale (a stand-in benefit
-- is computed on what the benefits before it left, like the ones after
-- it, so claiming all of them could). NULL for a decision without lines,
-- and for one written before this (or by an instance that predates it):
-- their claims are not checked against it.
ALTER TABLE eligibility_decisions ADD COLUMN sale_cents bigint;

-- +goose Down
ALTER TABLE eligibility_decisions DROP COLUMN sale_cents;
