package youzan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// CredentialType is the credential of a Youzan self-built app (自用型应用) authorised by one shop: the app's
// client id and secret, which obtain access tokens and sign message pushes, and the shop's id.
const CredentialType = "youzan.app"

// Fields of the youzan.app credential.
const (
	FieldClientID     = nodes.OAuth2ClientID     // the app's client_id (应用 ID)
	FieldClientSecret = nodes.OAuth2ClientSecret // the app's client_secret
	FieldGrantID      = "grantId"                // the shop's kdt_id (店铺 ID), the grant_id of the token request
)

// Failure codes of the token request, beside the runtime's youzan_* codes.
const (
	// CodeAuthFailed: /auth/token refused the app (1000 wrong secret, 1103 unknown client or no grant for the
	// shop, 1105 not a self-built app…), with Youzan's message verbatim.
	CodeAuthFailed = "youzan_auth_failed"
	// CodeTokenUnavailable: /auth/token did not answer usably (no connection, a server error); retried.
	CodeTokenUnavailable = "youzan_token_unavailable"
)

var grantPattern = regexp.MustCompile(`^[0-9]{1,20}$`)

// baseURL is the open platform's address; tests point it at a stand-in server.
var baseURL = DefaultBaseURL

func apiBase(map[string]string) (*url.URL, error) { return url.Parse(baseURL) }

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialType,
		Name: "Youzan app",
		Description: "A Youzan Cloud self-built app (自用型应用, without container) authorised by your shop: its client id " +
			"and secret from the console's app overview, and the shop's id (kdt_id). Ferry exchanges them for access " +
			"tokens (kept until five minutes before they expire) and verifies the app's message pushes with the secret.",
		Fields: []nodes.Field{
			{Name: FieldClientID, Label: "Client ID", Type: nodes.TypeString, Required: true,
				Description: "The app's client_id (应用 ID), under the app's overview in the Youzan Cloud console.",
				Examples:    []nodes.Example{{Name: "Client ID", Value: "a1b2c3d4e5f6a7b8c9"}}},
			{Name: FieldClientSecret, Label: "Client secret", Type: nodes.TypeString, Required: true, Secret: true,
				Description: "The app's client_secret: it obtains access tokens and signs the app's message pushes " +
					"(Event-Sign). Sent only to open.youzanyun.com's token endpoint."},
			{Name: FieldGrantID, Label: "Shop ID", Type: nodes.TypeString, Required: true,
				Description: "The id (kdt_id) of the shop that authorised the app, the grant_id of the token request. " +
					"The shop's admin shows it under Settings → Shop information.",
				Examples: []nodes.Example{{Name: "Shop ID", Value: "42583152"}}},
		},
		// Youzan does not say how many order calls a shop may make a second (its limits page lists item, customer
		// and points APIs only, 5 to 300 a second); ten a second stays well under all of them, and the gateway's
		// 4101 answer holds the credential's calls when it is too many after all.
		RateLimit:    &nodes.Limit{Rate: 10, Burst: 20},
		Test:         testConnection,
		Destinations: func(map[string]string) []string { return []string{DefaultBaseURL} },
	})
}

// app is a youzan.app credential's fields, checked.
type app struct {
	clientID, clientSecret, grantID string
}

func appFrom(fields map[string]string) (app, error) {
	a := app{clientID: strings.TrimSpace(fields[FieldClientID]), clientSecret: strings.TrimSpace(fields[FieldClientSecret]),
		grantID: strings.TrimSpace(fields[FieldGrantID])}
	switch {
	case a.clientID == "":
		return app{}, errors.New("the credential has no client id")
	case a.clientSecret == "":
		return app{}, errors.New("the credential has no client secret")
	case !grantPattern.MatchString(a.grantID):
		return app{}, fmt.Errorf("the credential's shop id %q is not a kdt_id (digits only)", a.grantID)
	}
	return a, nil
}

// tokenAnswer is what /auth/token answers: {"success", "code", "message", "data": {"access_token", "expires"
// (the expiry in milliseconds since the epoch, seven days after issue), "scope", "authority_id"}}.
type tokenAnswer struct {
	Success bool   `json:"success"`
	Code    int64  `json:"code"`
	Message string `json:"message"`
	Data    *struct {
		AccessToken string `json:"access_token"`
		Expires     int64  `json:"expires"`
		Scope       string `json:"scope"`
		AuthorityID string `json:"authority_id"`
	} `json:"data"`
}

