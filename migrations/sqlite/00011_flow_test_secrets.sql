-- The secret that opens a flow's test webhook (/hooks/{id}/test/{secret}) to callers who cannot sign in to
-- Ferry, such as a payment provider's sandbox: one per flow, made when an editor first asks for the test URL,
-- replaced when an editor regenerates it. Sealed under the secret key, like run data, when sealing is on.
-- Each flow keeps a bounded number of test runs; the partial index finds a flow's test runs without walking its
-- live ones, and live inserts never touch it.

-- +goose Up
CREATE TABLE flow_test_secrets (
    flow_id    TEXT      NOT NULL PRIMARY KEY REFERENCES flows (id) ON DELETE CASCADE,
    secret     TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX runs_test_flow_idx ON runs (flow_id, id) WHERE mode = 'test';

-- +goose Down
DROP INDEX runs_test_flow_idx;
DROP TABLE flow_test_secrets;
