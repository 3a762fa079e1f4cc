-- Per-key ordering and per-flow concurrency. A run carries its ordering key (runs with the same key of one flow
-- execute one at a time, in id order) and its flow's concurrency cap (0: none), so a worker's claim can enforce
-- both without reading the flow.

-- +goose Up
ALTER TABLE runs ADD COLUMN ordering_key TEXT;
ALTER TABLE runs ADD COLUMN concurrency INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_ordering_idx ON runs (flow_id, ordering_key, id) WHERE ordering_key IS NOT NULL;
CREATE INDEX runs_running_flow_idx ON runs (flow_id) WHERE status = 'running';

-- +goose Down
DROP INDEX runs_running_flow_idx;
DROP INDEX runs_ordering_idx;
ALTER TABLE runs DROP COLUMN concurrency;
ALTER TABLE runs DROP COLUMN ordering_key;
