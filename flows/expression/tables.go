package expression

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
)

// VarTables is the name under which a node's lookup tables are read in its expressions: tables.status is the
// table named status, an object of "from" text to "to" text.
const VarTables = "tables"

// CodeUnknownTable is the stable code of an expression that names a lookup table the node does not define.
const CodeUnknownTable = "expression_unknown_table"

// Table is one named lookup table of a node (status → status): its entries and, optionally, the value lookup()
// gives for a key the table lacks.
type Table struct {
	Entries map[string]string
	// Default is what lookup(value, tables.<name>) returns for a value without an entry; nil means such a value
	// fails the step, so unmapped values go to the node's error branch instead of being dropped silently.
	Default *string
}

// Tables are the lookup tables of one node by name. They are fixed per flow version, so CompileWithTables bakes
// them into the program: evaluating an expression that reads a table costs the same as reading a literal
// object, and the run's environment stays as the engine built it.
type Tables map[string]Table

// CompileWithTables compiles src like Compile, with tables readable as tables.<name>:
//
//   - tables.<name> (or tables["<name>"]) is an object of from → to; a missing key reads as null, so
//     tables.status[x] ?? "other" works;
//   - lookup(value, tables.<name>) with two arguments gives the table's Default for a value the table lacks,
//     when the table has one; without a Default such a value fails the evaluation (as lookup always does); an
//     explicit third argument of lookup always wins over the table's Default;
//   - a table chosen at run time (tables[trigger.body.kind]) reads as the object of all tables; lookup applies
//     no Default through it;
//   - naming a table that does not exist is an error with CodeUnknownTable and the position of the name.
//
// Expressions that do not mention tables compile exactly as with Compile and share its cache.
func CompileWithTables(src string, result Result, tables Tables) (*Program, error) {
	if !mentionsTables(src) {
		return Compile(src, result)
	}
	key := tablesCacheKey{src: src, result: result, tables: tables.fingerprint()}
	if p, ok := cache.Load(key); ok {
		return p.(*Program), nil
	}
	p, err := compileWithTables(src, result, tables)
	if err != nil {
		return nil, err
	}
	if cacheSize.Add(1) > maxCachedPrograms {
		cache.Clear()
		cacheSize.Store(1)
	}
	actual, _ := cache.LoadOrStore(key, p)
	return actual.(*Program), nil
}

// tablesCacheKey keys programs compiled against tables in the shared program cache: the same text over
// different tables is a different program.
type tablesCacheKey struct {
	src    string
	result Result
	tables string
}

// mentionsTables is a cheap pre-check: text that does not contain the word cannot read a table.
func mentionsTables(src string) bool { return strings.Contains(src, VarTables) }

// fingerprint is a canonical text of the tables (JSON with sorted keys), for the cache key.
func (t Tables) fingerprint() string {
	names := make([]string, 0, len(t))
	for name := range t {
		names = append(names, name)
	}
	sort.Strings(names)
	type entry struct {
		Name    string            `json:"n"`
		Entries map[string]string `json:"e"`
		Default *string           `json:"d"`
	}
	list := make([]entry, len(names))
	for i, name := range names {
		list[i] = entry{name, t[name].Entries, t[name].Default}
	}
	b, _ := json.Marshal(list) // maps marshal with sorted keys
	return string(b)
}

// objects returns every table as the object expressions read, by name.
func (t Tables) objects() map[string]any {
	out := make(map[string]any, len(t))
	for name, table := range t {
		entries := make(map[string]any, len(table.Entries))
		for k, v := range table.Entries {
			entries[k] = v
		}
		out[name] = entries
	}
	return out
}

func compileWithTables(src string, result Result, tables Tables) (*Program, error) {
	if len(src) > MaxSourceBytes {
		return nil, &Error{Code: CodeTooLarge, Message: fmt.Sprintf("expression is %d bytes, the limit is %d", len(src), MaxSourceBytes)}
	}
	objects := tables.objects()
	static := &staticTables{tables: tables, objects: objects, constants: map[*ast.ConstantNode]string{}}
	// The static references go first, so the remaining bare identifiers are only the dynamic uses.
	p, err := build(src, result, expr.Patch(static), expr.Patch(&dynamicTables{all: objects}))
	if static.err != nil {
		// Reported before the checker's complaint, which would only be a consequence of the unknown name.
		return nil, tableError(static.err.Bind(file.NewSource(src)))
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

func tableError(fe *file.Error) error {
	return &Error{Code: CodeUnknownTable, Message: fe.Message, Line: fe.Line, Column: fe.Column + 1, Snippet: fe.Snippet}
}

// staticTables replaces tables.<name> by the table's object and adds the table's default to two-argument
// lookup calls over such a reference. The tree is walked children first, so a call sees its arguments already
// replaced; constants remembers which replacement stands for which table.
type staticTables struct {
	tables    Tables
	objects   map[string]any
	constants map[*ast.ConstantNode]string
	err       *file.Error
}

// Visit implements ast.Visitor.
func (s *staticTables) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.VariableDeclaratorNode:
		if n.Name == VarTables && s.err == nil {
			s.err = &file.Error{Location: n.Location(), Message: "tables is the name of the node's lookup tables; choose another name for the variable"}
		}
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		if !ok || id.Value != VarTables {
			return
		}
		name, ok := n.Property.(*ast.StringNode)
		if !ok {
			return
		}
		if _, found := s.tables[name.Value]; !found {
			if s.err == nil {
				s.err = &file.Error{Location: name.Location(), Message: fmt.Sprintf("there is no lookup table %q%s", name.Value, s.known())}
			}
			return
		}
		c := &ast.ConstantNode{Value: s.objects[name.Value]}
		ast.Patch(node, c)
		s.constants[c] = name.Value
	case *ast.CallNode:
		callee, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || callee.Value != "lookup" || len(n.Arguments) != 2 {
			return
		}
		arg := n.Arguments[1]
		if chain, isChain := arg.(*ast.ChainNode); isChain {
			arg = chain.Node
		}
		c, ok := arg.(*ast.ConstantNode)
		if !ok {
			return
		}
		name, ok := s.constants[c]
		if !ok || s.tables[name].Default == nil {
			return
		}
		def := &ast.StringNode{Value: *s.tables[name].Default}
		def.SetLocation(c.Location())
		n.Arguments = append(n.Arguments, def)
	}
}

// known lists the tables there are, for the unknown-table message.
func (s *staticTables) known() string {
	if len(s.tables) == 0 {
		return "; this node has no lookup tables"
	}
	names := make([]string, 0, len(s.tables))
	for name := range s.tables {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, name := range names {
		names[i] = strconv.Quote(name)
	}
	return "; the node has " + strings.Join(names, ", ")
}

// dynamicTables replaces the remaining uses of tables (tables[expr], or tables on its own) by the object of all
// tables.
type dynamicTables struct {
	all map[string]any
}

// Visit implements ast.Visitor.
func (d *dynamicTables) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok && id.Value == VarTables {
		ast.Patch(node, &ast.ConstantNode{Value: d.all})
	}
}
