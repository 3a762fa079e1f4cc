// Package storetest gives tests of the packages above the store a real, empty database: a SQLite file in a
// temporary directory, or a fresh schema on the Postgres server named by FERRY_TEST_DATABASE_URL, dropped when
// the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for creating schemas

	"github.com/ferry-hq/ferry/internal/testenv"
)

// Backend names a database a test runs against.
type Backend struct {
	Name string
	// URL is the FERRY_DATABASE_URL to use ("" for SQLite in DataDir).
	URL     string
	DataDir string
}

// Backends returns SQLite and Postgres, each empty and private to t; the Postgres one skips its test without
// FERRY_TEST_DATABASE_URL (and fails it in CI). Tests loop over it with t.Run so one test body covers both stores.
func Backends(t *testing.T) []func(t *testing.T) Backend {
	out := []func(t *testing.T) Backend{func(t *testing.T) Backend {
		return Backend{Name: "sqlite", DataDir: t.TempDir()}
	}}
	return append(out, func(t *testing.T) Backend {
		return Backend{Name: "postgres", URL: PostgresURL(t), DataDir: t.TempDir()}
	})
}

// PostgresURL creates a schema of its own for t on the FERRY_TEST_DATABASE_URL server and returns a URL whose
// connections use it. It skips t when the variable is unset.
func PostgresURL(t *testing.T) string {
	t.Helper()
	base := testenv.Service(t, testenv.DatabaseURL, "the Postgres tests")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open FERRY_TEST_DATABASE_URL: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "ferry_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
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
	return u.String()
}
