package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver used for migrations
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ferry-hq/ferry/migrations"
)

// Dialect names returned by Store.Dialect.
const (
	// DialectSQLite is the embedded single-file database of the default mode.
	DialectSQLite = migrations.SQLite
	// DialectPostgres is the shared database of the distributed mode.
	DialectPostgres = migrations.Postgres
)

// Postgres pool limits: enough connections for the API's request handlers and a worker's slots without one Ferry
// process taking most of a default server's 100 connections.
const (
	postgresMaxOpenConns = 20
	postgresMaxIdleConns = 10
	// postgresCommitters is how many group transactions one process commits at once: while one waits for its
	// log flush, the next group fills and commits.
	postgresCommitters = 4
)

// sqliteWriterCacheKiB and sqliteReaderCacheKiB are the page caches of the writer and of each reader, in KiB,
// negated as SQLite wants them.
const (
	sqliteWriterCacheKiB = -8192
	sqliteReaderCacheKiB = -512
)

// sqliteReaders is the number of read connections on SQLite; WAL lets them read while the one writer commits.
var sqliteReaders = max(4, runtime.NumCPU())

// target is a resolved database location.
type target struct {
	dialect string
	// dsn is the Postgres URL, or the SQLite file path or file: URI without Ferry's own parameters.
	dsn string
	// query holds the caller's SQLite URL parameters, appended after Ferry's.
	query url.Values
}

// resolve turns FERRY_DATABASE_URL and the data directory into a database location. An empty URL means the SQLite
// file ferry.db in dataDir, created with mode 0700 if missing.
func resolve(databaseURL, dataDir string) (target, error) {
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		return target{dialect: DialectPostgres, dsn: databaseURL}, nil
	case databaseURL == "":
		if dataDir == "" {
			return target{}, errors.New("store: neither a database URL nor a data directory is set")
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return target{}, fmt.Errorf("store: create data directory: %w", err)
		}
		return target{dialect: DialectSQLite, dsn: filepath.Join(dataDir, "ferry.db")}, nil
	case strings.HasPrefix(databaseURL, "sqlite://"), strings.HasPrefix(databaseURL, "file:"):
		name, rawQuery, _ := strings.Cut(databaseURL, "?")
		query, err := url.ParseQuery(rawQuery)
		if err != nil {
			return target{}, fmt.Errorf("store: parse database URL parameters: %w", err)
		}
		if strings.Contains(name, ":memory:") || query.Get("mode") == "memory" {
			// Readers and the writer are separate connections, and each would see its own empty database.
			return target{}, errors.New("store: in-memory SQLite is not supported; use a file in a temporary directory")
		}
		if path, ok := strings.CutPrefix(name, "sqlite://"); ok {
			if path == "" {
				return target{}, errors.New("store: sqlite:// URL without a path")
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return target{}, fmt.Errorf("store: create database directory: %w", err)
			}
			name = path
		} else {
			// SQLite reads a file: URI's parameters itself, so they stay in the name.
			name = databaseURL
			query = nil
		}
		return target{dialect: DialectSQLite, dsn: name, query: query}, nil
	default:
		// Refuse rather than fall back to SQLite: a mistyped Postgres URL must not silently start a local database.
		return target{}, fmt.Errorf("store: unsupported database URL scheme in %q (want postgres://, sqlite:// or file:)",
			redactURL(databaseURL))
	}
}

