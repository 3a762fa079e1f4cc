package nodedocs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/internal/nodedocs"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/all"
)

// committed is the reference in the repository, from this package's directory.
var committed = filepath.Join("..", "..", filepath.FromSlash(nodedocs.Dir))

// TestReferenceIsCurrent regenerates the node reference into a scratch directory and fails, naming each stale
// file, while the committed docs/nodes differs: a changed spec must come with its regenerated reference, and
// `go test ./...` (so CI) says so.
func TestReferenceIsCurrent(t *testing.T) {
	fresh := t.TempDir()
	if err := nodedocs.Write(fresh); err != nil {
		t.Fatal(err)
	}
	stale, err := nodedocs.Compare(fresh, committed)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		for i, line := range stale {
			stale[i] = strings.TrimPrefix(line, filepath.ToSlash(filepath.Join("..", ".."))+"/")
		}
		t.Errorf("the node reference in %s is stale; regenerate it with `%s` from the repository's root and commit it:\n%s",
			nodedocs.Dir, nodedocs.Command, strings.Join(stale, "\n"))
	}
}

// TestCompareNamesStaleFiles: a page that differs, one that is missing and one that nothing generates are each
// named, so the failure above tells the reader what is out of date.
func TestCompareNamesStaleFiles(t *testing.T) {
	fresh, dir := t.TempDir(), t.TempDir()
	if err := nodedocs.Write(fresh); err != nil {
		t.Fatal(err)
	}
	if err := nodedocs.Write(dir); err != nil {
		t.Fatal(err)
	}
	if stale, err := nodedocs.Compare(fresh, dir); err != nil || len(stale) != 0 {
		t.Fatalf("a fresh copy is stale: %q %v", stale, err)
	}
	page := filepath.Join(dir, "core.delay.md")
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, bytes.Replace(data, []byte("Waits"), []byte("Sleeps"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "credentials", "stripe.account.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "core.gone.md"), []byte("# Gone\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale, err := nodedocs.Compare(fresh, dir)
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.ToSlash(dir)
	want := []string{
		d + "/core.delay.md: differs from the registry",
		d + "/core.gone.md: not generated (its node or credential type is gone): delete it",
		d + "/credentials/stripe.account.md: missing",
	}
	if !reflect.DeepEqual(stale, want) {
		t.Errorf("Compare = %q, want %q", stale, want)
	}

	// Regenerating brings the directory back to the reference, removing the page nothing generates.
	if err := nodedocs.Write(dir); err != nil {
		t.Fatal(err)
	}
	if stale, err := nodedocs.Compare(fresh, dir); err != nil || len(stale) != 0 {
		t.Errorf("after Write: %q %v", stale, err)
	}
}

// TestFilesAreDeterministic: rendering twice gives the same bytes (no map order, no dates), so an unchanged
// registry never makes the reference stale.
func TestFilesAreDeterministic(t *testing.T) {
	first := nodedocs.Files()
	for range 5 {
		if again := nodedocs.Files(); !reflect.DeepEqual(first, again) {
			t.Fatal("two renderings of the same registry differ")
		}
	}
}

// TestReferenceCoversTheRegistry: every registered node type and credential type has its page, listed in the
// index, and each page carries what the reference promises: type id, version, category, ports, every
// parameter (nested ones with their path) with its options, examples and show-if condition, the accepted
// credential types with their fields, and the spec's own documentation.
func TestReferenceCoversTheRegistry(t *testing.T) {
	files := nodedocs.Files()
	index := string(files["README.md"])
	nodes.Walk(func(r *nodes.Registration) {
		s := r.Spec
		page := string(files[s.Type+".md"])
		if page == "" {
			t.Errorf("%s has no page", s.Type)
			return
		}
		if !strings.Contains(index, "("+s.Type+".md)") {
			t.Errorf("the index does not list %s", s.Type)
		}
		for _, want := range []string{"`" + s.Type + "`", "**Version:** 1", "**Category:** " + string(s.Category), "`error`: Error"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: page lacks %q", s.Type, want)
			}
		}
		for _, p := range append(append([]nodes.Port(nil), s.Inputs...), s.Outputs...) {
			if !strings.Contains(page, "- `"+p.ID+"`: ") {
				t.Errorf("%s: port %s missing", s.Type, p.ID)
			}
		}
		checkFields(t, s.Type, page, s.Params, "")
		for _, id := range s.Credentials {
			ct, _ := nodes.LookupCredentialType(id)
			if !strings.Contains(page, "(credentials/"+id+".md) (`"+id+"`)") {
				t.Errorf("%s: credential type %s missing", s.Type, id)
			}
			for _, f := range ct.Fields {
				if !strings.Contains(page, "`"+f.Name+"` (") {
					t.Errorf("%s: field %s of credential type %s missing", s.Type, f.Name, id)
				}
			}
		}
		if s.Docs != "" && !strings.Contains(page, "## Details\n\n"+strings.TrimSpace(s.Docs)) {
			t.Errorf("%s: docs missing", s.Type)
		}
	})
	for _, ct := range nodes.CredentialTypes() {
		page := string(files["credentials/"+ct.ID+".md"])
		if page == "" || !strings.Contains(index, "(credentials/"+ct.ID+".md)") {
			t.Errorf("credential type %s has no page or is not in the index", ct.ID)
			continue
		}
		checkFields(t, ct.ID, page, ct.Fields, "")
	}
}

func checkFields(t *testing.T, where, page string, fields []nodes.Field, prefix string) {
	t.Helper()
	for _, f := range fields {
		path := prefix + f.Name
		if !strings.Contains(page, "# `"+path+"`: ") || !strings.Contains(page, "`"+string(f.Type)+"`") {
			t.Errorf("%s: parameter %s missing", where, path)
		}
		for _, o := range f.Options {
			if !strings.Contains(page, "- `"+o.Value+"`: ") {
				t.Errorf("%s: %s: option %s missing", where, path, o.Value)
			}
		}
		for _, e := range f.Examples {
			if !strings.Contains(page, "- "+e.Name+":") && !strings.Contains(page, e.Name) {
				t.Errorf("%s: %s: example %q missing", where, path, e.Name)
			}
		}
		if len(f.ShowIf) > 0 && !strings.Contains(page, "Shown only when") {
			t.Errorf("%s: %s: show-if missing", where, path)
		}
		if f.Required && !strings.Contains(page, "`"+string(f.Type)+"` · required") {
			t.Errorf("%s: %s: required missing", where, path)
		}
		checkFields(t, where, page, f.Fields, path+".")
	}
}
