package core

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// MergeType is the node type that joins branches into one.
const MergeType = "core.merge"

// Input ports of core.merge, in order: the first (the default port, where an edge without a target port
// arrives) is the left list of a join.
var mergeInputs = []string{nodes.DefaultPort, "input2", "input3"}

// Failure codes of core.merge.
const (
	// CodeMergeNotList: a join's input is not a list of objects.
	CodeMergeNotList = "merge_not_list"
)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        MergeType,
		Version:     1,
		Name:        "Merge",
		Category:    nodes.CategoryLogic,
		Description: "Waits for the branches that lead to it and combines what they bring: one list, one object, or two lists joined by a key.",
		Inputs: []nodes.Port{
			{ID: mergeInputs[0], Label: "Input 1", Kind: nodes.PortMain},
			{ID: mergeInputs[1], Label: "Input 2", Kind: nodes.PortMain},
			{ID: mergeInputs[2], Label: "Input 3", Kind: nodes.PortMain},
		},
		Outputs: []nodes.Port{{ID: nodes.DefaultPort, Label: "Merged", Kind: nodes.PortMain}},
		Params: []nodes.Field{
			{
				Name: "wait", Label: "Wait for", Type: nodes.TypeSelect, Default: "all",
				Options: []nodes.Option{
					{Value: "all", Label: "Every branch that can still arrive", Description: "Runs once every connected input arrived, or no branch that has not arrived can reach it any more (a condition went the other way)."},
					{Value: "first", Label: "The first branch", Description: "Runs with the first input that arrives; later ones are dropped."},
				},
			},
			{
				Name: "mode", Label: "Combine", Type: nodes.TypeSelect, Default: "append",
				Options: []nodes.Option{
					{Value: "append", Label: "Append into one list", Description: "Lists are appended item by item, other values as one item, in input order."},
					{Value: "object", Label: "Merge objects", Description: "The objects' fields, later inputs winning."},
					{Value: "join", Label: "Join two lists by key", Description: "Records of input 1 and input 2 whose keys are equal become one record (input 2's fields winning)."},
				},
			},
			{
				Name: "join", Label: "Join", Type: nodes.TypeSelect, Default: "inner", ShowIf: map[string][]any{"mode": {"join"}},
				Options: []nodes.Option{
					{Value: "inner", Label: "Only records found in both"},
					{Value: "left", Label: "Every record of input 1"},
					{Value: "full", Label: "Every record of both"},
				},
			},
			{
				Name: "leftKey", Label: "Key in input 1", Type: nodes.TypeString, Required: true, ShowIf: map[string][]any{"mode": {"join"}},
				Description: "Path of the key in each record of input 1.",
				Examples:    []nodes.Example{{Name: "Order number", Value: "order_id"}, {Name: "Nested", Value: "metadata.order_id"}},
			},
			{
				Name: "rightKey", Label: "Key in input 2", Type: nodes.TypeString, Required: true, ShowIf: map[string][]any{"mode": {"join"}},
				Description: "Path of the key in each record of input 2.",
				Examples:    []nodes.Example{{Name: "Order number", Value: "out_trade_no"}},
			},
		},
		Docs: "Joins branches: a node reached by several branches through a merge runs once, with what they brought, " +
			"instead of once per branch. With **Wait for** every branch, the merge runs when each connected input " +
			"arrived, or as soon as no branch still pending can reach it (so a condition that went the other way does " +
			"not hold it up); with the first branch, it runs with the first arrival. It runs once per run.\n\n" +
			"**Output:** append: `{\"items\": [...], \"count\": n}`; merge objects: the object; join: `{\"items\": [...], " +
			"\"count\": n, \"unmatched1\": n, \"unmatched2\": n}`, each item the fields of both records.\n\n" +
			"**Example:** Stripe's payments of a day on input 1 (`id`), the CRM's orders on input 2 (`payment_id`), " +
			"join *Every record of input 1*: the items list each payment with its order's fields, and the payments " +
			"with no order alone.",
	}, newMerge)
}

type mergeNode struct {
	first           bool
	mode, join      string
	leftKey, rightK expression.Path
}

