-- +goose NO TRANSACTION
-- +goose Up
-- Finished uploads are deleted with their error reports (which quote bad
-- rows, personal codes among them) after AVIS_UPLOAD_REPORT_RETENTION: the
-- purge finds them by when they finished. Built concurrently, so that
-- uploads go on while an upgraded instance builds it; an interrupted build
-- leaves an invalid index, dropped and built anew when this runs again.
SET statement_timeout = 0;
DROP INDEX CONCURRENTLY IF EXISTS list_uploads_finished;
CREATE INDEX CONCURRENTLY list_uploads_finished ON list_uploads (finished_at)
    WHERE status IN ('applied', 'failed', 'rejected');
RESET statement_timeout;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS list_uploads_finished;
