package engine_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// fetch is a connector-like node that sends a GET to its url parameter with its own code, the way a connector
// builds requests: the engine's binding must hold for every node, not only core.http.
type fetch struct{ url string }

func (f fetch) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	cred, err := x.Credential(ctx)
	if err != nil {
		return nodes.Result{}, err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	req.Header.Set("Authorization", "Bearer "+cred["token"])
	res, err := x.Client().Do(req)
	if err != nil {
		return nodes.Result{}, nodes.NewRetryable("fetch_network", err)
	}
	res.Body.Close()
	return nodes.Result{Output: map[string]any{"status": res.StatusCode}}, nil
}

func init() {
	main := []nodes.Port{{ID: "main", Label: "Main", Kind: nodes.PortMain}}
	nodes.MustRegister(nodes.Spec{Type: "enginetest.fetch", Version: 1, Name: "Fetch", Category: nodes.CategoryAction,
		Inputs: main, Outputs: main, Credentials: []string{"enginetest.key"},
		Params: []nodes.Field{{Name: "url", Label: "URL", Type: nodes.TypeString}}},
		func(cfg *nodes.Config) (nodes.Node, error) { return fetch{url: cfg.String("url")}, cfg.Err() })
}

func fetchFlow(url string) string {
	return `{"schema":1,"name":"f","nodes":[{"id":"in","type":"test.trigger"},
	 {"id":"call","type":"enginetest.fetch","credential":"key-1","params":{"url":"` + url + `"}}],
	 "edges":[{"source":"in","target":"call"}]}`
}

// TestStepsSendCredentialsOnlyToTheirDestinations: a step's client is bound to its credential's destinations,
// whatever node sends the request; a credential of a type the node does not accept is never opened for it; the
// credential is resolved once per step although the node and its client both ask.
func TestStepsSendCredentialsOnlyToTheirDestinations(t *testing.T) {
	var goodHits, evilHits atomic.Int32
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { goodHits.Add(1) }))
	defer good.Close()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { evilHits.Add(1) }))
	defer evil.Close()
	var resolves atomic.Int32
	typ := "enginetest.key"
	e := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: func(_ context.Context, id string, _ nodes.Mode) (*nodes.ResolvedCredential, error) {
		resolves.Add(1)
		return &nodes.ResolvedCredential{Name: "CRM", Type: typ, Fields: map[string]string{"token": "s3cret"},
			Destinations: egress.MustDestinations(good.URL)}, nil
	}}

	c := compile(t, fetchFlow(good.URL+"/deals"))
	out := e.Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if out.Status != engine.StatusSucceeded || goodHits.Load() != 1 || resolves.Load() != 1 {
		t.Fatalf("allowed destination: %s %+v, %d hits, %d resolves", out.Status, out.Error, goodHits.Load(), resolves.Load())
	}

	c = compile(t, fetchFlow(evil.URL+"/collect"))
	out = e.Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if out.Status != engine.StatusFailed || out.Error.Code != egress.CodeDestinationRefused || out.Error.Kind != string(nodes.Permanent) {
		t.Fatalf("other destination: %s %+v", out.Status, out.Error)
	}
	if evilHits.Load() != 0 {
		t.Fatalf("the credential reached another server")
	}

	typ = "webhook.hmac"
	c = compile(t, fetchFlow(good.URL))
	out = e.Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if out.Status != engine.StatusFailed || out.Error.Code != engine.CodeCredentialTypeRefused || goodHits.Load() != 1 {
		t.Fatalf("a credential of another type: %s %+v", out.Status, out.Error)
	}

	failing := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: func(context.Context, string, nodes.Mode) (*nodes.ResolvedCredential, error) {
		return nil, errors.New("vault unavailable")
	}}
	out = failing.Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if out.Status == engine.StatusSucceeded || goodHits.Load() != 1 {
		t.Fatalf("a credential that cannot be read sends nothing: %s, %d hits", out.Status, goodHits.Load())
	}
}
