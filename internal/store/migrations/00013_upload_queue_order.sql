-- +goose Up
-- Uploads of one list are applied in the order they were accepted. That
-- order was created_at, which the accepting instance's clock set: with
-- clocks a few seconds apart, a corrected file sent after the first could
-- be applied before it, and the older file would become the list.
-- queue_seq comes from the database, taken under a per-list lock just
-- before the accepting transaction commits, so per list it follows commit
-- order. Rows of instances of the previous release get one by default.
CREATE SEQUENCE list_upload_queue;
ALTER TABLE list_uploads ADD COLUMN queue_seq bigint NOT NULL DEFAULT nextval('list_upload_queue');
CREATE INDEX list_uploads_queue ON list_uploads (list_id, queue_seq) WHERE status IN ('queued', 'processing');

-- +goose Down
DROP INDEX list_uploads_queue;
ALTER TABLE list_uploads DROP COLUMN queue_seq;
DROP SEQUENCE list_upload_queue;
