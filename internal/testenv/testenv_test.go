package testenv

import (
	"testing"
)

func TestServiceReadsTheVariable(t *testing.T) {
	t.Setenv("FERRY_TEST_SOMETHING", "redis://example:6379/0")
	if got := Service(t, "FERRY_TEST_SOMETHING", "the example tests"); got != "redis://example:6379/0" {
		t.Fatalf("Service = %q", got)
	}
}

func TestMissingServiceFailsInCI(t *testing.T) {
	for _, tc := range []struct {
		ci      string
		skipped bool
		failed  bool
	}{
		{ci: "true", failed: true},
		{ci: "", skipped: true},
		{ci: "false", skipped: true},
	} {
		t.Setenv("CI", tc.ci)
		t.Setenv("FERRY_TEST_SOMETHING", "")
		inner := &recorder{TB: t}
		func() {
			defer func() { _ = recover() }() // Fatalf and Skip stop the goroutine in a real test; here they panic.
			Service(inner, "FERRY_TEST_SOMETHING", "the example tests")
		}()
		if inner.skipped != tc.skipped || inner.failed != tc.failed {
			t.Errorf("CI=%q: skipped %v failed %v, want skipped %v failed %v", tc.ci, inner.skipped, inner.failed, tc.skipped, tc.failed)
		}
	}
}

// recorder notes how a test was stopped instead of stopping the enclosing test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skip(...any)           { r.skipped = true; panic("skip") }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; panic("fatal") }
