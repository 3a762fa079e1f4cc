package woocommerce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// CredentialType is the credential type of a WooCommerce store: its address, the REST API key pair the actions
// send and the webhook secret the trigger verifies deliveries with.
const CredentialType = "woocommerce.rest"

// Fields of the woocommerce.rest credential.
const (
	FieldStoreURL       = "storeUrl"       // https://shop.example.com (or https://example.com/shop)
	FieldConsumerKey    = "consumerKey"    // ck_…
	FieldConsumerSecret = "consumerSecret" // cs_…
	FieldWebhookSecret  = "webhookSecret"  // the secret set on the webhook; several, one a line, while one is rotated
)

// Failure codes of the credential.
const (
	// CodeStoreURLInsecure: the store address is plain http. WooCommerce takes the key pair as HTTP Basic
	// authentication over HTTPS only; over http it would travel in clear (and WooCommerce wants OAuth 1.0a
	// signatures there instead).
	CodeStoreURLInsecure = "woocommerce_store_url_insecure"
	// CodeStoreURLInvalid: the store address is not an address of a site.
	CodeStoreURLInvalid = "woocommerce_store_url_invalid"
)

// StoreURL reads a credential's store address: the site's https address, with the path WordPress lives under
// when it is not the root ("https://example.com/shop"). A bare host name is taken as https. Plain http is
// refused with CodeStoreURLInsecure, anything else that is not a site's address with CodeStoreURLInvalid.
func StoreURL(field string) (*url.URL, error) {
	s := strings.TrimSpace(field)
	if s == "" {
		return nil, nodes.NewPermanent(CodeStoreURLInvalid, errors.New("woocommerce: the credential has no store address (https://shop.example.com)"))
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, nodes.NewPermanent(CodeStoreURLInvalid, fmt.Errorf("woocommerce: the store address %q is not a site's address such as https://shop.example.com", field))
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		return nil, nodes.NewPermanent(CodeStoreURLInsecure, fmt.Errorf("woocommerce: the store address %q is plain http: "+
			"WooCommerce takes the consumer key and secret over HTTPS only, so Ferry sends them to an https address only", field))
	default:
		return nil, nodes.NewPermanent(CodeStoreURLInvalid, fmt.Errorf("woocommerce: the store address %q must start with https://", field))
	}
	p := strings.TrimRight(u.Path, "/")
	if p != "" {
		p = path.Clean("/" + p)
		// Someone pasting the API address itself gets the site's.
		p = strings.TrimSuffix(strings.TrimSuffix(p, APIPath), "/wp-json")
	}
	return &url.URL{Scheme: "https", Host: strings.ToLower(u.Host), Path: p}, nil
}

// origin is the address requests for a store go to; tests point it at a stand-in server.
var origin = func(store *url.URL) *url.URL { return store }

// baseURL is the REST API v3 root of the credential's store.
func baseURL(fields map[string]string) (*url.URL, error) {
	store, err := StoreURL(fields[FieldStoreURL])
	if err != nil {
		return nil, err
	}
	return origin(store).JoinPath(APIPath), nil
}

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialType,
		Name: "WooCommerce store",
		Description: "A WooCommerce store's https address with a REST API key pair for the WooCommerce actions and the " +
			"polling trigger, and the secret its webhooks are signed with for the WooCommerce webhook trigger. Create the " +
			"keys under WooCommerce → Settings → Advanced → REST API (Read/Write for the actions that change orders and " +
			"customers, Read for reading only).",
		Fields: []nodes.Field{
			{Name: FieldStoreURL, Label: "Store address", Type: nodes.TypeString, Required: true,
				Description: "The site's https address, with the path WordPress lives under when it is not the root. " +
					"Plain http is refused: the keys travel as HTTP Basic authentication, which WooCommerce accepts over HTTPS only.",
				Examples: []nodes.Example{{Name: "Store at the root", Value: "https://shop.example.com"},
					{Name: "WordPress in a folder", Value: "https://example.com/shop"}}},
			{Name: FieldConsumerKey, Label: "Consumer key", Type: nodes.TypeString, Secret: true,
				Description: "The REST API key's consumer key (ck_…). Needed by the actions and the polling trigger; a " +
					"webhook-only credential may leave it empty.",
				Examples: []nodes.Example{{Name: "REST API key", Value: "ck_…"}}},
			{Name: FieldConsumerSecret, Label: "Consumer secret", Type: nodes.TypeString, Secret: true,
				Description: "The REST API key's consumer secret (cs_…), sent with the key to the store's REST API only.",
				Examples:    []nodes.Example{{Name: "REST API secret", Value: "cs_…"}}},
			{Name: FieldWebhookSecret, Label: "Webhook secret", Type: nodes.TypeText, Secret: true, Inbound: true,
				Description: "The Secret of the webhook (WooCommerce → Settings → Advanced → Webhooks), which signs every " +
					"delivery. While rotating it, put the old and the new one on lines of their own (not separated by " +
					"commas: the secrets WooCommerce generates may hold commas). Needed by the webhook trigger; never sent anywhere.",
				Examples: []nodes.Example{{Name: "Webhook secret", Value: "a long random text"}}},
		},
		// WooCommerce itself sets no request quota (the host may); its Store API limiter is off by default and
		// does not cover the REST API. Five calls a second keeps a shared WordPress host from being flooded
		// by a backfill, and a 429 with Retry-After from a host's limiter still holds the calls.
		RateLimit: &nodes.Limit{Rate: 5, Burst: 10},
		Test:      testConnection,
		Destinations: func(fields map[string]string) []string {
			store, err := StoreURL(fields[FieldStoreURL])
			if err != nil {
				return nil
			}
			return []string{store.JoinPath(APIPath).String()}
		},
	})
}

// testConnection reads one order with the key pair: GET /orders?per_page=1 needs the read permission every
// flow needs and is cheap on any store. The system status (GET /system_status), the other candidate, is
// refused to keys of a shop manager's account and walks every plugin and database table, which is slow on a
// large site.
func testConnection(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	store, err := StoreURL(fields[FieldStoreURL])
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(fields[FieldConsumerKey]) == "" {
		if len(secrets(fields[FieldWebhookSecret])) == 0 {
			return "", errors.New("the credential has neither a consumer key nor a webhook secret")
		}
		return fmt.Sprintf("%s: the webhook secret is set; WooCommerce's signed deliveries will prove it (no REST API key to check)", store), nil
	}
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	a, err := provider.Call(ctx, x, http.MethodGet, "/orders", url.Values{"per_page": {"1"}}, nil)
	if err != nil {
		// The error names the call and quotes WooCommerce ("woocommerce_rest_cannot_view: Sorry, you cannot list resources.").
		return "", err
	}
	if _, ok := a.JSON.([]any); !ok {
		return "", fmt.Errorf("GET %s/orders answered %d without a list of orders: is WooCommerce's REST API at this address?", store.JoinPath(APIPath), a.Status)
	}
	total := a.Header.Get("X-WP-Total")
	if total == "" {
		total = "an unknown number of"
	}
	return fmt.Sprintf("GET %s/orders?per_page=1 answered: the key reads the store's orders (%s in all)", store.JoinPath(APIPath), total), nil
}

// secrets splits the webhook secret field into the secrets it lists, one a line. WooCommerce saves a secret
// with sanitize_text_field, which trims it, so surrounding spaces are never part of one.
func secrets(field string) []string {
	var out []string
	for _, s := range strings.Split(field, "\n") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
