// Package templates embeds the bundled flow templates: ready-made flow documents that IT imports and the
// editor offers as starting points.
package templates

import (
	"embed"
	"io/fs"
)

//go:embed *.json
var files embed.FS

// FS returns the bundled template documents, one JSON file each.
func FS() fs.FS { return files }
