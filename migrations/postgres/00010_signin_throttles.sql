-- Sign-in throttling shared by every process of a fleet, idle session timeouts, and bounds on the tables that
-- anonymous callers feed.
--
-- login_throttles holds one row per throttled key (an address, an account at an address, an account, an
-- account's address it signed in from before, a user's current-password checks). Keys are SHA-256 hashes, so
-- the table holds neither the e-mails nor the addresses people typed or came from. Rows are updated by
-- compare-and-swap on rev, so parallel attempts in any process are all counted; the pruner deletes rows past
-- expires_at. The users table's failed_logins and locked_until columns are no longer used (an account-wide hard
-- lock let anyone lock anyone out); they stay, empty, so older binaries can still read the table.
--
-- sessions.last_seen_at is when a session was last used (kept to the minute), for the idle timeout.
--
-- webhook_rejections.repeats and last_at let repeated refusals of one flow, address and code within a few
-- minutes share one counted row; the pruner keeps a bounded number of rows per flow, and a bounded number of
-- anonymous audit events (failed sign-ins), newest first.

-- +goose Up
CREATE TABLE login_throttles (
    id            TEXT      NOT NULL PRIMARY KEY,
    failures      INTEGER   NOT NULL DEFAULT 0,
    last_at       TIMESTAMPTZ NOT NULL,
    blocked_until TIMESTAMPTZ,
    expires_at    TIMESTAMPTZ NOT NULL,
    rev           INTEGER   NOT NULL DEFAULT 0
);
CREATE INDEX login_throttles_expires_idx ON login_throttles (expires_at);

ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ;

ALTER TABLE webhook_rejections ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
ALTER TABLE webhook_rejections ADD COLUMN last_at TIMESTAMPTZ;
CREATE INDEX webhook_rejections_source_idx ON webhook_rejections (flow_id, remote_ip, code, id);

CREATE INDEX audit_events_actor_type_idx ON audit_events (actor_type, id);

-- +goose Down
DROP INDEX audit_events_actor_type_idx;
DROP INDEX webhook_rejections_source_idx;
ALTER TABLE webhook_rejections DROP COLUMN last_at;
ALTER TABLE webhook_rejections DROP COLUMN repeats;
ALTER TABLE sessions DROP COLUMN last_seen_at;
DROP TABLE login_throttles;
