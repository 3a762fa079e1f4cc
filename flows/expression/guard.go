package expression

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/vm"
)

// Guards. expr's virtual machine cannot be interrupted and counts only some of what it allocates, so Ferry
// compiles every expression in two more steps than expr.Compile does. After the tree is checked and optimised,
// guarder inserts calls of guards at the places where an evaluation can spend time or memory:
//
//   - the body of every loop (map, filter, all, any, reduce, sortBy, …) ticks once per iteration;
//   - every node that builds a value (list and object literals, ranges, calls of functions and built-ins)
//     accounts the value's size, and ticks; text concatenation accounts its operands before it copies them;
//   - calls of the built-ins and library functions that can build much more than they are given are
//     redirected to budget-aware versions (bounded.go), which check the size of their result before they
//     build it;
//   - comparisons and searches whose cost grows with their operands tick.
//
// The guards need the evaluation's budget. It is passed as an argument, read from an identifier the
// parser cannot produce (budgetName); after compilation bindBudget turns every load of that identifier into a
// load of a VM variable slot of its own, which Program.Eval fills before running the program. Reading the budget
// thus costs one slot read, and the environment the engine built is passed to the VM untouched.
//
// The budget-aware functions are declared under names starting with '@', which no expression can write, so
// only guards call them.

const (
	budgetName = "@budget"
	boundedPfx = "@"
)

var (
	// guardOptions declares the hidden budget-aware functions to the compiler.
	guardOptions []expr.Option

	// boundedBuiltins are expr's built-ins replaced by budget-aware versions, by name (bounded.go).
	boundedBuiltins = map[string]boundedFunc{}
	// boundedFunctions are the library functions that account what they build themselves, by name.
	boundedFunctions = map[string]bool{}
)

// boundedFunc is a function that checks, against the evaluation's budget b, the size of what it is about to
// build. b is nil for direct calls from Go code, which are not limited.
type boundedFunc func(b *budget, params ...any) (any, error)

// declareBounded makes fn callable by guards under the hidden name of name.
func declareBounded(name string, fn boundedFunc) {
	guardOptions = append(guardOptions, expr.Function(boundedPfx+name, func(params ...any) (any, error) {
		if len(params) == 0 {
			return nil, errNoBudget
		}
		b := budgetOf(params[0])
		if err := b.work(callWork); err != nil {
			return nil, err
		}
		return fn(b, params[1:]...)
	}))
}

var errNoBudget = errors.New("expression evaluated without its limits")

// budgetOf reads the budget argument of a guard. A guard without one stops the evaluation: it would otherwise
// run without limits.
func budgetOf(v any) *budget {
	if b, ok := v.(*budget); ok && b != nil {
		return b
	}
	panic(errNoBudget)
}

// The guards proper are typed Go functions of two arguments, called by the VM directly (OpCallTyped), without
// the argument slice a call of an expr.Function allocates. They return their value unchanged and stop the
// evaluation by panicking with the limit's error, which the VM turns into an error at the guard's position.
var (
	// tickGuard counts a loop iteration or a costly comparison.
	tickGuard = func(b, v any) any {
		if err := budgetOf(b).tick(); err != nil {
			panic(err)
		}
		return v
	}
	// growGuard accounts a value just built.
	growGuard = func(b, v any) any {
		if err := budgetOf(b).grow(v); err != nil {
			panic(err)
		}
		return v
	}
	// callGuard accounts the result of a call of a function or built-in, and the work of the call.
	callGuard = func(b, v any) any {
		bud := budgetOf(b)
		err := bud.grow(v)
		if err == nil {
			err = bud.work(callWork - 1)
		}
		if err != nil {
			panic(err)
		}
		return v
	}
	// copyGuard accounts an operand of +: concatenating two texts copies both into a new one, so the new text
	// is accounted, operand by operand, before it is built. Numbers, times and durations add in place.
	copyGuard = func(b, v any) any {
		bud := budgetOf(b)
		var err error
		if s, ok := v.(string); ok {
			err = bud.take(int64(len(s)))
		} else {
			err = bud.tick()
		}
		if err != nil {
			panic(err)
		}
		return v
	}
	guardType = reflect.TypeOf(tickGuard)
	anyType   = reflect.TypeOf((*any)(nil)).Elem()
)

// compileGuarded compiles src as expr.Compile does, with the guards inserted. check, when set, inspects the
// optimised tree before the guards go in (the constant checks of the library); its error is returned as is.
// It returns the program and the VM variable slot the budget is read from, or -1 when the program has no
// guard and so needs no budget.
func compileGuarded(src string, opts []expr.Option, check func(ast.Node) error) (*vm.Program, int, error) {
	config := conf.CreateNew()
	for _, op := range opts {
		op(config)
	}
	for _, op := range guardOptions {
		op(config)
	}
	for name := range config.Disabled {
		delete(config.Builtins, name)
	}
	config.Check()

	tree, err := checker.ParseCheck(src, config)
	if err != nil {
		return nil, 0, err
	}
	if config.Optimize {
		if err := optimizer.Optimize(&tree.Node, config); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, 0, fe.Bind(tree.Source)
			}
			return nil, 0, err
		}
	}
	if check != nil {
		if err := check(tree.Node); err != nil {
			return nil, 0, err
		}
	}
	g := &guarder{}
	g.walk(&tree.Node)
	if g.err != nil {
		return nil, 0, g.err
	}
	prog, err := compiler.Compile(tree, config)
	if err != nil {
		return nil, 0, err
	}
	slot := -1
	if g.guards > 0 {
		if slot, err = bindBudget(prog); err != nil {
			return nil, 0, err
		}
	}
	return prog, slot, nil
}

