package shopify

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Failure codes Shopify's GraphQL answers add to the runtime's (shopify_rate_limited, shopify_not_found…).
const (
	// CodeUserError: a mutation answered 200 with userErrors (an order already cancelled, an invalid tag).
	CodeUserError = "shopify_user_error"
	// CodeGraphQLError: a 200 with top-level errors that are neither throttling nor access (a malformed query).
	CodeGraphQLError = "shopify_graphql_error"
	// CodeAccessDenied: the token lacks a scope the query needs (ACCESS_DENIED).
	CodeAccessDenied = "shopify_access_denied"
	// CodeRateLimited: THROTTLED, or a 429: retried after the wait the bucket needs, and the credential's calls
	// held meanwhile.
	CodeRateLimited = "shopify_rate_limited"
	// CodeServerError: INTERNAL_SERVER_ERROR in a 200; retried.
	CodeServerError = "shopify_server_error"
	// CodeNothingToFulfil: the order has no open fulfilment order left to fulfil.
	CodeNothingToFulfil = "shopify_nothing_to_fulfil"
)

// provider is what every Shopify operation shares.
var provider = &connector.Provider{
	Name:        Provider,
	Title:       "Shopify",
	Credentials: []string{CredentialType},
	BaseURL:     baseURL,
	Authorize:   connector.Header("X-Shopify-Access-Token", FieldAccessToken),
	Headers:     map[string]string{"Accept": "application/json"},
	// A refused token answers 401 {"errors": "[API] Invalid API key or access token …"}.
	ErrorMessage: "/errors",
	Check:        check,
	Quota: func(a *connector.Answer) (time.Duration, bool) {
		c, ok := ReadCost(a.JSON)
		if !ok {
			return 0, false
		}
		return c.Wait(), true
	},
	Docs: "**API:** Shopify GraphQL Admin API version `" + APIVersion + "` (`POST https://{shop}.myshopify.com/admin/api/" +
		APIVersion + "/graphql.json`), authenticated with the credential's `X-Shopify-Access-Token`. A mutation's " +
		"`userErrors` fail the step with `" + CodeUserError + "` and Shopify's messages; top-level GraphQL errors with `" +
		CodeGraphQLError + "` (`" + CodeAccessDenied + "` for a missing scope). **Throttling:** Shopify counts calls " +
		"in cost points; every answer's `extensions.cost.throttleStatus` holds the credential's next calls until " +
		"its bucket can take another like it, and a `THROTTLED` answer is `" + CodeRateLimited + "`, retried after " +
		"the wait the bucket needs (requested cost − available) ÷ restore rate.",
}

// Cost is what a GraphQL answer says of the query's cost and the store's bucket (extensions.cost).
type Cost struct {
	RequestedQueryCost float64
	ActualQueryCost    float64
	MaximumAvailable   float64
	CurrentlyAvailable float64
	RestoreRate        float64
}

// ReadCost reads extensions.cost from a decoded GraphQL answer; false when it has none.
func ReadCost(answer any) (Cost, bool) {
	root, _ := answer.(map[string]any)
	ext, _ := root["extensions"].(map[string]any)
	cost, _ := ext["cost"].(map[string]any)
	status, _ := cost["throttleStatus"].(map[string]any)
	if status == nil {
		return Cost{}, false
	}
	c := Cost{RequestedQueryCost: number(cost["requestedQueryCost"]), ActualQueryCost: number(cost["actualQueryCost"]),
		MaximumAvailable: number(status["maximumAvailable"]), CurrentlyAvailable: number(status["currentlyAvailable"]),
		RestoreRate: number(status["restoreRate"])}
	return c, c.RestoreRate > 0
}

// Wait is how long the bucket needs before it can take another query of the requested cost: nothing while it
// holds enough, else the missing points at the restore rate, rounded up to the millisecond.
func (c Cost) Wait() time.Duration {
	missing := c.RequestedQueryCost - c.CurrentlyAvailable
	if missing <= 0 || c.RestoreRate <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(missing/c.RestoreRate*1000)) * time.Millisecond
}

func number(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case float64:
		return n
	case int:
		return float64(n)
	}
	return 0
}

// check finds the failures Shopify answers with status 200: top-level GraphQL errors (THROTTLED among them) and
// the userErrors of a mutation's payload.
func check(a *connector.Answer) error {
	if a.Status != http.StatusOK || a.JSON == nil {
		return nil
	}
	if errs, ok := a.Get("/errors").([]any); ok && len(errs) > 0 {
		return graphQLErrors(a, errs)
	}
	data, _ := a.Get("/data").(map[string]any)
	return userErrors(data)
}

func graphQLErrors(a *connector.Answer, errs []any) error {
	var msgs []string
	codes := map[string]bool{}
	for _, e := range errs {
		m, _ := e.(map[string]any)
		msg, _ := m["message"].(string)
		ext, _ := m["extensions"].(map[string]any)
		code, _ := ext["code"].(string)
		if code != "" {
			codes[code] = true
			msg += " (" + code + ")"
		}
		msgs = append(msgs, msg)
	}
	err := fmt.Errorf("shopify: %s", strings.Join(msgs, "; "))
	switch {
	case codes["THROTTLED"]:
		c, _ := ReadCost(a.JSON)
		wait := c.Wait()
		if wait < time.Second {
			// Throttled with the bucket said to be full enough (or no cost given): a second lets it refill.
			wait = time.Second
		}
		return nodes.NewRateLimited(CodeRateLimited, err, wait)
	case codes["ACCESS_DENIED"]:
		return nodes.NewPermanent(CodeAccessDenied, err)
	case codes["INTERNAL_SERVER_ERROR"]:
		return nodes.NewRetryable(CodeServerError, err)
	}
	return nodes.NewPermanent(CodeGraphQLError, err)
}

// userErrors fails an answer whose mutation payload lists userErrors (or a typed list such as
// orderCancelUserErrors), quoting Shopify's messages with the fields and codes they name.
func userErrors(data map[string]any) error {
	roots := make([]string, 0, len(data))
	for k := range data {
		roots = append(roots, k)
	}
	sort.Strings(roots)
	var msgs []string
	seen := map[string]bool{}
	for _, root := range roots {
		payload, _ := data[root].(map[string]any)
		for key, v := range payload {
			if key != "userErrors" && !strings.HasSuffix(key, "UserErrors") {
				continue
			}
			list, _ := v.([]any)
			for _, item := range list {
				m, _ := item.(map[string]any)
				msg := fmt.Sprint(m["message"])
				if fields, ok := m["field"].([]any); ok && len(fields) > 0 {
					parts := make([]string, len(fields))
					for i, f := range fields {
						parts[i] = fmt.Sprint(f)
					}
					msg = strings.Join(parts, ".") + ": " + msg
				}
				if code, ok := m["code"].(string); ok && code != "" {
					msg += " (" + code + ")"
				}
				msg = root + ": " + msg
				if !seen[msg] {
					seen[msg] = true
					msgs = append(msgs, msg)
				}
			}
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	sort.Strings(msgs)
	return nodes.NewPermanent(CodeUserError, errors.New("shopify: "+strings.Join(msgs, "; ")))
}
