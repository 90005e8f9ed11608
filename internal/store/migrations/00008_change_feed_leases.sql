-- +goose Up
-- One instance at a time follows each changes feed: it holds a lease on
-- the feed's row, extended with every saved cursor and given up at
-- shutdown. An instance that dies loses it when leased_until passes, and
-- another takes the feed over from the saved cursor.
ALTER TABLE registry_change_cursors
    ADD COLUMN leased_by    text        NOT NULL DEFAULT '',
    ADD COLUMN leased_until timestamptz NOT NULL DEFAULT '-infinity';

-- +goose Down
ALTER TABLE registry_change_cursors DROP COLUMN leased_by, DROP COLUMN leased_until;
