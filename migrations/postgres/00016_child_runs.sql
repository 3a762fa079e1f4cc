-- Child runs (core.split: one run per item). A child names its parent run and its place among the parent's
-- children; children beyond the split's parallel bound are held (not claimable) until a sibling ends and the
-- store releases the next one, in the transaction that records the sibling's end. The parent counts the children
-- that have not ended; the last one to end queues the parent in its own transaction (ARCHITECTURE.md, "Parked
-- runs": a parent waiting for its children holds no worker).

-- +goose Up
ALTER TABLE runs ADD COLUMN parent_run_id TEXT;
ALTER TABLE runs ADD COLUMN child_index INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE runs ADD COLUMN children_open INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_parent_idx ON runs (parent_run_id, held, child_index);

-- +goose Down
DROP INDEX runs_parent_idx;
ALTER TABLE runs DROP COLUMN children_open;
ALTER TABLE runs DROP COLUMN held;
ALTER TABLE runs DROP COLUMN child_index;
ALTER TABLE runs DROP COLUMN parent_run_id;
