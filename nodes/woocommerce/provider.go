package woocommerce

import (
	"bytes"
	"fmt"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// CodeResponseInvalid: a successful status whose body is not JSON. WordPress answers the REST API's address with
// its HTML home page when the API is not there (plain permalinks, a security plugin blocking /wp-json/), and a
// caching layer may do the same; none of that is an order.
const CodeResponseInvalid = "woocommerce_response_invalid"

// provider is what every WooCommerce operation shares.
var provider = &connector.Provider{
	Name:        Provider,
	Title:       "WooCommerce",
	Credentials: []string{CredentialType},
	BaseURL:     baseURL,
	// WooCommerce REST API v3 over HTTPS: the consumer key and secret as HTTP Basic authentication. (The query
	// string form, consumer_key=…, would put the secret in every server log on the way.)
	Authorize: connector.Basic(FieldConsumerKey, FieldConsumerSecret),
	Headers:   map[string]string{"Accept": "application/json"},
	// WooCommerce's failures read {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.",
	// "data": {"status": 404}}: the status gives the outcome, the code and message are quoted.
	ErrorCode:    "/code",
	ErrorMessage: "/message",
	Check:        check,
	Docs: "**API:** WooCommerce REST API v3 (`https://{store}" + APIPath + "`), authenticated with the credential's " +
		"consumer key and secret as HTTP Basic authentication over HTTPS. WooCommerce's own error code and message " +
		"(`woocommerce_rest_shop_order_invalid_id: Invalid ID.`) are quoted in the step's error. An answer that is not " +
		"JSON (the site's HTML page: pretty permalinks off, /wp-json/ blocked) fails with `" + CodeResponseInvalid + "`.",
}

// check refuses a successful answer that is not JSON: every REST v3 answer is.
func check(a *connector.Answer) error {
	if a.Status < 200 || a.Status > 299 || a.JSON != nil || len(bytes.TrimSpace(a.Body)) == 0 {
		return nil
	}
	return nodes.NewPermanent(CodeResponseInvalid, fmt.Errorf("woocommerce: the answer (status %d, %s) is not JSON: "+
		"is the REST API at /wp-json/wc/v3 (pretty permalinks on, /wp-json/ not blocked)?", a.Status, orUnknown(a.Header.Get("Content-Type"))))
}

func orUnknown(s string) string {
	if s == "" {
		return "no content type"
	}
	return s
}
