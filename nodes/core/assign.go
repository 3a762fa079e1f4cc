package core

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// AssignType is the node type that picks an owner for a lead, a ticket or a deal.
const AssignType = "core.assign"

// Stable failure codes of core.assign.
const (
	// CodeAssignNoOwner: every owner who could take the item is away; the error's details list who was skipped.
	CodeAssignNoOwner = "assign_no_owner"
	// CodeAssignOwnersInvalid: the owner list is empty, too long, or has an owner without an id, a repeated id or
	// a bad weight or date.
	CodeAssignOwnersInvalid = "assign_owners_invalid"
	// CodeAssignUnknownOwner: a rule or the fallback names an owner who is not in the owner list.
	CodeAssignUnknownOwner = "assign_unknown_owner"
	// CodeAssignCountsInvalid: the open counts are not an object of numbers or a list of owner ids.
	CodeAssignCountsInvalid = "assign_counts_invalid"
	// CodeAssignLeaveInvalid: the owners on leave are not a list of ids or a text of ids.
	CodeAssignLeaveInvalid = "assign_leave_invalid"
	// CodeAssignKeyInvalid: the rotation key came out longer than MaxAssignKey.
	CodeAssignKeyInvalid = "assign_key_invalid"
	// CodeAssignStateFailed: the rotation's turn could not be taken from the store; retried.
	CodeAssignStateFailed = "assign_state_failed"
)

// Bounds of one assignment.
const (
	// MaxAssignOwners is the most owners one assignment chooses from.
	MaxAssignOwners = 1000
	// MaxAssignWeight is the largest weight an owner may have.
	MaxAssignWeight = 100
	// MaxAssignTotalWeight bounds the weights added up: a weighted rotation is a cycle that long.
	MaxAssignTotalWeight = 10000
	// MaxAssignKey is the longest rotation key a flow may give; the store adds a prefix to it.
	MaxAssignKey = 400
)

// Assignment modes and fallbacks.
const (
	assignRoundRobin = "roundRobin"
	assignRules      = "rules"
	assignFewestOpen = "fewestOpen"
	assignFallbackRR = "roundRobin"
	assignFallbackTo = "owner"
	// assignReasonDefault is the reason given when no rule matched and the fallback owner took the item.
	assignReasonDefault = "default"
)

// Why an owner was skipped, as the output's skipped list says.
const (
	skipAway      = "away"
	skipAwayUntil = "awayUntil"
	skipOnLeave   = "onLeave"
)

