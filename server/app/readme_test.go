package app

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEDocumentsEverySetting keeps the README's configuration table in step with the settings table that
// drives flags and environment variables.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings() {
		if !strings.Contains(string(readme), "`"+s.Env+"`") || !strings.Contains(string(readme), "`--"+s.Flag+"`") {
			t.Errorf("README's configuration table lacks %s / --%s", s.Env, s.Flag)
		}
	}
	for _, env := range []string{"FERRY_SECRET_KEY", "FERRY_SECRET_KEY_PREVIOUS", "FERRY_ADMIN_PASSWORD"} {
		if !strings.Contains(string(readme), "`"+env+"`") {
			t.Errorf("README does not mention %s", env)
		}
	}
}