// requestToken asks /auth/token for the shop's token, as Youzan documents the self-built app's exchange
// (doc.youzanyun.com, 获取及刷新 access_token, read 2026-12-07) and its official SDKs send it
// (youzan/open-sdk-php src/Open/Token.php, getToken('silent')): a JSON body {client_id, client_secret,
// authorize_type: "silent", grant_id, refresh}. refresh false hands out the shop's current token while it is
// valid; true issues a new one.
func requestToken(ctx context.Context, client *http.Client, a app, refresh bool) (*tokenAnswer, error) {
	body, _ := json.Marshal(map[string]any{"client_id": a.clientID, "client_secret": a.clientSecret,
		"authorize_type": "silent", "grant_id": a.grantID, "refresh": refresh})
	shown := "POST " + baseURL + tokenPath
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+tokenPath, bytes.NewReader(body))
	if err != nil {
		return nil, nodes.NewPermanent(CodeAuthFailed, fmt.Errorf("youzan: obtain an access token: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("youzan: obtain an access token: %s: %w", shown, err))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		after, _ := connector.RetryAfter(resp.Header.Get("Retry-After"))
		return nil, nodes.NewRateLimited(CodeRateLimited, fmt.Errorf("youzan: obtain an access token: %s answered 429", shown), max(after, time.Second))
	case resp.StatusCode >= 500:
		return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("youzan: obtain an access token: %s answered %d", shown, resp.StatusCode))
	}
	var ans tokenAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("youzan: obtain an access token: %s answered %d with no JSON", shown, resp.StatusCode))
	}
	if !ans.Success || ans.Data == nil || ans.Data.AccessToken == "" {
		// The token endpoint's codes name the cause only with the message (1103 is an unknown client, a missing
		// grant or a mismatched app), so both are quoted as Youzan wrote them.
		return nil, nodes.WithDetails(nodes.NewPermanent(CodeAuthFailed,
			fmt.Errorf("youzan: obtain an access token: %s refused: %d %s", shown, ans.Code, ans.Message)),
			map[string]any{"code": ans.Code, "message": ans.Message})
	}
	return &ans, nil
}

// tokens is the connector runtime's cache of the credentials' access tokens.
var tokens = &connector.TokenSource{
	Early: 5 * time.Minute,
	Fetch: func(ctx context.Context, client *http.Client, tr connector.TokenRequest) (connector.Token, error) {
		a, err := appFrom(tr.Fields)
		if err != nil {
			return connector.Token{}, nodes.NewPermanent("youzan_credential_invalid", fmt.Errorf("youzan: %w", err))
		}
		// A token about to expire is replaced by a new one (refresh true): the current one would come back
		// unchanged. After a refusal the current token is asked for first, since another process sharing the
		// credential may have replaced the one refused; only when Youzan hands back the very token it refused is
		// a new one issued.
		ans, err := requestToken(ctx, client, a, tr.Due != "")
		if err == nil && tr.Refused != "" && ans.Data.AccessToken == tr.Refused {
			ans, err = requestToken(ctx, client, a, true)
		}
		if err != nil {
			return connector.Token{}, err
		}
		tok := connector.Token{Value: ans.Data.AccessToken}
		if ans.Data.Expires > 0 {
			tok.Expiry = time.UnixMilli(ans.Data.Expires)
		}
		return tok, nil
	},
	Refused: tokenRefused,
}

// testConnection obtains a token for the shop, which proves the client id, the secret and the shop's grant.
func testConnection(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	a, err := appFrom(fields)
	if err != nil {
		return "", err
	}
	ans, err := requestToken(ctx, client, a, false)
	if err != nil {
		return "", err
	}
	until := ""
	if ans.Data.Expires > 0 {
		until = ", valid until " + time.UnixMilli(ans.Data.Expires).In(shanghai).Format(timeLayout) + " (Asia/Shanghai)"
	}
	return fmt.Sprintf("POST %s%s answered: the app holds a token for shop %s%s", baseURL, tokenPath, firstNonEmpty(ans.Data.AuthorityID, a.grantID), until), nil
}
