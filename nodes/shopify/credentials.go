package shopify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// CredentialType is the credential type of a Shopify store: its myshopify.com domain, the Admin API access token
// the actions send and the signing secret the trigger verifies webhooks with.
const CredentialType = "shopify.store"

// Fields of the shopify.store credential.
const (
	FieldShop          = "shop"          // my-shop.myshopify.com
	FieldAccessToken   = "accessToken"   // shpat_… (X-Shopify-Access-Token)
	FieldWebhookSecret = "webhookSecret" // the app's client secret; several, separated by commas, while one is rotated
)

// shopPattern is a store's permanent domain: Shopify serves the Admin API only there, never on a custom domain.
var shopPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com$`)

// ShopDomain reads a credential's shop field as the store's myshopify.com domain. It accepts the handle alone
// ("my-shop"), the domain, or an address on it ("https://my-shop.myshopify.com/admin"), and refuses anything
// else, custom domains included: the Admin API and its access token belong on the myshopify.com domain only.
func ShopDomain(field string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(field))
	if s == "" {
		return "", errors.New("the credential has no shop domain (my-shop.myshopify.com)")
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" {
			return "", fmt.Errorf("the shop %q is not an https address on myshopify.com", field)
		}
		s = u.Host
	} else if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	if !strings.Contains(s, ".") {
		s += ".myshopify.com"
	}
	if !shopPattern.MatchString(s) {
		return "", fmt.Errorf("the shop %q must be the store's myshopify.com domain (my-shop.myshopify.com): "+
			"Shopify serves the Admin API only there, not on a custom domain", field)
	}
	return s, nil
}

// origin is where a shop's Admin API lives; tests point it at a stand-in server.
var origin = func(shop string) string { return "https://" + shop }

// baseURL is the versioned Admin API root of the credential's shop.
func baseURL(fields map[string]string) (*url.URL, error) {
	shop, err := ShopDomain(fields[FieldShop])
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(origin(shop))
	if err != nil {
		return nil, fmt.Errorf("the shop %q gives no address: %w", shop, err)
	}
	return u.JoinPath("/admin/api", APIVersion), nil
}

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialType,
		Name: "Shopify store",
		Description: "A Shopify store's myshopify.com domain with an Admin API access token for the Shopify actions, " +
			"and the signing secret its webhooks are verified with for the Shopify trigger. Create a custom app " +
			"(Settings → Apps and sales channels → Develop apps, or the Dev Dashboard), give it the scopes the " +
			"flows need (read_orders, write_orders, write_fulfillments / write_merchant_managed_fulfillment_orders, " +
			"read_customers, write_customers, and read_locations to fulfil from a chosen location), install it and copy its " +
			"Admin API access token.",
		Fields: []nodes.Field{
			{Name: FieldShop, Label: "Shop domain", Type: nodes.TypeString, Required: true,
				Description: "The store's permanent myshopify.com domain (Settings → Domains), not a custom domain: " +
					"the Admin API is only served there. The handle alone (my-shop) is enough.",
				Examples: []nodes.Example{{Name: "Store domain", Value: "my-shop.myshopify.com"}}},
			{Name: FieldAccessToken, Label: "Admin API access token", Type: nodes.TypeString, Secret: true,
				Description: "The app's Admin API access token (shpat_…), sent as X-Shopify-Access-Token to the " +
					"shop's own domain only. Needed by the actions; a trigger-only credential may leave it empty.",
				Examples: []nodes.Example{{Name: "Custom app token", Value: "shpat_…"}}},
			{Name: FieldWebhookSecret, Label: "Webhook signing secret", Type: nodes.TypeString, Secret: true, Inbound: true,
				Description: "What Shopify signs webhooks with: the app's client secret (API secret key) for " +
					"subscriptions the app made, or the key shown under Settings → Notifications → Webhooks for " +
					"webhooks created in the admin. While rotating it, list the old and the new one separated by a " +
					"comma. Needed by the trigger; never sent anywhere.",
				Examples: []nodes.Example{{Name: "Client secret", Value: "shpss_…"}}},
		},
		// Shopify's GraphQL limit is a bucket of cost points (standard plans: 2,000 points refilled at 100 a
		// second); a typical call costs 10 to 100. Ten calls a second keeps a standard store's bucket from
		// running dry, and every answer's throttleStatus holds the credential's calls when it still would.
		RateLimit: &nodes.Limit{Rate: 10, Burst: 20},
		Test:      testConnection,
		Destinations: func(fields map[string]string) []string {
			shop, err := ShopDomain(fields[FieldShop])
			if err != nil {
				return nil
			}
			return []string{"https://" + shop}
		},
	})
}

// testConnection asks the shop for its name with the access token, the cheapest query there is, and checks the
// shape of the webhook secret, which only Shopify's deliveries can prove.
func testConnection(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	shop, err := ShopDomain(fields[FieldShop])
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(fields[FieldAccessToken]) == "" {
		if len(secrets(fields[FieldWebhookSecret])) == 0 {
			return "", errors.New("the credential has neither an Admin API access token nor a webhook signing secret")
		}
		return fmt.Sprintf("%s: the webhook signing secret is set; Shopify's signed deliveries will prove it (no access token to check)", shop), nil
	}
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	a, err := provider.Query(ctx, x, graphQLPath, shopQuery, nil)
	if err != nil {
		// The error names the call and quotes Shopify ("[API] Invalid API key or access token …").
		return "", err
	}
	name, _ := a.Get("/data/shop/name").(string)
	return fmt.Sprintf("POST https://%s/admin/api/%s/graphql.json answered: the token works for the store %q", shop, APIVersion, name), nil
}

// secrets splits the webhook secret field into the secrets it lists.
func secrets(field string) []string {
	var out []string
	for _, s := range strings.Split(field, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
