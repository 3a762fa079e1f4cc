package all_test

import (
	"io/fs"
	"testing"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/templates"
	_ "github.com/ferry-hq/ferry/nodes/all"
)

// TestBundledTemplatesCompile: every template Ferry ships parses, validates and compiles with the nodes Ferry
// ships, so importing one never fails.
func TestBundledTemplatesCompile(t *testing.T) {
	names, err := fs.Glob(templates.FS(), "*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("templates: %v %v", names, err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			data, err := fs.ReadFile(templates.FS(), name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := flows.Parse(data)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			c, err := flows.Compile(f)
			if err != nil {
				t.Fatalf("compile: %v", flows.Problems(err))
			}
			c.Close()
		})
	}
}