// localRotations keeps turns in the process when the engine has no store behind it (nodes.Exec.Rotations nil).
var localRotations = nodes.NewMemoryRotations()

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:     AssignType,
		Version:  1,
		Name:     "Assign owner",
		Category: nodes.CategoryLogic,
		Description: "Picks an owner for a lead or ticket: round-robin, by rules, or the one with the fewest open " +
			"items, skipping owners on leave.",
		Inputs:  []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs: []nodes.Port{{ID: nodes.DefaultPort, Label: "Assigned", Kind: nodes.PortMain}},
		Params: []nodes.Field{
			{
				Name: "mode", Label: "Assign by", Type: nodes.TypeSelect, Default: assignRoundRobin,
				Options: []nodes.Option{
					{Value: assignRoundRobin, Label: "Round-robin", Description: "Each owner in turn, by weight."},
					{Value: assignRules, Label: "Rules", Description: "The owner of the first rule that matches."},
					{Value: assignFewestOpen, Label: "Fewest open items", Description: "The owner with the fewest open items, by weight."},
				},
			},
			{
				Name: "owners", Label: "Owners", Type: nodes.TypeList, Display: nodes.DisplayTable,
				Description: "The people who take items, in rotation order. Give these or Owners from.",
				Fields: []nodes.Field{
					{
						Name: "id", Label: "Id", Type: nodes.TypeString, Required: true,
						Description: "The owner's id in the system items are assigned in (a CRM user id), unique in the list.",
						Examples:    []nodes.Example{{Name: "CRM user id", Value: "51234"}},
					},
					{Name: "name", Label: "Name", Type: nodes.TypeString, Description: "Name shown in the output and in run data."},
					{
						Name: "weight", Label: "Weight", Type: nodes.TypeInteger, Default: 1,
						Description: "Share of the items, 1 to 100: an owner of weight 2 gets twice as many as one of weight 1.",
					},
					{Name: "away", Label: "Away", Type: nodes.TypeBoolean, Description: "On leave: skipped until this is cleared."},
					{
						Name: "awayUntil", Label: "Away until", Type: nodes.TypeString,
						Description: "Skipped until this time; a date alone means the owner is back from the start of that day " +
							"in UTC, and a time may name its zone.",
						Examples: []nodes.Example{
							{Name: "Back on a date", Value: "2026-12-28"},
							{Name: "Back at a time in Beijing", Value: "2026-12-28T09:00:00+08:00"},
						},
					},
				},
				Examples: []nodes.Example{{Name: "Sales team", Value: []any{
					map[string]any{"id": "51234", "name": "Li Na"},
					map[string]any{"id": "51235", "name": "Wang Wei", "weight": 2},
					map[string]any{"id": "51236", "name": "Zhang Min", "awayUntil": "2026-12-28"},
				}}},
			},
			{
				Name: "ownersFrom", Label: "Owners from", Type: nodes.TypeExpr, Expression: true, ExprResult: "any",
				Description: "Instead of Owners: an expression giving the list, for owners kept elsewhere (a lookup, an " +
					"earlier step). Each item is an owner id, or an object with id and optionally name, weight, away " +
					"and awayUntil; its other fields are passed on in the output.",
				Examples: []nodes.Example{
					{Name: "From an earlier step", Value: "nodes.team.owners"},
					{Name: "From a flow variable", Value: "vars.salesTeam"},
				},
			},
			{
				Name: "onLeave", Label: "On leave", Type: nodes.TypeExpr, Expression: true, ExprResult: "any",
				Description: "Expression giving the ids of owners on leave, as a list or a text separated by commas; " +
					"they are skipped like owners marked away.",
				Examples: []nodes.Example{{Name: "From a flow variable", Value: "vars.onLeave"}},
			},
			{
				Name: "rules", Label: "Rules", Type: nodes.TypeList, Required: true,
				ShowIf:      map[string][]any{"mode": {assignRules}},
				Description: "Checked in order; the first that matches and whose owner is not away wins.",
				Fields: []nodes.Field{
					{
						Name: "when", Label: "When", Type: nodes.TypeExpr, Required: true, Expression: true,
						ExprResult:  string(expression.ResultBool),
						Description: "Condition on the item, such as its region, amount or source.",
						Examples: []nodes.Example{
							{Name: "Region", Value: `prev.region == "east"`},
							{Name: "Large deal", Value: "prev.amount >= 100000"},
						},
					},
					{
						Name: "owner", Label: "Owner", Type: nodes.TypeString, Required: true, Expression: true,
						Description: "Id of the owner who takes the item; must be in the owner list.",
					},
				},
				Examples: []nodes.Example{{Name: "By region and size", Value: []any{
					map[string]any{"when": "prev.amount >= 100000", "owner": "51235"},
					map[string]any{"when": `prev.region == "east"`, "owner": "51234"},
					map[string]any{"when": `prev.source == "partner"`, "owner": "51236"},
				}}},
			},
			{
				Name: "fallback", Label: "When no rule matches", Type: nodes.TypeSelect, Default: assignFallbackRR,
				ShowIf: map[string][]any{"mode": {assignRules}},
				Options: []nodes.Option{
					{Value: assignFallbackRR, Label: "Round-robin over the owners"},
					{Value: assignFallbackTo, Label: "A default owner", Description: "Round-robin when the default owner is away."},
				},
			},
			{
				Name: "defaultOwner", Label: "Default owner", Type: nodes.TypeString, Required: true, Expression: true,
				ShowIf:      map[string][]any{"mode": {assignRules}, "fallback": {assignFallbackTo}},
				Description: "Id of the owner who takes what no rule matched; must be in the owner list.",
			},
			{
				Name: "openCounts", Label: "Open items", Type: nodes.TypeExpr, Required: true, Expression: true, ExprResult: "any",
				ShowIf: map[string][]any{"mode": {assignFewestOpen}},
				Description: "Expression giving each owner's open items: an object of owner id to count, or a list " +
					"with one owner id per open item (the owners of a CRM search's results). Owners left out have none.",
				Examples: []nodes.Example{
					{Name: "Owner ids of open deals", Value: "map(nodes.openDeals.results, .ownerId)"},
					{Name: "Counts by owner", Value: "nodes.counts.byOwner"},
				},
			},
			{
				Name: "rotationKey", Label: "Rotation key", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "Names the rotation whose turn is taken. Empty: this node's own rotation. Give a key per " +
					"region to keep one rotation each; flows giving the same key share its turns.",
				Examples: []nodes.Example{{Name: "One per region", Value: "sales-{{ prev.region }}"}},
			},
		},
		Docs: "Chooses an owner for the item it receives and adds the choice to it.\n\n" +
			"- **Round-robin** gives each available owner a turn in list order; an owner of weight 2 gets two turns " +
			"per round, spread through it.\n" +
			"- **Rules** are checked in order; the first whose condition is true and whose owner is available wins. " +
			"When none does, the item goes round-robin, or to a default owner (round-robin when that owner is away).\n" +
			"- **Fewest open items** picks the available owner with the fewest open items, divided by weight; owners " +
			"tied for fewest take turns.\n\n" +
			"Owners marked **away**, **away until** a time still to come, or listed in **On leave** are skipped, and " +
			"the output says so. When every owner who could take the item is away the step fails with " +
			"`assign_no_owner`: connect the error port to handle it (a queue, a manager).\n\n" +
			"**Turns** are kept in the database, so the rotation goes on where it stopped across runs, restarts and " +
			"every worker; concurrent runs never get the same turn. Each node has its own rotation unless " +
			"**Rotation key** names one. Test runs take turns of a rotation of their own and never move the live one.\n\n" +
			"**Output:** the input with `assignment`: `owner` (the owner's fields), `reason` (`roundRobin`, " +
			"`rule:N` for the Nth rule, `default`, `fewestOpen`) and `skipped` (owners passed over, each with " +
			"`id`, `name` and why: `away`, `awayUntil`, `onLeave`). A later step sets the owner with " +
			"`prev.assignment.owner.id`.\n\n" +
			"**Example:** owners Li Na and Wang Wei, round-robin: the first lead goes to Li Na, the second to Wang " +
			"Wei, the third to Li Na; while Wang Wei is away, every lead goes to Li Na.",
	}, newAssign)
}

