-- +goose NO TRANSACTION
-- +goose Up
-- A provider lists the transactions it reported by sale date
-- (GET /v1/reported-transactions): reconciliation of a day, or finding a
-- transaction whose answer and Idempotency-Key were both lost. Built
-- concurrently, so that a gateway with many transactions keeps taking
-- reports while an upgraded instance builds it. A build that was
-- interrupted (the instance stopped, a statement timeout) leaves an
-- invalid index behind and goose does not record the version, so the
-- index is dropped and built anew each time this runs; no statement
-- timeout of the connection string may cut the build short.
SET statement_timeout = 0;
DROP INDEX CONCURRENTLY IF EXISTS transactions_provider_occurred;
CREATE INDEX CONCURRENTLY transactions_provider_occurred ON transactions (provider_reg_no, occurred_at, id);
RESET statement_timeout;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS transactions_provider_occurred;
