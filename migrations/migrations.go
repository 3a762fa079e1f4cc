// Package migrations holds Ferry's database schema as ordered, append-only SQL files, one folder per dialect,
// embedded into the binary so that `ferry serve` and `ferry migrate` bring any database up to date without files
// on disk. Each change is a new numbered file (00002_…sql) in both folders; applied files are never edited.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Dialect names accepted by Apply and Version; they match store.Store.Dialect.
const (
	// SQLite selects the migrations in sqlite/, for the embedded single-process mode.
	SQLite = "sqlite"
	// Postgres selects the migrations in postgres/, for the distributed mode.
	Postgres = "postgres"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// lockID identifies Ferry's migration advisory lock on Postgres ("ferry" in ASCII), distinct from goose's default
// so that another goose-managed application sharing the database does not wait on Ferry's lock.
const lockID int64 = 0x6665727279

// sqliteMu serialises SQLite migrations within the process: goose has no lock for SQLite, and two stores opened at
// once on a fresh file would both try to create the version table.
var sqliteMu sync.Mutex

// Apply brings the database up to the newest migration. It is safe to call on every start: applied migrations are
// skipped. On Postgres a session advisory lock makes concurrent starters (several API and worker processes) wait
// for the one that migrates instead of racing it.
func Apply(ctx context.Context, db *sql.DB, dialect string) error {
	p, err := provider(db, dialect)
	if err != nil {
		return err
	}
	if dialect == SQLite {
		sqliteMu.Lock()
		defer sqliteMu.Unlock()
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrations: apply %s: %w", dialect, err)
	}
	for _, r := range results {
		slog.InfoContext(ctx, "database migration applied", "dialect", dialect, "file", r.Source.Path,
			"version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// Version reports the schema version the database is at and the newest version this binary knows, for
// `ferry migrate` to print and for readiness checks to compare.
func Version(ctx context.Context, db *sql.DB, dialect string) (current, latest int64, err error) {
	p, err := provider(db, dialect)
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("migrations: read %s version: %w", dialect, err)
	}
	return current, latest, nil
}

// provider builds a goose provider over the embedded folder for dialect.
func provider(db *sql.DB, dialect string) (*goose.Provider, error) {
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		// goose would print every step to stdout; Apply logs what it applied instead.
		goose.WithSlog(slog.New(slog.DiscardHandler)),
	}
	var gooseDialect goose.Dialect
	switch dialect {
	case SQLite:
		gooseDialect = goose.DialectSQLite3
	case Postgres:
		gooseDialect = goose.DialectPostgres
		// Poll for the lock every second, for up to five minutes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, fmt.Errorf("migrations: postgres lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q", dialect)
	}
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: %s files: %w", dialect, err)
	}
	p, err := goose.NewProvider(gooseDialect, db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %s provider: %w", dialect, err)
	}
	return p, nil
}
