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
// Every evaluation runs under Limits, a time limit and a memory budget that stop the evaluation itself (see
// limits.go and guard.go): previews, test runs and live runs each have their own.
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
	"github.com/expr-lang/expr/ast"
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
	// MaxMemory caps expr's own count of the list and object elements one evaluation allocates (ranges,
	// literals, map, filter, sortBy), which the VM checks before allocating them. It is lowered further for
	// budgets of less than MaxMemory elements (Limits.Bytes / 16); the byte budget of Limits applies as well.
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
	// CodeTimeout: the evaluation ran longer than its time limit (Limits.Time) and was stopped.
	CodeTimeout = "expression_timeout"
	// CodeMemory: the evaluation built more than its memory budget (Limits.Bytes), or a value nested deeper
	// than MaxDepth, and was stopped.
	CodeMemory = "expression_memory_exceeded"
)

// CodeOf returns the stable code of an evaluation error: an *Error's own code, or CodeRuntime for any other
// error. Nodes report it as the code of the step's failure.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeRuntime
}

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
	// slot is the VM variable the guards read the evaluation's budget from (see guard.go), or -1 when the
	// program has no guard: it only reads values, in a time bounded by its size, and builds nothing.
	slot int
}

// Source returns the expression text the program was compiled from.
func (p *Program) Source() string { return p.src }

// machine is a VM with the budget of the evaluation it runs. Machines are pooled: an evaluation allocates
// neither.
type machine struct {
	vm     vm.VM
	budget budget
}

var machines = sync.Pool{New: func() any { return new(machine) }}

// heavyEvaluation is the memory an evaluation may have built for its machine to be pooled again: the VM keeps
// its scopes, which refer to the lists the evaluation iterated, until it next runs.
const heavyEvaluation = 1 << 20

func getMachine() *machine {
	m := machines.Get().(*machine)
	m.budget = budget{}
	return m
}

func (m *machine) release() {
	if m.budget.used() > heavyEvaluation {
		return
	}
	machines.Put(m)
}

// run executes p on the machine, with the machine's budget when p is guarded. The VM's stack and variables
// are then cleared, so a pooled machine holds on to nothing the evaluation built; a program without guards
// builds nothing, and what its VM still refers to (values read from the environment) is dropped at its next
// run.
func (m *machine) run(p *Program, env map[string]any) (any, error) {
	var b *budget
	m.vm.MemoryBudget = MaxMemory
	if p.slot >= 0 {
		b = &m.budget
		m.vm.MemoryBudget = uint(max(1, min(MaxMemory, b.limits.Bytes/elemBytes)))
		if len(m.vm.Variables) <= p.slot {
			m.vm.Variables = make([]any, p.slot+1)
		}
		m.vm.Variables[p.slot] = b
	}
	out, err := m.vm.Run(p.prog, env)
	if b != nil {
		clear(m.vm.Variables)
		clear(m.vm.Stack[:cap(m.vm.Stack)])
	}
	if err != nil {
		return nil, runtimeError(err, b)
	}
	if b != nil {
		if err := b.checkResult(out); err != nil {
			// The value of the whole expression is too large: point at its start.
			e := runtimeError(err, b).(*Error)
			e.Line, e.Column = 1, 1
			return nil, e
		}
	}
	return out, nil
}

// Eval runs the program against env, which should hold the variables named by the Var constants, under the
// limits of env's mode (LimitsFor): a live run's, or a test run's.
func (p *Program) Eval(env map[string]any) (any, error) {
	if p.slot < 0 {
		return p.eval(env, nil) // nothing to limit: no budget, no clock
	}
	l := LimitsFor(env)
	return p.eval(env, &l)
}

// EvalLimits runs the program against env under l. The evaluation stops, with CodeTimeout or CodeMemory,
// as soon as it exceeds them.
func (p *Program) EvalLimits(env map[string]any, l Limits) (any, error) {
	return p.eval(env, &l)
}

func (p *Program) eval(env map[string]any, l *Limits) (any, error) {
	m := getMachine()
	if p.slot >= 0 {
		m.budget.start(*l)
	}
	out, err := m.run(p, env)
	m.release()
	return out, err
}

// EvalBool runs a program compiled with ResultBool, under the limits of env's mode.
func (p *Program) EvalBool(env map[string]any) (bool, error) {
	return asBool(p.Eval(env))
}

// EvalBoolLimits runs a program compiled with ResultBool under l.
func (p *Program) EvalBoolLimits(env map[string]any, l Limits) (bool, error) {
	return asBool(p.EvalLimits(env, l))
}

func asBool(out any, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, &Error{Code: CodeRuntime, Message: fmt.Sprintf("expression produced %T, want bool", out)}
	}
	return b, nil
}

// runtimeError turns an evaluation error into an *Error with its position. An evaluation stopped by its limits
// reports the limit, even when a function wrapped the guard's error in its own.
func runtimeError(err error, b *budget) error {
	code, msg := CodeRuntime, err.Error()
	var line, col int
	var snippet string
	var fe *file.Error
	if errors.As(err, &fe) {
		msg, line, col, snippet = fe.Message, fe.Line, fe.Column+1, fe.Snippet
	}
	var le *limitError
	switch {
	case b != nil && b.stopped != nil:
		code, msg = b.stopped.code, b.stopped.message
	case errors.As(err, &le):
		code, msg = le.code, le.message
	case msg == "memory budget exceeded": // expr's own count of elements (MaxMemory)
		code, msg = CodeMemory, "the expression built more list and object elements than its limit"
	}
	return &Error{Code: code, Message: msg, Line: line, Column: col, Snippet: snippet}
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
	return build(src, result)
}

// build compiles src expecting result, with Ferry's environment and library, extra options (tables add their
// patches), the library's constant checks, and the guards that hold every evaluation to its limits.
func build(src string, result Result, extra ...expr.Option) (*Program, error) {
	opts := make([]expr.Option, 0, len(functionOptions)+len(extra)+3)
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
	opts = append(opts, extra...)
	prog, slot, err := compileGuarded(src, opts, func(node ast.Node) error { return checkConstants(src, node) })
	if err != nil {
		return nil, compileError(err)
	}
	return &Program{src: src, result: result, prog: prog, slot: slot}, nil
}

func compileError(err error) error {
	if e, ok := err.(*Error); ok {
		return e
	}
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
