package expression

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/builtin"
)

// FunctionDoc documents one function available in expressions; the editor's autocomplete and the generated
// docs are built from these.
type FunctionDoc struct {
	Name        string `json:"name"`
	Category    string `json:"category"`
	Signature   string `json:"signature"`
	Description string `json:"description"`
	Example     string `json:"example"`
	// Output is what Example evaluates to, as a template would print it (see Stringify). It is empty when the
	// result changes from run to run, as for now() or uuid(). Tests evaluate every example against it, so the
	// documentation cannot drift from the behaviour.
	Output string `json:"output,omitempty"`
	// Builtin marks functions that come with expr itself rather than Ferry's library.
	Builtin bool `json:"builtin,omitempty"`
}

// Function categories, shared by Ferry's functions and the documented built-ins so the editor can group them.
const (
	CategoryText       = "text"
	CategoryPhone      = "phone"
	CategoryTime       = "time"
	CategoryMoney      = "money"
	CategoryCrypto     = "hashing and encoding"
	CategoryMask       = "masking"
	CategoryData       = "data"
	CategoryConversion = "conversion"
	CategoryList       = "lists and maps"
	CategoryNumber     = "numbers"
	CategoryOperator   = "operators"
)

var (
	functionOptions []expr.Option
	functionDocs    []FunctionDoc
	// functionImpls holds each registered function by name, for direct calls in tests and duplicate checks.
	functionImpls = map[string]func(params ...any) (any, error){}
	// functionArity holds each function's least and most arguments (-1: no limit), read from its documented
	// signature. Optional arguments are declared to expr as a variadic tail, so that a wrong type is reported
	// at the argument itself, and the most arguments are checked after expr's own checks (see checkCalls).
	functionArity = map[string][2]int{}
)

// register adds a function to the library: it becomes callable in every expression compiled afterwards.
// It is called only from init functions, before any compilation. types are the signatures expr checks calls
// against at compile time (as new(func(string) string)). Optional arguments are a variadic tail
// (new(func(string, int, ...string) string)) rather than overloads: with overloads expr reports the mismatch
// of whichever overload it tried last, often "not enough arguments" for a call whose real fault is a type.
// The most arguments come from doc.Signature, so the documentation and the check cannot disagree.
//
// A name that expr already uses for a built-in would silently replace it in every expression, and a name
// registered twice would drop the first function, so both are programming errors that stop the process.
func register(doc FunctionDoc, fn func(params ...any) (any, error), types ...any) {
	if _, ok := builtin.Index[doc.Name]; ok {
		panic(fmt.Sprintf("expression: function %q would shadow expr's built-in of the same name", doc.Name))
	}
	if _, ok := functionImpls[doc.Name]; ok {
		panic(fmt.Sprintf("expression: function %q registered twice", doc.Name))
	}
	functionImpls[doc.Name] = fn
	minArgs, maxArgs := signatureArity(doc.Signature)
	functionArity[doc.Name] = [2]int{minArgs, maxArgs}
	functionOptions = append(functionOptions, expr.Function(doc.Name, fn, types...))
	functionDocs = append(functionDocs, doc)
}

// registerBounded registers a library function that can build much more than it is given (padding, regular
// expression replacement, JSON parsing, …): it receives the evaluation's budget and checks the size of what it
// builds before building it. Guards redirect every call in an expression to it with the budget (guard.go);
// direct calls from Go code get a nil budget and are not limited.
func registerBounded(doc FunctionDoc, fn boundedFunc, types ...any) {
	register(doc, func(params ...any) (any, error) { return fn(nil, params...) }, types...)
	boundedFunctions[doc.Name] = true
	declareBounded(doc.Name, fn)
}

// signatureArity reads the argument counts from a documented signature: "f(a, b[, c[, d]]) T" takes 2 to 4
// arguments, "f(a, ...) T" at least 1.
func signatureArity(sig string) (minArgs, maxArgs int) {
	open, closeAt := strings.IndexByte(sig, '('), strings.IndexByte(sig, ')')
	if open < 0 || closeAt < open {
		panic(fmt.Sprintf("expression: signature %q has no argument list", sig))
	}
	params := sig[open+1 : closeAt]
	if strings.TrimSpace(params) == "" {
		return 0, 0
	}
	maxArgs = strings.Count(params, ",") + 1
	minArgs = maxArgs
	if i := strings.IndexByte(params, '['); i >= 0 {
		minArgs = strings.Count(params[:i], ",") + 1
	}
	if strings.Contains(params, "...") {
		return maxArgs - 1, -1
	}
	return minArgs, maxArgs
}

// documentBuiltins lists expr built-ins and operators in Functions without registering anything: expr
// provides them already, re-registering would replace its implementation.
func documentBuiltins(docs ...FunctionDoc) {
	for _, d := range docs {
		d.Builtin = true
		functionDocs = append(functionDocs, d)
	}
}

// Functions lists every function expressions can call, Ferry's own and expr's built-ins, for autocomplete
// and documentation.
func Functions() []FunctionDoc {
	return append([]FunctionDoc(nil), functionDocs...)
}
