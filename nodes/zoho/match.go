package zoho

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/crm"
)

// MatchType is the node type that finds the record of an incoming customer (crm.Match) in a module.
const MatchType = "zoho.crm.match"

// labelFields are the fields a record's name is read from when the node names none, the first that has one:
// a person's (Contacts, Leads), an account's, a deal's, a custom module's record name.
var labelFields = []string{"Full_Name", "Account_Name", "Deal_Name", "Name", "Last_Name"}

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: MatchType, Version: 1, Name: "Zoho CRM: match customer", Category: nodes.CategoryCRM,
		Description: "Finds the contact, lead or account of an incoming customer by ordered keys, never by name; follows found, none or ambiguous.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     crm.Ports(),
		Params: append([]nodes.Field{
			{Name: "module", Label: "Module", Type: nodes.TypeString, Required: true, Default: "Contacts",
				Description: "The module's API name whose records are searched (Contacts, Leads, Accounts, a custom module's).",
				Examples:    []nodes.Example{{Name: "Contacts", Value: "Contacts"}, {Name: "Leads", Value: "Leads"}}},
			{Name: "labelField", Label: "Name field", Type: nodes.TypeString, Advanced: true,
				Description: "The field read as the record's name in the output and for review; empty: Full_Name, Account_Name, Deal_Name, Name or Last_Name, the first the record has."},
		}, crm.Params([]map[string]any{
			{"kind": string(crm.KindExternalID), "field": "Shop_Customer_Id", "value": "{{ trigger.body.customer.id }}"},
			{"kind": string(crm.KindPhone), "field": "Mobile", "value": "{{ trigger.body.customer.phone }}"},
			{"kind": string(crm.KindEmail), "field": "Email", "value": "{{ trigger.body.customer.email }}"},
		}, "The field's API name: Email, Phone, Mobile, or a custom field such as Shop_Customer_Id.")...),
		Credentials: provider.Credentials, CredentialRequired: true,
		Docs: "Searches the module once per key (`GET /crm/v8/{module}/search?criteria=({field}:equals:{value})`, one page), the " +
			"value's brackets and commas escaped as Zoho's criteria require. Zoho answers no match with 204. " +
			"A record saved a few seconds ago may not be found yet: Zoho's search index lags writes. Phone fields match only " +
			"numbers stored as E.164, so write phones with the expression `phone()` when creating records.\n\n" +
			crm.Docs + "\n\n" + provider.Docs,
	}, newMatch)
}

type matchNode struct {
	m      *crm.Matcher
	module string
	label  string
	fields string
}

func newMatch(cfg *nodes.Config) (nodes.Node, error) {
	n := &matchNode{module: strings.TrimSpace(cfg.String("module")), label: strings.TrimSpace(cfg.String("labelField"))}
	for name, v := range map[string]string{"module": n.module, "labelField": n.label} {
		if v != "" && !apiName.MatchString(v) {
			cfg.Fail(name, nodes.CodeParamInvalid, fmt.Sprintf("%q is not an API name (letters, digits and underscores)", v))
		}
	}
	n.m = crm.Configure(cfg, func(field string) error {
		if !apiName.MatchString(field) {
			return fmt.Errorf("%q is not a field's API name (letters, digits and underscores, such as Email or Shop_Customer_Id)", field)
		}
		return nil
	})
	fields := n.m.Fields()
	if n.label != "" {
		fields = append(fields, n.label)
	} else {
		fields = append(fields, labelFields...)
	}
	seen := map[string]bool{}
	var list []string
	for _, f := range fields {
		if !seen[f] {
			seen[f] = true
			list = append(list, f)
		}
	}
	n.fields = strings.Join(list, ",")
	return n, cfg.Err()
}

// Execute matches the customer, searching through the step's guarded client with its credential.
func (n *matchNode) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	return n.m.Run(ctx, x, crm.SearchFunc(func(ctx context.Context, field, value string, limit int) ([]crm.Record, error) {
		return n.search(ctx, x, field, value, limit)
	}))
}

// search is one page of Zoho's search for the module's records whose field equals value.
func (n *matchNode) search(ctx context.Context, x *nodes.Exec, field, value string, limit int) ([]crm.Record, error) {
	q := url.Values{"criteria": {"(" + field + ":equals:" + EscapeCriteria(value) + ")"}, "fields": {n.fields},
		"page": {"1"}, "per_page": {strconv.Itoa(min(limit, 200))}}
	a, err := provider.Call(ctx, x, http.MethodGet, "/"+url.PathEscape(n.module)+"/search", q, nil)
	if err != nil {
		return nil, err
	}
	if a.Status == http.StatusNoContent || a.JSON == nil && len(strings.TrimSpace(string(a.Body))) == 0 {
		return nil, nil
	}
	data, ok := a.Get("/data").([]any)
	if !ok {
		return nil, nodes.NewPermanent("zoho_response_invalid", fmt.Errorf("zoho: %s: the search answered no data list", MatchType))
	}
	out := make([]crm.Record, 0, len(data))
	for _, d := range data {
		rec, _ := d.(map[string]any)
		id := fmt.Sprint(rec["id"])
		if rec["id"] == nil {
			id = ""
		}
		out = append(out, crm.Record{ID: id, Label: n.labelOf(rec), Fields: rec, Raw: rec})
	}
	return out, nil
}

// labelOf is a record's name: the node's name field, else the first of labelFields it has.
func (n *matchNode) labelOf(rec map[string]any) string {
	fields := labelFields
	if n.label != "" {
		fields = []string{n.label}
	}
	for _, f := range fields {
		if s, ok := rec[f].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// criteriaSpecial escapes what Zoho's criteria syntax gives a meaning to inside a value: brackets and commas,
// each after a backslash, as Zoho's Search Records API documents.
var criteriaSpecial = strings.NewReplacer(`(`, `\(`, `)`, `\)`, `,`, `\,`)

// EscapeCriteria writes a value into Zoho's search criteria ((Field:equals:value)): a backslash before each
// bracket and comma, so a value taken from data can never end the condition or start another.
func EscapeCriteria(value string) string {
	return criteriaSpecial.Replace(value)
}

var _ nodes.Node = (*matchNode)(nil)
