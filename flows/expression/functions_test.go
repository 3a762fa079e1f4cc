package expression

import (
	"strings"
	"testing"

	"github.com/expr-lang/expr/builtin"
)

// operators are documented like built-ins but are not in expr's built-in table.
var operators = map[string]bool{"matches": true, "contains": true, "startsWith": true, "endsWith": true, "in": true, "??": true}

func TestFunctionDocsAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Functions() {
		if d.Name == "" || d.Category == "" || d.Signature == "" || d.Description == "" || d.Example == "" {
			t.Errorf("%q: every field but Output must be set: %+v", d.Name, d)
		}
		if seen[d.Name] {
			t.Errorf("%q documented twice", d.Name)
		}
		seen[d.Name] = true
		if !strings.HasSuffix(d.Description, ".") {
			t.Errorf("%q: description should be a sentence ending in a period: %q", d.Name, d.Description)
		}
		if !operators[d.Name] && !strings.HasPrefix(d.Signature, d.Name+"(") {
			t.Errorf("%q: signature %q should start with the name", d.Name, d.Signature)
		}
		_, isBuiltin := builtin.Index[d.Name]
		switch {
		case d.Builtin && !isBuiltin && !operators[d.Name]:
			t.Errorf("%q is documented as an expr built-in but expr has no such built-in", d.Name)
		case !d.Builtin && isBuiltin:
			t.Errorf("%q shadows expr's built-in of the same name", d.Name)
		case !d.Builtin && functionImpls[d.Name] == nil:
			t.Errorf("%q is documented but not registered", d.Name)
		}
	}
	for name := range functionImpls {
		if !seen[name] {
			t.Errorf("%q is registered without documentation", name)
		}
	}
	for _, name := range []string{"trim", "lower", "upper", "split", "join", "replace", "hasPrefix", "hasSuffix",
		"indexOf", "len", "toJSON", "fromJSON", "toBase64", "fromBase64", "now", "date", "duration", "round", "int",
		"float", "string", "keys", "values", "first", "last", "filter", "map", "any", "all", "matches"} {
		if !seen[name] {
			t.Errorf("built-in %q is not documented", name)
		}
	}
}

// TestFunctionDocExamples runs every documented example, so the documentation cannot drift from behaviour.
func TestFunctionDocExamples(t *testing.T) {
	for _, d := range Functions() {
		t.Run(d.Name, func(t *testing.T) {
			p, err := Compile(d.Example, ResultAny)
			if err != nil {
				t.Fatalf("example %s does not compile: %v", d.Example, err)
			}
			got, err := p.Eval(envWith(nil))
			if err != nil {
				t.Fatalf("example %s fails: %v", d.Example, err)
			}
			if d.Output != "" && Stringify(got) != d.Output {
				t.Errorf("example %s = %q, documented as %q", d.Example, Stringify(got), d.Output)
			}
		})
	}
}

func TestFunctionsReturnsACopy(t *testing.T) {
	a := Functions()
	a[0].Name = "changed"
	if Functions()[0].Name == "changed" {
		t.Fatal("Functions exposes the library's own slice")
	}
}

func TestRegisterRefusesShadowingAndDuplicates(t *testing.T) {
	before := len(functionOptions)
	for _, name := range []string{"trim", "now", "md5"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("register(%q) did not panic", name)
				}
			}()
			register(FunctionDoc{Name: name}, func(...any) (any, error) { return nil, nil })
		}()
	}
	if len(functionOptions) != before {
		t.Fatal("a refused registration changed the library")
	}
}

