-- Where each polling trigger of a flow stopped (D18): its cursor (the newest change emitted, the walk in
-- progress and the provider's position in it), committed in the same transaction as the runs the page produced,
-- so a poll resumes exactly where it stopped. rev guards against two pollers committing over each other; the
-- other columns are what the editor and the API show of the last poll.

-- +goose Up
CREATE TABLE poll_cursors (
    flow_id         TEXT      NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    node_id         TEXT      NOT NULL,
    cursor          TEXT      NOT NULL DEFAULT '{}',
    rev             BIGINT    NOT NULL DEFAULT 0,
    next_poll_at    TIMESTAMPTZ NOT NULL,
    last_poll_at    TIMESTAMPTZ,
    last_count      INTEGER   NOT NULL DEFAULT 0,
    total_count     BIGINT    NOT NULL DEFAULT 0,
    failures        INTEGER   NOT NULL DEFAULT 0,
    last_error_code TEXT      NOT NULL DEFAULT '',
    last_error      TEXT      NOT NULL DEFAULT '',
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (flow_id, node_id)
);
CREATE INDEX poll_cursors_due_idx ON poll_cursors (next_poll_at);

-- +goose Down
DROP INDEX poll_cursors_due_idx;
DROP TABLE poll_cursors;
