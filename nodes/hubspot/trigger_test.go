package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// vector is testdata/signature-v3.json: a request signed by the v3 branch of Signature.getSignature of
// HubSpot/hubspot-api-nodejs (src/utils/signature.ts), run with Node.js; hubspot-api-python's
// hubspot/utils/signature.py computes the same (method + uri + body + timestamp, HMAC-SHA256, base64). Neither
// library decodes the URI; it is signed as given.
type vector struct {
	ClientSecret string `json:"clientSecret"`
	RequestBody  string `json:"requestBody"`
	URL          string `json:"url"`
	Timestamp    int64  `json:"timestamp"`
	Method       string `json:"method"`
	Signature    string `json:"signature"`
}

func loadVector(t *testing.T) vector {
	t.Helper()
	b, err := os.ReadFile("testdata/signature-v3.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// at sets the clock the timestamp is judged by.
func at(t *testing.T, ms int64) {
	prev := now
	now = func() time.Time { return time.UnixMilli(ms) }
	t.Cleanup(func() { now = prev })
}

func trigger(t *testing.T, target, types string) nodes.WebhookTrigger {
	t.Helper()
	return triggerVersion(t, 2, target, types)
}

func triggerVersion(t *testing.T, version int, target, types string) nodes.WebhookTrigger {
	t.Helper()
	reg, ok := nodes.Lookup(TriggerType, version)
	if !ok {
		t.Fatalf("%s version %d is not registered", TriggerType, version)
	}
	raw := map[string]json.RawMessage{}
	for k, v := range map[string]any{"targetUrl": target, "subscriptionTypes": types} {
		b, _ := json.Marshal(v)
		raw[k] = b
	}
	n, err := reg.New(nodes.NewConfig(&reg.Spec, "t", raw, "cred-1"))
	if err != nil {
		t.Fatal(err)
	}
	return n.(nodes.WebhookTrigger)
}

func request(v vector, secret string) *nodes.WebhookRequest {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-HubSpot-Signature-v3", v.Signature)
	h.Set("X-HubSpot-Request-Timestamp", strconv.FormatInt(v.Timestamp, 10))
	h.Set("X-HubSpot-Signature-Version", "v3")
	return &nodes.WebhookRequest{Method: v.Method, Header: h, Body: []byte(v.RequestBody), Mode: nodes.ModeLive,
		Credential: func(context.Context) (map[string]string, error) {
			return map[string]string{FieldClientSecret: secret}, nil
		}}
}

func TestVectorVerifies(t *testing.T) {
	v := loadVector(t)
	if got := SignV3(v.ClientSecret, v.Method, v.URL, []byte(v.RequestBody), strconv.FormatInt(v.Timestamp, 10)); got != v.Signature {
		t.Fatalf("SignV3 = %s, HubSpot's library %s", got, v.Signature)
	}
	at(t, v.Timestamp+4*60*1000)
	acc, err := trigger(t, v.URL, "").Accept(context.Background(), request(v, "old-secret\n"+v.ClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	// One run per event: the event is the run's body, its eventId the dedup key, its objectId the business key.
	if len(acc.Events) != 2 || acc.Ack.Status != http.StatusOK || acc.Skip || acc.Payload != nil {
		t.Fatalf("accepted %+v", acc)
	}
	for i, want := range []struct{ dedup, business, typ string }{
		{"hubspot:1001", "9001", "deal.propertyChange"}, {"hubspot:1002", "501", "contact.creation"},
	} {
		ev := acc.Events[i]
		body := ev.Payload["body"].(map[string]any)
		if ev.DedupKey != want.dedup || ev.BusinessKey != want.business || body["subscriptionType"] != want.typ ||
			fmt.Sprint(body["objectId"]) != want.business || ev.Payload["method"] != http.MethodPost {
			t.Errorf("event %d: keys %q %q, payload %v", i, ev.DedupKey, ev.BusinessKey, ev.Payload)
		}
		if h := ev.Payload["headers"].(map[string]any); h["x-hubspot-request-timestamp"] != "1765100000500" {
			t.Errorf("event %d: the request's headers are missing: %v", i, h)
		}
	}
	// A filter applies to each event: the other events start no run; a batch with none of them is acknowledged
	// with no run.
	acc, err = trigger(t, v.URL, "contact.creation").Accept(context.Background(), request(v, v.ClientSecret))
	if err != nil || len(acc.Events) != 1 || acc.Events[0].DedupKey != "hubspot:1002" || acc.Events[0].BusinessKey != "501" {
		t.Fatalf("filtered: %+v %v", acc, err)
	}
	acc, err = trigger(t, v.URL, "company.deletion").Accept(context.Background(), request(v, v.ClientSecret))
	if err != nil || !acc.Skip || acc.Ack.Status != http.StatusOK || len(acc.Events) != 0 {
		t.Fatalf("no subscribed event: %v %v", acc, err)
	}
}

// TestTargetURLDecoding: HubSpot's documentation has the URI's %3A, %2F, %3F… decoded before signing; a target
// URL written with them verifies either way.
func TestTargetURLDecoding(t *testing.T) {
	v := loadVector(t)
	at(t, v.Timestamp)
	v.URL = "https://ferry.example.com/hooks/3f2a6c1e?source=crm%3Adeals"
	v.Signature = SignV3(v.ClientSecret, v.Method, "https://ferry.example.com/hooks/3f2a6c1e?source=crm:deals", []byte(v.RequestBody), strconv.FormatInt(v.Timestamp, 10))
	if _, err := trigger(t, v.URL, "").Accept(context.Background(), request(v, v.ClientSecret)); err != nil {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	v := loadVector(t)
	at(t, v.Timestamp)
	n := trigger(t, v.URL, "")
	refused := func(name string, req *nodes.WebhookRequest, status int, code string) {
		t.Helper()
		_, err := n.Accept(context.Background(), req)
		var we *nodes.WebhookError
		if !errors.As(err, &we) || we.Status != status || we.Code != code {
			t.Errorf("%s: %v, want %d %s", name, err, status, code)
		}
	}
	tampered := request(v, v.ClientSecret)
	tampered.Body = []byte(strings.Replace(v.RequestBody, "closedwon", "closedlost", 1))
	refused("tampered body", tampered, 401, CodeSignatureInvalid)
	refused("wrong key", request(v, "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"), 401, CodeSignatureInvalid)
	otherURL := trigger(t, "https://ferry.example.com/hooks/other", "")
	if _, err := otherURL.Accept(context.Background(), request(v, v.ClientSecret)); err == nil {
		t.Error("a signature for another target URL verified")
	}
	moved := request(v, v.ClientSecret)
	moved.Header.Set("X-HubSpot-Request-Timestamp", strconv.FormatInt(v.Timestamp+1, 10))
	refused("timestamp changed", moved, 401, CodeSignatureInvalid)
	noSig := request(v, v.ClientSecret)
	noSig.Header.Del("X-HubSpot-Signature-v3")
	refused("no signature", noSig, 401, CodeSignatureMissing)
	noTS := request(v, v.ClientSecret)
	noTS.Header.Del("X-HubSpot-Request-Timestamp")
	refused("no timestamp", noTS, 401, CodeSignatureMissing)
	get := request(v, v.ClientSecret)
	get.Method = http.MethodGet
	refused("GET", get, 405, CodeMethodNotAllowed)
	refused("no secret", request(v, ""), 500, CodeCredentialMissing)
	broken := request(v, v.ClientSecret)
	broken.Credential = func(context.Context) (map[string]string, error) { return nil, errors.New("vault sealed") }
	refused("vault failed", broken, 503, CodeCredentialUnavailable)

	// Stale: signed more than 5 minutes ago, or more than 5 minutes ahead.
	at(t, v.Timestamp+5*60*1000+1)
	refused("stale", request(v, v.ClientSecret), 401, CodeTimestampInvalid)
	at(t, v.Timestamp-5*60*1000-1)
	refused("from the future", request(v, v.ClientSecret), 401, CodeTimestampInvalid)

	// A signed body that is not a list of events.
	at(t, v.Timestamp)
	obj := v
	obj.RequestBody = `{"eventId": 1}`
	obj.Signature = SignV3(v.ClientSecret, v.Method, v.URL, []byte(obj.RequestBody), strconv.FormatInt(v.Timestamp, 10))
	refused("not a list", request(obj, v.ClientSecret), 400, CodeDeliveryInvalid)
}

// TestDedupKeyOfOneEvent: an event's key is the key its batch of one had before, so a redelivery of an event
// accepted then finds its run; an id longer than a key may be is hashed.
func TestDedupKeyOfOneEvent(t *testing.T) {
	if k := DedupKey("9000000001"); k != "hubspot:9000000001" {
		t.Fatalf("key %q", k)
	}
	long := strings.Repeat("7", 400)
	if k := DedupKey(long); !strings.HasPrefix(k, "hubspot:sha256:") || k == DedupKey(long+"8") {
		t.Fatalf("key of a long id %q", k)
	}
}

// TestBatchBound: HubSpot sends at most 100 events in a request; more are refused, signed or not, before any run.
func TestBatchBound(t *testing.T) {
	v := loadVector(t)
	at(t, v.Timestamp)
	for _, n := range []int{nodes.MaxEvents, nodes.MaxEvents + 1} {
		events := make([]string, n)
		for i := range events {
			events[i] = fmt.Sprintf(`{"eventId":%d,"subscriptionType":"contact.creation","objectId":%d}`, 5000+i, 700+i)
		}
		big := v
		big.RequestBody = "[" + strings.Join(events, ",") + "]"
		big.Signature = SignV3(v.ClientSecret, v.Method, v.URL, []byte(big.RequestBody), strconv.FormatInt(v.Timestamp, 10))
		acc, err := trigger(t, v.URL, "").Accept(context.Background(), request(big, v.ClientSecret))
		var we *nodes.WebhookError
		switch {
		case n <= nodes.MaxEvents && (err != nil || len(acc.Events) != n || acc.Events[n-1].BusinessKey != strconv.Itoa(700+n-1)):
			t.Errorf("%d events: %v", n, err)
		case n > nodes.MaxEvents && (!errors.As(err, &we) || we.Status != http.StatusRequestEntityTooLarge || we.Code != nodes.CodeTooManyEvents):
			t.Errorf("%d events: %v, want 413 %s", n, err, nodes.CodeTooManyEvents)
		}
	}
}

func TestTriggerNeedsTargetURL(t *testing.T) {
	reg, _ := nodes.Lookup(TriggerType, 1)
	raw := map[string]json.RawMessage{"targetUrl": json.RawMessage(`"/hooks/1"`)}
	if _, err := reg.New(nodes.NewConfig(&reg.Spec, "t", raw, "cred-1")); err == nil {
		t.Fatal("a relative target URL was accepted")
	}
}

// TestVersion1KeepsBatches: flows saved with version 1 keep its shape, one run for a request's events together,
// so a flow reading trigger.body.events goes on working; new flows get version 2.
func TestVersion1KeepsBatches(t *testing.T) {
	v := loadVector(t)
	at(t, v.Timestamp)
	acc, err := triggerVersion(t, 1, v.URL, "").Accept(context.Background(), request(v, v.ClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := acc.Payload["body"].(map[string]any)
	events, _ := body["events"].([]any)
	if len(acc.Events) != 0 || len(events) != 2 || body["count"] != int64(2) || acc.DedupKey != "hubspot:1001,1002" ||
		acc.BusinessKey != "9001" || acc.Ack.Status != http.StatusOK {
		t.Fatalf("version 1: %+v", acc)
	}
	acc, err = triggerVersion(t, 1, v.URL, "contact.creation").Accept(context.Background(), request(v, v.ClientSecret))
	if err != nil || len(acc.Payload["body"].(map[string]any)["events"].([]any)) != 1 || acc.DedupKey != "hubspot:1001,1002" {
		t.Fatalf("version 1 filtered: %+v %v", acc, err)
	}
	if reg, _ := nodes.Lookup(TriggerType, 0); reg.Spec.Version != 2 {
		t.Fatalf("new flows get version %d", reg.Spec.Version)
	}
}
