package connector

import (
	"embed"

	"github.com/ferry-hq/ferry/nodes"
)

// locales holds the translations of the fields the runtime gives every paginated operation, shared by all of
// them (nodes.Field.TextKey).
//
//go:embed locales
var locales embed.FS

func init() { nodes.MustLoadTexts(locales) }
