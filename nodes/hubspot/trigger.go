package hubspot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
)

// TriggerType is the node type of the HubSpot webhook trigger.
const TriggerType = "hubspot.trigger"

// Stable codes of the trigger's refusals, recorded with every refused request.
const (
	CodeMethodNotAllowed      = "hubspot_method_not_allowed"     // 405: HubSpot POSTs
	CodeBodyTooLarge          = "hubspot_body_too_large"         // 413
	CodeSignatureMissing      = "hubspot_signature_missing"      // 401: no X-HubSpot-Signature-v3 or timestamp
	CodeTimestampInvalid      = "hubspot_timestamp_invalid"      // 401: the timestamp is not within 5 minutes
	CodeSignatureInvalid      = "hubspot_signature_invalid"      // 401: the signature does not match any secret
	CodeDeliveryInvalid       = "hubspot_delivery_invalid"       // 400: not a JSON list of events
	CodeCredentialMissing     = "hubspot_credential_missing"     // 500: no credential, or no client secret
	CodeCredentialUnavailable = "hubspot_credential_unavailable" // 503: the vault failed
)

// MaxSkew is how far the request's timestamp may be from now, as HubSpot's libraries allow (300,000 ms).
const MaxSkew = 5 * time.Minute

// maxWebhookBytes is above any batch HubSpot sends (at most 100 events).
const maxWebhookBytes = 1 << 20

// now is the clock freshness is judged by; tests move it.
var now = time.Now

func init() {
	nodes.MustRegister(triggerSpec(2), newTrigger(false))
	nodes.MustRegister(triggerSpec(1), newTrigger(true))
}

