package store

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/server/store/storetest"
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
	testenv.Service(t, testenv.DatabaseURL, "the Postgres conformance tests")
	b := &backend{create: func(t *testing.T) database { return database{url: storetest.PostgresURL(t)} }}
	runConformance(t, b.open)
	t.Run("ConcurrentMigrations", b.concurrentMigrations)
}

// eachBackend runs body on SQLite and on Postgres, each test with its own empty database; the Postgres half is
// skipped without FERRY_TEST_DATABASE_URL (and fails in CI).
func eachBackend(t *testing.T, body func(t *testing.T, open func(t *testing.T) Store)) {
	t.Run("sqlite", func(t *testing.T) {
		b := &backend{create: func(t *testing.T) database { return database{dataDir: t.TempDir()} }}
		body(t, b.open)
	})
	t.Run("postgres", func(t *testing.T) {
		testenv.Service(t, testenv.DatabaseURL, "the Postgres store tests")
		b := &backend{create: func(t *testing.T) database { return database{url: storetest.PostgresURL(t)} }}
		body(t, b.open)
	})
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

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		url, dialect, dsn string
	}{
		{"", DialectSQLite, filepath.Join(dir, "data", "ferry.db")},
		{"postgres://u:p@db:5432/ferry?sslmode=disable", DialectPostgres, "postgres://u:p@db:5432/ferry?sslmode=disable"},
		{"postgresql://db/ferry", DialectPostgres, "postgresql://db/ferry"},
		{"sqlite://" + filepath.Join(dir, "x", "f.db"), DialectSQLite, filepath.Join(dir, "x", "f.db")},
		{"file:" + filepath.Join(dir, "g.db") + "?cache=private", DialectSQLite, "file:" + filepath.Join(dir, "g.db") + "?cache=private"},
	} {
		got, err := resolve(c.url, filepath.Join(dir, "data"))
		if err != nil {
			t.Errorf("resolve(%q): %v", c.url, err)
			continue
		}
		if got.dialect != c.dialect || got.dsn != c.dsn {
			t.Errorf("resolve(%q) = %s %q, want %s %q", c.url, got.dialect, got.dsn, c.dialect, c.dsn)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "data")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory not created 0700: %v %v", fi, err)
	}
	for _, bad := range []string{"mysql://db/ferry", "postgress://u:secret@db/ferry", "sqlite://:memory:",
		"file::memory:?cache=shared", "file:x.db?mode=memory"} {
		_, err := resolve(bad, dir)
		if err == nil {
			t.Errorf("resolve(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
	// The caller's parameters follow Ferry's, and the writer alone begins transactions IMMEDIATE.
	tg, _ := resolve("sqlite://"+filepath.Join(dir, "q.db")+"?_pragma=cache_size(-20000)", dir)
	if w := sqliteDSN(tg, true); !strings.Contains(w, "_txlock=immediate") || !strings.Contains(w, "cache_size") {
		t.Errorf("writer DSN %q", w)
	}
	if r := sqliteDSN(tg, false); strings.Contains(r, "_txlock") || !strings.Contains(r, "query_only") {
		t.Errorf("reader DSN %q", r)
	}
}

// BenchmarkSQLiteCreateRun measures durable run accepts on the embedded store, from many goroutines at once as
// webhook handlers would call it.
func BenchmarkSQLiteCreateRun(b *testing.B) {
	s, err := Open(context.Background(), "", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	f := &Flow{Name: "bench"}
	if err := s.CreateFlow(context.Background(), f); err != nil {
		b.Fatal(err)
	}
	payload := json.RawMessage(`{"id":"evt_1","type":"payment_intent.succeeded","data":{"amount":1999,"currency":"cny"}}`)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := uuid.Must(uuid.NewV7()).String()
			r := &Run{ID: id, FlowID: f.ID, FlowVersion: 1, Mode: "live", Status: RunQueued, Trigger: payload,
				DedupKey: id, BusinessKey: "order-1"}
			if err := s.CreateRun(context.Background(), r, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
