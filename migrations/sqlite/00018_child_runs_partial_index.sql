-- The index that finds a parent's children (held ones first in item order) covers only child runs: every other
-- run has no parent, and indexing them too cost every accepted run an index write.

-- +goose Up
DROP INDEX runs_parent_idx;
CREATE INDEX runs_parent_idx ON runs (parent_run_id, held, child_index) WHERE parent_run_id IS NOT NULL;

-- +goose Down
DROP INDEX runs_parent_idx;
CREATE INDEX runs_parent_idx ON runs (parent_run_id, held, child_index);
