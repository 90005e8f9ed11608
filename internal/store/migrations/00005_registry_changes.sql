-- +goose Up
-- How far the gateway has followed each registry data set's changed-records
-- feed. The cursor is the registry's own, opaque. Instances that follow
-- the same feed may each save it; a cursor that goes back a page only
-- makes a few cache entries be dropped twice.
CREATE TABLE registry_change_cursors (
    dataset    text PRIMARY KEY,
    cursor     text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE registry_change_cursors;