// guarder inserts the guards into a checked, optimised tree. Natures (types) are copied from the nodes it
// wraps, so the compiler makes the same choices as without the guards.
type guarder struct {
	guards int
	err    error
}

func (g *guarder) budget(loc file.Location) ast.Node {
	n := &ast.IdentifierNode{Value: budgetName}
	n.SetLocation(loc)
	n.SetType(anyType)
	return n
}

// guard wraps orig in a call of the typed guard fn with the budget, standing where orig stood and
// returning its value.
func (g *guarder) guard(fn func(b, v any) any, orig ast.Node) *ast.CallNode {
	g.guards++
	callee := &ast.ConstantNode{Value: fn}
	callee.SetLocation(orig.Location())
	callee.SetType(guardType)
	c := &ast.CallNode{Callee: callee, Arguments: []ast.Node{g.budget(orig.Location()), orig}}
	c.SetLocation(orig.Location())
	c.SetNature(*orig.Nature())
	return c
}

// wrap replaces *node by a call of the guard fn that returns the node's value unchanged.
func (g *guarder) wrap(node *ast.Node, fn func(b, v any) any) {
	*node = g.guard(fn, *node)
}

// redirect replaces a call of a built-in or library function by a call of its budget-aware version, standing
// where the call stood. The budget-aware versions account their results and work themselves.
func (g *guarder) redirect(node *ast.Node, name string, args []ast.Node) {
	g.guards++
	orig := *node
	callee := &ast.IdentifierNode{Value: boundedPfx + name}
	callee.SetLocation(orig.Location())
	callee.SetType(boundedFuncType)
	c := &ast.CallNode{Callee: callee, Arguments: append([]ast.Node{g.budget(orig.Location())}, args...)}
	c.SetLocation(orig.Location())
	c.SetNature(*orig.Nature())
	*node = c
}

var boundedFuncType = reflect.TypeOf(func(...any) (any, error) { return nil, nil })

// walk guards the tree under node, children first. It reports whether the subtree holds an optional member
// access (a?.b) whose jump to the end of its chain leaves the subtree: such a subtree is never wrapped, since
// the jump would skip the guard's call and leave its budget argument on the stack. The chain as a whole is.
func (g *guarder) walk(node *ast.Node) (open bool) {
	switch n := (*node).(type) {
	case nil, *ast.NilNode, *ast.IdentifierNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.StringNode,
		*ast.BytesNode, *ast.ConstantNode, *ast.PointerNode:
		return false
	case *ast.UnaryNode:
		return g.walk(&n.Node)
	case *ast.BinaryNode:
		left := g.walk(&n.Left)
		right := g.walk(&n.Right)
		if left || right {
			return true
		}
		g.binary(node, n)
		return false
	case *ast.ChainNode:
		g.walk(&n.Node)
		return false
	case *ast.MemberNode:
		base := g.walk(&n.Node)
		prop := g.walk(&n.Property)
		return base || prop || n.Optional
	case *ast.SliceNode:
		open = g.walk(&n.Node)
		if n.From != nil && g.walk(&n.From) {
			open = true
		}
		if n.To != nil && g.walk(&n.To) {
			open = true
		}
		return open
	case *ast.CallNode:
		open = g.walk(&n.Callee)
		for i := range n.Arguments {
			if g.walk(&n.Arguments[i]) {
				open = true
			}
		}
		if !open {
			g.callNode(node, n)
		}
		return open
	case *ast.BuiltinNode:
		for i := range n.Arguments {
			if g.walk(&n.Arguments[i]) {
				open = true
			}
		}
		if n.Map != nil && g.walk(&n.Map) {
			open = true
		}
		if !open {
			g.builtin(node, n)
		}
		return open
	case *ast.PredicateNode:
		if !g.walk(&n.Node) {
			g.wrap(&n.Node, tickGuard) // once per iteration of the loop
		}
		return false
	case *ast.VariableDeclaratorNode:
		value := g.walk(&n.Value)
		body := g.walk(&n.Expr)
		return value || body
	case *ast.SequenceNode:
		for i := range n.Nodes {
			if g.walk(&n.Nodes[i]) {
				open = true
			}
		}
		return open
	case *ast.ConditionalNode:
		c := g.walk(&n.Cond)
		a := g.walk(&n.Exp1)
		b := g.walk(&n.Exp2)
		return c || a || b
	case *ast.ArrayNode:
		for i := range n.Nodes {
			if g.walk(&n.Nodes[i]) {
				open = true
			}
		}
		if !open {
			g.wrap(node, growGuard)
		}
		return open
	case *ast.MapNode:
		for i := range n.Pairs {
			if g.walk(&n.Pairs[i]) {
				open = true
			}
		}
		if !open {
			g.wrap(node, growGuard)
		}
		return open
	case *ast.PairNode:
		k := g.walk(&n.Key)
		v := g.walk(&n.Value)
		return k || v
	default:
		if g.err == nil {
			g.err = fmt.Errorf("expression: cannot guard %T", n)
		}
		return true
	}
}

