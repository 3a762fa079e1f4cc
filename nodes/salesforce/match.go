package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/crm"
)

// MatchType is the node type that finds the record of an incoming customer (crm.Match) in any sObject.
const MatchType = "salesforce.match"

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: MatchType, Version: 1, Name: "Salesforce: match customer", Category: nodes.CategoryCRM,
		Description: "Finds the contact, lead or account of an incoming customer by ordered keys, never by name; follows found, none or ambiguous.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     crm.Ports(),
		Params: append([]nodes.Field{
			{Name: "sObject", Label: "Object", Type: nodes.TypeString, Required: true, Default: "Contact",
				Description: "The sObject's API name whose records are searched (Contact, Lead, Account, a custom object such as Member__c).",
				Examples:    []nodes.Example{{Name: "Contact", Value: "Contact"}, {Name: "Lead", Value: "Lead"}}},
			{Name: "labelField", Label: "Name field", Type: nodes.TypeString, Default: "Name", Advanced: true,
				Description: "The field read as the record's name in the output and for review (Name; Account.Name through a relationship)."},
			{Name: "fields", Label: "Fields to read", Type: nodes.TypeString, Advanced: true,
				Description: "More fields to read with each record, comma-separated; Id, the name field and the keys' fields are always read."},
		}, crm.Params([]map[string]any{
			{"kind": string(crm.KindExternalID), "field": "Shop_Customer_Id__c", "value": "{{ trigger.body.customer.id }}"},
			{"kind": string(crm.KindPhone), "field": "MobilePhone", "value": "{{ trigger.body.customer.phone }}"},
			{"kind": string(crm.KindEmail), "field": "Email", "value": "{{ trigger.body.customer.email }}"},
		}, "The field's API name: Email, Phone, MobilePhone, or a custom field such as Shop_Customer_Id__c.")...),
		Credentials: provider.Credentials, CredentialRequired: true,
		Docs: "Runs one SOQL query per key (`GET /query?q=SELECT Id, Name, … FROM {sObject} WHERE {field} = '{value}' LIMIT n`), " +
			"the value quoted as SOQL requires (a quote, a backslash or a line break in it is escaped, never part of the query). " +
			"SOQL compares text without regard to case. Phone fields match only numbers stored as E.164: Salesforce keeps a " +
			"phone as it was typed, so write phones with the expression `phone()` when creating records.\n\n" + crm.Docs + "\n\n" + provider.Docs,
	}, newMatch)
}

type matchNode struct {
	m      *crm.Matcher
	object string
	label  string
	fields []string
}

func newMatch(cfg *nodes.Config) (nodes.Node, error) {
	n := &matchNode{object: strings.TrimSpace(cfg.String("sObject")), label: strings.TrimSpace(cfg.String("labelField"))}
	if n.object != "" && !apiName.MatchString(n.object) {
		cfg.Fail("sObject", nodes.CodeParamInvalid, fmt.Sprintf("%q is not an sObject's API name (Contact, Member__c)", n.object))
	}
	if n.label != "" && !fieldPath.MatchString(n.label) {
		cfg.Fail("labelField", nodes.CodeParamInvalid, fmt.Sprintf("%q is not a field's API name", n.label))
	}
	n.m = crm.Configure(cfg, func(field string) error {
		if !apiName.MatchString(field) {
			return fmt.Errorf("%q is not a field's API name (letters, digits and underscores, such as Email or Shop_Customer_Id__c)", field)
		}
		return nil
	})
	extra, err := checkFields(cfg.String("fields"))
	if err != nil {
		cfg.Fail("fields", nodes.CodeParamInvalid, err.Error())
	}
	seen := map[string]bool{}
	add := func(f string) {
		if f != "" && !seen[strings.ToLower(f)] {
			seen[strings.ToLower(f)] = true
			n.fields = append(n.fields, f)
		}
	}
	add("Id")
	add(n.label)
	for _, f := range n.m.Fields() {
		add(f)
	}
	if s, _ := extra.(string); s != "" {
		for _, f := range strings.Split(s, ",") {
			add(f)
		}
	}
	return n, cfg.Err()
}

// Execute matches the customer, querying through the step's guarded client with its credential.
func (n *matchNode) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	return n.m.Run(ctx, x, crm.SearchFunc(func(ctx context.Context, field, value string, limit int) ([]crm.Record, error) {
		return n.search(ctx, x, field, value, limit)
	}))
}

// soql is the SOQL query of one key: the records of the sObject whose field equals value, at most limit.
func (n *matchNode) soql(field, value string, limit int) string {
	return fmt.Sprintf("SELECT %s FROM %s WHERE %s = %s LIMIT %d", strings.Join(n.fields, ", "), n.object, field, QuoteSOQL(value), limit)
}

// search runs one key's query; Salesforce answers at most limit records in its first batch.
func (n *matchNode) search(ctx context.Context, x *nodes.Exec, field, value string, limit int) ([]crm.Record, error) {
	a, err := provider.Call(ctx, x, http.MethodGet, "/query", url.Values{"q": {n.soql(field, value, limit)}}, nil)
	if err != nil {
		return nil, err
	}
	records, ok := a.Get("/records").([]any)
	if !ok {
		return nil, nodes.NewPermanent("salesforce_response_invalid", fmt.Errorf("salesforce: %s: the query answered no records list", MatchType))
	}
	out := make([]crm.Record, 0, len(records))
	for _, r := range records {
		rec, _ := r.(map[string]any)
		id, _ := rec["Id"].(string)
		fields := make(map[string]any, len(rec))
		for k, v := range rec {
			if k != "attributes" {
				fields[k] = v
			}
		}
		out = append(out, crm.Record{ID: id, Label: pathText(rec, n.label), Fields: fields, Raw: rec})
	}
	return out, nil
}

// pathText is the text at a field path of a record (Account.Name reads the related record's Name).
func pathText(rec map[string]any, path string) string {
	var v any = rec
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[part]
	}
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

// soqlEscapes are the characters a SOQL string literal escapes with a backslash (SOQL and SOSL Reference, Quoted
// String Escape Sequences).
var soqlEscapes = strings.NewReplacer(`\`, `\\`, `'`, `\'`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\b", `\b`, "\f", `\f`)

// QuoteSOQL writes value as a SOQL string literal: in single quotes, with quotes, backslashes and control
// characters escaped, so a value taken from data can never end the literal and change the query.
func QuoteSOQL(value string) string {
	return "'" + soqlEscapes.Replace(value) + "'"
}

var _ nodes.Node = (*matchNode)(nil)