// TestWrongArgumentsFailAtCompileTime checks that the typed signatures reject wrong calls when the flow is
// saved, with the position of the offending call or argument.
func TestWrongArgumentsFailAtCompileTime(t *testing.T) {
	runCompileErrorCases(t, []compileErrorCase{
		{`md5()`, "not enough arguments to call md5", 1, 1},
		{`md5("a", "b")`, "too many arguments to call md5", 1, 1},
		{`lower(trigger.body.email) + md5(42)`, "cannot use int as argument (type string) to call md5", 1, 33},
		{"phone(\"138\",\n  \"CN\", \"x\")", "too many arguments to call phone (it takes at most 2)", 1, 1},
		{"phone(\"138\",\n  \"CN\", 3)", "cannot use int as argument (type string) to call phone", 2, 9},
		{`truncate("abc", "2")`, "cannot use string as argument (type int) to call truncate", 1, 17},
		{`toMinor(1.5)`, "not enough arguments to call toMinor", 1, 1},
		{`toMinor(1.5, 978)`, "cannot use int as argument (type string) to call toMinor", 1, 14},
		{`uuid(1)`, "too many arguments to call uuid", 1, 1},
		{`coalesce()`, "not enough arguments to call coalesce", 1, 1},
		{`lookup("a", "not a table")`, "cannot use string as argument (type map[string]interface {}) to call lookup", 1, 13},
		{`regexFind("x", "(")`, "regexFind: invalid pattern", 1, 16},
		{"1 +\n  toMinor(trigger.body.amount, \"EURO\")", `toMinor: unknown currency "EURO"`, 2, 32},
		{`toMinor(1.005, "USD", "nearest")`, `toMinor: unknown rounding mode "nearest"`, 1, 23},
		{`formatTime(now(), "HH:mm", "Asia/Shanghia")`, `formatTime: unknown time zone "Asia/Shanghia"`, 1, 28},
		{`formatTime(now(), "HH:mm", "Local")`, `depends on the server`, 1, 28},
		{`addTime(now(), "3 days")`, `addTime: "3 days" is not a duration`, 1, 16},
		{`phone("13812345678", "XX")`, `phone: unknown region "XX"`, 1, 22},
		{`jsonGet(trigger.body, "items[x]")`, `jsonGet: path "items[x]"`, 1, 23},
		{`hmacSha256("k", "m", "hexa")`, `hmacSha256: unknown encoding "hexa"`, 1, 22},
		{`currencyDigits("XYZ")`, `currencyDigits: unknown currency "XYZ"`, 1, 16},
	})
}

// TestArgumentCountsFollowSignatures compiles every function with each argument count around the documented
// range. The arguments are payload fields, whose type is only known at run time, so only counts are checked.
func TestArgumentCountsFollowSignatures(t *testing.T) {
	for _, d := range Functions() {
		if d.Builtin {
			continue
		}
		minArgs, maxArgs := signatureArity(d.Signature)
		top := maxArgs
		if top < 0 {
			top = minArgs + 3
		}
		for n := max(minArgs-1, 0); n <= top+1; n++ {
			args := make([]string, n)
			for i := range args {
				args[i] = "trigger.body.x"
			}
			src := d.Name + "(" + strings.Join(args, ", ") + ")"
			_, err := Compile(src, ResultAny)
			switch {
			case n < minArgs:
				assertCompileError(t, err, CodeSyntax, "not enough arguments to call "+d.Name, 1, 1)
			case maxArgs >= 0 && n > maxArgs:
				assertCompileError(t, err, CodeSyntax, "too many arguments to call "+d.Name, 1, 1)
			case err != nil:
				t.Errorf("%s: %v", src, err)
			}
		}
	}
}

func TestSignatureArity(t *testing.T) {
	for sig, want := range map[string][2]int{
		"uuid() string":                             {0, 0},
		"md5(text) string":                          {1, 1},
		"truncate(text, n[, suffix]) string":        {2, 3},
		"parseTime(value[, layouts[, timeZone]]) t": {1, 3},
		"coalesce(value, ...) any":                  {1, -1},
	} {
		if minArgs, maxArgs := signatureArity(sig); minArgs != want[0] || maxArgs != want[1] {
			t.Errorf("signatureArity(%q) = %d, %d, want %d, %d", sig, minArgs, maxArgs, want[0], want[1])
		}
	}
}
