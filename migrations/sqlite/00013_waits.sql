-- Runs parked for a person (ARCHITECTURE.md, "Parked runs"): a CRM review of a record edited on both sides, an
-- approval. The run is waiting with available_at at the wait's timeout; deciding records the decision and
-- queues the run in one transaction, only while the wait is open and the run still waiting, so the decision and
-- the timeout cannot both win (I11). request and decision hold customers' data and are sealed like run data.

-- +goose Up
CREATE TABLE waits (
    id          TEXT        NOT NULL PRIMARY KEY,
    run_id      TEXT        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    flow_id     TEXT        NOT NULL,
    node_id     TEXT        NOT NULL,
    node_type   TEXT        NOT NULL DEFAULT '',
    kind        TEXT        NOT NULL,
    title       TEXT        NOT NULL DEFAULT '',
    status      TEXT        NOT NULL,
    request     TEXT,
    decision    TEXT,
    decided_by  TEXT        NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    timeout_at  TIMESTAMP NOT NULL,
    decided_at  TIMESTAMP
);
CREATE INDEX waits_status_id_idx ON waits (status, id);
CREATE INDEX waits_run_id_idx ON waits (run_id);
CREATE INDEX waits_flow_id_idx ON waits (flow_id, id);

-- +goose Down
DROP INDEX waits_flow_id_idx;
DROP INDEX waits_run_id_idx;
DROP INDEX waits_status_id_idx;
DROP TABLE waits;
