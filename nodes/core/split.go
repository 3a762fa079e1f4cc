package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// SplitType is the node type that runs its "each" branch once per item, each time as a run of its own.
const SplitType = "core.split"

// Ports of core.split.
const (
	PortEach = "each"
	PortDone = "done"
)

// Bounds of a split, whatever its parameters say: the items one split may start, and the children it may
// execute at once.
const (
	MaxSplitItems    = nodes.MaxChildRuns
	MaxSplitParallel = nodes.MaxChildParallel
	// maxCollected bounds the children whose outputs a summary carries (Collect outputs).
	maxCollected = 1_000
)

// Failure codes of core.split.
const (
	// CodeSplitNotList: the items expression did not give a list.
	CodeSplitNotList = "split_not_list"
	// CodeSplitTooMany: more items than the node's bound.
	CodeSplitTooMany = "split_too_many_items"
	// CodeSplitKey: an item's key is empty or repeats another's.
	CodeSplitKey = "split_key_invalid"
	// CodeSplitChildrenFailed: children failed or were cancelled, and the split was told to fail then.
	CodeSplitChildrenFailed = "split_children_failed"
)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        SplitType,
		Version:     1,
		Name:        "Split into runs",
		Category:    nodes.CategoryLogic,
		Description: "Runs the Each item branch once per item of a list, each as a run of its own, then goes on with a summary.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs: []nodes.Port{
			{ID: PortEach, Label: "Each item", Kind: nodes.PortMain},
			{ID: PortDone, Label: "Done", Kind: nodes.PortMain},
		},
		Params: []nodes.Field{
			{
				Name: "items", Label: "Items", Type: nodes.TypeExpr, Required: true, Expression: true,
				Description: "Expression giving the list to split: each item becomes a child run whose input (and prev) is the item.",
				Examples: []nodes.Example{
					{Name: "Order lines", Value: "trigger.body.line_items"},
					{Name: "Records of a page", Value: "nodes.list.items"},
				},
			},
			{
				Name: "key", Label: "Item key", Type: nodes.TypeExpr, Expression: true,
				Description: "Expression naming each item, read with prev as the item: the child's dedup key is the parent's " +
					"run and this key, and its business key the parent's with it. Keys must differ; empty: the item's index.",
				Examples: []nodes.Example{{Name: "Line id", Value: "prev.id"}, {Name: "SKU", Value: "prev.sku"}},
			},
			{
				Name: "parallel", Label: "At once", Type: nodes.TypeInteger, Default: 10,
				Description: fmt.Sprintf("How many children execute at the same time (1 to %d); the others wait their turn "+
					"without holding a worker.", MaxSplitParallel),
			},
			{
				Name: "maxItems", Label: "Most items", Type: nodes.TypeInteger, Default: 1000,
				Description: fmt.Sprintf("A list longer than this fails the step (%s) instead of starting more runs "+
					"than expected; at most %d.", CodeSplitTooMany, MaxSplitItems),
			},
			{
				Name: "onChildFailure", Label: "When a child fails", Type: nodes.TypeSelect, Default: "continue",
				Options: []nodes.Option{
					{Value: "continue", Label: "Go on with the summary", Description: "Done follows once every child ended; the summary lists the failed ones."},
					{Value: "fail", Label: "Fail the step", Description: "The step fails (" + CodeSplitChildrenFailed + ") once every child ended; retrying the run retries only the children that failed."},
				},
			},
			{
				Name: "collect", Label: "Collect outputs", Type: nodes.TypeBoolean,
				Description: fmt.Sprintf("Put each child's last output in the summary (at most %d items then).", maxCollected),
			},
		},
		Docs: "Turns a list into child runs, one per item. Each child executes the nodes of the **Each item** port with " +
			"the item as its input, and has its own status, retries, step history and dead letter: one bad item fails " +
			"alone and the others go on. The parent run waits without holding a worker, and when every child has ended " +
			"it continues on **Done** with a summary. Children see the parent's trigger, variables and earlier nodes' " +
			"outputs (`trigger`, `vars`, `nodes.<id>`); `nodes.<split id>` is their item. In a test run only the first " +
			"item's branch runs, in the test run itself.\n\n" +
			"**Output:** on **Done**, `{\"total\", \"succeeded\", \"failed\", \"cancelled\", \"children\": [{\"index\", " +
			"\"key\", \"runId\", \"status\", \"error\", \"output\"}]}`; children lists the failed and cancelled ones, " +
			"and every child with **Collect outputs**. With **When a child fails** set to fail, the step fails instead when " +
			"any child did not succeed, and retrying the run starts again only those children.\n\n" +
			"**Example:** with items `trigger.body.line_items` and key `prev.id`, an order of 3 lines starts 3 runs, " +
			"each creating one CRM line item; the flow then goes on with `{\"total\": 3, \"succeeded\": 3, …}`.",
	}, newSplit)
}

type splitNode struct {
	items, key  *expression.Program
	parallel    int
	maxItems    int
	collect     bool
	failOnChild bool
}