// assignOwner is one owner as an assignment sees it.
type assignOwner struct {
	id        string
	name      string
	weight    int
	away      bool
	awayUntil time.Time
	// data is what the output shows of the owner: the item given, or the row's fields.
	data map[string]any
}

type assignRule struct {
	when  *expression.Program
	owner *expression.Template
}

type assignNode struct {
	mode string
	// owners is the static list; nil when ownersFrom gives it per run.
	owners       []assignOwner
	ownersFrom   *expression.Program
	onLeave      *expression.Program
	rules        []assignRule
	fallback     string
	defaultOwner *expression.Template
	openCounts   *expression.Program
	rotationKey  *expression.Template
}

func newAssign(cfg *nodes.Config) (nodes.Node, error) {
	n := &assignNode{
		mode:        cfg.String("mode"),
		ownersFrom:  cfg.Expr("ownersFrom", expression.ResultAny),
		onLeave:     cfg.Expr("onLeave", expression.ResultAny),
		rotationKey: cfg.Template("rotationKey"),
	}
	rows := cfg.List("owners")
	hasFrom := strings.TrimSpace(cfg.String("ownersFrom")) != ""
	switch {
	case len(rows) > 0 && hasFrom:
		cfg.Fail("ownersFrom", nodes.CodeParamInvalid, "give either Owners or Owners from, not both")
	case len(rows) == 0 && !hasFrom:
		cfg.Fail("owners", nodes.CodeParamRequired, "add at least one owner, or give Owners from")
	case len(rows) > 0:
		n.owners = staticOwners(rows)
		if err := checkOwners(n.owners); err != nil {
			cfg.Fail("owners", nodes.CodeParamInvalid, err.Error())
		}
	}
	// known checks a fixed owner id against a fixed owner list; lists given per run are checked when they come.
	known := func(rc *nodes.Config, field string, t *expression.Template) {
		if t == nil || !t.Static() || n.owners == nil {
			return
		}
		id, _ := t.EvalString(nil)
		if findOwner(n.owners, strings.TrimSpace(id)) < 0 {
			rc.Fail(field, nodes.CodeParamInvalid, fmt.Sprintf("%q is not in the owner list", id))
		}
	}
	switch n.mode {
	case assignRules:
		list := cfg.List("rules")
		if cfg.Has("rules") && len(list) == 0 {
			cfg.Fail("rules", nodes.CodeParamRequired, "add at least one rule")
		}
		for _, rc := range list {
			r := assignRule{when: rc.Expr("when", expression.ResultBool), owner: rc.Template("owner")}
			known(rc, "owner", r.owner)
			n.rules = append(n.rules, r)
		}
		n.fallback = cfg.String("fallback")
		if n.fallback == assignFallbackTo {
			n.defaultOwner = cfg.Template("defaultOwner")
			known(cfg, "defaultOwner", n.defaultOwner)
		}
	case assignFewestOpen:
		n.openCounts = cfg.Expr("openCounts", expression.ResultAny)
	}
	return n, cfg.Err()
}

