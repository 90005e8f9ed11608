-- +goose Up
-- A grantor pages through transactions in the order they became visible,
-- not in seq order: seq numbers are taken before commit, so four group
-- committers and the per-person-limit path commit them out of order, and a
-- reader that had moved past seq 100 would never see a seq 95 that
-- committed a moment later. tx_xid is the inserting transaction's id. A
-- page holds only rows whose tx_xid is below the oldest transaction still
-- running (pg_snapshot_xmin): every row that becomes visible later has a
-- larger tx_xid, so paging by (tx_xid, tx_seq) never skips one. Rows
-- written before this share the migration's id and keep their seq order.
ALTER TABLE transaction_benefits ADD COLUMN tx_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX transaction_benefits_feed ON transaction_benefits (grantor_reg_no, tx_xid, tx_seq);
-- transaction_benefits_grantor (grantor_reg_no, tx_seq) stays for instances
-- of the previous release during a rolling deploy; a later migration drops it.

-- +goose Down
DROP INDEX transaction_benefits_feed;
ALTER TABLE transaction_benefits DROP COLUMN tx_xid;
