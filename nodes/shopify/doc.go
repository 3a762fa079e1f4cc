// Package shopify connects Ferry to Shopify stores through the GraphQL Admin API: a trigger for Shopify's
// webhooks that verifies X-Shopify-Hmac-Sha256 and turns order topics into the normalised shop order event every
// shop trigger outputs (D1, D16), actions written as data on the connector runtime (get an order by id or by
// name, list the orders changed since a time, update the note, add and remove tags, set metafields, create a
// fulfilment, cancel, search and upsert customers), and the shopify.store credential with its connection test.
//
// Every request goes to /admin/api/<APIVersion>/graphql.json (D2): the version is pinned, so a new Shopify
// release changes nothing until the connector moves with it. Shopify's cost-based throttling is read from every
// answer (extensions.cost.throttleStatus) into the credential's rate-limit bucket, and THROTTLED is a rate
// limit, not a failure.
package shopify

// APIVersion is the Admin API version the connector is written and tested against, named in every request path.
// 2026-10 is the newest stable version (released October 2026, supported until at least October 2027); the
// documents use customerSet's upsert by e-mail (2025-04 on) and orderCancel's refundMethod (which replaced the
// refund flag), so no older version would do.
const APIVersion = "2026-10"

// Provider is the provider name in the normalised shop event and the prefix of failure codes.
const Provider = "shopify"

// graphQLPath is where the Admin API takes GraphQL requests, under the versioned base URL.
const graphQLPath = "/graphql.json"
