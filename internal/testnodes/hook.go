package testnodes

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/ferry-hq/ferry/nodes"
)

// hook is a webhook trigger in the manner of a payment provider's callback: a form body with an event id that
// is the dedup key, the plain text "success" as the acknowledgement, and the text "fail" as the answer to a
// call it refuses (one carrying sign=bad); a call carrying ignore=1 is acknowledged without a run.
type hook struct{}

func (hook) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

func (hook) Accept(_ context.Context, req *nodes.WebhookRequest) (*nodes.Accepted, error) {
	form, err := url.ParseQuery(string(req.Body))
	if err != nil || form.Get("sign") == "bad" {
		return nil, &nodes.WebhookError{Status: http.StatusBadRequest, Code: "test_signature_invalid",
			Err: errors.New("the signature does not match"), Answer: &nodes.Response{Status: http.StatusBadRequest, Body: "fail"}}
	}
	if form.Get("ignore") == "1" {
		return &nodes.Accepted{Skip: true, Ack: &nodes.Response{Status: http.StatusOK, Body: "success"}}, nil
	}
	return &nodes.Accepted{
		Payload:     map[string]any{"event": form.Get("event_id"), "order": form.Get("order")},
		DedupKey:    form.Get("event_id"),
		BusinessKey: form.Get("order"),
		Ack:         &nodes.Response{Status: http.StatusOK, Body: "success"},
	}, nil
}

// batchHook is a webhook trigger whose provider sends several events in one request, with no acknowledgement
// of its own (Ferry's 202 answers): a JSON list of {"id", "key"}, each event's id its dedup key and key its
// business key.
type batchHook struct{}

func (batchHook) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

func (batchHook) Accept(_ context.Context, req *nodes.WebhookRequest) (*nodes.Accepted, error) {
	var list []map[string]any
	if err := json.Unmarshal(req.Body, &list); err != nil {
		return nil, &nodes.WebhookError{Status: http.StatusBadRequest, Code: "test_batch_invalid", Err: err}
	}
	acc := &nodes.Accepted{}
	for _, ev := range list {
		id, _ := ev["id"].(string)
		key, _ := ev["key"].(string)
		acc.Events = append(acc.Events, nodes.Event{Payload: map[string]any{"body": ev}, DedupKey: id, BusinessKey: key})
	}
	return acc, nil
}

func init() {
	nodes.MustRegister(nodes.Spec{Type: "test.batch", Version: 1, Name: "Test batch webhook", Category: nodes.CategoryTrigger,
		Trigger: true, Webhook: true, Outputs: main}, func(cfg *nodes.Config) (nodes.Node, error) { return batchHook{}, cfg.Err() })
	nodes.MustRegister(nodes.Spec{Type: "test.hook", Version: 1, Name: "Test provider callback", Category: nodes.CategoryTrigger,
		Trigger: true, Webhook: true, Outputs: main}, func(cfg *nodes.Config) (nodes.Node, error) { return hook{}, cfg.Err() })
}
