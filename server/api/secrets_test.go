package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-hq/ferry/server/app"
)

// lockedBuffer collects the log of a whole Ferry.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSecretsNeverLeave stores credentials with recognisable secret values, uses them in every way Ferry can
// (a signed webhook, an authenticated HTTP call, a test run with the test variant, a refused signature, reads,
// replacement, export, the audit log), then scans every API response, every log line at debug level, and the
// database files themselves for those values (I5). A buyer's phone number in the webhook goes through the same
// scan: the API masks it and the database holds it sealed. The provider must have received the live token, so the
// secrets were really in play.
func TestSecretsNeverLeave(t *testing.T) {
	const (
		liveToken  = "sk_live_SCAN4f9a7c31e2b8"
		testToken  = "sk_test_SCAN88d0aa61c7f3"
		hmacSecret = "whsec_SCANb51e09d4c2a7"
		newToken   = "sk_live_SCANrotated77e1"
		// A buyer's phone number: personal data, which the API masks and the database keeps sealed.
		phone = "13912345678"
	)
	secrets := []string{liveToken, testToken, hmacSecret, newToken, phone}

	var seenAuth sync.Map
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenAuth.Store(r.Header.Get("Authorization"), true)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer provider.Close()

	logs := &lockedBuffer{}
	cfg, err := app.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	cfg.DataDir, cfg.LogLevel, cfg.LogOutput = dataDir, "debug", logs
	cfg.AllowedInternalHosts = "127.0.0.1" // the tests' stand-ins for providers listen there
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.Runner.Work(ctx, 2) })
	defer func() { cancel(); wg.Wait(); a.Close() }()
	h := &harness{t: t, app: a}
	h.token = h.userToken("admin@example.com", "admin")

	var responses strings.Builder
	call := func(method, path string, body any, want int, headers ...string) map[string]any {
		t.Helper()
		res := h.do(method, path, body, headers...)
		responses.Write(res.body)
		for k, v := range res.header {
			responses.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
		return h.expect(res, want)
	}

	bearer := call("POST", "/api/v1/credentials", map[string]any{"name": "crm", "type": "http.bearer", "allowedDestinations": []string{provider.URL},
		"live": map[string]string{"token": liveToken}, "test": map[string]string{"token": testToken}}, 201)["id"].(string)
	signing := call("POST", "/api/v1/credentials", map[string]any{"name": "shop signing", "type": "webhook.hmac",
		"live": map[string]string{"secret": hmacSecret}}, 201)["id"].(string)
	doc := fmt.Sprintf(`{"schema":1,"name":"signed order","nodes":[
	  {"id":"hook","type":"core.webhook","credential":%q,"params":{"auth":"hmac","signatureHeader":"X-Signature","respond":"respondNode"}},
	  {"id":"crm","type":"core.http","credential":%q,"params":{"method":"POST","url":%q,"bodyType":"json","body":"{{ trigger.body }}"}},
	  {"id":"answer","type":"core.respond","params":{"status":200,"body":"{{ prev }}"}}],
	  "edges":[{"source":"hook","target":"crm"},{"source":"crm","target":"answer"}]}`, signing, bearer, provider.URL)
	flowID := call("POST", "/api/v1/flows/import?publish=true", doc, 201)["id"].(string)

	body := `{"order_id":"A-1","amount":"88.00","customer":{"phone":"` + phone + `"}}`
	mac := hmac.New(sha256.New, []byte(hmacSecret))
	mac.Write([]byte(body))
	call("POST", "/hooks/"+flowID, body, 200, "X-Signature", hex.EncodeToString(mac.Sum(nil)))
	call("POST", "/hooks/"+flowID, body, 401, "X-Signature", "00"+hex.EncodeToString(mac.Sum(nil))[2:])
	call("POST", "/api/v1/flows/"+flowID+"/test", map[string]any{"payload": map[string]any{"body": map[string]any{"order_id": "T-1"}}}, 200)

	runs := call("GET", "/api/v1/runs?flow="+flowID, nil, 200)["runs"].([]any)
	for _, r := range runs {
		call("GET", "/api/v1/runs/"+r.(map[string]any)["id"].(string), nil, 200)
	}
	call("GET", "/api/v1/credentials", nil, 200)
	call("GET", "/api/v1/credentials/"+bearer, nil, 200)
	call("PUT", "/api/v1/credentials/"+bearer, map[string]any{"name": "crm", "live": map[string]string{"token": newToken}}, 200)
	call("GET", "/api/v1/flows/"+flowID+"/export", nil, 200)
	call("GET", "/api/v1/flows/"+flowID, nil, 200)
	call("GET", "/api/v1/audit?limit=500", nil, 200)
	responses.Write(h.do("GET", "/metrics", nil).body)

	if _, ok := seenAuth.Load("Bearer " + liveToken); !ok {
		t.Fatal("the provider never received the live token: the scan would prove nothing")
	}
	cancel()
	wg.Wait()       // the workers have written their last log lines
	a.Store.Close() // flush the database files before reading them
	files := map[string]string{"API responses": responses.String(), "log": logs.String()}
	matches, _ := filepath.Glob(filepath.Join(dataDir, "ferry.db*"))
	for _, f := range matches {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(f)] = string(raw)
	}
	if len(logs.String()) == 0 {
		t.Fatal("no log captured")
	}
	for where, text := range files {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				i := strings.Index(text, s)
				t.Errorf("%s contains the secret %s: …%s…", where, s, text[max(0, i-120):min(len(text), i+len(s)+40)])
			}
		}
	}
}
