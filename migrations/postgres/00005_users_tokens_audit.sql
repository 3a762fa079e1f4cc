-- Who may do what. Users sign in with a password (stored as an argon2id hash) and get a session; IT scripts use
-- API tokens. Sessions and tokens are stored as SHA-256 hashes of the secret the client holds, so a copy of the
-- database grants nothing. The audit log is append-only: rows are inserted, never updated.

-- +goose Up
CREATE TABLE users (
    id              TEXT      NOT NULL PRIMARY KEY,
    email           TEXT      NOT NULL,
    name            TEXT      NOT NULL DEFAULT '',
    password_hash   TEXT      NOT NULL,
    role            TEXT      NOT NULL,
    disabled        BOOLEAN   NOT NULL DEFAULT FALSE,
    failed_logins   INTEGER   NOT NULL DEFAULT 0,
    locked_until    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_email_idx ON users (email);

CREATE TABLE sessions (
    id_hash     TEXT      NOT NULL PRIMARY KEY,
    user_id     TEXT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf        TEXT      NOT NULL,
    ip          TEXT      NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE api_tokens (
    id            TEXT      NOT NULL PRIMARY KEY,
    name          TEXT      NOT NULL,
    user_id       TEXT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          TEXT      NOT NULL,
    prefix        TEXT      NOT NULL,
    secret_hash   TEXT      NOT NULL,
    expires_at    TIMESTAMPTZ,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX api_tokens_hash_idx ON api_tokens (secret_hash);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE audit_events (
    id           TEXT      NOT NULL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor_type   TEXT      NOT NULL,
    actor_id     TEXT      NOT NULL DEFAULT '',
    actor_email  TEXT      NOT NULL DEFAULT '',
    ip           TEXT      NOT NULL DEFAULT '',
    action       TEXT      NOT NULL,
    target_type  TEXT      NOT NULL DEFAULT '',
    target_id    TEXT      NOT NULL DEFAULT '',
    detail       TEXT
);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id);
CREATE INDEX audit_events_target_idx ON audit_events (target_type, target_id, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
