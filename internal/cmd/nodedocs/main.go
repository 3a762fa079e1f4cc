// Command nodedocs writes the node reference, docs/nodes, from the node registry of every node Ferry ships.
// Run it from anywhere in the repository after changing a node's spec:
//
//	go run ./internal/cmd/nodedocs          # rewrite docs/nodes
//	go run ./internal/cmd/nodedocs -check   # list stale files and exit 1, writing nothing
//
// A test in internal/nodedocs fails while the committed reference differs from what this writes.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferry-hq/ferry/internal/nodedocs"
	_ "github.com/ferry-hq/ferry/nodes/all"
)

func main() {
	out := flag.String("out", "", "directory to write (default: docs/nodes in the repository holding the working directory)")
	check := flag.Bool("check", false, "report stale files and exit 1 instead of writing")
	flag.Parse()
	if err := run(*out, *check); err != nil {
		fmt.Fprintln(os.Stderr, "nodedocs:", err)
		os.Exit(1)
	}
}

func run(out string, check bool) error {
	if out == "" {
		root, err := repositoryRoot()
		if err != nil {
			return err
		}
		out = filepath.Join(root, filepath.FromSlash(nodedocs.Dir))
	}
	if check {
		fresh, err := os.MkdirTemp("", "nodedocs")
		if err != nil {
			return fmt.Errorf("create a scratch directory: %w", err)
		}
		defer os.RemoveAll(fresh)
		if err := nodedocs.Write(fresh); err != nil {
			return err
		}
		stale, err := nodedocs.Compare(fresh, out)
		if err != nil {
			return err
		}
		for _, s := range stale {
			fmt.Println(s)
		}
		if len(stale) > 0 {
			return fmt.Errorf("%d files are stale; run %s", len(stale), nodedocs.Command)
		}
		return nil
	}
	return nodedocs.Write(out)
}

// repositoryRoot is the nearest directory at or above the working directory that holds go.mod.
func repositoryRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the repository: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find the repository: no go.mod at or above the working directory; pass -out")
		}
		dir = parent
	}
}
