package stripe

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
)

// stripeMockVersion is the stripe-mock release the conformance test runs against.
const stripeMockVersion = "v0.203.0"

// stripeMock starts a stripe-mock server on a free loopback port and returns its base URL. It uses a stripe-mock
// binary on PATH or in GOPATH/bin; with FERRY_TEST_STRIPE_MOCK=1 and no binary it installs the pinned release
// into a temporary directory first. Otherwise the test is skipped.
func stripeMock(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		if gopath, gerr := exec.Command("go", "env", "GOPATH").Output(); gerr == nil {
			candidate := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "stripe-mock")
			if _, serr := os.Stat(candidate); serr == nil {
				bin, err = candidate, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("FERRY_TEST_STRIPE_MOCK") != "1" {
			testenv.Missing(t, "stripe-mock not found on PATH or in GOPATH/bin; set FERRY_TEST_STRIPE_MOCK=1 to install github.com/stripe/stripe-mock@"+
				stripeMockVersion+" for this test, or install it yourself")
		}
		dir := t.TempDir()
		install := exec.Command("go", "install", "github.com/stripe/stripe-mock@"+stripeMockVersion)
		install.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("install stripe-mock %s: %v\n%s", stripeMockVersion, err, out)
		}
		bin = filepath.Join(dir, "stripe-mock")
	}
	started := time.Now()
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	listening := regexp.MustCompile(`Listening for HTTP at address: (\S+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			t.Fatal("stripe-mock exited before listening")
		}
		t.Logf("stripe-mock %s listening at %s after %s", bin, addr, time.Since(started).Round(time.Millisecond))
		return "http://" + addr
	case <-time.After(30 * time.Second):
		t.Fatal("stripe-mock did not start within 30s")
	}
	return ""
}

// TestAgainstStripeMock runs every action against stripe-mock, which checks each request against Stripe's
// OpenAPI description: paths, form encoding of nested parameters, and parameter names.
func TestAgainstStripeMock(t *testing.T) {
	base := stripeMock(t)
	x := &nodes.Exec{RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeTest, IdempotencyKey: "run1:n1:" + time.Now().Format("150405.000000"), HTTP: testenv.LocalClient(),
		Env:        map[string]any{"trigger": order, "prev": order, "nodes": map[string]any{}, "vars": map[string]any{}, "env": "test"},
		Credential: credFunc(map[string]string{FieldSecretKey: "sk_test_123", FieldAPIBase: base}, nil)}
	ctx := context.Background()

	create := mustBuild(t, PaymentIntentCreateType, `{"amount": "{{ trigger.amount_cents }}", "currency": "{{ trigger.currency }}",
		"orderId": "{{ trigger.order_id }}", "receiptEmail": "{{ trigger.email }}", "captureMethod": "manual",
		"description": "Order {{ trigger.order_id }}", "metadata": {"source": "ferry"}, "extra": {"payment_method_types[0]": "card"}}`)
	res, err := create.Execute(ctx, x)
	if err != nil {
		t.Fatalf("create payment intent: %v (%+v)", err, nodes.Classify(err).Details)
	}
	pi := res.Output.(map[string]any)
	id, _ := pi["id"].(string)
	if !strings.HasPrefix(id, "pi_") || pi["object"] != "payment_intent" {
		t.Fatalf("payment intent = %#v", pi)
	}

	res, err = mustBuild(t, PaymentIntentRetrieveType, `{"id": "`+id+`", "expand": "latest_charge"}`).Execute(ctx, x)
	if err != nil || res.Output.(map[string]any)["object"] != "payment_intent" {
		t.Fatalf("retrieve: %v %v", res.Output, err)
	}

	x.IdempotencyKey += ":refund"
	res, err = mustBuild(t, RefundType, `{"paymentIntent": "`+id+`", "amount": "500", "reason": "requested_by_customer", "orderId": "{{ trigger.order_id }}"}`).Execute(ctx, x)
	if err != nil || res.Output.(map[string]any)["object"] != "refund" {
		t.Fatalf("refund: %v %v", res.Output, err)
	}

	x.IdempotencyKey += ":customer"
	res, err = mustBuild(t, CustomerUpsertType, `{"email": "{{ trigger.email }}", "name": "Ada Lovelace", "phone": "+44 20 7946 0000", "metadata": {"crm_id": "42"}}`).Execute(ctx, x)
	if err != nil {
		t.Fatalf("upsert customer: %v (%+v)", err, nodes.Classify(err).Details)
	}
	if c := res.Output.(map[string]any)["customer"].(map[string]any); c["object"] != "customer" {
		t.Fatalf("customer = %#v", c)
	}

	// stripe-mock validates parameters: an unknown one is refused as Stripe would, and the failure is permanent.
	bad := mustBuild(t, PaymentIntentCreateType, `{"amount": "100", "currency": "usd", "extra": {"no_such_parameter": "1"}}`)
	_, err = bad.Execute(ctx, x)
	e := wantFailure(t, err, nodes.Permanent, CodeInvalidRequest)
	if d := e.Details.(map[string]any); d["type"] != "invalid_request_error" || d["message"] == nil {
		t.Fatalf("details = %#v", d)
	}

	ct, _ := nodes.LookupCredentialType(CredentialType)
	msg, err := ct.Test(ctx, map[string]string{FieldSecretKey: "sk_test_123", FieldAPIBase: base}, testenv.LocalClient())
	if err != nil {
		t.Fatalf("connection test: %v", err)
	}
	t.Log(msg)
}
