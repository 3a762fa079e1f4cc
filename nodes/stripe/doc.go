// Package stripe connects Ferry to Stripe: a trigger for Stripe's webhook events that verifies the
// Stripe-Signature header and turns each event into the normalised payment event every payment trigger outputs
// (D1, D7), actions that create and read payment intents, refund and upsert customers with an idempotency key
// on every POST (I4, D12), and the stripe.account credential type with its connection test.
//
// Every request names the pinned API version in the Stripe-Version header (D2), so an upgrade of the account's
// default version changes nothing until the connector is upgraded with it.
package stripe

// APIVersion is the Stripe API version the connector is written and tested against. It is sent as Stripe-Version
// on every request, and the field mappings of the trigger follow the event shapes of this version. It is the
// version stripe-go v82.5.0 pins.
const APIVersion = "2025-08-27.basil"

// Provider is the provider name in the normalised payment event.
const Provider = "stripe"

// DefaultAPIBase is where the actions send their requests unless the credential names another base URL (a
// local stripe-mock for tests, a proxy).
const DefaultAPIBase = "https://api.stripe.com"