// redactURL hides a password in a database URL so that it can go into an error message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// sqliteDSN builds a go-sqlite DSN whose parameters run on every new pooled connection. busy_timeout makes a
// connection wait for another process's write lock instead of failing with "database is locked"; WAL lets readers
// proceed while a write commits; synchronous=NORMAL is durable against process crashes in WAL mode and does not
// fsync on every commit; foreign_keys makes ON DELETE CASCADE work. The writer begins transactions IMMEDIATE so a
// transaction that reads then writes takes the write lock up front and never fails to upgrade; readers are
// query_only so a write can never take a path that bypasses the single writer.
func sqliteDSN(t target, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	if writer {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", sqliteFallbackCheckpointPages))
	}
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// The writer gets a page cache large enough for the hot ends of the runs and steps indexes, so inserting a run
	// rarely reads a page through a system call; readers get a small one, since what they read last is in the
	// operating system's file cache anyway. The caches live outside the Go heap and stay allocated once full:
	// 16 MB for the writer and SQLite's default 2 MB per reader made a backfill of 100,000 runs hold 11 MB more,
	// for no measurable speed. (Memory-mapping the file would make reads a little cheaper but puts every page
	// read into the process's resident memory.)
	if writer {
		q.Add("_pragma", fmt.Sprintf("cache_size(%d)", sqliteWriterCacheKiB))
	} else {
		q.Add("_pragma", fmt.Sprintf("cache_size(%d)", sqliteReaderCacheKiB))
	}
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	for k, vs := range t.query {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	sep := "?"
	if strings.Contains(t.dsn, "?") {
		sep = "&"
	}
	return t.dsn + sep + q.Encode()
}

// Migrate brings the database named by databaseURL (or the SQLite file in dataDir) to the newest schema; it is
// what `ferry migrate` runs, and what Open runs before it returns.
func Migrate(ctx context.Context, databaseURL, dataDir string) error {
	t, err := resolve(databaseURL, dataDir)
	if err != nil {
		return err
	}
	return migrate(ctx, t)
}

// migrate applies the migrations over a connection pool of its own, closed afterwards, so that the store's pools
// keep their sizes (goose needs a connection for its lock and another for the work).
func migrate(ctx context.Context, t target) error {
	var db *sql.DB
	var err error
	if t.dialect == DialectPostgres {
		db, err = sql.Open("pgx", t.dsn)
	} else {
		db, err = sql.Open(sqlite.DriverName, sqliteDSN(t, true))
	}
	if err != nil {
		return fmt.Errorf("store: open %s for migrations: %w", t.dialect, err)
	}
	defer db.Close()
	if err := migrations.Apply(ctx, db, t.dialect); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Open connects to the database named by databaseURL: Postgres for postgres:// and postgresql:// URLs, SQLite for
// sqlite://path and file: URIs, and the SQLite file ferry.db in dataDir when databaseURL is empty. It applies
// pending migrations before returning, so the schema always matches the code.
func Open(ctx context.Context, databaseURL, dataDir string) (Store, error) {
	t, err := resolve(databaseURL, dataDir)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, t); err != nil {
		return nil, err
	}
	if t.dialect == DialectPostgres {
		return openPostgres(ctx, t)
	}
	return openSQLite(ctx, t)
}

// gormConfig is shared by every pool: GORM logs slow queries and errors through slog without their parameters
// (run data may hold personal data), translates unique and foreign-key violations to its sentinel errors, and
// skips the implicit transaction around single statements.
func gormConfig() *gorm.Config {
	return &gorm.Config{
		Logger: logger.NewSlogLogger(slog.Default(), logger.Config{
			SlowThreshold:             500 * time.Millisecond,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true,
		}),
		TranslateError:         true,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return dbTime(time.Now()) },
	}
}

func openPostgres(ctx context.Context, t target) (Store, error) {
	db, err := gorm.Open(postgres.Open(t.dsn), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	sqlDB.SetMaxOpenConns(postgresMaxOpenConns)
	sqlDB.SetMaxIdleConns(postgresMaxIdleConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	s := &gormStore{dialect: DialectPostgres, w: db, r: db, closers: []*sql.DB{sqlDB}}
	s.group = newGroupCommitter(s, postgresCommitters)
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openSQLite opens two pools on the file. All writes go through a pool of exactly one connection, so writers in
// this process queue in Go for that connection instead of contending for SQLite's file lock (which would surface
// as "database is locked" once busy_timeout runs out, and serialises writes anyway). Reads use a separate pool of
// several connections, which WAL lets run alongside the writer.
func openSQLite(ctx context.Context, t target) (Store, error) {
	w, wDB, err := openSQLitePool(t, true, 1)
	if err != nil {
		return nil, err
	}
	r, rDB, err := openSQLitePool(t, false, sqliteReaders)
	if err != nil {
		wDB.Close()
		return nil, err
	}
	s := &gormStore{dialect: DialectSQLite, w: w, r: r, closers: []*sql.DB{wDB, rDB}}
	s.group = newGroupCommitter(s, 1)
	s.stopCheckpoints, s.checkpointsDone = make(chan struct{}), make(chan struct{})
	go checkpointLoop(rDB, s.stopCheckpoints, s.checkpointsDone)
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openSQLitePool(t target, writer bool, conns int) (*gorm.DB, *sql.DB, error) {
	db, err := gorm.Open(sqlite.Open(sqliteDSN(t, writer)), gormConfig())
	if err != nil {
		return nil, nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	// Connections are kept for the life of the store: opening one runs the pragmas again.
	sqlDB.SetMaxOpenConns(conns)
	sqlDB.SetMaxIdleConns(conns)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)
	return db, sqlDB, nil
}
