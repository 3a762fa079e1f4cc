// Package zoho connects Ferry to Zoho CRM through its REST API v8 (https://www.zohoapis.<dc>/crm/v8): records
// upserted by duplicate-check fields, read by id, searched page by page and queried with COQL, the account's
// modules as options loaded from it and a module's fields, all written as data on the connector runtime; and the
// zoho.crm credential, an OAuth2 client of the data centre the account lives in.
//
// Zoho keeps every account in one data centre (zoho.com, zoho.com.cn, zoho.eu, zoho.in, zoho.com.au, zoho.jp):
// the credential names it, the vault authorises and renews tokens at accounts.zoho.<dc>, and keeps the
// api_domain the token answer gives, which is where requests go (https://www.zohoapis.<dc>).
//
// Zoho publishes OpenAPI 3 descriptions of CRM v8 (github.com/zoho/crm-oas); the tests validate every request
// Ferry sends against the operations it uses, extracted into testdata/oas.
package zoho

// Provider is the prefix of failure codes and messages.
const Provider = "zoho"

// APIPath is where CRM v8 lives under an account's api_domain.
const APIPath = "/crm/v8"