// staticOwners reads the rows of the Owners table; checkOwners judges them.
func staticOwners(rows []*nodes.Config) []assignOwner {
	out := make([]assignOwner, 0, len(rows))
	for _, rc := range rows {
		o := assignOwner{id: strings.TrimSpace(rc.String("id")), name: rc.String("name"), weight: rc.Int("weight"), away: rc.Bool("away")}
		o.data = map[string]any{"id": o.id}
		if o.name != "" {
			o.data["name"] = o.name
		}
		if o.weight != 1 {
			o.data["weight"] = o.weight
		}
		if s := strings.TrimSpace(rc.String("awayUntil")); s != "" {
			t, err := toTime(s)
			if err != nil {
				rc.Fail("awayUntil", nodes.CodeParamInvalid, err.Error())
			}
			o.awayUntil = t
		}
		out = append(out, o)
	}
	return out
}

// checkOwners finds what makes a list of owners unusable: no owners, an owner without an id, a repeated id, a
// weight out of range, weights adding up to more than a rotation can cycle through.
func checkOwners(owners []assignOwner) error {
	if len(owners) == 0 {
		return fmt.Errorf("the owner list is empty")
	}
	if len(owners) > MaxAssignOwners {
		return fmt.Errorf("the owner list has %d owners; at most %d", len(owners), MaxAssignOwners)
	}
	seen := make(map[string]int, len(owners))
	total := 0
	for i, o := range owners {
		if o.id == "" {
			return fmt.Errorf("owner %d has no id", i+1)
		}
		if j, dup := seen[o.id]; dup {
			return fmt.Errorf("owners %d and %d have the same id %q", j+1, i+1, o.id)
		}
		seen[o.id] = i
		if o.weight < 1 || o.weight > MaxAssignWeight {
			return fmt.Errorf("owner %q has weight %d; weights are 1 to %d", o.id, o.weight, MaxAssignWeight)
		}
		total += o.weight
	}
	if total > MaxAssignTotalWeight {
		return fmt.Errorf("the weights add up to %d; at most %d", total, MaxAssignTotalWeight)
	}
	return nil
}

// dynamicOwners reads the owner list an expression gave: owner ids, or objects with an id.
func dynamicOwners(v any) ([]assignOwner, error) {
	items, ok := asList(v)
	if !ok {
		return nil, fmt.Errorf("owners from: want a list of owners, got %s", describe(v))
	}
	out := make([]assignOwner, 0, len(items))
	for i, item := range items {
		o := assignOwner{weight: 1}
		switch x := item.(type) {
		case map[string]any:
			o.id = idText(x["id"])
			o.name, _ = x["name"].(string)
			if w, present := x["weight"]; present && w != nil {
				n, err := toInteger(w)
				if err != nil {
					return nil, fmt.Errorf("owner %d: weight: %w", i+1, err)
				}
				if n < 1 || n > MaxAssignWeight {
					return nil, fmt.Errorf("owner %d has weight %d; weights are 1 to %d", i+1, n, MaxAssignWeight)
				}
				o.weight = int(n)
			}
			if a, present := x["away"]; present && a != nil {
				b, err := toBool(a)
				if err != nil {
					return nil, fmt.Errorf("owner %d: away: %w", i+1, err)
				}
				o.away = b
			}
			if u, present := x["awayUntil"]; present && u != nil && u != "" {
				t, err := toTime(u)
				if err != nil {
					return nil, fmt.Errorf("owner %d: awayUntil: %w", i+1, err)
				}
				o.awayUntil = t
			}
			o.data = x
		default:
			o.id = idText(x)
			o.data = map[string]any{"id": o.id}
		}
		out = append(out, o)
	}
	if err := checkOwners(out); err != nil {
		return nil, fmt.Errorf("owners from: %w", err)
	}
	return out, nil
}

