-- Webhook calls a flow's trigger refused (a forged or stale signature, a wrong token, a malformed body), kept so
-- an admin can see who is knocking and why, without the body (which may be forged, or hold personal data).

-- +goose Up
CREATE TABLE webhook_rejections (
    id          TEXT      NOT NULL PRIMARY KEY,
    flow_id     TEXT      NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    received_at TIMESTAMP NOT NULL,
    status      INTEGER   NOT NULL,
    code        TEXT      NOT NULL,
    message     TEXT      NOT NULL,
    remote_ip   TEXT      NOT NULL DEFAULT '',
    body_bytes  INTEGER   NOT NULL DEFAULT 0
);
CREATE INDEX webhook_rejections_flow_idx ON webhook_rejections (flow_id, id);

-- +goose Down
DROP TABLE webhook_rejections;
