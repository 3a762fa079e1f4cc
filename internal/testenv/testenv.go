// Package testenv gives integration tests the external services they need (Postgres, Redis), named by
// environment variables. On a developer's machine without a service the test is skipped and says why; in CI
// (CI set, as .ci/run runs) a missing service fails the test instead, so an integration test is never skipped
// there unnoticed.
package testenv

import (
	"os"
	"testing"
	"time"
)

// Names of the variables that point tests at their services.
const (
	// DatabaseURL names a Postgres server tests may create schemas in.
	DatabaseURL = "FERRY_TEST_DATABASE_URL"
	// RedisURL names a Redis server tests may use.
	RedisURL = "FERRY_TEST_REDIS_URL"
)

// Service returns the value of the variable env, which names a service the test needs (what says which tests,
// for the message). Without it the test is skipped, or fails in CI.
func Service(t testing.TB, env, what string) string {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		return v
	}
	Missing(t, env+" is not set: "+what+" need it")
	return ""
}

// Missing stops a test whose service is unavailable: a skip with the reason on a developer's machine, a
// failure in CI.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s; CI must run these tests", reason)
	}
	t.Skip(reason)
}

// InCI reports whether the tests run in CI, where every integration test must run.
func InCI() bool { return os.Getenv("CI") != "" && os.Getenv("CI") != "false" }

// WaitFor polls cond until it holds, failing the test after within: tests wait on the condition they need, never
// on a fixed pause.
func WaitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		<-tick.C
	}
}
