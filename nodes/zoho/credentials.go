package zoho

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// CredentialType is the credential type of a Zoho CRM account: an OAuth2 client registered in the Zoho API
// console of the account's data centre.
const CredentialType = "zoho.crm"

// Fields of the zoho.crm credential besides the OAuth2 client's (nodes.OAuth2ClientID, nodes.OAuth2ClientSecret).
const (
	// FieldDataCenter is the domain suffix of the account's data centre: com, com.cn, eu, in, com.au or jp.
	FieldDataCenter = "dataCenter"
	// FieldAPIDomain is the field of the token answer the vault keeps: the account's API root
	// (https://www.zohoapis.eu).
	FieldAPIDomain = "api_domain"
)

// DataCenters are Zoho's data centres, by domain suffix, with their names for people.
var DataCenters = []nodes.Option{
	{Value: "com", Label: "United States (zoho.com)"}, {Value: "com.cn", Label: "China (zoho.com.cn)"},
	{Value: "eu", Label: "Europe (zoho.eu)"}, {Value: "in", Label: "India (zoho.in)"},
	{Value: "com.au", Label: "Australia (zoho.com.au)"}, {Value: "jp", Label: "Japan (zoho.jp)"},
}

// Scopes are what the credential asks the account for: records of every module, COQL, and the module and field
// lists the options load.
const Scopes = "ZohoCRM.modules.ALL,ZohoCRM.coql.READ,ZohoCRM.settings.modules.READ,ZohoCRM.settings.fields.READ"

// Failure codes of the credential.
const (
	// CodeDataCenterInvalid: the credential names no data centre Zoho has.
	CodeDataCenterInvalid = "zoho_data_center_invalid"
	// CodeAPIDomainInvalid: the token carries no api_domain, or one that is not a Zoho API host.
	CodeAPIDomainInvalid = "zoho_api_domain_invalid"
)

// dataCenter checks a data centre's domain suffix.
func dataCenter(v string) (string, error) {
	dc := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ".")))
	for _, o := range DataCenters {
		if o.Value == dc {
			return dc, nil
		}
	}
	return "", nodes.NewPermanent(CodeDataCenterInvalid, fmt.Errorf("zoho: %q is not a Zoho data centre (com, com.cn, eu, in, com.au or jp)", v))
}

// endpoints are the OAuth2 endpoints of the credential's data centre. The authorisation URL asks for offline
// access (a refresh token), a consent every time (Zoho issues the refresh token only on consent) and Scopes.
func endpoints(fields map[string]string) (authURL, tokenURL string, err error) {
	dc, err := dataCenter(fields[FieldDataCenter])
	if err != nil {
		return "", "", err
	}
	q := url.Values{"access_type": {"offline"}, "prompt": {"consent"}, "scope": {Scopes}}
	return "https://accounts.zoho." + dc + "/oauth/v2/auth?" + q.Encode(), "https://accounts.zoho." + dc + "/oauth/v2/token", nil
}

// APIBase reads the api_domain of a token answer: https://www.zohoapis.<dc> of a Zoho data centre.
func APIBase(domain string) (*url.URL, error) {
	if strings.TrimSpace(domain) == "" {
		return nil, nodes.NewPermanent(CodeAPIDomainInvalid, errors.New("zoho: the credential's token has no api_domain: authorise the credential again"))
	}
	u, err := url.Parse(strings.TrimSpace(domain))
	if err == nil && u.Scheme == "https" && u.User == nil && u.RawQuery == "" && strings.Trim(u.Path, "/") == "" && u.Port() == "" {
		host := strings.ToLower(u.Hostname())
		for _, o := range DataCenters {
			if host == "www.zohoapis."+o.Value {
				return &url.URL{Scheme: "https", Host: host}, nil
			}
		}
	}
	return nil, nodes.NewPermanent(CodeAPIDomainInvalid, fmt.Errorf("zoho: the token's api_domain %q is not a Zoho CRM API host (https://www.zohoapis.<data centre>)", domain))
}

// origin is the address requests for an api_domain go to; tests point it at a stand-in server.
var origin = func(api *url.URL) *url.URL { return api }

// baseURL is the CRM v8 root of the account the token belongs to.
func baseURL(fields map[string]string) (*url.URL, error) {
	api, err := APIBase(fields[FieldAPIDomain])
	if err != nil {
		return nil, err
	}
	return origin(api).JoinPath(APIPath), nil
}

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialType,
		Name: "Zoho CRM",
		Description: "An OAuth2 client from the Zoho API console (api-console.zoho.<data centre>, a \"Server-based Application\" " +
			"whose redirect URI is Ferry's OAuth2 callback) and the data centre the CRM account lives in. Ferry sends the " +
			"admin to Zoho to consent, renews the access token with the refresh token, and sends requests to the api_domain " +
			"Zoho's token answer names. Scopes: " + Scopes + ".",
		Fields: []nodes.Field{
			{Name: nodes.OAuth2ClientID, Label: "Client ID", Type: nodes.TypeString, Required: true,
				Description: "The client's Client ID (1000.…) from the Zoho API console.",
				Examples:    []nodes.Example{{Name: "Client ID", Value: "1000.…"}}},
			{Name: nodes.OAuth2ClientSecret, Label: "Client secret", Type: nodes.TypeString, Secret: true, Required: true,
				Description: "The client's Client Secret, sent to the data centre's accounts server only."},
			{Name: FieldDataCenter, Label: "Data centre", Type: nodes.TypeSelect, Required: true, Default: "com", Options: DataCenters,
				Description: "Where the Zoho account lives: the domain of its CRM address (crm.zoho.eu is Europe, crm.zoho.com.cn China). " +
					"Tokens come from accounts.zoho.<data centre>, requests go to www.zohoapis.<data centre>."},
		},
		OAuth2: &nodes.OAuth2{Grant: nodes.GrantAuthorizationCode, Endpoints: endpoints, TokenFields: []string{FieldAPIDomain}},
		// Zoho CRM counts API credits per day by edition and licences, and limits concurrent calls per
		// organisation (10 to 25 by edition, fewer for heavy calls); five calls a second keeps a flow well within
		// the concurrency of the smallest edition, and TOO_MANY_REQUESTS still holds the credential's calls.
		RateLimit: &nodes.Limit{Rate: 5, Burst: 10},
		Test:      testConnection,
		Destinations: func(fields map[string]string) []string {
			dc, err := dataCenter(fields[FieldDataCenter])
			if err != nil {
				return nil
			}
			return []string{"https://accounts.zoho." + dc, "https://www.zohoapis." + dc + APIPath}
		},
	})
}

// testConnection lists the account's modules: GET /settings/modules needs the settings scope the module options
// need too, and is one light call.
func testConnection(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	a, err := provider.Call(ctx, x, http.MethodGet, "/settings/modules", nil, nil)
	if err != nil {
		return "", err
	}
	list, ok := a.Get("/modules").([]any)
	if !ok {
		return "", fmt.Errorf("GET %s/settings/modules answered %d without a list of modules", fields[FieldAPIDomain]+APIPath, a.Status)
	}
	return fmt.Sprintf("GET %s%s/settings/modules answered: the token reads the account's %d modules", fields[FieldAPIDomain], APIPath, len(list)), nil
}
