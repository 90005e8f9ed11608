-- +goose Up
-- Each list version gets a signed receipt, written in the transaction that
-- makes the version, like a transaction's (receipts.kind 'list_version').
ALTER TABLE person_list_versions ADD COLUMN receipt_id uuid;

-- +goose Down
ALTER TABLE person_list_versions DROP COLUMN receipt_id;