func newMerge(cfg *nodes.Config) (nodes.Node, error) {
	n := &mergeNode{first: cfg.String("wait") == "first", mode: cfg.String("mode"), join: cfg.String("join")}
	if n.mode == "join" {
		for name, dst := range map[string]*expression.Path{"leftKey": &n.leftKey, "rightKey": &n.rightK} {
			text := strings.TrimSpace(cfg.String(name))
			if text == "" {
				continue // reported by the required check
			}
			p, err := expression.ParsePath(text)
			if err != nil {
				cfg.Fail(name, nodes.CodeParamInvalid, err.Error())
				continue
			}
			*dst = p
		}
	}
	return n, cfg.Err()
}

// JoinFirst says whether the merge runs on the first arrival rather than waiting for the other branches.
func (n *mergeNode) JoinFirst() bool { return n.first }

// Execute combines the inputs that arrived (the engine gives them by port).
func (n *mergeNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	in, _ := x.Input.(map[string]any)
	switch n.mode {
	case "object":
		out := map[string]any{}
		for _, port := range mergeInputs {
			if obj, ok := in[port].(map[string]any); ok {
				for k, v := range obj {
					out[k] = v
				}
			}
		}
		return nodes.Result{Output: out}, nil
	case "join":
		return n.joined(in)
	}
	items := []any{}
	for _, port := range mergeInputs {
		v, ok := in[port]
		if !ok {
			continue
		}
		if list, isList := v.([]any); isList {
			items = append(items, list...)
		} else {
			items = append(items, v)
		}
	}
	return nodes.Result{Output: map[string]any{"items": items, "count": int64(len(items))}}, nil
}

// joined joins the records of input 1 and input 2 on their keys, compared as text.
func (n *mergeNode) joined(in map[string]any) (nodes.Result, error) {
	left, err := records(in, mergeInputs[0])
	if err != nil {
		return nodes.Result{}, err
	}
	right, err := records(in, mergeInputs[1])
	if err != nil {
		return nodes.Result{}, err
	}
	byKey := map[string][]int{}
	for i, r := range right {
		if k, ok := keyOf(n.rightK, r); ok {
			byKey[k] = append(byKey[k], i)
		}
	}
	used := make([]bool, len(right))
	items := []any{}
	unmatched1 := 0
	for _, l := range left {
		k, ok := keyOf(n.leftKey, l)
		matches := byKey[k]
		if !ok || len(matches) == 0 {
			unmatched1++
			if n.join != "inner" {
				items = append(items, l)
			}
			continue
		}
		for _, i := range matches {
			used[i] = true
			items = append(items, combine(l, right[i]))
		}
	}
	unmatched2 := 0
	for i, r := range right {
		if !used[i] {
			unmatched2++
			if n.join == "full" {
				items = append(items, r)
			}
		}
	}
	return nodes.Result{Output: map[string]any{"items": items, "count": int64(len(items)),
		"unmatched1": int64(unmatched1), "unmatched2": int64(unmatched2)}}, nil
}

// records reads a join input: a list of objects (a missing input is an empty list).
func records(in map[string]any, port string) ([]map[string]any, error) {
	v, ok := in[port]
	if !ok || v == nil {
		return nil, nil
	}
	list, isList := v.([]any)
	if !isList {
		if obj, isObj := v.(map[string]any); isObj {
			if items, hasItems := obj["items"].([]any); hasItems { // a paged list's output
				list, isList = items, true
			}
		}
	}
	if !isList {
		return nil, nodes.NewPermanent(CodeMergeNotList, fmt.Errorf("%s: %s is a %T, not a list of records", MergeType, port, v))
	}
	out := make([]map[string]any, len(list))
	for i, item := range list {
		obj, isObj := item.(map[string]any)
		if !isObj {
			return nil, nodes.NewPermanent(CodeMergeNotList, fmt.Errorf("%s: item %d of %s is a %T, not a record", MergeType, i, port, item))
		}
		out[i] = obj
	}
	return out, nil
}

// keyOf is a record's key as text; a missing or null key matches nothing.
func keyOf(p expression.Path, r map[string]any) (string, bool) {
	v, ok := p.Lookup(r)
	if !ok || v == nil {
		return "", false
	}
	return fmt.Sprint(v), true
}

// combine is the fields of both records, b's winning.
func combine(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

var _ nodes.Joiner = (*mergeNode)(nil)
