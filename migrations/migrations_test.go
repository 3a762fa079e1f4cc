package migrations

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	_ "github.com/glebarez/go-sqlite"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/ferry-hq/ferry/internal/testenv"
)

// TestFoldersMatch keeps the dialects in step: every migration exists for both, with the same number and name.
func TestFoldersMatch(t *testing.T) {
	names := func(dir string) []string {
		entries, err := fs.ReadDir(files, dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	sqlite, postgres := names(SQLite), names(Postgres)
	if len(sqlite) == 0 || !slices.Equal(sqlite, postgres) {
		t.Fatalf("sqlite migrations %v, postgres migrations %v", sqlite, postgres)
	}
}

func TestApplySQLite(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	applyTwice(t, db, SQLite)
}

func TestApplyPostgres(t *testing.T) {
	base := testenv.Service(t, testenv.DatabaseURL, "the Postgres migration test")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "ferry_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	}()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	applyTwice(t, db, Postgres)
}

// applyTwice migrates an empty database, then again, which must change nothing.
func applyTwice(t *testing.T, db *sql.DB, dialect string) {
	t.Helper()
	ctx := t.Context()
	for i := range 2 {
		if err := Apply(ctx, db, dialect); err != nil {
			t.Fatalf("apply #%d: %v", i+1, err)
		}
		current, latest, err := Version(ctx, db, dialect)
		if err != nil {
			t.Fatal(err)
		}
		if current != latest || latest < 1 {
			t.Fatalf("after apply #%d: version %d of %d", i+1, current, latest)
		}
	}
	for _, table := range []string{"flows", "flow_versions", "runs", "steps", "dedup_keys"} {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

func TestUnknownDialect(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Apply(t.Context(), db, "mysql"); err == nil {
		t.Fatal("unknown dialect accepted")
	}
}
