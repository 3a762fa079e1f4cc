-- Ferry's first schema, Postgres flavour. JSON documents are TEXT, not JSONB: they come back byte for byte as
-- the caller stored them (key order, spacing), exactly like SQLite, and nothing queries inside them. Times are
-- TIMESTAMPTZ. Optional run fields are NULL when empty so the partial index on business_key only holds runs that
-- have one.

-- +goose Up
CREATE TABLE flows (
    id                TEXT        NOT NULL PRIMARY KEY,
    name              TEXT        NOT NULL DEFAULT '',
    description       TEXT        NOT NULL DEFAULT '',
    draft             TEXT,
    revision          INTEGER     NOT NULL DEFAULT 1,
    status            TEXT        NOT NULL DEFAULT 'draft',
    published_version INTEGER     NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX flows_status_idx ON flows (status);

CREATE TABLE flow_versions (
    flow_id    TEXT        NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    version    INTEGER     NOT NULL,
    doc        TEXT,
    message    TEXT        NOT NULL DEFAULT '',
    created_by TEXT        NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (flow_id, version)
);

-- Published versions are immutable (I8): the database refuses to change one, whatever code tries.
-- +goose StatementBegin
CREATE FUNCTION flow_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'flow versions are immutable';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER flow_versions_immutable BEFORE UPDATE ON flow_versions
    FOR EACH ROW EXECUTE FUNCTION flow_versions_immutable();

-- Run ids are UUIDv7 text, so ordering by id orders runs by creation time (ListRuns pages on it). The C collation
-- makes that order byte-wise, the same as SQLite's, and cheap whatever the database's locale is.
CREATE TABLE runs (
    id              TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    flow_id         TEXT        NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    flow_version    INTEGER     NOT NULL DEFAULT 0,
    doc             TEXT,
    mode            TEXT        NOT NULL DEFAULT '',
    status          TEXT        NOT NULL,
    trigger_node    TEXT,
    trigger_payload TEXT,
    dedup_key       TEXT,
    business_key    TEXT,
    attempt         INTEGER     NOT NULL DEFAULT 0,
    checkpoint      TEXT,
    error           TEXT,
    response        TEXT,
    replay_of       TEXT,
    available_at    TIMESTAMPTZ,
    lease_owner     TEXT,
    lease_until     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    started_at      TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ
);
CREATE INDEX runs_flow_id_idx ON runs (flow_id, id);
CREATE INDEX runs_status_id_idx ON runs (status, id);
CREATE INDEX runs_business_key_idx ON runs (business_key, id) WHERE business_key IS NOT NULL;
CREATE INDEX runs_status_available_at_idx ON runs (status, available_at);
CREATE INDEX runs_created_at_idx ON runs (created_at);

CREATE TABLE steps (
    run_id      TEXT        COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq         INTEGER     NOT NULL,
    node_id     TEXT        NOT NULL DEFAULT '',
    node_type   TEXT        NOT NULL DEFAULT '',
    attempt     INTEGER     NOT NULL DEFAULT 0,
    status      TEXT        NOT NULL DEFAULT '',
    port        TEXT        NOT NULL DEFAULT '',
    input       TEXT,
    output      TEXT,
    error       TEXT,
    started_at  TIMESTAMPTZ,
    duration_us BIGINT      NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, seq)
);

-- The dedup key row is inserted before its run, in the same transaction, so the reference to runs is checked at
-- commit.
CREATE TABLE dedup_keys (
    flow_id    TEXT        NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    dedup_key  TEXT        NOT NULL,
    run_id     TEXT        COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (flow_id, dedup_key)
);
CREATE INDEX dedup_keys_run_id_idx ON dedup_keys (run_id);

-- +goose Down
DROP TABLE dedup_keys;
DROP TABLE steps;
DROP TABLE runs;
DROP TABLE flow_versions;
DROP FUNCTION flow_versions_immutable();
DROP TABLE flows;
