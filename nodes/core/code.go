package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// CodeType is the node type of the JavaScript step, for what a mapping cannot express.
const CodeType = "core.code"

// Stable codes of core.code: the first at save time, the others as the code of a failed step. Every failure of
// a script is permanent: the same script on the same data fails the same way on every retry.
const (
	// CodeCodeSyntax: the script does not compile; the problem carries the line and column.
	CodeCodeSyntax = "code_syntax"
	// CodeCodeFailed: the script threw (a TypeError, a ReferenceError, its own throw); the message and the
	// details carry the line and column.
	CodeCodeFailed = "code_failed"
	// CodeCodeTimeout: the script ran longer than its time limit and was stopped.
	CodeCodeTimeout = "code_timeout"
	// CodeCodeMemory: the script nested calls deeper than MaxCodeCallDepth or built a string longer than
	// MaxCodeStringLength in one call (repeat, padStart, padEnd), and was stopped.
	CodeCodeMemory = "code_memory_exceeded"
	// CodeCodeOutputTooLarge: the result, written as JSON, is larger than MaxCodeOutputBytes.
	CodeCodeOutputTooLarge = "code_output_too_large"
	// CodeCodeResultInvalid: the result holds something JSON cannot (a function, a symbol, NaN or Infinity, an
	// invalid Date, a BigInt beyond 64 bits) or nests deeper than nodes.MaxJSONDepth (or refers to itself).
	CodeCodeResultInvalid = "code_result_invalid"
	// CodeCodeItemsInvalid: in mode each, the items are not a list.
	CodeCodeItemsInvalid = "code_items_invalid"
)

// Bounds of one execution of a script. goja has no heap limit, so memory is bounded only where a bound can be
// enforced (see the node's Docs): the call stack, the strings the multiplying built-ins build, and the result.
const (
	// DefaultCodeTimeout is the time limit of a script when the node sets none.
	DefaultCodeTimeout = time.Second
	// MaxCodeTimeout is the most a node may set: a script holds a worker while it runs.
	MaxCodeTimeout = 10 * time.Second
	// MaxCodeSourceBytes is the longest script accepted.
	MaxCodeSourceBytes = 64 << 10
	// MaxCodeOutputBytes caps the result, measured as the JSON it is written as.
	MaxCodeOutputBytes = 1 << 20
	// MaxCodeCallDepth caps nested calls, so runaway recursion stops long before the Go stack is at risk.
	MaxCodeCallDepth = 1000
	// MaxCodeStringLength caps the length (UTF-16 units) of a string built by one call of repeat, padStart or
	// padEnd, the built-ins that multiply their input.
	MaxCodeStringLength = 4 << 20
	// MaxCodeLogLines and MaxCodeLogLineBytes bound what console.log keeps for the step's error details.
	MaxCodeLogLines     = 50
	MaxCodeLogLineBytes = 500
)

// Modes of core.code.
const (
	codeModeAll  = "all"
	codeModeEach = "each"
)

