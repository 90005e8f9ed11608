-- +goose Up
-- A benefit draws its recipients only from its own grantor's person lists
-- (list.not_owner); a benefit naming a list nobody has pushed yet claims
-- it for its grantor. Benefits written before that rule may name a list
-- that nobody has claimed: claim it now for the grantor of the earliest
-- benefit naming it, as that benefit's creation would have. (A list
-- already owned by another grantor stays theirs; eligibility ignores such
-- a benefit, see AdmittedBenefits.)
INSERT INTO person_lists (id, grantor_reg_no)
SELECT DISTINCT ON (v.list_id) v.list_id, b.grantor_reg_no
FROM benefit_versions v
JOIN benefits b ON b.id = v.benefit_id
WHERE v.list_id ~ '^[A-Za-z0-9._-]{1,64}$'
ORDER BY v.list_id, v.created_at, v.benefit_id
ON CONFLICT (id) DO NOTHING;

-- +goose Down
-- The claims cannot be told from lists claimed by later pushes; they stay.
SELECT 1;
