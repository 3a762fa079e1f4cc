// Package hubspot connects Ferry to HubSpot's CRM: actions written as data on the connector runtime for
// contacts, companies and deals (CRM v3 objects: create, update, get, upsert by a unique property one record or
// a batch of up to 100 at a time, search page by page) and their associations (CRM v4), pipelines, stages and
// owners loaded from the account as choices, a webhook trigger verifying HubSpot's v3 signature, and the
// credentials: a private app's access token, an OAuth2 app, and the app's client secret for webhooks.
//
// HubSpot's rate limits (a rolling ten-second window and a daily allowance per account) drive the credential's
// bucket: every answer's X-HubSpot-RateLimit-* headers hold the credential's next calls when the window is
// spent, and a 429 waits as long as the policy it names.
//
// The tests validate every request against HubSpot's published OpenAPI descriptions (testdata/README.md says
// where each file comes from).
package hubspot

// Provider prefixes failure codes and names the provider in outputs.
const Provider = "hubspot"

// APIBase is where every HubSpot API lives.
const APIBase = "https://api.hubapi.com"
