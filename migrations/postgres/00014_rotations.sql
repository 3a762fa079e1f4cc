-- Turn counters of round-robin assignment (core.assign): one row per rotation key, taken and moved on by one
-- upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING), so every worker of a fleet draws from the same counter and
-- no two callers ever get the same turn. Keys name the flow and node (or a key the flow gives, shared across
-- flows); test runs use keys of their own, so they never move a live rotation.

-- +goose Up
CREATE TABLE rotations (
    rotation_key TEXT      NOT NULL PRIMARY KEY,
    turns        BIGINT    NOT NULL DEFAULT 0,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE rotations;
