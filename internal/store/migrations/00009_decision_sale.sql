-- +goose Up
-- The sum of the receipt lines a decision was computed for, so that a
-- transaction's claims together cannot exceed the sale (a stand-in benefit
-- is computed on what the benefits before it left, like the ones after
-- it, so claiming all of them could). 0 for a decision without lines.
ALTER TABLE eligibility_decisions ADD COLUMN sale_cents bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE eligibility_decisions DROP COLUMN sale_cents;
