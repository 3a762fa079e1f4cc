package nodetest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// testOnly are the packages of helpers for tests: nodetest, runnertest and the CRM stand-ins' conflicttest
// harness.
var testOnly = map[string]bool{
	"github.com/ferry-hq/ferry/internal/nodetest":            true,
	"github.com/ferry-hq/ferry/internal/runnertest":          true,
	"github.com/ferry-hq/ferry/nodes/connector/conflicttest": true,
}

// TestOnlyTestsImport: no file of Ferry but a test imports a package of testOnly, so test helpers never end up in
// a build.
func TestOnlyTestsImport(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no module root at %s: %v", root, err)
	}
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); testOnly[p] {
				t.Errorf("%s imports %s, which only tests may", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read only %d files of the module at %s", files, root)
	}
}