// triggerSpec is the trigger's spec. Version 2 starts a run per event; version 1, which flows saved before it keep,
// starts one run per request with the events in a list (trigger.body.events).
func triggerSpec(version int) nodes.Spec {
	spec := nodes.Spec{
		Type: TriggerType, Version: 2, Name: "HubSpot webhook", Category: nodes.CategoryCRM, Trigger: true, Webhook: true,
		Description: "Starts a run for each verified HubSpot webhook event (a record created, changed, deleted, associated); a request with several events starts one run per event.",
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Event", Kind: nodes.PortMain}},
		Credentials: []string{CredentialWebhook}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "targetUrl", Label: "Target URL", Type: nodes.TypeString, Required: true,
				Description: "The target URL exactly as it is set in the app's webhook settings (this flow's /hooks/{flowId} " +
					"address as HubSpot reaches it): HubSpot signs it, and behind a proxy Ferry cannot know it otherwise.",
				Examples: []nodes.Example{{Name: "Webhook address", Value: "https://ferry.example.com/hooks/3f2a…"}}},
			{Name: "subscriptionTypes", Label: "Subscription types", Type: nodes.TypeString,
				Description: "Event types this flow runs for, separated by commas; empty accepts every type. Events of other types start no run; a batch with none of them is acknowledged with no run.",
				Examples: []nodes.Example{{Name: "Deals", Value: "deal.creation, deal.propertyChange"},
					{Name: "Contacts", Value: "contact.creation, contact.propertyChange"}}},
		},
		Docs: "Receives the webhooks of a HubSpot app's subscriptions (the app's Webhooks settings: target URL `/hooks/{flowId}`, " +
			"the same URL in *Target URL*).\n\n" +
			"**Verification:** `X-HubSpot-Signature-v3` must be base64(HMAC-SHA256(client secret, method + URI + body + " +
			"timestamp)), as HubSpot's libraries compute it (`Signature.getSignature` in hubspot-api-nodejs, " +
			"`hubspot/utils/signature.py` in hubspot-api-python), compared in constant time; the URI is *Target URL*, tried as " +
			"written and with the escapes HubSpot's documentation decodes (`%3A` `%2F` `%3F` `%40` `%21` `%24` `%27` `%28` " +
			"`%29` `%2A` `%2C` `%3B`) decoded. `X-HubSpot-Request-Timestamp` (milliseconds) must be within 5 minutes of " +
			"Ferry's clock, either way. Each client secret listed (one a line, while one is rotated) is tried.\n\n" +
			"**Output:** HubSpot sends up to 100 events in one request; each event of a subscribed type starts a run of its " +
			"own, all of them stored before HubSpot is answered (events of other types start none). A run's trigger is its " +
			"event with the request's headers: `{\"body\": {eventId, subscriptionType, objectId, propertyName, propertyValue, " +
			"occurredAt, portalId, changeSource…}, \"headers\", \"method\", \"query\"}`, so a flow reads " +
			"`trigger.body.objectId`. The test webhook runs the first subscribed event of a batch only.\n\n" +
			"**Keys:** the dedup key is `hubspot:` and the event's `eventId`: when HubSpot delivers a batch again, its events " +
			"that already have a run start none, the others do. The business key is the event's `objectId`.\n\n" +
			"**Answer:** 200 once the runs are stored. **Refusals:** 401 `" + CodeSignatureMissing + "`, `" + CodeTimestampInvalid +
			"`, `" + CodeSignatureInvalid + "`; 400 `" + CodeDeliveryInvalid + "`; 405 `" + CodeMethodNotAllowed + "`; 413 `" +
			CodeBodyTooLarge + "`, `" + nodes.CodeTooManyEvents + "` (more than 100 events); 500 `" + CodeCredentialMissing +
			"`; 503 `" + CodeCredentialUnavailable + "`. HubSpot retries a refused batch up to 10 times over 24 hours.",
	}
	if version == 1 {
		spec.Version = 1
		spec.Description = "Starts a run for each verified batch of HubSpot webhook events (version 1: the events of a request together; version 2 starts a run per event)."
		spec.Outputs = []nodes.Port{{ID: nodes.DefaultPort, Label: "Events", Kind: nodes.PortMain}}
		out := strings.Index(spec.Docs, "**Output:**")
		refusals := strings.Index(spec.Docs, "**Answer:**")
		spec.Docs = spec.Docs[:out] + "**Output (version 1):** the run gets the events of a request together: `{\"body\": {provider, " +
			"count, events: [{eventId, subscriptionType, objectId, …}]}, \"headers\", \"method\", \"query\"}` (the events " +
			"of other subscription types dropped); loop over `trigger.body.events`. Version 2 starts a run per event; flows " +
			"saved with version 1 keep it until the node is replaced.\n\n" +
			"**Keys (version 1):** the dedup key is made of the batch's event ids, so HubSpot's retry of the batch starts no " +
			"second run; the business key is the first event's object id.\n\n" + spec.Docs[refusals:]
	}
	return spec
}

type triggerNode struct {
	// batch is version 1: one run for the events of a request together.
	batch  bool
	target string
	types  map[string]bool // empty accepts all
}

func newTrigger(batch bool) nodes.Constructor {
	return func(cfg *nodes.Config) (nodes.Node, error) {
		return configureTrigger(cfg, batch)
	}
}

func configureTrigger(cfg *nodes.Config, batch bool) (nodes.Node, error) {
	n := &triggerNode{batch: batch, target: strings.TrimSpace(cfg.String("targetUrl")), types: cfg.Names("subscriptionTypes", nil, "")}
	if u, err := url.Parse(n.target); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		cfg.Fail("targetUrl", nodes.CodeParamInvalid, fmt.Sprintf("%q is not the https address HubSpot calls", n.target))
	}
	if cfg.Credential == "" {
		cfg.Fail("credential", core.CodeCredentialRequired, "the trigger needs a hubspot.webhook credential holding the app's client secret")
	}
	return n, cfg.Err()
}

func reject(status int, code string, err error) *nodes.WebhookError {
	return &nodes.WebhookError{Status: status, Code: code, Err: err}
}

