// Package expression compiles and evaluates the expressions users write in flows: conditions, mapping values and
// {{ }} interpolations in string parameters. It wraps expr-lang/expr with Ferry's environment, its function
// library, a program cache and size limits, and turns compile errors into errors that carry line and column.
//
// Besides expr's built-ins (documented in Functions with Builtin set), expressions can call Ferry's library,
// registered from the func_*.go files:
//
//   - text: regexMatch, regexFind, regexFindAll, regexGroups, regexReplace, padLeft, padRight, truncate, slug
//   - phone: phone, isPhone, phoneRegion (E.164 via libphonenumber, region CN by default)
//   - time: parseTime, formatTime, inZone, addTime, addDays, unix, unixMilli, fromUnix, fromUnixMilli
//   - money: toMinor, fromMinor, money, formatMoney, currencyDigits (integer minor units, never float math)
//   - hashing and encoding: md5, sha1, sha256, sha512, hmacSha1, hmacSha256, hmacSha512, base64Url,
//     fromBase64Url, hex, fromHex
//   - masking: maskPhone, maskEmail, maskIdCard, maskBankCard, mask
//   - data: lookup, jsonGet, coalesce, uuid, uuidV7
//   - conversion: toInt, toNumber, toString, toBool
//
// Calls are checked when an expression is compiled: argument counts and literal types against each
// function's signature, and literal patterns, currencies, time zones, regions and paths against their rules,
// so mistakes surface with a position when a flow is saved rather than on every run.
package expression

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Names of the variables every expression can read.
const (
	VarTrigger = "trigger" // the trigger payload; for webhooks {body, headers, query, method}
	VarPrev    = "prev"    // the output of the node that led to this step
	VarNodes   = "nodes"   // every earlier node's output, by node id
	VarVars    = "vars"    // flow variables set by core.set-vars
	VarEnv     = "env"     // "test" or "live"
	VarRun     = "run"     // {id, attempt, flowId, version}
)

// Limits keep a single expression from exhausting a worker.
const (
	// MaxSourceBytes is the longest expression source accepted.
	MaxSourceBytes = 16 << 10
	// MaxNodes caps the size of the parsed expression tree.
	MaxNodes = 2000
	// MaxMemory caps the memory budget of one evaluation (expr counts allocations of ranges, maps and slices).
	MaxMemory = 1 << 20
)

// Result pins the type an expression must produce. It is checked when the expression is compiled as far as
// types are known there; values read from the payload are only known at run time (use EvalBool for
// conditions).
type Result string

// Result types.
const (
	ResultAny    Result = "any"
	ResultBool   Result = "bool"
	ResultString Result = "string"
	ResultNumber Result = "number"
)

// Stable error codes carried by Error.
const (
	CodeSyntax   = "expression_invalid"
	CodeTooLarge = "expression_too_large"
	CodeRuntime  = "expression_failed"
)

// Error is a compile or evaluation error with its position in the source, so the editor can point at it.
// Line and Column are 1-based; they are 0 when the position is unknown.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Snippet string `json:"snippet,omitempty"`
}

// Error formats the message with its position, for logs and plain-text API responses.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s at line %d, column %d", e.Message, e.Line, e.Column)
	}
	return e.Message
}

// Program is a compiled expression, safe for concurrent use.
type Program struct {
	src    string
	result Result
	prog   *vm.Program
}

// Source returns the expression text the program was compiled from.
func (p *Program) Source() string { return p.src }

var vmPool = sync.Pool{New: func() any { return &vm.VM{} }}

// Eval runs the program against env, which should hold the variables named by the Var constants.
func (p *Program) Eval(env map[string]any) (any, error) {
	machine := vmPool.Get().(*vm.VM)
	machine.MemoryBudget = MaxMemory
	out, err := machine.Run(p.prog, env)
	vmPool.Put(machine)
	if err != nil {
		return nil, runtimeError(err)
	}
	return out, nil
}

// EvalBool runs a program compiled with ResultBool.
func (p *Program) EvalBool(env map[string]any) (bool, error) {
	out, err := p.Eval(env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, &Error{Code: CodeRuntime, Message: fmt.Sprintf("expression produced %T, want bool", out)}
	}
	return b, nil
}

func runtimeError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return &Error{Code: CodeRuntime, Message: fe.Message, Line: fe.Line, Column: fe.Column + 1, Snippet: fe.Snippet}
	}
	return &Error{Code: CodeRuntime, Message: err.Error()}
}

// compileEnv declares the variables so that a misspelt name fails at save time, not at run time. Their
// contents are typed as any: payloads differ per run, so member access is checked when the run evaluates it.
var compileEnv = types.Map{
	VarTrigger: types.Any,
	VarPrev:    types.Any,
	VarNodes:   types.Any,
	VarVars:    types.Any,
	VarEnv:     types.String,
	VarRun:     types.Any,
}

type cacheKey struct {
	src    string
	result Result
}

// maxCachedPrograms bounds the program cache. Expressions are compiled whenever a flow is validated, including
// drafts typed in the editor, so an unbounded cache would grow with every keystroke; when the bound is reached
// the cache starts over, and the programs in use stay referenced by their flows.
// It is a variable only so tests can lower it.
var maxCachedPrograms int64 = 10000

var (
	// cache shares compiled programs between flow versions that use the same expression text.
	cache     sync.Map // cacheKey → *Program
	cacheSize atomic.Int64
)

// Compile compiles src, expecting result, reusing an earlier compilation of the same text.
func Compile(src string, result Result) (*Program, error) {
	key := cacheKey{src, result}
	if p, ok := cache.Load(key); ok {
		return p.(*Program), nil
	}
	p, err := compile(src, result)
	if err != nil {
		return nil, err
	}
	if cacheSize.Add(1) > maxCachedPrograms {
		cache.Clear()
		cacheSize.Store(1)
	}
	// Two goroutines may compile the same text at once; both get the program stored first.
	actual, _ := cache.LoadOrStore(key, p)
	return actual.(*Program), nil
}

func compile(src string, result Result) (*Program, error) {
	if len(src) > MaxSourceBytes {
		return nil, &Error{Code: CodeTooLarge, Message: fmt.Sprintf("expression is %d bytes, the limit is %d", len(src), MaxSourceBytes)}
	}
	opts := make([]expr.Option, 0, len(functionOptions)+4)
	opts = append(opts, expr.Env(compileEnv), expr.MaxNodes(MaxNodes))
	switch result {
	case ResultBool:
		opts = append(opts, expr.AsBool())
	case ResultNumber:
		opts = append(opts, expr.AsFloat64())
	case ResultString:
		opts = append(opts, expr.AsKind(reflect.String))
	}
	opts = append(opts, functionOptions...)
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, compileError(err)
	}
	if err := checkConstants(src, prog); err != nil {
		return nil, err
	}
	return &Program{src: src, result: result, prog: prog}, nil
}

func compileError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		code := CodeSyntax
		if fe.Message == "compilation failed: expression exceeds maximum allowed nodes" {
			code = CodeTooLarge
		}
		return &Error{Code: code, Message: fe.Message, Line: fe.Line, Column: fe.Column + 1, Snippet: fe.Snippet}
	}
	return &Error{Code: CodeSyntax, Message: err.Error()}
}
