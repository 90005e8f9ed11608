-- +goose Up
-- A benefit draws its recipients only from its own grantor's person lists
-- (list.not_owner); a benefit naming a list nobody has pushed yet claims
-- it for its grantor. Benefits written before that rule may name a list
-- that nobody has claimed: claim it now for the grantor of the earliest
-- active benefit whose current version names it, as that benefit's
-- creation would have. Withdrawn benefits and superseded versions claim
-- nothing. A list already owned stays its owner's; a benefit naming a
-- list owned by another grantor (or a list two grantors' active benefits
-- named: the later one) is left out of eligibility, and every load of the
-- instructions logs it ("benefit names another grantor's person list").
INSERT INTO person_lists (id, grantor_reg_no)
SELECT DISTINCT ON (v.list_id) v.list_id, b.grantor_reg_no
FROM benefits b
JOIN benefit_versions v ON v.benefit_id = b.id AND v.version = b.current_version
WHERE b.status = 'active' AND v.list_id ~ '^[A-Za-z0-9._-]{1,64}$'
ORDER BY v.list_id, b.created_at, b.id
ON CONFLICT (id) DO NOTHING;

-- +goose Down
-- The claims cannot be told from lists claimed by later pushes; they stay.
SELECT 1;
