package store

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// SQLite's WAL grows with every commit until a checkpoint copies it back into the database file. Left to itself
// SQLite checkpoints inside the commit that crosses the threshold, and that commit (with every webhook waiting in
// its group) stalls for the whole copy: tens of milliseconds at the tail of the latency. So the writer only
// checkpoints as a fallback (a high threshold), and a background loop runs passive checkpoints from a reader
// connection, which copy what they can without blocking the writer or the readers.

// checkpointEvery is how often the background checkpoint runs.
const checkpointEvery = 100 * time.Millisecond

// sqliteFallbackCheckpointPages is the WAL size (in pages) at which the writer checkpoints by itself, if the
// background loop falls behind.
const sqliteFallbackCheckpointPages = 4000

// checkpointLoop runs passive checkpoints on db until stop is closed.
func checkpointLoop(db *sql.DB, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		cancel()
		if err != nil {
			slog.Warn("sqlite background checkpoint failed; the writer will checkpoint by itself", "err", err)
		}
	}
}