// idText writes an id given as text or as a number (CRMs use both) as text; other values have no id.
func idText(v any) string {
	switch v.(type) {
	case string, int, int32, int64, float64:
		return strings.TrimSpace(expression.Stringify(v))
	}
	return ""
}

// asList accepts the list shapes expressions and decoded JSON produce.
func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	case []map[string]any:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

func findOwner(owners []assignOwner, id string) int {
	for i := range owners {
		if owners[i].id == id {
			return i
		}
	}
	return -1
}

// Execute picks the owner and adds the choice to the input.
func (n *assignNode) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	env := envOf(x)
	owners := n.owners
	if owners == nil {
		v, err := n.ownersFrom.Eval(env)
		if err != nil {
			return nodes.Result{}, nodes.EvalFailed("assign", "ownersFrom", err)
		}
		if owners, err = dynamicOwners(v); err != nil {
			return nodes.Result{}, nodes.NewPermanent(CodeAssignOwnersInvalid, fmt.Errorf("assign: %w", err))
		}
	}
	leave, err := n.leave(env)
	if err != nil {
		return nodes.Result{}, err
	}
	a := &assignment{node: n, x: x, owners: owners, leave: leave, at: now()}
	var chosen *assignOwner
	var reason string
	switch n.mode {
	case assignRules:
		chosen, reason, err = a.byRules(ctx, env)
	case assignFewestOpen:
		chosen, reason, err = a.fewestOpen(ctx, env)
	default:
		chosen, reason, err = a.roundRobin(ctx)
	}
	if err != nil {
		return nodes.Result{}, err
	}
	result := map[string]any{"owner": chosen.data, "reason": reason, "skipped": a.skippedList()}
	return nodes.Result{Output: withField(x.Input, "assignment", result)}, nil
}

// leave reads the ids of the owners on leave.
func (n *assignNode) leave(env map[string]any) (map[string]bool, error) {
	if n.onLeave == nil {
		return nil, nil
	}
	v, err := n.onLeave.Eval(env)
	if err != nil {
		return nil, nodes.EvalFailed("assign", "onLeave", err)
	}
	out := map[string]bool{}
	switch x := v.(type) {
	case nil:
	case string:
		for _, id := range strings.Split(x, ",") {
			if id = strings.TrimSpace(id); id != "" {
				out[id] = true
			}
		}
	default:
		items, ok := asList(v)
		if !ok {
			return nil, nodes.NewPermanent(CodeAssignLeaveInvalid, fmt.Errorf("assign: on leave: want a list of owner ids, got %s", describe(v)))
		}
		for i, item := range items {
			id := idText(item)
			if id == "" {
				return nil, nodes.NewPermanent(CodeAssignLeaveInvalid, fmt.Errorf("assign: on leave: item %d is %s, not an owner id", i+1, describe(item)))
			}
			out[id] = true
		}
	}
	return out, nil
}

// assignment is one execution's choice in progress: who is available, and who was skipped on the way.
type assignment struct {
	node    *assignNode
	x       *nodes.Exec
	owners  []assignOwner
	leave   map[string]bool
	at      time.Time
	skipped []map[string]any
	listed  map[string]bool
}