func newSplit(cfg *nodes.Config) (nodes.Node, error) {
	n := &splitNode{items: cfg.Expr("items", expression.ResultAny), parallel: 10, maxItems: 1000, collect: cfg.Bool("collect"),
		failOnChild: cfg.String("onChildFailure") == "fail"}
	if cfg.Has("key") {
		n.key = cfg.Expr("key", expression.ResultAny)
	}
	if cfg.Has("parallel") {
		if n.parallel = cfg.Int("parallel"); n.parallel < 1 || n.parallel > MaxSplitParallel {
			cfg.Fail("parallel", nodes.CodeParamInvalid, fmt.Sprintf("must be between 1 and %d", MaxSplitParallel))
		}
	}
	if cfg.Has("maxItems") {
		if n.maxItems = cfg.Int("maxItems"); n.maxItems < 1 || n.maxItems > MaxSplitItems {
			cfg.Fail("maxItems", nodes.CodeParamInvalid, fmt.Sprintf("must be between 1 and %d", MaxSplitItems))
		}
	}
	if n.collect && n.maxItems > maxCollected {
		cfg.Fail("collect", nodes.CodeParamInvalid, fmt.Sprintf("collecting outputs allows at most %d items: lower Most items", maxCollected))
	}
	return n, cfg.Err()
}

// Execute evaluates the list and asks for the child runs, or, when the children have ended (Exec.Resume),
// goes on with their summary.
func (n *splitNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	if x.Resume != nil {
		summary := map[string]any{}
		if len(x.Resume.Decision) > 0 {
			if err := json.Unmarshal(x.Resume.Decision, &summary); err != nil {
				return nodes.Result{}, nodes.NewPermanent("split_summary_invalid", err)
			}
		}
		if x.Resume.TimedOut {
			summary["timedOut"] = true
		}
		if bad := count(summary["failed"]) + count(summary["cancelled"]); n.failOnChild && bad > 0 {
			return nodes.Result{}, nodes.WithDetails(nodes.NewPermanent(CodeSplitChildrenFailed,
				fmt.Errorf("%s: %d of %d children did not succeed; retrying the run retries them", SplitType, bad, count(summary["total"]))), summary)
		}
		return nodes.Result{Output: summary, Port: PortDone}, nil
	}
	env := envOf(x)
	v, err := n.items.Eval(env)
	if err != nil {
		return nodes.Result{}, nodes.EvalFailed(SplitType, "items", err)
	}
	items, ok := v.([]any)
	if !ok {
		return nodes.Result{}, nodes.NewPermanent(CodeSplitNotList, fmt.Errorf("%s: items gave %T, not a list", SplitType, v))
	}
	if len(items) > n.maxItems {
		return nodes.Result{}, nodes.NewPermanent(CodeSplitTooMany, fmt.Errorf("%s: %d items, more than the %d allowed", SplitType, len(items), n.maxItems))
	}
	if len(items) == 0 {
		return nodes.Result{Output: map[string]any{"total": 0, "succeeded": 0, "failed": 0, "cancelled": 0, "children": []any{}}, Port: PortDone}, nil
	}
	if x.Mode != nodes.ModeLive {
		// A test run executes inline and cannot start runs: it shows the branch on the first item.
		return nodes.Result{Output: items[0], Port: PortEach}, nil
	}
	keys, err := n.keys(env, items)
	if err != nil {
		return nodes.Result{}, err
	}
	return nodes.Result{Split: &nodes.Split{Port: PortEach, Items: items, Keys: keys, Parallel: n.parallel}}, nil
}

// keys names each item: by the key expression, read with prev as the item, or by its index.
func (n *splitNode) keys(env map[string]any, items []any) ([]string, error) {
	keys := make([]string, len(items))
	seen := make(map[string]int, len(items))
	for i, item := range items {
		k := strconv.Itoa(i)
		if n.key != nil {
			e := make(map[string]any, len(env)+1)
			for name, v := range env {
				e[name] = v
			}
			e[expression.VarPrev] = item
			v, err := n.key.Eval(e)
			if err != nil {
				return nil, nodes.EvalFailed(SplitType, "key", err)
			}
			if k, err = keyText(v); err != nil {
				return nil, nodes.NewPermanent(CodeSplitKey, fmt.Errorf("%s: item %d: %w", SplitType, i, err))
			}
		}
		if j, dup := seen[k]; dup {
			return nil, nodes.NewPermanent(CodeSplitKey, fmt.Errorf("%s: items %d and %d have the same key %q", SplitType, j, i, k))
		}
		seen[k] = i
		keys[i] = k
	}
	return keys, nil
}

// count reads a number of the summary.
func count(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	}
	return 0
}

// keyText is a key value as text: a string or a number, not empty.
func keyText(v any) (string, error) {
	switch k := v.(type) {
	case string:
		if k == "" {
			return "", errors.New("its key is empty")
		}
		return k, nil
	case int:
		return strconv.Itoa(k), nil
	case int64:
		return strconv.FormatInt(k, 10), nil
	case float64:
		return strconv.FormatFloat(k, 'f', -1, 64), nil
	case json.Number:
		return k.String(), nil
	case nil:
		return "", errors.New("its key is null")
	}
	return "", fmt.Errorf("its key is a %T, not text or a number", v)
}
