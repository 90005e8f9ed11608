-- +goose Up
-- The member set of a replaced list version is dropped some time after it
-- was replaced (AVIS_LIST_SET_RETENTION): every add or remove makes a whole
-- new set, so keeping them all would fill the disk. The version's record
-- and its signed receipt stay; set_dropped_at says its members are gone.
ALTER TABLE person_list_versions ADD COLUMN set_dropped_at timestamptz;

-- +goose Down
ALTER TABLE person_list_versions DROP COLUMN set_dropped_at;