// The script runs as the body of this function, so it can return its result; the header is a line of its own,
// so lines reported by the parser are one more than the user's.
const (
	codeHeader = "(function ($item, $index) {\n"
	codeFooter = "\n})"
	codeName   = "code"
)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:     CodeType,
		Version:  1,
		Name:     "Code",
		Category: nodes.CategoryData,
		Description: "Runs a short JavaScript function over the input or over each item, for what a mapping cannot " +
			"express, in a sandbox without file, network or process access.",
		Inputs:  []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs: []nodes.Port{{ID: nodes.DefaultPort, Label: "Result", Kind: nodes.PortMain}},
		Params: []nodes.Field{
			{
				Name: "mode", Label: "Run", Type: nodes.TypeSelect, Default: codeModeAll,
				Options: []nodes.Option{
					{Value: codeModeAll, Label: "Once for the whole input", Description: "The script reads $input and returns the output."},
					{Value: codeModeEach, Label: "Once per item", Description: "The script reads $item and $index and returns the new item; null or undefined drops it."},
				},
			},
			{
				Name: "code", Label: "JavaScript", Type: nodes.TypeCode, Language: "javascript", Required: true,
				Description: "The body of a function (strict mode) that returns the result. It reads $input, $item " +
					"and $index (mode each), $trigger, $nodes.<id>, $vars, $env (\"test\" or \"live\") and $run. " +
					"JavaScript numbers are floats: keep money as text or integer minor units.",
				Examples: []nodes.Example{
					{Name: "Total of the lines", Value: "let cents = 0;\nfor (const l of $input.lines) cents += l.qty * l.price_cents;\nreturn { order_id: $input.id, total_cents: cents };"},
					{Name: "Rename an item", Value: "return { sku: $item.id, name: $item.title.trim(), position: $index + 1 };"},
				},
			},
			{
				Name: "items", Label: "Items", Type: nodes.TypeExpr, Expression: true, ExprResult: "any",
				Description: "Expression giving the list to run over; empty means the input itself, which must then be a list.",
				ShowIf:      map[string][]any{"mode": {codeModeEach}},
				Examples:    []nodes.Example{{Name: "Order lines", Value: "trigger.body.line_items"}},
			},
			{
				Name: "timeout", Label: "Time limit", Type: nodes.TypeDuration, Default: "1s", Advanced: true,
				Description: "How long one execution (all its items together) may run; at most 10s.",
			},
		},
		Docs: "Runs JavaScript (ECMAScript 5.1 with most of ES6: let/const, arrow functions, classes, template " +
			"strings, destructuring, Map and Set) in a pure-Go interpreter, for logic a mapping cannot express: loops " +
			"over lines, grouping, string parsing.\n\n" +
			"The script is the body of a function in strict mode and ends with `return`. It reads `$input` (the " +
			"input of the step), `$trigger` (the trigger payload), `$nodes.<id>` (the output of an earlier node), " +
			"`$vars` (flow variables), `$env` (`\"test\"` or `\"live\"`) and `$run`. In mode *each*, it runs " +
			"once per item of the input (or of the *Items* expression) with `$item` and `$index`, and returns the " +
			"new item; returning `null` or `undefined` drops it. The values are copies: changing them changes " +
			"nothing outside the script.\n\n" +
			"**Output:** the returned value as JSON data; in mode *each*, the list of returned items. Whole numbers " +
			"stay integers, a `Date` becomes RFC 3339 text, `undefined` properties are left out. A function, a " +
			"symbol, `NaN` or `Infinity` in the result fails the step with `code_result_invalid`.\n\n" +
			"**Money:** JavaScript numbers are floats (`0.1 + 0.2` is not `0.3`): keep amounts as decimal text or " +
			"integer minor units, as the rest of Ferry does. Whole numbers beyond 2^53 (some order ids) lose " +
			"digits in a script: keep them as text too.\n\n" +
			"**Sandbox:** no `require`, no modules, no `fetch`, no timers (`setTimeout`), no `process`, no file, " +
			"network or process access; `eval` only reaches the sandbox. Each execution gets a fresh interpreter, " +
			"so nothing a script leaves behind reaches another run. `console.log` (and `info`, `warn`, `error`, " +
			"`debug`) is captured: the first 50 lines (500 bytes each) are kept in the step's error details when the " +
			"script fails, and dropped when it succeeds, so the output is exactly what the script returns.\n\n" +
			"**Limits:** a syntax error is refused when the flow is saved (`code_syntax`, with line and column). A " +
			"script that throws fails the step with `code_failed` and the line and column of the throw (in mode " +
			"*each*, and the index of the item). The time " +
			"limit (1s by default, at most 10s) stops the script between two instructions (`code_timeout`); one " +
			"call of a built-in, once started, runs to its end. Calls nest at most 1,000 deep and repeat, padStart " +
			"and padEnd build at most 4 Mi characters (`code_memory_exceeded`); the result is at most 1 MiB as JSON " +
			"(`code_output_too_large`). There is no bound on the heap a script builds with ordinary operators " +
			"(concatenation, push in a loop) beyond what it can build within its time limit; the process's memory " +
			"limit (GOMEMLIMIT) applies.\n\n" +
			"**Example:** mode *all* with\n\n" +
			"```js\nlet cents = 0;\nfor (const l of $input.lines) cents += l.qty * l.price_cents;\n" +
			"return { order_id: $input.id, total_cents: cents };\n```\n\n" +
			"turns `{\"id\": \"A1\", \"lines\": [{\"qty\": 2, \"price_cents\": 1250}, {\"qty\": 1, \"price_cents\": 499}]}` into " +
			"`{\"order_id\": \"A1\", \"total_cents\": 2999}`.",
	}, newCode)
}

