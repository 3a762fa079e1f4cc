package aliyunsms

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// CredentialType is the credential type of an Alibaba Cloud account's AccessKey for SMS.
const CredentialType = "aliyunsms.api"

// Fields of the aliyunsms.api credential.
const (
	// FieldAccessKeyID is the AccessKey ID (a RAM user's, with AliyunDysmsFullAccess or a narrower policy).
	FieldAccessKeyID = "accessKeyId"
	// FieldAccessKeySecret is the AccessKey secret; it signs requests and is never sent.
	FieldAccessKeySecret = "accessKeySecret"
	// FieldRegion chooses the endpoint: cn-hangzhou (the Chinese mainland site) or ap-southeast-1 (Singapore).
	FieldRegion = "region"
)

// Endpoints of the SMS API by region.
const (
	// EndpointChina is the SMS endpoint of the Chinese mainland site (regions cn-*).
	EndpointChina = "https://dysmsapi.aliyuncs.com"
	// EndpointSingapore is the SMS endpoint of the international site (ap-southeast-1).
	EndpointSingapore = "https://dysmsapi.ap-southeast-1.aliyuncs.com"
)

// endpoint is the API address for the credential's region.
func endpoint(fields map[string]string) (string, error) {
	switch r := strings.TrimSpace(fields[FieldRegion]); r {
	case "", "cn-hangzhou":
		return EndpointChina, nil
	case "ap-southeast-1":
		return EndpointSingapore, nil
	default:
		return "", fmt.Errorf("region %q is not cn-hangzhou or ap-southeast-1", r)
	}
}

// origin turns the endpoint into the address requests go to; tests point it at a stand-in server.
var origin = func(endpoint string) (*url.URL, error) { return url.Parse(endpoint) }

func baseURL(fields map[string]string) (*url.URL, error) {
	e, err := endpoint(fields)
	if err != nil {
		return nil, err
	}
	return origin(e)
}

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialType,
		Name: "Alibaba Cloud SMS",
		Description: "An Alibaba Cloud AccessKey (preferably a RAM user's with only SMS permissions, AliyunDysmsFullAccess or narrower) " +
			"for SendSms. Requests are signed with ACS3-HMAC-SHA256 and go to " + EndpointChina + " (or " + EndpointSingapore + " for ap-southeast-1).",
		Fields: []nodes.Field{
			{Name: FieldAccessKeyID, Label: "AccessKey ID", Type: nodes.TypeString, Required: true,
				Description: "The AccessKey ID (RAM console → Users → AccessKey), sent in the Authorization header."},
			{Name: FieldAccessKeySecret, Label: "AccessKey secret", Type: nodes.TypeString, Secret: true, Required: true,
				Description: "The AccessKey secret; it signs each request and is never sent."},
			{Name: FieldRegion, Label: "Region", Type: nodes.TypeSelect, Default: "cn-hangzhou",
				Description: "cn-hangzhou sends through the Chinese mainland endpoint (dysmsapi.aliyuncs.com); ap-southeast-1 through the international one.",
				Options:     []nodes.Option{{Value: "cn-hangzhou", Label: "Chinese mainland (cn-hangzhou)"}, {Value: "ap-southeast-1", Label: "International (ap-southeast-1)"}}},
		},
		// SendSms takes up to 5,000 calls a second for an account (its API page's QPS limit); the limits that
		// matter are per phone number and come back as isv.BUSINESS_LIMIT_CONTROL. A hundred a second leaves room for
		// the account's other senders.
		RateLimit: &nodes.Limit{Rate: 100, Burst: 100},
		Test:      testConnection,
		Destinations: func(fields map[string]string) []string {
			e, err := endpoint(fields)
			if err != nil {
				return nil
			}
			return []string{e + "/"}
		},
	})
}

// testProvider is the provider with QuerySmsSignList as its action: the connection test reads the account's
// signatures, which sends nothing and proves the AccessKey and its SMS permission.
var testProvider = func() *connector.Provider {
	p := *provider
	p.Headers = map[string]string{"Accept": "application/json", "x-acs-action": "QuerySmsSignList", "x-acs-version": APIVersion}
	return &p
}()

// testConnection lists one SMS signature (QuerySmsSignList, PageIndex 1, PageSize 1).
func testConnection(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	a, err := testProvider.Call(ctx, x, http.MethodPost, "/", url.Values{"PageIndex": {"1"}, "PageSize": {"1"}}, nil)
	if err != nil {
		return "", err
	}
	total := a.Get("/TotalCount")
	return fmt.Sprintf("QuerySmsSignList answered OK: the AccessKey is valid and may use SMS (%v signatures)", total), nil
}
