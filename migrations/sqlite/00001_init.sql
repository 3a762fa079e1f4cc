-- Ferry's first schema, SQLite flavour. JSON documents are TEXT (stored exactly as the caller gave them, NULL when
-- empty); times are TIMESTAMP columns holding UTC text that the driver parses back and that sorts as time.
-- Optional run fields are NULL when empty so the partial index on business_key only holds runs that have one.

-- +goose Up
CREATE TABLE flows (
    id                TEXT      NOT NULL PRIMARY KEY,
    name              TEXT      NOT NULL DEFAULT '',
    description       TEXT      NOT NULL DEFAULT '',
    draft             TEXT,
    revision          INTEGER   NOT NULL DEFAULT 1,
    status            TEXT      NOT NULL DEFAULT 'draft',
    published_version INTEGER   NOT NULL DEFAULT 0,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX flows_status_idx ON flows (status);

CREATE TABLE flow_versions (
    flow_id    TEXT      NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    version    INTEGER   NOT NULL,
    doc        TEXT,
    message    TEXT      NOT NULL DEFAULT '',
    created_by TEXT      NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (flow_id, version)
);

-- Published versions are immutable (I8): the database refuses to change one, whatever code tries.
-- +goose StatementBegin
CREATE TRIGGER flow_versions_immutable BEFORE UPDATE ON flow_versions
BEGIN
    SELECT RAISE(ABORT, 'flow versions are immutable');
END;
-- +goose StatementEnd

CREATE TABLE runs (
    id              TEXT      NOT NULL PRIMARY KEY,
    flow_id         TEXT      NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    flow_version    INTEGER   NOT NULL DEFAULT 0,
    doc             TEXT,
    mode            TEXT      NOT NULL DEFAULT '',
    status          TEXT      NOT NULL,
    trigger_node    TEXT,
    trigger_payload TEXT,
    dedup_key       TEXT,
    business_key    TEXT,
    attempt         INTEGER   NOT NULL DEFAULT 0,
    checkpoint      TEXT,
    error           TEXT,
    response        TEXT,
    replay_of       TEXT,
    available_at    TIMESTAMP,
    lease_owner     TEXT,
    lease_until     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    started_at      TIMESTAMP,
    finished_at     TIMESTAMP
);
CREATE INDEX runs_flow_id_idx ON runs (flow_id, id);
CREATE INDEX runs_status_id_idx ON runs (status, id);
CREATE INDEX runs_business_key_idx ON runs (business_key, id) WHERE business_key IS NOT NULL;
CREATE INDEX runs_status_available_at_idx ON runs (status, available_at);
CREATE INDEX runs_created_at_idx ON runs (created_at);

CREATE TABLE steps (
    run_id      TEXT      NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq         INTEGER   NOT NULL,
    node_id     TEXT      NOT NULL DEFAULT '',
    node_type   TEXT      NOT NULL DEFAULT '',
    attempt     INTEGER   NOT NULL DEFAULT 0,
    status      TEXT      NOT NULL DEFAULT '',
    port        TEXT      NOT NULL DEFAULT '',
    input       TEXT,
    output      TEXT,
    error       TEXT,
    started_at  TIMESTAMP,
    duration_us INTEGER   NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, seq)
);

-- The dedup key row is inserted before its run, in the same transaction, so the reference to runs is checked at
-- commit.
CREATE TABLE dedup_keys (
    flow_id    TEXT      NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    dedup_key  TEXT      NOT NULL,
    run_id     TEXT      NOT NULL REFERENCES runs (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (flow_id, dedup_key)
);
CREATE INDEX dedup_keys_run_id_idx ON dedup_keys (run_id);

-- +goose Down
DROP TABLE dedup_keys;
DROP TABLE steps;
DROP TABLE runs;
DROP TABLE flow_versions;
DROP TABLE flows;
