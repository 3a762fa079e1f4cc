package core

import (
	"errors"
	"fmt"
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

// evalFailed turns an expression that failed at run time into a permanent step failure: the same data would
// fail the same way on every retry. Its code is the expression's (expression_failed, or expression_timeout and
// expression_memory_exceeded for an evaluation stopped at its limits). The details name the parameter and, when
// known, the line and column, so the run view can point at the expression.
func evalFailed(node, field string, err error) error {
	details := map[string]any{"field": field}
	var ee *expression.Error
	if errors.As(err, &ee) && ee.Line > 0 {
		details["line"] = ee.Line
		details["column"] = ee.Column
	}
	return nodes.WithDetails(nodes.NewPermanent(expression.CodeOf(err), fmt.Errorf("%s: evaluate %s: %w", node, field, err)), details)
}

// portPattern is what dynamic port ids may look like: they end up in flow edges and editor handle ids.
var portPattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
