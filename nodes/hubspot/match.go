package hubspot

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/crm"
)

// MatchType is the node type that finds the record of an incoming customer (crm.Match) among contacts,
// companies or deals.
const MatchType = "hubspot.match"

// labelProperties are the properties an operator recognises a record by, by object type, in order of preference.
var labelProperties = map[string][]string{
	"contacts":  {"firstname", "lastname", "email"},
	"companies": {"name", "domain"},
	"deals":     {"dealname"},
}

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: MatchType, Version: 1, Name: "HubSpot: match customer", Category: nodes.CategoryCRM,
		Description: "Finds the contact, company or deal of an incoming customer by ordered keys, never by name; follows found, none or ambiguous.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     crm.Ports(),
		Params: append([]nodes.Field{
			{Name: "objectType", Label: "Object", Type: nodes.TypeSelect, Required: true, Default: "contacts", Options: ObjectTypes,
				Description: "The object type whose records are searched."},
			{Name: "properties", Label: "Properties to read", Type: nodes.TypeString, Advanced: true,
				Description: "More properties to read with each record, separated by commas; the keys' properties and the record's name are always read."},
		}, crm.Params([]map[string]any{
			{"kind": string(crm.KindExternalID), "field": "shop_customer_id", "value": "{{ trigger.body.customer.id }}"},
			{"kind": string(crm.KindPhone), "field": "phone", "value": "{{ trigger.body.customer.phone }}"},
			{"kind": string(crm.KindEmail), "field": "email", "value": "{{ trigger.body.customer.email }}"},
		}, "HubSpot's internal property name: email, phone, mobilephone, or a custom property such as shop_customer_id.")...),
		Credentials: provider.Credentials, CredentialRequired: true,
		Docs: "Searches the object type once per key with one `EQ` filter on the key's property (`POST /crm/v3/objects/{objectType}/search`), " +
			"reading the keys' properties and the record's name. HubSpot's search index lags writes by a few seconds: a record " +
			"created a moment ago may not be found yet.\n\n" + crm.Docs + "\n\n" + provider.Docs,
	}, newMatch)
}

type matchNode struct {
	m          *crm.Matcher
	objectType string
	properties []string
}

// propertyName is a HubSpot property's internal name (email, shop_customer_id).
var propertyName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,99}$`)

func newMatch(cfg *nodes.Config) (nodes.Node, error) {
	n := &matchNode{objectType: cfg.String("objectType")}
	n.m = crm.Configure(cfg, func(field string) error {
		if !propertyName.MatchString(field) {
			return fmt.Errorf("%q is not a property's internal name (letters, digits and underscores, such as email or shop_customer_id)", field)
		}
		return nil
	})
	props := append([]string{}, n.m.Fields()...)
	props = append(props, labelProperties[n.objectType]...)
	props = append(props, ModifiedProperty(n.objectType))
	for _, p := range strings.Split(cfg.String("properties"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			props = append(props, p)
		}
	}
	seen := map[string]bool{}
	for _, p := range props {
		if !seen[p] {
			seen[p] = true
			n.properties = append(n.properties, p)
		}
	}
	return n, cfg.Err()
}

// Execute matches the customer, searching through the step's guarded client with its credential.
func (n *matchNode) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	return n.m.Run(ctx, x, crm.SearchFunc(func(ctx context.Context, field, value string, limit int) ([]crm.Record, error) {
		return n.search(ctx, x, field, value, limit)
	}))
}

// search is one HubSpot search of the object type for records whose property equals value.
func (n *matchNode) search(ctx context.Context, x *nodes.Exec, property, value string, limit int) ([]crm.Record, error) {
	props := make([]any, len(n.properties))
	for i, p := range n.properties {
		props[i] = p
	}
	body := map[string]any{
		"filterGroups": []any{map[string]any{"filters": []any{map[string]any{"propertyName": property, "operator": "EQ", "value": value}}}},
		"properties":   props, "sorts": []any{}, "limit": min(limit, 200), "after": "0",
	}
	a, err := provider.Call(ctx, x, http.MethodPost, "/crm/v3/objects/"+url.PathEscape(n.objectType)+"/search", nil, body)
	if err != nil {
		return nil, err
	}
	// HubSpot answers {"total": 0, "results": []} when nothing matches.
	_, isObject := a.JSON.(map[string]any)
	results, ok := a.Get("/results").([]any)
	if !isObject || (!ok && a.Get("/results") != nil) {
		return nil, nodes.NewPermanent("hubspot_response_invalid", fmt.Errorf("hubspot: %s: the search answered no results list", MatchType))
	}
	out := make([]crm.Record, 0, len(results))
	for _, r := range results {
		obj, _ := r.(map[string]any)
		id, _ := obj["id"].(string)
		fields, _ := obj["properties"].(map[string]any)
		out = append(out, crm.Record{ID: id, Label: label(n.objectType, fields), Fields: fields, Raw: obj})
	}
	return out, nil
}

// label is the name of a record: a contact's first and last name (else its e-mail), a company's name (else its
// domain), a deal's name.
func label(objectType string, p map[string]any) string {
	text := func(k string) string { s, _ := p[k].(string); return strings.TrimSpace(s) }
	if objectType == "contacts" {
		if name := strings.TrimSpace(text("firstname") + " " + text("lastname")); name != "" {
			return name
		}
		return text("email")
	}
	for _, k := range labelProperties[objectType] {
		if s := text(k); s != "" {
			return s
		}
	}
	return ""
}

var _ nodes.Node = (*matchNode)(nil)
