package core

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// MapType is the node type of the field-mapping step.
const MapType = "core.map"

// Stable failure codes of core.map.
const (
	// CodeMapFieldInvalid: a value could not be converted to the field's type.
	CodeMapFieldInvalid = "map_field_invalid"
	// CodeMapFieldRequired: a required field came out empty and had no default.
	CodeMapFieldRequired = "map_field_required"
	// CodeMapTableInvalid: a lookup table's name is not an identifier, or an entry or the table is malformed.
	CodeMapTableInvalid = "map_table_invalid"
	// CodeMapTableDuplicate: two lookup tables of the node have the same name.
	CodeMapTableDuplicate = "map_table_duplicate"
)

// Bounds of the lookup tables of one node; they are compiled into every expression that reads them.
const (
	// MaxMapTables is the most lookup tables one map node may define.
	MaxMapTables = 50
	// MaxMapTableEntries is the most entries one lookup table may have.
	MaxMapTableEntries = 5000
)

// tableNamePattern is what a lookup table's name may look like: an identifier, so tables.<name> reads it.
var tableNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// reservedTableNames are words of the expression language that cannot follow "tables.".
var reservedTableNames = map[string]bool{
	"true": true, "false": true, "nil": true, "in": true, "not": true, "and": true, "or": true, "let": true,
	"if": true, "else": true, "matches": true, "contains": true, "startsWith": true, "endsWith": true,
}

