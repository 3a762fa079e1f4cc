package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
)

// TestSQLite runs the conformance suite on SQLite files in temporary directories.
func TestSQLite(t *testing.T) {
	b := &backend{create: func(t *testing.T) database { return database{dataDir: t.TempDir()} }}
	runConformance(t, b.open)
	t.Run("ConcurrentMigrations", b.concurrentMigrations)
}

// TestPostgres runs the conformance suite on the server named by FERRY_TEST_DATABASE_URL, each test in a schema of
// its own that is dropped afterwards, so that runs in parallel or interrupted runs never see each other's rows.
func TestPostgres(t *testing.T) {
	base := os.Getenv("FERRY_TEST_DATABASE_URL")
	if base == "" {
		t.Skip("FERRY_TEST_DATABASE_URL not set: Postgres conformance tests skipped")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", redactURL(base), err)
	}
	t.Cleanup(func() { admin.Close() })
	if err := admin.PingContext(t.Context()); err != nil {
		t.Fatalf("connect to FERRY_TEST_DATABASE_URL: %v", err)
	}
	b := &backend{create: func(t *testing.T) database {
		schema := "ferry_test_" + randomHex(t)
		if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
			t.Fatalf("create schema: %v", err)
		}
		t.Cleanup(func() {
			if _, err := admin.ExecContext(t.Context(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				t.Errorf("drop schema %s: %v", schema, err)
			}
		})
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("parse FERRY_TEST_DATABASE_URL: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return database{url: u.String()}
	}}
	runConformance(t, b.open)
	t.Run("ConcurrentMigrations", b.concurrentMigrations)
}

func randomHex(t *testing.T) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// database is what Open needs to reach one test's database.
type database struct {
	url     string
	dataDir string
}

// backend hands each test its own empty database, and the same one again when a test opens a second store.
type backend struct {
	create func(t *testing.T) database

	mu  sync.Mutex
	dbs map[*testing.T]database
}

// open returns a store on t's database: a new one on the first call within t, the same database (migrated again)
// on later calls. The store is closed when t ends. It may be called from several goroutines.
func (b *backend) open(t *testing.T) Store {
	t.Helper()
	b.mu.Lock()
	db, ok := b.dbs[t]
	if !ok {
		db = b.create(t)
		if b.dbs == nil {
			b.dbs = map[*testing.T]database{}
		}
		b.dbs[t] = db
		t.Cleanup(func() {
			b.mu.Lock()
			delete(b.dbs, t)
			b.mu.Unlock()
		})
	}
	b.mu.Unlock()
	s, err := Open(t.Context(), db.url, db.dataDir)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// concurrentMigrations starts several stores at once on one fresh database, as API and worker processes do when
// they are deployed together: all must come up, and the schema must be applied once.
func (b *backend) concurrentMigrations(t *testing.T) {
	db := b.create(t)
	const n = 4
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			s, err := Open(t.Context(), db.url, db.dataDir)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("concurrent open: %v", err)
		}
	}
	s, err := Open(context.Background(), db.url, db.dataDir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}
