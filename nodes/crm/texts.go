package crm

import (
	"embed"

	"github.com/ferry-hq/ferry/nodes"
)

// locales holds the translations of the parameters every match node shares (nodes.Field.TextKey), so each CRM's
// locale file names only what is its own.
//
//go:embed locales
var locales embed.FS

func init() { nodes.MustLoadTexts(locales) }
