package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Record is a CRM record as a lookup reads it: what a conflict policy compares before writing (its properties
// and when it last changed at HubSpot).
type Record struct {
	ID         string
	Properties map[string]any
	// Modified is the record's last change: its hs_lastmodifieddate (lastmodifieddate for contacts), else the
	// record's updatedAt.
	Modified time.Time
}

// ModifiedProperty is the property holding an object type's last change.
func ModifiedProperty(objectType string) string {
	for _, o := range objects {
		if o.plural == objectType {
			return o.modified
		}
	}
	return "hs_lastmodifieddate"
}

// LookupByProperty reads the record of objectType ("contacts", "companies", "deals") whose unique property
// idProperty has value, with the properties named and its last change: GET
// /crm/v3/objects/{objectType}/{value}?idProperty=…&properties=…. No such record is (nil, nil); any other
// failure is the runtime's classified error. It is the read half of an upsert under a conflict policy, shared
// by whatever compares the record before writing.
func LookupByProperty(ctx context.Context, get connector.Get, objectType, idProperty, value string, properties []string) (*Record, error) {
	if strings.TrimSpace(value) == "" || idProperty == "" {
		return nil, nodes.NewPermanent("hubspot_request_invalid", errors.New("hubspot: a lookup needs a unique property and its value"))
	}
	modified := ModifiedProperty(objectType)
	props := append(append([]string{}, properties...), modified)
	q := url.Values{"idProperty": {idProperty}, "properties": {strings.Join(props, ",")}}
	a, err := get(ctx, "/crm/v3/objects/"+url.PathEscape(objectType)+"/"+url.PathEscape(value), q)
	if err != nil {
		if nodes.Classify(err).Code == "hubspot_not_found" {
			return nil, nil
		}
		return nil, err
	}
	obj, ok := a.JSON.(map[string]any)
	id, _ := obj["id"].(string)
	if !ok || id == "" {
		return nil, nodes.NewPermanent("hubspot_response_invalid", fmt.Errorf("hubspot: the %s lookup answered no record", objectType))
	}
	rec := &Record{ID: id, Properties: map[string]any{}}
	if p, ok := obj["properties"].(map[string]any); ok {
		rec.Properties = p
	}
	for _, s := range []any{rec.Properties[modified], obj["updatedAt"]} {
		if t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(s)); err == nil {
			rec.Modified = t
			break
		}
	}
	return rec, nil
}

// Getter is a connector.Get for LookupByProperty from a step: reads through the step's guarded client with
// its credential, answered and classified as the HubSpot actions' requests are.
func Getter(x *nodes.Exec) connector.Get {
	return func(ctx context.Context, path string, query url.Values) (*connector.Answer, error) {
		return provider.Call(ctx, x, http.MethodGet, path, query, nil)
	}
}