// Conversions a mapped field can apply.
const (
	convAny        = "any"
	convString     = "string"
	convInteger    = "integer"
	convNumber     = "number"
	convBoolean    = "boolean"
	convMoneyMinor = "money_minor"
	convTime       = "time"
)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        MapType,
		Version:     1,
		Name:        "Map fields",
		Category:    nodes.CategoryData,
		Description: "Builds a new object, field by field, from expressions over the data so far, with lookup tables for statuses.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Mapped", Kind: nodes.PortMain}},
		Params: []nodes.Field{
			{
				Name: "fields", Label: "Fields", Type: nodes.TypeList, Required: true, Display: nodes.DisplayTable,
				Description: "One row per field of the result, filled in order.",
				Fields: []nodes.Field{
					{
						Name: "target", Label: "Target field", Type: nodes.TypeString, Required: true,
						Description: "Name of the field in the result; dots create nested objects.",
						Examples: []nodes.Example{
							{Name: "Top-level", Value: "order_id"},
							{Name: "Nested", Value: "customer.email"},
						},
					},
					{
						Name: "expression", Label: "Value", Type: nodes.TypeExpr, Required: true,
						Expression: true, ExprResult: "any",
						Description: "Expression for the value. Use ?. and ?? for fields that may be missing: " +
							"reading a field of a missing object fails the step. The node's lookup tables are " +
							"tables.<name>, as in lookup(trigger.body.status, tables.status).",
						Examples: []nodes.Example{
							{Name: "Copy", Value: "trigger.body.order_id"},
							{Name: "Lower-case email", Value: "lower(trigger.body.customer.email)"},
							{Name: "Optional", Value: "trigger.body.customer?.phone ?? \"\""},
							{Name: "Count items", Value: "len(trigger.body.items)"},
						},
					},
					{
						Name: "type", Label: "Convert to", Type: nodes.TypeSelect, Default: convAny,
						Description: "Conversion applied to the value; a value that cannot be converted fails the step with map_field_invalid.",
						Options: []nodes.Option{
							{Value: convAny, Label: "Keep as is"},
							{Value: convString, Label: "Text"},
							{Value: convInteger, Label: "Whole number", Description: "Text and whole floats are accepted; 1.5 is refused."},
							{Value: convNumber, Label: "Number"},
							{Value: convBoolean, Label: "True/false", Description: "Also accepts true/false, yes/no, 1/0 as text."},
							{Value: convMoneyMinor, Label: "Money in minor units", Description: "149.99 EUR becomes 14999, exactly, never through float arithmetic."},
							{Value: convTime, Label: "Time", Description: "RFC 3339 text, common date layouts or Unix seconds/milliseconds, written as RFC 3339."},
						},
					},
					{
						Name: "currency", Label: "Currency", Type: nodes.TypeString, Default: "CNY", Expression: true,
						Description: "ISO 4217 code deciding the number of minor digits (JPY 0, EUR 2, KWD 3); may be a {{ }} expression.",
						ShowIf:      map[string][]any{"type": {convMoneyMinor}},
						Examples: []nodes.Example{
							{Name: "Renminbi", Value: "CNY"},
							{Name: "From the payload", Value: "{{ trigger.body.currency }}"},
						},
					},
					{
						Name: "default", Label: "Default", Type: nodes.TypeJSON,
						Description: "JSON value used when the expression gives null.",
						Examples:    []nodes.Example{{Name: "Empty text", Value: ""}, {Name: "Zero", Value: 0}},
					},
					{
						Name: "required", Label: "Required", Type: nodes.TypeBoolean, Default: false,
						Description: "Fail the step (map_field_required) when the value is null even after the default.",
					},
				},
				Examples: []nodes.Example{{Name: "Order to CRM deal", Value: []any{
					map[string]any{"target": "order_id", "expression": "trigger.body.order_id", "required": true},
					map[string]any{"target": "customer.email", "expression": "lower(trigger.body.customer.email)"},
					map[string]any{"target": "amount_minor", "expression": "trigger.body.amount", "type": convMoneyMinor, "currency": "{{ trigger.body.currency }}"},
				}}},
			},
			{
				Name: "lookups", Label: "Lookup tables", Type: nodes.TypeList, Display: nodes.DisplayTable,
				Description: "Named tables that translate values (status → status), read in the field expressions " +
					"as tables.<name>.",
				Fields: []nodes.Field{
					{
						Name: "name", Label: "Table name", Type: nodes.TypeString, Required: true,
						Description: "How expressions name the table: letters, digits and _, not starting with a digit; " +
							"status is read as tables.status.",
						Examples: []nodes.Example{{Name: "Status", Value: "status"}},
					},
					{
						Name: "entries", Label: "Entries", Type: nodes.TypeKeyValue,
						Description: "From → to: the value found in the data, exactly as it is written there, and the " +
							"value to use instead.",
						Examples: []nodes.Example{{Name: "Alipay trade status to CRM deal stage", Value: map[string]any{
							"TRADE_SUCCESS": "closedwon", "TRADE_FINISHED": "closedwon", "TRADE_CLOSED": "closedlost"}}},
					},
					{
						Name: "default", Label: "Otherwise", Type: nodes.TypeString,
						Description: "Value lookup() gives for a value the table has no entry for. Leave it empty to " +
							"send such runs to the error branch, so no value is dropped silently.",
						Examples: []nodes.Example{{Name: "Other", Value: "other"}},
					},
				},
				Examples: []nodes.Example{{Name: "Order status to deal stage", Value: []any{
					map[string]any{"name": "stage", "entries": map[string]any{
						"TRADE_SUCCESS": "closedwon", "TRADE_FINISHED": "closedwon", "TRADE_CLOSED": "closedlost"}},
					map[string]any{"name": "channel", "entries": map[string]any{"alipay": "Alipay", "wechat": "WeChat Pay"},
						"default": "Other"},
				}}},
			},
			{
				Name: "keepInput", Label: "Keep input fields", Type: nodes.TypeBoolean, Default: false,
				Description: "Add the mapped fields to the input object instead of building a new one. " +
					"Nested targets merge into existing nested objects.",
			},
		},
		Docs: "Builds an object from per-field expressions, with defaults, required fields and type " +
			"conversion, so field names and formats of one system become those of another.\n\n" +
			"**Output:** the new object (or, with *Keep input fields*, a copy of the input object with the " +
			"fields added; the input itself is never changed). " +
			"A null value is written as null unless a default applies.\n\n" +
			"**Example:** target `customer.email` ← `lower(trigger.body.customer.email)` and target " +
			"`amount_minor` ← `trigger.body.amount` as *Money in minor units* with currency `EUR` turn " +
			"`{\"amount\": 149.99, \"customer\": {\"email\": \"Ada@Example.COM\"}}` into " +
			"`{\"customer\": {\"email\": \"ada@example.com\"}, \"amount_minor\": 14999}`.\n\n" +
			"**Lookup tables:** each table has a name, entries (from → to) and an optional *Otherwise* value. " +
			"In the field expressions, `tables.<name>` is the table as an object:\n\n" +
			"- `lookup(trigger.body.trade_status, tables.stage)` gives the entry for the value, compared as text " +
			"(1 finds \"1\"). For a value without an entry (or null) it gives the table's *Otherwise* value; a table " +
			"without one fails the step with `expression_failed`, so the run follows the error branch and the " +
			"unmapped value is never dropped silently. A third argument, `lookup(value, tables.stage, \"open\")`, " +
			"takes the place of *Otherwise*.\n" +
			"- `tables.stage[trigger.body.trade_status] ?? \"open\"` reads the entry directly: a missing value is " +
			"null, *Otherwise* does not apply.\n" +
			"- Naming a table the node does not have is refused when the flow is saved (`expression_unknown_table`); " +
			"names must be unique (`map_table_duplicate`) identifiers (`map_table_invalid`).\n\n" +
			"With the table `stage` = {TRADE_SUCCESS → closedwon, TRADE_CLOSED → closedlost}, target `stage` ← " +
			"`lookup(trigger.body.trade_status, tables.stage)` turns `{\"trade_status\": \"TRADE_CLOSED\"}` into " +
			"`{\"stage\": \"closedlost\"}`, and sends `WAIT_BUYER_PAY` to the error branch.",
	}, newMap)
}

