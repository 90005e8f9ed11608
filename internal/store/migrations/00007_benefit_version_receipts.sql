-- +goose Up
-- Each benefit instruction version gets a signed receipt too, written in
-- the transaction that makes the version.
ALTER TABLE benefit_versions ADD COLUMN receipt_id uuid;
ALTER TABLE receipts DROP CONSTRAINT receipts_kind_check;
ALTER TABLE receipts ADD CONSTRAINT receipts_kind_check CHECK (kind IN ('transaction', 'reversal', 'list_version', 'benefit_version'));

-- +goose Down
ALTER TABLE receipts DROP CONSTRAINT receipts_kind_check;
ALTER TABLE receipts ADD CONSTRAINT receipts_kind_check CHECK (kind IN ('transaction', 'reversal', 'list_version'));
ALTER TABLE benefit_versions DROP COLUMN receipt_id;