// uriDecoder decodes the escapes HubSpot's webhook documentation lists for the v3 signature's URI.
var uriDecoder = strings.NewReplacer("%3A", ":", "%2F", "/", "%3F", "?", "%40", "@", "%21", "!", "%24", "$", "%27", "'",
	"%28", "(", "%29", ")", "%2A", "*", "%2C", ",", "%3B", ";")

// SignV3 is X-HubSpot-Signature-v3 of a request, as HubSpot's libraries compute it:
// base64(HMAC-SHA256(secret, method + uri + body + timestamp)).
func SignV3(secret, method, uri string, body []byte, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(method + uri))
	mac.Write(body)
	mac.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// VerifyV3 reports whether signature is the v3 signature of the request under one of secrets, with uri as
// written or with HubSpot's documented escapes decoded, in constant time.
func VerifyV3(signature, method, uri string, body []byte, timestamp string, secrets []string) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	uris := []string{uri}
	if d := uriDecoder.Replace(uri); d != uri {
		uris = append(uris, d)
	}
	ok := false
	for _, s := range secrets {
		for _, u := range uris {
			want, _ := base64.StdEncoding.DecodeString(SignV3(s, method, u, body, timestamp))
			if hmac.Equal(want, got) {
				ok = true
			}
		}
	}
	return ok
}

// Accept verifies a batch of events and turns each event the flow subscribes to into a run's trigger payload;
// the body is parsed only once its signature holds.
func (n *triggerNode) Accept(ctx context.Context, req *nodes.WebhookRequest) (*nodes.Accepted, error) {
	if req.Method != http.MethodPost {
		return nil, reject(http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Errorf("hubspot: method %s not allowed, HubSpot sends POST", req.Method))
	}
	if len(req.Body) > maxWebhookBytes {
		return nil, reject(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Errorf("hubspot: body is larger than %d bytes", maxWebhookBytes))
	}
	sig, ts := strings.TrimSpace(req.Header.Get("X-HubSpot-Signature-v3")), strings.TrimSpace(req.Header.Get("X-HubSpot-Request-Timestamp"))
	if sig == "" || ts == "" {
		return nil, reject(http.StatusUnauthorized, CodeSignatureMissing, errors.New("hubspot: no X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp header"))
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, reject(http.StatusUnauthorized, CodeTimestampInvalid, fmt.Errorf("hubspot: X-HubSpot-Request-Timestamp %q is not milliseconds since 1970", truncate(ts, 40)))
	}
	if skew := now().Sub(time.UnixMilli(ms)); skew > MaxSkew || skew < -MaxSkew {
		return nil, reject(http.StatusUnauthorized, CodeTimestampInvalid, fmt.Errorf("hubspot: the request was signed %s from now, more than %s", skew.Round(time.Second), MaxSkew))
	}
	keys, err := triggerSecrets(ctx, req)
	if err != nil {
		return nil, err
	}
	if !VerifyV3(sig, req.Method, n.target, req.Body, ts, keys) {
		return nil, reject(http.StatusUnauthorized, CodeSignatureInvalid, errors.New("hubspot: X-HubSpot-Signature-v3 does not match the request under the client secret and the target URL"))
	}
	raw, err := nodes.DecodeJSON(req.Body)
	list, isList := raw.([]any)
	if err != nil || !isList {
		return nil, reject(http.StatusBadRequest, CodeDeliveryInvalid, errors.New("hubspot: the body is not a JSON list of events"))
	}
	if len(list) > nodes.MaxEvents {
		return nil, reject(http.StatusRequestEntityTooLarge, nodes.CodeTooManyEvents,
			fmt.Errorf("hubspot: the request carries %d events, more than the %d HubSpot sends at most", len(list), nodes.MaxEvents))
	}
	headers, query := nodes.PayloadHeaders(req.Header), nodes.FirstValues(req.Query)
	var events []nodes.Event
	for i, e := range list {
		ev, ok := e.(map[string]any)
		if !ok || ev["eventId"] == nil {
			return nil, reject(http.StatusBadRequest, CodeDeliveryInvalid, fmt.Errorf("hubspot: event %d has no eventId", i+1))
		}
		if len(n.types) > 0 && !n.types[fmt.Sprint(ev["subscriptionType"])] {
			continue
		}
		business := ""
		if ev["objectId"] != nil {
			business = nodes.TruncateUTF8(fmt.Sprint(ev["objectId"]), core.MaxKeyBytes)
		}
		events = append(events, nodes.Event{
			Payload:     map[string]any{"body": ev, "headers": headers, "query": query, "method": req.Method},
			DedupKey:    DedupKey(fmt.Sprint(ev["eventId"])),
			BusinessKey: business,
		})
	}
	if len(events) == 0 {
		return &nodes.Accepted{Skip: true, Ack: &nodes.Response{Status: http.StatusOK}}, nil
	}
	if n.batch {
		return batchAccepted(list, events, headers, query, req.Method), nil
	}
	return &nodes.Accepted{Events: events, Ack: &nodes.Response{Status: http.StatusOK}}, nil
}

