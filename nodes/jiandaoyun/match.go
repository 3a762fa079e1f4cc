package jiandaoyun

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/crm"
)

// MatchType is the node type that finds the record of an incoming customer (crm.Match) in a form.
const MatchType = "jiandaoyun.match"

// fieldName is a form field as the data interfaces name it: its id (_widget_1432728651402) or its alias.
var fieldName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,99}$`)

func init() {
	idField := func(name, label, desc string) nodes.Field {
		return nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Required: true, Description: desc}
	}
	nodes.MustRegister(nodes.Spec{
		Type: MatchType, Version: 1, Name: "Jiandaoyun: match customer", Category: nodes.CategoryCRM,
		Description: "Finds the record of an incoming customer in a form by ordered keys, never by name; follows found, none or ambiguous.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     crm.Ports(),
		Params: append([]nodes.Field{
			idField("app", "App", "The app's app_id (24 hexadecimal digits), from the form's API page."),
			idField("entry", "Form", "The form's entry_id, from the form's API page (开放平台 → API 文档) or its address (…/app/{app_id}/entry/{entry_id})."),
			{Name: "labelField", Label: "Name field", Type: nodes.TypeString, Advanced: true,
				Description: "The field (id or alias) read as the record's name in the output and for review."},
		}, crm.Params([]map[string]any{
			{"kind": string(crm.KindExternalID), "field": "shop_customer_id", "value": "{{ trigger.body.customer.id }}"},
			{"kind": string(crm.KindPhone), "field": "phone", "value": "{{ trigger.body.customer.phone }}"},
			{"kind": string(crm.KindEmail), "field": "email", "value": "{{ trigger.body.customer.email }}"},
		}, "The field's id (_widget_1432728651402) or alias; give name fields an alias, so a key on them is recognised and refused.")...),
		Credentials: provider.Credentials, CredentialRequired: true,
		Docs: "Lists the form's records once per key with one condition (`POST /api/v5/app/entry/data/list` with `filter` " +
			"`{\"rel\": \"and\", \"cond\": [{\"field\", \"method\": \"eq\", \"value\": [value]}]}` and `limit`). Keep the keys in " +
			"single-line text fields written as the match searches them (phone numbers in E.164, e-mail addresses in lower case). " +
			"Jiandaoyun names fields by widget ids, which say nothing of what they hold: a key is recognised as a name (and " +
			"refused) only by its alias.\n\n" + crm.Docs + "\n\n" + provider.Docs,
	}, newMatch)
}

type matchNode struct {
	m          *crm.Matcher
	app, entry string
	label      string
}

func newMatch(cfg *nodes.Config) (nodes.Node, error) {
	n := &matchNode{app: strings.TrimSpace(cfg.String("app")), entry: strings.TrimSpace(cfg.String("entry")),
		label: strings.TrimSpace(cfg.String("labelField"))}
	for name, v := range map[string]string{"app": n.app, "entry": n.entry} {
		if v != "" && !objectID.MatchString(v) {
			cfg.Fail(name, nodes.CodeParamInvalid, fmt.Sprintf("%q is not a Jiandaoyun id (24 hexadecimal digits such as 59264073a2a60c0c08e20bfb)", v))
		}
	}
	if n.label != "" && !fieldName.MatchString(n.label) {
		cfg.Fail("labelField", nodes.CodeParamInvalid, fmt.Sprintf("%q is not a field's id or alias", n.label))
	}
	n.m = crm.Configure(cfg, func(field string) error {
		if !fieldName.MatchString(field) {
			return fmt.Errorf("%q is not a field's id (_widget_1432728651402) or alias", field)
		}
		return nil
	})
	return n, cfg.Err()
}

// Execute matches the customer, listing through the step's guarded client with its credential.
func (n *matchNode) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	return n.m.Run(ctx, x, crm.SearchFunc(func(ctx context.Context, field, value string, limit int) ([]crm.Record, error) {
		return n.search(ctx, x, field, value, limit)
	}))
}

// search lists the first page of the form's records whose field equals value.
func (n *matchNode) search(ctx context.Context, x *nodes.Exec, field, value string, limit int) ([]crm.Record, error) {
	body := map[string]any{"app_id": n.app, "entry_id": n.entry, "limit": min(limit, 100),
		"filter": map[string]any{"rel": "and", "cond": []any{map[string]any{"field": field, "method": "eq", "value": []any{value}}}}}
	a, err := provider.Call(ctx, x, http.MethodPost, "/app/entry/data/list", nil, body)
	if err != nil {
		return nil, err
	}
	data, ok := a.Get("/data").([]any)
	if !ok {
		return nil, nodes.NewPermanent("jiandaoyun_response_invalid", fmt.Errorf("jiandaoyun: %s: the list answered no data list", MatchType))
	}
	out := make([]crm.Record, 0, len(data))
	for _, d := range data {
		rec, _ := d.(map[string]any)
		id, _ := rec["_id"].(string)
		label := ""
		if n.label != "" {
			if v, ok := rec[n.label]; ok && v != nil {
				label = strings.TrimSpace(expression.Stringify(v))
			}
		}
		out = append(out, crm.Record{ID: id, Label: label, Fields: rec, Raw: rec})
	}
	return out, nil
}

var _ nodes.Node = (*matchNode)(nil)
