package tencentsms

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// CredentialType is the credential type of a Tencent Cloud API key pair for SMS.
const CredentialType = "tencentsms.api"

// Fields of the tencentsms.api credential.
const (
	// FieldSecretID is the SecretId of an API key (a CAM sub-user's, with QcloudSMSFullAccess or narrower).
	FieldSecretID = "secretId"
	// FieldSecretKey is the SecretKey; it signs requests and is never sent.
	FieldSecretKey = "secretKey"
	// FieldRegion is the region named in X-TC-Region (ap-guangzhou, ap-beijing or ap-nanjing).
	FieldRegion = "region"
	// FieldSdkAppID is the SMS application's SdkAppID (短信控制台 → 应用管理 → 应用列表), sent as SmsSdkAppId.
	FieldSdkAppID = "sdkAppId"
)

// APIHost is Tencent Cloud SMS's API host; every call is a POST to its root.
const APIHost = "https://sms.tencentcloudapi.com"

// origin is the address requests go to; tests point it at a stand-in server.
var origin = func() *url.URL { u, _ := url.Parse(APIHost); return u }

func baseURL(map[string]string) (*url.URL, error) { return origin(), nil }

// regions are the regions the SMS API serves.
var regions = map[string]bool{"ap-guangzhou": true, "ap-beijing": true, "ap-nanjing": true}

// sdkAppID is the shape of an SdkAppID (1400 followed by digits).
var sdkAppID = regexp.MustCompile(`^[0-9]{10}$`)

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialType,
		Name: "Tencent Cloud SMS",
		Description: "A Tencent Cloud API key (preferably a CAM sub-user's with only SMS permissions, QcloudSMSFullAccess or narrower) " +
			"and the SMS application's SdkAppID. Requests are signed with TC3-HMAC-SHA256 and go to " + APIHost + ".",
		Fields: []nodes.Field{
			{Name: FieldSecretID, Label: "SecretId", Type: nodes.TypeString, Required: true,
				Description: "The SecretId (访问管理 → API 密钥管理), sent in the Authorization header."},
			{Name: FieldSecretKey, Label: "SecretKey", Type: nodes.TypeString, Secret: true, Required: true,
				Description: "The SecretKey; it signs each request and is never sent."},
			{Name: FieldSdkAppID, Label: "SdkAppID", Type: nodes.TypeString, Required: true,
				Description: "The SMS application's SdkAppID (短信控制台 → 应用管理 → 应用列表), such as 1400006666; every send names it."},
			{Name: FieldRegion, Label: "Region", Type: nodes.TypeSelect, Default: "ap-guangzhou",
				Description: "The region named in X-TC-Region; the SMS API serves ap-guangzhou, ap-beijing and ap-nanjing.",
				Options: []nodes.Option{{Value: "ap-guangzhou", Label: "Guangzhou (ap-guangzhou)"}, {Value: "ap-beijing", Label: "Beijing (ap-beijing)"},
					{Value: "ap-nanjing", Label: "Nanjing (ap-nanjing)"}}},
		},
		// SendSms takes up to 3,000 calls a second (its API page's request rate); the limits that matter are per
		// phone number, answered per number. A hundred a second leaves room for the account's other senders.
		RateLimit:    &nodes.Limit{Rate: 100, Burst: 100},
		Test:         testConnection,
		Destinations: func(map[string]string) []string { return []string{APIHost + "/"} },
	})
}

// testProvider is the provider with SendStatusStatistics as its action: the connection test reads today's send
// statistics of the application, which sends nothing and proves the key, its SMS permission and the SdkAppID.
var testProvider = func() *connector.Provider {
	p := *provider
	p.Headers = map[string]string{"X-TC-Action": "SendStatusStatistics", "X-TC-Version": APIVersion}
	return &p
}()

// testConnection reads today's send statistics (SendStatusStatistics from 00 to 23 o'clock, China time).
func testConnection(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	t := now().In(beijing)
	// EndTime must be after BeginTime: the whole of today.
	body := map[string]any{"BeginTime": t.Format("20060102") + "00", "EndTime": t.Format("20060102") + "23", "Limit": 0, "Offset": 0}
	a, err := testProvider.Call(ctx, x, http.MethodPost, "/", nil, body)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("SendStatusStatistics answered: the key is valid and reaches application %s (%v requests today)",
		strings.TrimSpace(fields[FieldSdkAppID]), a.Get("/Response/SendStatusStatistics/RequestCount")), nil
}

// beijing is China Standard Time, in which Tencent Cloud's daily limits reset.
var beijing = time.FixedZone("CST", 8*3600)