type codeNode struct {
	prog    *goja.Program
	each    bool
	items   *expression.Program
	timeout time.Duration
}

func newCode(cfg *nodes.Config) (nodes.Node, error) {
	n := &codeNode{each: cfg.String("mode") == codeModeEach, timeout: cfg.Duration("timeout")}
	if n.each {
		n.items = cfg.Expr("items", expression.ResultAny)
	}
	if n.timeout == 0 {
		n.timeout = DefaultCodeTimeout
	}
	if n.timeout > MaxCodeTimeout {
		cfg.Fail("timeout", nodes.CodeParamInvalid, fmt.Sprintf("the time limit is at most %s", MaxCodeTimeout))
	}
	src := cfg.String("code")
	switch {
	case len(src) > MaxCodeSourceBytes:
		cfg.Fail("code", nodes.CodeParamInvalid, fmt.Sprintf("the script is longer than %d KiB", MaxCodeSourceBytes>>10))
	case strings.TrimSpace(src) != "":
		prog, err := compileCode(src)
		if err != nil {
			cfg.FailAt("code", CodeCodeSyntax, err.Message, err.Line, err.Column)
		}
		n.prog = prog
	}
	return n, cfg.Err()
}

// codeError is a problem in a script with its place in the user's text (1-based; 0 when unknown).
type codeError struct {
	Message      string
	Line, Column int
}

// compileCode compiles src as the body of the function every execution calls. The wrapped source must stay
// one function expression: a script that closes the function early to run code around it is refused.
func compileCode(src string) (*goja.Program, *codeError) {
	wrapped := codeHeader + src + codeFooter
	lines := strings.Count(src, "\n") + 1
	at := func(line, column int) (int, int) {
		line--
		switch {
		case line < 1:
			return 1, 1
		case line > lines:
			return lines, len(src) - strings.LastIndex(src, "\n")
		}
		return line, column
	}
	prg, err := parser.ParseFile(nil, codeName, wrapped, 0)
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			line, col := at(list[0].Position.Line, list[0].Position.Column)
			return nil, &codeError{Message: "SyntaxError: " + list[0].Message, Line: line, Column: col}
		}
		return nil, &codeError{Message: err.Error()}
	}
	if !singleFunction(prg) {
		return nil, &codeError{Message: "SyntaxError: the script closes the function it runs in", Line: 1, Column: 1}
	}
	p, err := goja.CompileAST(prg, true)
	if err != nil {
		var se *goja.CompilerSyntaxError
		if errors.As(err, &se) {
			ce := &codeError{Message: "SyntaxError: " + se.Message}
			if se.File != nil {
				pos := se.File.Position(se.Offset)
				ce.Line, ce.Column = at(pos.Line, pos.Column)
			}
			return nil, ce
		}
		return nil, &codeError{Message: err.Error()}
	}
	return p, nil
}

// singleFunction reports whether the parsed program is the one function expression codeHeader opens.
func singleFunction(prg *ast.Program) bool {
	if len(prg.Body) != 1 {
		return false
	}
	st, ok := prg.Body[0].(*ast.ExpressionStatement)
	if !ok {
		return false
	}
	_, ok = st.Expression.(*ast.FunctionLiteral)
	return ok
}

// Why an execution was interrupted: the value handed to Runtime.Interrupt.
var (
	errCodeTimeout = errors.New("the script ran longer than its time limit")
	errCodeString  = fmt.Errorf("the script built a string longer than %d characters", MaxCodeStringLength)
)

