// Package jiandaoyun connects Ferry to Jiandaoyun (简道云) through its open API v5
// (https://api.jiandaoyun.com/api/v5): form data create, update, get and list with filters and paging, written
// as data on the connector runtime, a trigger for Jiandaoyun's data push (数据推送) that verifies
// X-JDY-Signature, and the jiandaoyun.api credential with its connection test.
//
// Jiandaoyun publishes no machine-readable description of its API (its reference is prose at
// hc.jiandaoyun.com/open), so the tests enforce the documented request shapes with a stand-in server; the pages
// each rule comes from are listed in testdata/README.md.
package jiandaoyun

// Provider is the prefix of failure codes (jiandaoyun_invalid_request).
const Provider = "jiandaoyun"

// APIPath is where the open API v5 lives under the API host.
const APIPath = "/api/v5"
