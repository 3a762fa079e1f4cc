-- Waits for an event (core.wait-event) and the events that resume them (ARCHITECTURE.md, "Parked runs"). A wait
-- for an event names the event and its correlation key; delivering an event inserts it, decides every open wait
-- with its name and key and queues their runs, in one transaction. The unique (name, id) recognises an event
-- delivered twice: the second delivery changes nothing. Events are kept for a fixed age, so a wait that starts
-- shortly after its event arrived (a payment callback racing the order flow) still finds it. data holds
-- customers' data and is sealed like run data.

-- +goose Up
ALTER TABLE waits ADD COLUMN event_name TEXT NOT NULL DEFAULT '';
ALTER TABLE waits ADD COLUMN event_key  TEXT NOT NULL DEFAULT '';
CREATE INDEX waits_event_idx ON waits (event_name, event_key, status);

CREATE TABLE events (
    id          TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    event_key   TEXT        NOT NULL,
    data        TEXT,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (name, id)
);

CREATE INDEX events_name_key_idx ON events (name, event_key, received_at);
CREATE INDEX events_received_at_idx ON events (received_at);

-- +goose Down
DROP INDEX events_received_at_idx;
DROP INDEX events_name_key_idx;
DROP TABLE events;
DROP INDEX waits_event_idx;
ALTER TABLE waits DROP COLUMN event_key;
ALTER TABLE waits DROP COLUMN event_name;
