package jiandaoyun

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

type pushVectors struct {
	Secret  string `json:"secret"`
	Now     int64  `json:"now"`
	Vectors []struct {
		Name, Body, Nonce, Timestamp, Signature, Want string
	} `json:"vectors"`
}

func loadVectors(t *testing.T) pushVectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/push_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v pushVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func setNow(t *testing.T, sec int64) {
	prev := now
	now = func() time.Time { return time.Unix(sec, 0) }
	t.Cleanup(func() { now = prev })
}

func push(body, nonce, ts, sig string, secret string) *nodes.WebhookRequest {
	h := http.Header{"Content-Type": {"application/json"}}
	if sig != "" {
		h.Set("X-JDY-Signature", sig)
	}
	q := url.Values{}
	if nonce != "" {
		q.Set("nonce", nonce)
	}
	if ts != "" {
		q.Set("timestamp", ts)
	}
	return &nodes.WebhookRequest{Method: http.MethodPost, Header: h, Query: q, Body: []byte(body),
		Credential: func(context.Context) (map[string]string, error) {
			return map[string]string{FieldPushSecret: secret}, nil
		}}
}

func trigger(t *testing.T, ops string) nodes.WebhookTrigger {
	t.Helper()
	return build(t, TriggerType, map[string]any{"ops": ops}).(nodes.WebhookTrigger)
}

func refusal(t *testing.T, err error) *nodes.WebhookError {
	t.Helper()
	var we *nodes.WebhookError
	if !errors.As(err, &we) {
		t.Fatalf("not a webhook refusal: %v", err)
	}
	return we
}

// TestPushVectors: deliveries signed by testdata/push_vectors.py (Python's hashlib, as Jiandaoyun's data push
// guide computes X-JDY-Signature) are accepted, and tampered, wrongly keyed and stale ones refused with 401.
func TestPushVectors(t *testing.T) {
	v := loadVectors(t)
	setNow(t, v.Now)
	tr := trigger(t, "")
	for _, vec := range v.Vectors {
		acc, err := tr.Accept(context.Background(), push(vec.Body, vec.Nonce, vec.Timestamp, vec.Signature, "old-secret\n"+v.Secret))
		if vec.Want == "ok" {
			if err != nil {
				t.Fatalf("%s: %v", vec.Name, err)
			}
			body := acc.Payload["body"].(map[string]any)
			data := body["data"].(map[string]any)
			if body["op"] != "data_update" || data["_widget_1432728651402"] != "简道云" || acc.BusinessKey != "5f7a1c2b3d4e5f6a7b8c9d0e" ||
				acc.DedupKey != "data_update:5f7a1c2b3d4e5f6a7b8c9d0e@2026-12-07T22:00:00.000Z" || acc.Ack.Status != 200 {
				t.Fatalf("%s: accepted %+v", vec.Name, acc)
			}
			continue
		}
		we := refusal(t, err)
		if we.Status != http.StatusUnauthorized || we.Code != vec.Want {
			t.Fatalf("%s: refused %d %s (%v), want 401 %s", vec.Name, we.Status, we.Code, we.Err, vec.Want)
		}
	}
}

// TestPushChecks: the delivery id is the dedup key when Jiandaoyun sends one; events left out of the flow are
// acknowledged with no run; a missing signature, nonce or timestamp, a future timestamp, a body that is not a
// push, another method and a credential without a secret are refused with their codes.
func TestPushChecks(t *testing.T) {
	v := loadVectors(t)
	setNow(t, v.Now+60)
	good := v.Vectors[0]
	ctx := context.Background()
	req := push(good.Body, good.Nonce, good.Timestamp, good.Signature, v.Secret)
	req.Header.Set("X-JDY-DeliverId", "d-123")
	acc, err := trigger(t, "data_update").Accept(ctx, req)
	if err != nil || acc.DedupKey != "d-123" || acc.Skip {
		t.Fatalf("with a delivery id: %+v %v", acc, err)
	}
	acc, err = trigger(t, "data_create").Accept(ctx, push(good.Body, good.Nonce, good.Timestamp, good.Signature, v.Secret))
	if err != nil || !acc.Skip || acc.Ack.Status != 200 {
		t.Fatalf("an event the flow does not take: %+v %v", acc, err)
	}
	tr := trigger(t, "")
	for name, c := range map[string]struct {
		req    *nodes.WebhookRequest
		status int
		code   string
	}{
		"no signature": {push(good.Body, good.Nonce, good.Timestamp, "", v.Secret), 401, CodeSignatureMissing},
		"no nonce":     {push(good.Body, "", good.Timestamp, good.Signature, v.Secret), 401, CodeSignatureMissing},
		"no timestamp": {push(good.Body, good.Nonce, "", good.Signature, v.Secret), 401, CodeSignatureMissing},
		"no secret":    {push(good.Body, good.Nonce, good.Timestamp, good.Signature, ""), 500, CodeCredentialMissing},
		"not a push": {push(`{"hello":1}`, "n", good.Timestamp, Sign("n", []byte(`{"hello":1}`), v.Secret, good.Timestamp), v.Secret),
			400, CodeDeliveryInvalid},
		"future": {push(good.Body, "n", "1796689000", Sign("n", []byte(good.Body), v.Secret, "1796689000"), v.Secret), 401, CodeTimestampStale},
	} {
		_, err := tr.Accept(ctx, c.req)
		if we := refusal(t, err); we.Status != c.status || we.Code != c.code {
			t.Fatalf("%s: %d %s (%v), want %d %s", name, we.Status, we.Code, we.Err, c.status, c.code)
		}
	}
	get := push(good.Body, good.Nonce, good.Timestamp, good.Signature, v.Secret)
	get.Method = http.MethodGet
	if we := refusal(t, func() error { _, err := tr.Accept(ctx, get); return err }()); we.Status != 405 || we.Code != CodeMethodNotAllowed {
		t.Fatalf("GET: %d %s", we.Status, we.Code)
	}
	reg, _ := nodes.Lookup(TriggerType, 1)
	if _, err := reg.New(nodes.NewConfig(&reg.Spec, "n1", map[string]json.RawMessage{"ops": json.RawMessage(`"data_delete"`)}, "cred-1")); err == nil {
		t.Fatal("an unknown event was accepted in the trigger's settings")
	}
}
