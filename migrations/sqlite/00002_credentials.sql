-- Connector credentials. Secret fields are sealed by the vault (AES-256-GCM); key_id names the key that sealed
-- them so a rotation or a wrong key is detected, never misread.

-- +goose Up
CREATE TABLE credentials (
    id         TEXT      NOT NULL PRIMARY KEY,
    name       TEXT      NOT NULL,
    type       TEXT      NOT NULL,
    key_id     TEXT      NOT NULL,
    sealed     BLOB      NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX credentials_name_idx ON credentials (name);

-- +goose Down
DROP TABLE credentials;