// available reports whether o can take the item now, and records why not when o cannot.
func (a *assignment) available(o *assignOwner) bool {
	why := ""
	switch {
	case o.away:
		why = skipAway
	case a.at.Before(o.awayUntil):
		why = skipAwayUntil
	case a.leave[o.id]:
		why = skipOnLeave
	default:
		return true
	}
	if !a.listed[o.id] {
		if a.listed == nil {
			a.listed = map[string]bool{}
		}
		a.listed[o.id] = true
		s := map[string]any{"id": o.id, "name": o.name, "reason": why}
		if why == skipAwayUntil {
			s["awayUntil"] = formatTime(o.awayUntil)
		}
		a.skipped = append(a.skipped, s)
	}
	return false
}

func (a *assignment) skippedList() []any {
	out := make([]any, len(a.skipped))
	for i, s := range a.skipped {
		out[i] = s
	}
	return out
}

// availableOwners returns the owners who can take the item, in list order.
func (a *assignment) availableOwners() ([]*assignOwner, error) {
	out := make([]*assignOwner, 0, len(a.owners))
	for i := range a.owners {
		if a.available(&a.owners[i]) {
			out = append(out, &a.owners[i])
		}
	}
	if len(out) == 0 {
		return nil, nodes.WithDetails(nodes.NewPermanent(CodeAssignNoOwner,
			fmt.Errorf("assign: no owner can take the item: all %d are away", len(a.owners))),
			map[string]any{"skipped": a.skippedList()})
	}
	return out, nil
}

func (a *assignment) roundRobin(ctx context.Context) (*assignOwner, string, error) {
	avail, err := a.availableOwners()
	if err != nil {
		return nil, "", err
	}
	turn, err := a.turn(ctx)
	if err != nil {
		return nil, "", err
	}
	return weightedTurn(avail, turn), assignRoundRobin, nil
}

func (a *assignment) byRules(ctx context.Context, env map[string]any) (*assignOwner, string, error) {
	for i, r := range a.node.rules {
		ok, err := r.when.EvalBool(env)
		if err != nil {
			return nil, "", nodes.EvalFailed("assign", fmt.Sprintf("rules[%d].when", i), err)
		}
		if !ok {
			continue
		}
		o, err := a.named(r.owner, env, fmt.Sprintf("rules[%d].owner", i))
		if err != nil {
			return nil, "", err
		}
		if a.available(o) {
			return o, fmt.Sprintf("rule:%d", i+1), nil
		}
	}
	if a.node.fallback == assignFallbackTo {
		o, err := a.named(a.node.defaultOwner, env, "defaultOwner")
		if err != nil {
			return nil, "", err
		}
		if a.available(o) {
			return o, assignReasonDefault, nil
		}
	}
	return a.roundRobin(ctx)
}

// named finds the owner whose id t gives.
func (a *assignment) named(t *expression.Template, env map[string]any, field string) (*assignOwner, error) {
	id, err := t.EvalString(env)
	if err != nil {
		return nil, nodes.EvalFailed("assign", field, err)
	}
	id = strings.TrimSpace(id)
	i := findOwner(a.owners, id)
	if i < 0 {
		return nil, nodes.WithDetails(nodes.NewPermanent(CodeAssignUnknownOwner,
			fmt.Errorf("assign: %s: %q is not in the owner list", field, id)), map[string]any{"field": field})
	}
	return &a.owners[i], nil
}

func (a *assignment) fewestOpen(ctx context.Context, env map[string]any) (*assignOwner, string, error) {
	v, err := a.node.openCounts.Eval(env)
	if err != nil {
		return nil, "", nodes.EvalFailed("assign", "openCounts", err)
	}
	counts, err := openCounts(v)
	if err != nil {
		return nil, "", nodes.NewPermanent(CodeAssignCountsInvalid, fmt.Errorf("assign: open items: %w", err))
	}
	avail, err := a.availableOwners()
	if err != nil {
		return nil, "", err
	}
	// Loads are compared as count/weight without dividing: a/wa < b/wb exactly when a*wb < b*wa.
	var tied []*assignOwner
	for _, o := range avail {
		if len(tied) == 0 {
			tied = append(tied, o)
			continue
		}
		mine, least := counts[o.id]*float64(tied[0].weight), counts[tied[0].id]*float64(o.weight)
		switch {
		case mine < least:
			tied = append(tied[:0], o)
		case mine == least:
			tied = append(tied, o)
		}
	}
	if len(tied) == 1 {
		return tied[0], assignFewestOpen, nil
	}
	turn, err := a.turn(ctx)
	if err != nil {
		return nil, "", err
	}
	return tied[turn%int64(len(tied))], assignFewestOpen, nil
}