type mapField struct {
	target   string
	path     []string
	prog     *expression.Program
	def      any
	kind     string
	required bool
	// exponent is the currency's minor digits when the currency is fixed; -1 means evaluate currency per run.
	exponent int
	currency *expression.Template
}

type mapNode struct {
	fields    []mapField
	keepInput bool
	// topLevel is the number of distinct first path segments, to size the output map once.
	topLevel int
	// prefixes are the distinct intermediate paths, shallowest first; with keepInput the objects at these paths
	// are copied before any write, so the input (shared with earlier steps) is never modified.
	prefixes [][]string
}

func newMap(cfg *nodes.Config) (nodes.Node, error) {
	n := &mapNode{keepInput: cfg.Bool("keepInput")}
	tables := mapTables(cfg)
	rows := cfg.List("fields")
	if cfg.Has("fields") && len(rows) == 0 {
		cfg.Fail("fields", nodes.CodeParamRequired, "add at least one field")
	}
	seen := map[string]int{}
	top := map[string]bool{}
	prefixSeen := map[string]bool{}
	for i, rc := range rows {
		f := mapField{
			target:   strings.TrimSpace(rc.String("target")),
			prog:     compileMapExpr(rc, tables),
			kind:     rc.String("type"),
			required: rc.Bool("required"),
			exponent: -1,
		}
		if f.kind == "" {
			f.kind = convAny
		}
		if f.target != "" {
			f.path = strings.Split(f.target, ".")
			for _, seg := range f.path {
				if strings.TrimSpace(seg) == "" {
					rc.Fail("target", nodes.CodeParamInvalid, fmt.Sprintf("%q has an empty part; write names joined by dots, like customer.email", f.target))
					f.path = nil
					break
				}
			}
		}
		if f.path != nil {
			if j, dup := seen[f.target]; dup {
				rc.Fail("target", nodes.CodeParamInvalid, fmt.Sprintf("%q is already set by field %d", f.target, j+1))
			}
			for other, j := range seen {
				if strings.HasPrefix(f.target, other+".") || strings.HasPrefix(other, f.target+".") {
					rc.Fail("target", nodes.CodeParamInvalid, fmt.Sprintf("%q overlaps %q set by field %d", f.target, other, j+1))
				}
			}
			seen[f.target] = i
			top[f.path[0]] = true
			for d := 1; d < len(f.path); d++ {
				key := strings.Join(f.path[:d], ".")
				if !prefixSeen[key] {
					prefixSeen[key] = true
					n.prefixes = append(n.prefixes, f.path[:d])
				}
			}
		}
		var raw json.RawMessage
		if rc.Has("default") && rc.JSON("default", &raw) {
			v, err := nodes.DecodeJSON(raw)
			if err != nil {
				rc.Fail("default", nodes.CodeParamInvalid, err.Error())
			}
			f.def = v
		}
		if f.kind == convMoneyMinor {
			f.currency = rc.Template("currency")
			if f.currency != nil && f.currency.Static() {
				code, _ := f.currency.EvalString(nil)
				exp, err := currencyExponent(code)
				if err != nil {
					rc.Fail("currency", nodes.CodeParamInvalid, err.Error())
				}
				f.exponent = exp
			}
		}
		n.fields = append(n.fields, f)
	}
	sortPrefixes(n.prefixes)
	n.topLevel = len(top)
	return n, cfg.Err()
}

