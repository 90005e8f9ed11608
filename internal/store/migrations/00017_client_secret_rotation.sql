-- +goose Up
-- A client's secret is rotated without downtime (gateway clients
-- rotate-secret): the previous secret keeps working until
-- previous_secret_until, while the integrator deploys the new one.
-- Instances of the previous release ignore the columns (they accept only
-- the new secret).
ALTER TABLE clients ADD COLUMN previous_secret_hash bytea, ADD COLUMN previous_secret_until timestamptz;

-- +goose Down
ALTER TABLE clients DROP COLUMN previous_secret_hash, DROP COLUMN previous_secret_until;
