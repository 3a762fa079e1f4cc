package shopify

import (
	"context"
	"fmt"
	"testing"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// TestLocationChoices: the fulfilment's location field lists the store's locations (a GraphQL query checked
// against the schema by the stand-in), so the editor offers them as a dropdown; a refused token comes back as
// the step error a run would meet, with Shopify's answer.
func TestLocationChoices(t *testing.T) {
	reg, ok := nodes.Lookup("shopify.fulfillment.create", 0)
	if f := reg.Spec.Field("location"); !ok || f == nil || !f.LoadOptions || !f.Expression {
		t.Fatalf("the location field does not load its choices: %+v", f)
	}
	s := newStandIn(t)
	ds := egress.MustDestinations(s.URL)
	client := egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Shopify", ds, nil })
	load := func(id, token string) ([]nodes.Option, error) {
		return connector.LoadOptions(context.Background(), connector.OptionsRequest{NodeType: "shopify.fulfillment.create", Field: "location",
			CredentialID: id, Client: client, Credential: &nodes.ResolvedCredential{Name: "Shop", Type: CredentialType,
				Fields: map[string]string{FieldShop: testShop, FieldAccessToken: token}, Destinations: ds}})
	}
	opts, err := load("good", testToken)
	if err != nil || fmt.Sprint(opts) != "[{gid://shopify/Location/1 Warehouse Berlin } {gid://shopify/Location/2 Shop Shanghai }]" {
		t.Fatalf("locations %v %v", opts, err)
	}
	if ops, _ := s.received(); len(ops) != 1 || ops[0] != "FerryLocations" {
		t.Fatalf("sent %v", ops)
	}
	_, err = load("bad", "shpat_wrong")
	if e := nodes.Classify(err); e.Code != "shopify_unauthorized" || e.Kind != nodes.Permanent {
		t.Fatalf("a refused token: %v (%s %s)", err, e.Code, e.Kind)
	}
}