// mapTables reads the lookups parameter into the tables the field expressions see, reporting bad names and
// entries. A table with a problem is still included under its name, so expressions reading it report only the
// table's own problem, not a second one.
func mapTables(cfg *nodes.Config) expression.Tables {
	rows := cfg.List("lookups")
	if len(rows) > MaxMapTables {
		cfg.Fail("lookups", CodeMapTableInvalid, fmt.Sprintf("%d lookup tables; a node may have at most %d", len(rows), MaxMapTables))
	}
	tables := make(expression.Tables, len(rows))
	first := map[string]int{}
	for i, rc := range rows {
		name := rc.String("name")
		switch {
		case name == "":
			// Reported as param_required by the row's spec.
		case !tableNamePattern.MatchString(name):
			rc.Fail("name", CodeMapTableInvalid, fmt.Sprintf("%q is not a table name: use letters, digits and _, not starting with a digit (like order_status)", name))
		case reservedTableNames[name]:
			rc.Fail("name", CodeMapTableInvalid, fmt.Sprintf("%q is a word of the expression language; choose another table name", name))
		}
		if j, dup := first[name]; dup && name != "" {
			rc.Fail("name", CodeMapTableDuplicate, fmt.Sprintf("table %d is already named %q", j+1, name))
			continue
		}
		first[name] = i
		var entries map[string]string
		if rc.Has("entries") && !rc.JSON("entries", &entries) {
			entries = nil // the type problem is already recorded
		}
		checkTableEntries(rc, entries)
		t := expression.Table{Entries: entries}
		if t.Entries == nil {
			t.Entries = map[string]string{}
		}
		if def := rc.String("default"); def != "" {
			t.Default = &def
		}
		if name != "" {
			tables[name] = t
		}
	}
	return tables
}

// checkTableEntries refuses keys that cannot match anything useful: empty keys and keys with spaces around them
// (values are compared exactly, so "PAID " never matches "PAID"), and tables too large to compile into every
// expression.
func checkTableEntries(rc *nodes.Config, entries map[string]string) {
	if len(entries) > MaxMapTableEntries {
		rc.Fail("entries", CodeMapTableInvalid, fmt.Sprintf("%d entries; a table may have at most %d", len(entries), MaxMapTableEntries))
	}
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	sort.Strings(keys) // problems in a stable order
	for _, k := range keys {
		switch {
		case k == "":
			rc.Fail("entries", CodeMapTableInvalid, "an entry has no value to look up; fill in its \"from\" side or remove it")
		case strings.TrimSpace(k) != k:
			rc.Fail("entries."+k, CodeMapTableInvalid, fmt.Sprintf("%q has spaces at its start or end; values are compared exactly, so it would never match", k))
		}
	}
}

