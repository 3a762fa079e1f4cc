// Package woocommerce connects Ferry to WooCommerce stores through the WooCommerce REST API v3
// (/wp-json/wc/v3): a trigger for WooCommerce's webhooks that verifies X-WC-Webhook-Signature and turns order
// topics into the normalised shop order event every shop trigger outputs (D1, D16), a polling trigger for
// orders changed since the last poll (D18), actions written as data on the connector runtime (get and list
// orders, update an order's status, add an order note, get, search and upsert customers), and the
// woocommerce.rest credential with its connection test.
//
// The consumer key and secret travel as HTTP Basic authentication, which WooCommerce documents for HTTPS only;
// a store address on plain http is refused (woocommerce_store_url_insecure) rather than sent the key in clear.
//
// WooCommerce publishes no machine-readable description of the REST API (no OpenAPI file in the
// woocommerce/woocommerce repository; the REST reference at woocommerce.github.io/woocommerce-rest-api-docs is
// prose), so the tests enforce the documented request shape with a stand-in server instead.
package woocommerce

// Provider is the provider name in the normalised shop event and the prefix of failure codes.
const Provider = "woocommerce"

// APIPath is where the REST API v3 lives under a store's address (pretty permalinks, WordPress's default since
// the REST API exists; a site on "plain" permalinks serves it only as ?rest_route=, which Ferry does not use).
const APIPath = "/wp-json/wc/v3"
