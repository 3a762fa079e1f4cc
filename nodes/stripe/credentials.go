package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// CredentialType is the credential type of a Stripe account: the API secret key the actions send and the
// webhook endpoint's signing secret the trigger verifies with. Its test variant holds the test-mode key and the
// test endpoint's secret (D20).
const CredentialType = "stripe.account"

// Fields of the stripe.account credential.
const (
	FieldSecretKey     = "secretKey"     // sk_live_…, sk_test_… or a restricted key rk_…
	FieldWebhookSecret = "webhookSecret" // whsec_…; several, separated by commas, while one is rotated
	FieldAPIBase       = "apiBase"       // optional, default DefaultAPIBase
)

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialType,
		Name: "Stripe account",
		Description: "A Stripe secret key for the Stripe actions and a webhook endpoint's signing secret for the Stripe " +
			"trigger. Put the live key (sk_live_…) and live endpoint secret in the live variant, and sk_test_… with " +
			"the test endpoint's secret in the test variant: test runs then never touch live money.",
		Fields: []nodes.Field{
			{Name: FieldSecretKey, Label: "Secret key", Type: nodes.TypeString, Secret: true,
				Description: "Developers → API keys: sk_live_… (sk_test_… in the test variant), or a restricted key " +
					"rk_… allowed to write payment intents, refunds and customers and to read the balance. " +
					"Needed by the actions; a trigger-only credential may leave it empty.",
				Examples: []nodes.Example{{Name: "Test mode", Value: "sk_test_…"}}},
			{Name: FieldWebhookSecret, Label: "Webhook signing secret", Type: nodes.TypeString, Secret: true, Inbound: true,
				Description: "The endpoint's signing secret (whsec_…), shown under Developers → Webhooks. While rolling " +
					"it, list the old and the new secret separated by a comma. Needed by the trigger.",
				Examples: []nodes.Example{{Name: "Signing secret", Value: "whsec_…"}}},
			{Name: FieldAPIBase, Label: "API base URL", Type: nodes.TypeString, Advanced: true,
				Description: "Where API calls go; empty means " + DefaultAPIBase + ". Point a test variant at a " +
					"stripe-mock server to try flows offline.",
				Examples: []nodes.Example{{Name: "Stripe", Value: DefaultAPIBase}, {Name: "Local stripe-mock", Value: "http://127.0.0.1:12111"}}},
		},
		// Stripe's documented default is 100 operations per second per account in live mode (25 in test mode,
		// where a 429 is retried after the wait Stripe asks for).
		RateLimit: &nodes.Limit{Rate: 100, Burst: 100},
		Test:      testConnection,
		// The key goes to the API base URL: Stripe's, or the stripe-mock an admin pointed a test variant at.
		Destinations: func(fields map[string]string) []string {
			base := strings.TrimSpace(fields[FieldAPIBase])
			if base == "" {
				base = DefaultAPIBase
			}
			return egress.Origins(base)
		},
	})
}

// testConnection checks the secret key with GET /v1/balance, which every full key and any restricted key with
// balance read access may call, and checks the signing secret's shape, which only Stripe's deliveries can
// prove. It reports whether the key is a test-mode or live key, as Stripe says.
func testConnection(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	key := strings.TrimSpace(fields[FieldSecretKey])
	for _, s := range splitSecrets(fields[FieldWebhookSecret]) {
		if !strings.HasPrefix(s, "whsec_") {
			return "", errors.New("the webhook signing secret must start with whsec_ (Developers → Webhooks → the endpoint → Signing secret)")
		}
	}
	if key == "" {
		if fields[FieldWebhookSecret] == "" {
			return "", errors.New("the credential has neither a secret key nor a webhook signing secret")
		}
		return "the webhook signing secret is well-formed; Stripe's signed deliveries will prove it (no secret key to check)", nil
	}
	if !strings.HasPrefix(key, "sk_") && !strings.HasPrefix(key, "rk_") {
		return "", errors.New("the secret key must start with sk_ (secret key) or rk_ (restricted key); pk_ keys are publishable and cannot call the API")
	}
	api, err := newClient(fields, client)
	if err != nil {
		return "", err
	}
	res, err := api.do(ctx, http.MethodGet, "/v1/balance", nil, "")
	if err != nil {
		// The error already names the call and carries Stripe's own message ("Invalid API Key provided…").
		return "", fmt.Errorf("%s: %w", api.shownBase(), err)
	}
	var balance struct {
		Livemode bool `json:"livemode"`
	}
	_ = json.Unmarshal(res.body, &balance)
	mode := "test mode"
	if balance.Livemode {
		mode = "live mode"
	}
	return fmt.Sprintf("GET %s/v1/balance answered %d: the key works (%s)", api.shownBase(), res.status, mode), nil
}
