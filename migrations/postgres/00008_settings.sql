-- Settings an admin changes at runtime (retention defaults, the personal-data fields to mask, the log level).
-- One row per setting that differs from its default; the value is JSON. Every process of a fleet reads this
-- table periodically, so a change made through one API process reaches the others.

-- +goose Up
CREATE TABLE settings (
    key        TEXT      NOT NULL PRIMARY KEY,
    value      TEXT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT      NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE settings;
