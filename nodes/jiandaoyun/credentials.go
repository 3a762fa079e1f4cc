package jiandaoyun

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// CredentialType is the credential type of a Jiandaoyun account: an API key, and the data push secret the
// trigger verifies deliveries with.
const CredentialType = "jiandaoyun.api"

// Fields of the jiandaoyun.api credential.
const (
	// FieldAPIKey is the API key (开放平台 → 密钥管理 → 创建 API KEY), sent as "Authorization: Bearer <key>".
	FieldAPIKey = "apiKey"
	// FieldPushSecret is the Secret of the form's data push (数据推送); several, one a line, while one is rotated.
	// Inbound: it verifies deliveries and never leaves the process.
	FieldPushSecret = "pushSecret"
)

// APIHost is Jiandaoyun's API host; every open API call goes there.
const APIHost = "https://api.jiandaoyun.com"

// origin is the address requests go to; tests point it at a stand-in server.
var origin = func() *url.URL { u, _ := url.Parse(APIHost); return u }

// baseURL is the v5 root every operation's path is relative to.
func baseURL(map[string]string) (*url.URL, error) { return origin().JoinPath(APIPath), nil }

// secrets splits the push secret field into the secrets to try, one a line.
func secrets(v string) []string {
	var out []string
	for _, s := range strings.Split(v, "\n") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialType,
		Name: "Jiandaoyun",
		Description: "A Jiandaoyun API key (开放平台 → 密钥管理 → 创建 API KEY; its app scope decides which apps the nodes reach) " +
			"for the data nodes, and the Secret of a form's data push for the trigger. Requests go to " + APIHost + APIPath + ".",
		Fields: []nodes.Field{
			{Name: FieldAPIKey, Label: "API key", Type: nodes.TypeString, Secret: true,
				Description: "The API key, sent as Authorization: Bearer <key> to " + APIHost + " only. A credential used only by the trigger may leave it empty."},
			{Name: FieldPushSecret, Label: "Data push secret", Type: nodes.TypeText, Secret: true, Inbound: true,
				Description: "The Secret of the form's data push (表单设置 → 扩展功能 → 数据推送 → 生成 Secret); two, one a line, while one is replaced. " +
					"It only verifies deliveries and is never sent anywhere."},
		},
		// Jiandaoyun accepts 50 requests a second for a company in all, and 20 to 30 a second on each data
		// interface (create 20, update 20, get 30, list 30); ten a second leaves room for the account's other users.
		RateLimit:    &nodes.Limit{Rate: 10, Burst: 10},
		Test:         testConnection,
		Destinations: func(map[string]string) []string { return []string{APIHost + APIPath} },
	})
}

// testConnection lists one app: POST /app/list is the cheapest call that needs a valid key, reads nothing of a
// form's data, and shows the key's app scope is not empty.
func testConnection(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	a, err := provider.Call(ctx, x, http.MethodPost, "/app/list", nil, map[string]any{"limit": 1, "skip": 0})
	if err != nil {
		return "", err
	}
	apps, ok := a.Get("/apps").([]any)
	if !ok {
		return "", fmt.Errorf("POST %s%s/app/list answered %d without a list of apps", APIHost, APIPath, a.Status)
	}
	if len(apps) == 0 {
		return "POST " + APIHost + APIPath + "/app/list answered: the key is valid but reaches no app (widen its app scope)", nil
	}
	return "POST " + APIHost + APIPath + "/app/list answered: the key is valid and reaches the account's apps", nil
}
