package aliyunsms

import (
	"embed"

	"github.com/ferry-hq/ferry/nodes"
)

// locales holds the package's node and credential texts in other languages than English, one file per language
// (locales/zh-CN.json); English is the specs themselves.
//
//go:embed locales
var locales embed.FS

func init() { nodes.MustLoadTexts(locales) }