func (g *guarder) binary(node *ast.Node, n *ast.BinaryNode) {
	switch n.Operator {
	case "+":
		// Text concatenation builds a string, checked before it is built; numbers, times and durations add in
		// place. An operand of unknown type (read from the payload) may be text.
		switch n.Type().Kind() {
		case reflect.String, reflect.Interface:
			// A literal operand is bounded by the source; the other is what a loop can make grow.
			if !isLiteral(n.Left) {
				g.wrap(&n.Left, copyGuard)
			}
			if !isLiteral(n.Right) {
				g.wrap(&n.Right, copyGuard)
			}
		}
	case "..":
		g.wrap(node, growGuard) // the range is a list (expr checks its length against the VM's own budget first)
	case "==", "!=":
		// Comparing two values read at run time may walk two large structures; a literal on either side keeps the
		// comparison short.
		if !isLiteral(n.Left) && !isLiteral(n.Right) {
			g.wrap(node, tickGuard)
		}
	case "in":
		if !isLiteral(n.Right) {
			g.wrap(node, tickGuard) // a search through a list
		}
	case "contains", "matches":
		if !isLiteral(n.Left) {
			g.wrap(node, tickGuard) // a search through text
		}
	}
}

// isLiteral reports whether n is a value written in the expression, whose size the source bounds.
func isLiteral(n ast.Node) bool {
	switch n.(type) {
	case *ast.NilNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.StringNode, *ast.BytesNode, *ast.ConstantNode:
		return true
	}
	return false
}

// Built-ins by what they cost. Those not listed build a value or may take time in proportion to their
// arguments: their result is accounted.
var (
	// cheapBuiltins take constant time and build nothing (or return part of their argument).
	cheapBuiltins = map[string]bool{
		"len": true, "type": true, "abs": true, "ceil": true, "floor": true, "round": true, "int": true, "float": true,
		"first": true, "last": true, "get": true, "take": true, "now": true, "duration": true, "timezone": true,
		"bitand": true, "bitor": true, "bitxor": true, "bitnand": true, "bitnot": true, "bitshl": true,
		"bitshr": true, "bitushr": true,
	}
	// loopBuiltins build nothing beyond what their loop body builds, and their body ticks.
	loopBuiltins = map[string]bool{
		"all": true, "none": true, "any": true, "one": true, "find": true, "findIndex": true, "findLast": true,
		"findLastIndex": true, "count": true, "sum": true, "reduce": true,
	}
	// passThroughFunctions return one of their arguments or a part of it, or take constant time: they tick but
	// account nothing, so a loop that picks values out of a large payload is not charged for the payload.
	passThroughFunctions = map[string]bool{"coalesce": true, "lookup": true}
)

func (g *guarder) builtin(node *ast.Node, n *ast.BuiltinNode) {
	if _, ok := boundedBuiltins[n.Name]; ok {
		g.redirect(node, n.Name, n.Arguments)
		return
	}
	if cheapBuiltins[n.Name] || loopBuiltins[n.Name] {
		return
	}
	g.wrap(node, callGuard) // map, filter, groupBy, sortBy, and the built-ins building text or lists
}

func (g *guarder) callNode(node *ast.Node, n *ast.CallNode) {
	if id, ok := n.Callee.(*ast.IdentifierNode); ok {
		switch {
		case boundedFunctions[id.Value]:
			g.redirect(node, id.Value, n.Arguments)
			return
		case passThroughFunctions[id.Value]:
			g.wrap(node, tickGuard)
			return
		}
	}
	g.wrap(node, callGuard) // library functions and methods (a time's Format, …)
}

// bindBudget turns every load of the budget identifier into a load of VM variable slot, one past the
// variables the program declares (let), which Program.Eval fills with the evaluation's budget. The rewrite keeps
// every instruction in place, so jumps and positions are unchanged.
func bindBudget(prog *vm.Program) (int, error) {
	slot := 0
	for i, op := range prog.Bytecode {
		if op == vm.OpStore || op == vm.OpLoadVar {
			slot = max(slot, prog.Arguments[i]+1)
		}
	}
	bound := 0
	for i, op := range prog.Bytecode {
		if op != vm.OpLoadFast && op != vm.OpLoadConst {
			continue
		}
		if name, ok := prog.Constants[prog.Arguments[i]].(string); ok && name == budgetName {
			prog.Bytecode[i], prog.Arguments[i] = vm.OpLoadVar, slot
			bound++
		}
	}
	if bound == 0 {
		return 0, errors.New("expression: the guards' budget was compiled to an unexpected instruction")
	}
	return slot, nil
}