// compileMapExpr compiles a field's expression with the node's lookup tables readable as tables.<name>.
func compileMapExpr(rc *nodes.Config, tables expression.Tables) *expression.Program {
	src := strings.TrimSpace(rc.String("expression"))
	if src == "" {
		return nil
	}
	p, err := expression.CompileWithTables(src, expression.ResultAny, tables)
	if err != nil {
		rc.FailExpr("expression", err)
		return nil
	}
	return p
}

// sortPrefixes orders paths shallowest first (stable), so parents are copied before their children.
func sortPrefixes(p [][]string) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && len(p[j]) < len(p[j-1]); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// Execute evaluates every field against the run's data and assembles the result.
func (n *mapNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	env := envOf(x)
	out := n.base(x.Input)
	for i := range n.fields {
		f := &n.fields[i]
		v, err := f.prog.Eval(env)
		if err != nil {
			return nodes.Result{}, nodes.EvalFailed("map", fmt.Sprintf("field %s", f.target), err)
		}
		if v == nil && f.def != nil {
			v = cloneJSON(f.def)
		}
		if v == nil {
			if f.required {
				return nodes.Result{}, nodes.WithDetails(
					nodes.NewPermanent(CodeMapFieldRequired, fmt.Errorf("map: field %s is required but empty", f.target)),
					map[string]any{"field": f.target})
			}
		} else if f.kind != convAny {
			if v, err = f.convert(v, env); err != nil {
				return nodes.Result{}, nodes.WithDetails(
					nodes.NewPermanent(CodeMapFieldInvalid, fmt.Errorf("map: field %s: %w", f.target, err)),
					map[string]any{"field": f.target, "type": f.kind})
			}
		}
		setPath(out, f.path, v)
	}
	return nodes.Result{Output: out}, nil
}

// base returns the object the fields are written into: a fresh one, or a copy of the input object whose nested
// objects on the targets' paths are copied too.
func (n *mapNode) base(input any) map[string]any {
	in, ok := input.(map[string]any)
	if !n.keepInput || !ok {
		return make(map[string]any, n.topLevel)
	}
	out := make(map[string]any, len(in)+n.topLevel)
	for k, v := range in {
		out[k] = v
	}
	for _, prefix := range n.prefixes {
		parent := out
		for _, seg := range prefix[:len(prefix)-1] {
			parent = parent[seg].(map[string]any) // copied or created by an earlier, shallower prefix
		}
		last := prefix[len(prefix)-1]
		child, _ := parent[last].(map[string]any)
		copied := make(map[string]any, len(child)+1)
		for k, v := range child {
			copied[k] = v
		}
		parent[last] = copied
	}
	return out
}

// setPath writes v at path, creating missing objects and replacing non-objects on the way. Every object on the
// way belongs to this run's output (see base), so writing is safe.
func setPath(m map[string]any, path []string, v any) {
	for _, seg := range path[:len(path)-1] {
		child, ok := m[seg].(map[string]any)
		if !ok {
			child = make(map[string]any, 2)
			m[seg] = child
		}
		m = child
	}
	m[path[len(path)-1]] = v
}

func (f *mapField) convert(v any, env map[string]any) (any, error) {
	switch f.kind {
	case convString:
		return expression.Stringify(v), nil
	case convInteger:
		return toInteger(v)
	case convNumber:
		return toNumber(v)
	case convBoolean:
		return toBool(v)
	case convTime:
		t, err := toTime(v)
		if err != nil {
			return nil, err
		}
		return formatTime(t), nil
	case convMoneyMinor:
		exp := f.exponent
		if exp < 0 {
			code, err := f.currency.EvalString(env)
			if err != nil {
				return nil, fmt.Errorf("evaluate currency: %w", err)
			}
			if exp, err = currencyExponent(code); err != nil {
				return nil, err
			}
		}
		return toMinor(v, exp)
	}
	return v, nil
}

// cloneJSON copies objects and lists, so a default value shared by every run is never modified through one run's
// output.
func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = cloneJSON(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = cloneJSON(e)
		}
		return c
	}
	return v
}

var _ nodes.Node = (*mapNode)(nil)
