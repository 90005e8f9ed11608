-- +goose NO TRANSACTION
-- +goose Up
-- A provider lists the transactions it reported by sale date
-- (GET /v1/reported-transactions): reconciliation of a day, or finding a
-- transaction whose answer and Idempotency-Key were both lost. Built
-- concurrently, so that a gateway with many transactions keeps taking
-- reports while an upgraded instance builds it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS transactions_provider_occurred ON transactions (provider_reg_no, occurred_at, id);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS transactions_provider_occurred;
