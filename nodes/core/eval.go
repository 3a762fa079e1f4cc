package core

import (
	"regexp"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// envOf returns the expression environment of a step. The engine always provides one; the fallback lets a node
// be executed on its own (in tests, in examples) with its input visible as prev.
func envOf(x *nodes.Exec) map[string]any {
	if x.Env != nil {
		return x.Env
	}
	return map[string]any{expression.VarPrev: x.Input, expression.VarTrigger: x.Input}
}

// portPattern is what dynamic port ids may look like: they end up in flow edges and editor handle ids.
var portPattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
