-- +goose Up
-- A skip-invalid replacement keeps the current entry of a listed person
-- whose row is bad; kept_rows counts them. NULL for uploads finished before
-- (and by instances of the previous release, which drop such persons).
ALTER TABLE list_uploads ADD COLUMN kept_rows bigint;

-- +goose Down
ALTER TABLE list_uploads DROP COLUMN kept_rows;