// batchAccepted is version 1's one run for a request: its subscribed events in a list, keyed by every event id
// of the request.
func batchAccepted(list []any, events []nodes.Event, headers, query map[string]any, method string) *nodes.Accepted {
	ids := make([]string, 0, len(list))
	for _, e := range list {
		ids = append(ids, fmt.Sprint(e.(map[string]any)["eventId"]))
	}
	bodies := make([]any, len(events))
	for i, ev := range events {
		bodies[i] = ev.Payload["body"]
	}
	return &nodes.Accepted{
		Payload: map[string]any{"body": map[string]any{"provider": Provider, "count": int64(len(events)), "events": bodies},
			"headers": headers, "query": query, "method": method},
		DedupKey:    batchDedupKey(ids),
		BusinessKey: events[0].BusinessKey,
		Ack:         &nodes.Response{Status: http.StatusOK},
	}
}

// batchDedupKey is version 1's dedup key for a request's event ids: sorted and joined, or their SHA-256 when that
// is longer than a key may be. HubSpot retries a batch as it was, so a retry has the key of the first.
func batchDedupKey(ids []string) string {
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	key := "hubspot:" + strings.Join(sorted, ",")
	if len(key) <= core.MaxKeyBytes {
		return key
	}
	sum := sha256.Sum256([]byte(strings.Join(sorted, ",")))
	return "hubspot:sha256:" + hex.EncodeToString(sum[:])
}

// DedupKey is the dedup key of the run of the event with HubSpot's eventId, the key a batch of that one event
// had before each event got a run of its own: HubSpot retries a batch as it was, and each event of the retry
// finds its run. An id longer than a key may be is replaced by its SHA-256.
func DedupKey(eventID string) string {
	key := "hubspot:" + eventID
	if len(key) <= core.MaxKeyBytes {
		return key
	}
	sum := sha256.Sum256([]byte(eventID))
	return "hubspot:sha256:" + hex.EncodeToString(sum[:])
}

// Execute passes the accepted event on unchanged: it is the first step of every run.
func (n *triggerNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// triggerSecrets reads the client secrets, telling a misconfigured flow (500) from a vault that failed (503).
func triggerSecrets(ctx context.Context, req *nodes.WebhookRequest) ([]string, error) {
	if req.Credential == nil {
		return nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("hubspot: the trigger has no credential: %w", nodes.ErrNoCredential))
	}
	fields, err := req.Credential(ctx)
	if errors.Is(err, nodes.ErrNoCredential) {
		return nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("hubspot: the trigger has no credential: %w", err))
	}
	if err != nil {
		return nil, reject(http.StatusServiceUnavailable, CodeCredentialUnavailable, fmt.Errorf("hubspot: load credential: %w", err))
	}
	keys := secrets(fields[FieldClientSecret])
	if len(keys) == 0 {
		return nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("hubspot: the credential has no %q (the app's client secret)", FieldClientSecret))
	}
	return keys, nil
}

// truncate cuts s to at most n bytes, for quoting a header in an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

var _ nodes.WebhookTrigger = (*triggerNode)(nil)