// Execute runs the script in a fresh interpreter: a pooled one would let a script's globals and changed
// prototypes reach the next run, and a new one costs some 20 µs more (see README).
func (n *codeNode) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	if n.prog == nil {
		return nodes.Result{}, nodes.NewPermanent(nodes.CodeParamRequired, errors.New("code: no script"))
	}
	env := envOf(x)
	var items []any
	if n.each {
		src := x.Input
		if n.items != nil {
			v, err := n.items.EvalLimits(env, expression.LimitsFor(env))
			if err != nil {
				return nodes.Result{}, nodes.EvalFailed("code", "items", err)
			}
			src = v
		}
		list, ok := src.([]any)
		if !ok {
			return nodes.Result{}, nodes.NewPermanent(CodeCodeItemsInvalid,
				fmt.Errorf("code: run once per item: the items are %s, not a list", describeValue(src)))
		}
		items = list
	}

	s := newSandbox(x.Input, env)
	timer := time.AfterFunc(n.timeout, func() { s.rt.Interrupt(errCodeTimeout) })
	defer timer.Stop()
	stop := context.AfterFunc(ctx, func() { s.rt.Interrupt(ctx.Err()) })
	defer stop()

	fnValue, err := s.rt.RunProgram(n.prog)
	if err != nil {
		return nodes.Result{}, s.failure(ctx, err, -1)
	}
	fn, ok := goja.AssertFunction(fnValue)
	if !ok {
		return nodes.Result{}, nodes.NewPermanent(CodeCodeFailed, errors.New("code: the script did not compile to a function"))
	}
	out := &exporter{budget: MaxCodeOutputBytes}
	if !n.each {
		res, err := fn(goja.Undefined())
		if err != nil {
			return nodes.Result{}, s.failure(ctx, err, -1)
		}
		v, _, err := s.export(out, res)
		if err != nil {
			return nodes.Result{}, s.failure(ctx, err, -1)
		}
		return nodes.Result{Output: v}, nil
	}
	result := make([]any, 0, len(items))
	out.budget -= 2
	for i, item := range items {
		res, err := fn(goja.Undefined(), s.toJS(item, 0), s.rt.ToValue(i))
		if err != nil {
			return nodes.Result{}, s.failure(ctx, err, i)
		}
		v, keep, err := s.export(out, res)
		if err != nil {
			return nodes.Result{}, s.failure(ctx, err, i)
		}
		if keep && v != nil {
			result = append(result, v)
			out.budget-- // the comma
		}
	}
	return nodes.Result{Output: result}, nil
}

// failure turns what stopped a script into the step's failure, with the line and column and the captured
// console lines in the details, and the index of the item in mode each (item is -1 otherwise). A cancelled
// context is returned as it is, for the engine to handle.
func (s *sandbox) failure(ctx context.Context, err error, item int) error {
	details := map[string]any{}
	if item >= 0 {
		details["item"] = item
	}
	if len(s.logs) > 0 {
		logs := s.logs
		if s.dropped > 0 {
			logs = append(logs, fmt.Sprintf("… %d more lines", s.dropped))
		}
		details["logs"] = logs
	}
	code, msg := CodeCodeFailed, err.Error()
	var (
		frames []goja.StackFrame
		ie     *goja.InterruptedError
		so     *goja.StackOverflowError
		ex     *goja.Exception
		outErr *exportError
	)
	switch {
	case errors.As(err, &ie):
		frames = ie.Stack()
		switch v := ie.Value(); v {
		case errCodeTimeout:
			code, msg = CodeCodeTimeout, errCodeTimeout.Error()
		case errCodeString:
			code, msg = CodeCodeMemory, errCodeString.Error()
		default:
			if ctx.Err() != nil {
				return fmt.Errorf("code: %w", ctx.Err())
			}
			msg = fmt.Sprint(v)
		}
	case errors.As(err, &so):
		code, msg, frames = CodeCodeMemory, fmt.Sprintf("calls nest deeper than %d", MaxCodeCallDepth), so.Stack()
	case errors.As(err, &outErr):
		code = outErr.code
	case errors.As(err, &ex):
		frames, msg = ex.Stack(), ex.Value().String()
	}
	for _, f := range frames {
		if f.SrcName() != codeName {
			continue
		}
		if pos := f.Position(); pos.Line > 1 {
			details["line"], details["column"] = pos.Line-1, pos.Column
			msg = fmt.Sprintf("%s at line %d, column %d", msg, pos.Line-1, pos.Column)
		}
		break
	}
	if item >= 0 {
		msg = fmt.Sprintf("item %d: %s", item, msg)
	}
	return nodes.WithDetails(nodes.NewPermanent(code, fmt.Errorf("code: %s", msg)), details)
}

// describeValue names the JSON kind of v for messages.
func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case string:
		return "text"
	case bool:
		return "a boolean"
	case int, int64, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

var _ nodes.Node = (*codeNode)(nil)
