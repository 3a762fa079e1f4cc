-- Key rotation and OAuth2 for credentials. version advances on every write, so that writers which read, change
-- and write back (key rotation, token refreshes, replacements) never undo one another. status is derived from the
-- sealed data on every write ("ok", "authorize", "reauthorize", "failing") so it can be queried without the key.
-- refresh_until is set while one process refreshes an OAuth2 token, so others wait for its result instead of
-- spending the refresh token twice. oauth2_states holds authorisations in progress: the hash of the state sent to
-- the provider, and the PKCE verifier sealed by the vault.

-- +goose Up
ALTER TABLE credentials ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE credentials ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE credentials ADD COLUMN status_message TEXT NOT NULL DEFAULT '';
ALTER TABLE credentials ADD COLUMN refresh_until TIMESTAMP;

CREATE TABLE oauth2_states (
    id            TEXT      NOT NULL PRIMARY KEY,
    credential_id TEXT      NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    variant       TEXT      NOT NULL,
    redirect_url  TEXT      NOT NULL,
    key_id        TEXT      NOT NULL,
    sealed        BLOB      NOT NULL,
    expires_at    TIMESTAMP NOT NULL
);
CREATE INDEX oauth2_states_expires_idx ON oauth2_states (expires_at);
CREATE INDEX oauth2_states_credential_idx ON oauth2_states (credential_id);

-- +goose Down
DROP TABLE oauth2_states;
ALTER TABLE credentials DROP COLUMN refresh_until;
ALTER TABLE credentials DROP COLUMN status_message;
ALTER TABLE credentials DROP COLUMN status;
ALTER TABLE credentials DROP COLUMN version;