// openCounts reads open items per owner: an object of owner id to count, or a list of owner ids, one per item.
func openCounts(v any) (map[string]float64, error) {
	out := map[string]float64{}
	if m, ok := v.(map[string]any); ok {
		for id, c := range m {
			f, err := toNumber(c)
			if err != nil {
				return nil, fmt.Errorf("owner %q: %w", id, err)
			}
			n, _ := f.(float64)
			if i, isInt := f.(int64); isInt {
				n = float64(i)
			}
			if n < 0 {
				return nil, fmt.Errorf("owner %q has %s open items", id, expression.Stringify(c))
			}
			out[strings.TrimSpace(id)] = n
		}
		return out, nil
	}
	if v == nil {
		return out, nil
	}
	items, ok := asList(v)
	if !ok {
		return nil, fmt.Errorf("want an object of owner id to count or a list of owner ids, got %s", describe(v))
	}
	for i, item := range items {
		if item == nil {
			continue // an item nobody owns yet
		}
		id := idText(item)
		if id == "" {
			return nil, fmt.Errorf("item %d is %s, not an owner id", i+1, describe(item))
		}
		out[id]++
	}
	return out, nil
}

// turn takes the next turn of the node's rotation. Test runs take theirs from a rotation of their own.
func (a *assignment) turn(ctx context.Context) (int64, error) {
	key, err := a.node.key(a.x)
	if err != nil {
		return 0, err
	}
	rot := a.x.Rotations
	if rot == nil {
		rot = localRotations
	}
	n, err := rot.Advance(ctx, key)
	if err != nil {
		return 0, nodes.NewRetryable(CodeAssignStateFailed, fmt.Errorf("assign: take a turn of rotation %s: %w", key, err))
	}
	if n < 0 {
		return 0, nodes.NewPermanent(CodeAssignStateFailed, fmt.Errorf("assign: rotation %s gave turn %d", key, n))
	}
	return n, nil
}

// key names the rotation: "flow:<flow>:<node>" for the node's own, "key:<key>" for one the flow names, with
// "test:" before either in test runs.
func (n *assignNode) key(x *nodes.Exec) (string, error) {
	key := ""
	if n.rotationKey != nil {
		s, err := n.rotationKey.EvalString(envOf(x))
		if err != nil {
			return "", nodes.EvalFailed("assign", "rotationKey", err)
		}
		s = strings.TrimSpace(s)
		if len(s) > MaxAssignKey {
			return "", nodes.NewPermanent(CodeAssignKeyInvalid, fmt.Errorf("assign: the rotation key is %d bytes long; at most %d", len(s), MaxAssignKey))
		}
		if s != "" {
			key = "key:" + s
		}
	}
	if key == "" {
		key = "flow:" + x.FlowID + ":" + x.NodeID
	}
	if x.Mode == nodes.ModeTest {
		key = "test:" + key
	}
	return key, nil
}

// weightedTurn returns the owner whose turn number turn is. With equal weights owners take turns in list
// order. With weights the rotation is a cycle as long as the weights added up, in which each owner has as many
// turns as their weight, spread out (smooth weighted round-robin) rather than taken in a row.
func weightedTurn(owners []*assignOwner, turn int64) *assignOwner {
	total := 0
	for _, o := range owners {
		total += o.weight
	}
	if total == len(owners) {
		return owners[turn%int64(len(owners))]
	}
	pos := turn % int64(total)
	current := make([]int, len(owners))
	chosen := 0
	for range pos + 1 {
		chosen = 0
		for i, o := range owners {
			current[i] += o.weight
			if current[i] > current[chosen] {
				chosen = i
			}
		}
		current[chosen] -= total
	}
	return owners[chosen]
}

// withField returns the input with one more field; an input that is not an object is kept under "input".
func withField(input any, name string, value any) map[string]any {
	m, ok := input.(map[string]any)
	if !ok {
		out := map[string]any{name: value}
		if input != nil {
			out["input"] = input
		}
		return out
	}
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out[name] = value
	return out
}

var _ nodes.Node = (*assignNode)(nil)
