// Package salesforce connects Ferry to Salesforce through the REST API, pinned to one version (APIVersion):
// upsert any sObject by an external id, get, create and update records, run SOQL queries page by page
// (nextRecordsUrl), and a polling trigger for records changed since the last poll (SystemModstamp), written as
// data on the connector runtime. Two OAuth 2.0 credential types, the authorisation-code flow (a user consents
// once) and the client-credentials flow (an integration user of a connected app), take the org's instance URL
// from the token answer (instance_url), which the vault keeps with the token.
//
// The version is v62.0 (Winter '25). Every resource used here (sObject Rows, sObject Rows by External ID,
// Query, describeGlobal, Limits) has kept its shape since long before it, so nothing is gained by chasing the
// newest release, while v62.0 is generally available in every production org and sandbox; Salesforce supports
// an API version for at least three years after its release, and moving on is one constant.
//
// Salesforce publishes no static OpenAPI description of the REST API: its OpenAPI document for sObjects (beta)
// is generated per org by an authenticated request, so the tests run against a local stand-in that enforces
// the documented request shapes and answers instead (testdata/README.md names the pages).
package salesforce

// Provider is the provider name: the prefix of failure codes.
const Provider = "salesforce"

// APIVersion is the REST API version every request names.
const APIVersion = "v62.0"

// APIPath is where the pinned REST API lives under an org's instance URL.
const APIPath = "/services/data/" + APIVersion
