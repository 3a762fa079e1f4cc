package egress

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

func TestInternalAddresses(t *testing.T) {
	internal := []string{"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
		"100.100.100.200", "0.0.0.0", "::1", "::", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "fd00:ec2::254",
		"fe80::1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "224.0.0.1", "255.255.255.255", "198.18.0.1"}
	for _, s := range internal {
		if !Internal(netip.MustParseAddr(s)) {
			t.Errorf("%s is internal, Internal said no", s)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"} {
		if Internal(netip.MustParseAddr(s)) {
			t.Errorf("%s is public, Internal said internal", s)
		}
	}
}

// fakeDNS resolves names from a table; unknown names do not exist.
func fakeDNS(table map[string]string) Resolver {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		if a, ok := table[strings.ToLower(host)]; ok {
			return []netip.Addr{netip.MustParseAddr(a)}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
}

func noProxy(*url.URL) (*url.URL, error) { return nil, nil }

func wantCode(t *testing.T, err error, code string) *Error {
	t.Helper()
	e := Refused(err)
	if e == nil {
		t.Fatalf("want a refusal with code %s, got %v", code, err)
	}
	if e.Code != code {
		t.Fatalf("want code %s, got %s (%s)", code, e.Code, e.Message)
	}
	return e
}

// TestLoopbackRefusedUnlessAllowed: the attack of the review, a request to a server on the loopback address,
// is refused, and the admin's allow-list opens it.
func TestLoopbackRefusedUnlessAllowed(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1); io.WriteString(w, "secret") }))
	defer srv.Close()
	g := New(Options{Proxy: noProxy})
	_, err := g.Client().Get(srv.URL)
	e := wantCode(t, err, CodeAddressRefused)
	if !strings.Contains(e.Message, "allowed-internal-hosts") {
		t.Errorf("the message should say how to allow it: %s", e.Message)
	}
	if hits.Load() != 0 {
		t.Fatalf("the server was reached %d times", hits.Load())
	}
	g.SetAllowList(MustAllowList("127.0.0.0/8"))
	res, err := g.Client().Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed range: %v", err)
	}
	res.Body.Close()
	if hits.Load() != 1 {
		t.Fatalf("hits = %d, want 1", hits.Load())
	}
}

// TestNameCheckedOnResolvedAddress: a name that looks public but resolves to an internal address (DNS
// rebinding) is refused; allowing the name opens it, except for metadata addresses.
func TestNameCheckedOnResolvedAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	g := New(Options{Proxy: noProxy, Resolve: fakeDNS(map[string]string{
		"rebind.example.com": "127.0.0.1", "crm.corp.example": "127.0.0.1", "meta.corp.example": "169.254.169.254",
		"metadata.google.internal": "93.184.216.34",
	})})
	_, err := g.Client().Get("http://rebind.example.com:" + port + "/")
	e := wantCode(t, err, CodeAddressRefused)
	if !strings.Contains(e.Host, "127.0.0.1") {
		t.Errorf("the refusal should name the resolved address: %q", e.Host)
	}
	g.SetAllowList(MustAllowList("*.corp.example"))
	res, err := g.Client().Get("http://crm.corp.example:" + port + "/")
	if err != nil {
		t.Fatalf("an allowed name: %v", err)
	}
	res.Body.Close()
	if _, err := g.Check(t.Context(), "meta.corp.example"); Refused(err) == nil {
		t.Fatalf("an allowed name must not open a metadata address: %v", err)
	}
	if _, err := g.Check(t.Context(), "rebind.example.com"); Refused(err) == nil {
		t.Fatalf("a name outside the pattern stays refused: %v", err)
	}
	if _, err := g.Check(t.Context(), "Metadata.Google.Internal."); Refused(err) == nil {
		t.Fatalf("a metadata service's name is refused whatever it resolves to: %v", err)
	}
	for _, host := range []string{"169.254.169.254", "[::1]", "::ffff:127.0.0.1", "0.0.0.0", "localhost", "x.localhost"} {
		if _, err := g.Check(t.Context(), host); Refused(err) == nil {
			t.Errorf("%s: want a refusal, got %v", host, err)
		}
	}
}

// TestRedirectToInternalRefused: an allowed server that redirects to the metadata service does not get the
// guard to follow: every connection is checked, not only the first URL.
func TestRedirectToInternalRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam/security-credentials/", http.StatusFound)
	}))
	defer srv.Close()
	g := New(Options{Proxy: noProxy, Allow: MustAllowList(srv.Listener.Addr().(*net.TCPAddr).IP.String())})
	_, err := g.Client().Get(srv.URL)
	wantCode(t, err, CodeAddressRefused)
}

// TestProxyChecksDestination: behind a proxy the guard checks the destination itself before handing the
// request over, since the proxy would connect anywhere; the proxy's own (internal) address is trusted.
func TestProxyChecksDestination(t *testing.T) {
	var seen atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		io.WriteString(w, "via proxy "+r.URL.Host)
	}))
	defer proxy.Close()
	proxyURL, _ := url.Parse(proxy.URL)
	g := New(Options{
		Proxy:   func(*url.URL) (*url.URL, error) { return proxyURL, nil },
		Resolve: fakeDNS(map[string]string{"internal.example.com": "10.1.2.3", "public.example.com": "93.184.216.34"}),
	})
	_, err := g.Client().Get("http://internal.example.com/")
	wantCode(t, err, CodeAddressRefused)
	if seen.Load() != 0 {
		t.Fatalf("the proxy was asked for an internal destination")
	}
	res, err := g.Client().Get("http://public.example.com/")
	if err != nil {
		t.Fatalf("public destination through the proxy: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "via proxy public.example.com" {
		t.Fatalf("body %q", body)
	}
}

func TestAllowListEntries(t *testing.T) {
	if _, err := ParseAllowList([]string{"10.0.0.0/8", "192.168.1.5", "crm.lan", "*.corp.example", "[fd00::1]"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"10.0.0.0/33", "http://crm.lan", "crm lan", "*.", "a/b"} {
		if _, err := ParseAllowList([]string{bad}); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestDestinations(t *testing.T) {
	cases := []struct {
		dest    string
		allowed []string
		refused []string
	}{
		{"https://api.hubspot.com", []string{"https://api.hubspot.com/crm/v3/objects", "https://API.hubspot.com:443/x"},
			[]string{"http://api.hubspot.com/", "https://api.hubspot.com:8443/", "https://api.hubspot.com.evil.com/", "https://evil.com/api.hubspot.com"}},
		{"api.example.com", []string{"https://api.example.com/v1"}, []string{"http://api.example.com/v1", "https://api.example.com:444/"}},
		{"api.example.com:8443", []string{"https://api.example.com:8443/"}, []string{"https://api.example.com/"}},
		{"*.myshopify.com", []string{"https://shop-1.myshopify.com/admin", "https://a.b.myshopify.com/"},
			[]string{"https://myshopify.com/", "https://evilmyshopify.com/", "http://shop.myshopify.com/"}},
		{"http://crm.lan:8080/api", []string{"http://crm.lan:8080/api", "http://crm.lan:8080/api/deals"},
			[]string{"http://crm.lan:8080/apix", "http://crm.lan:8080/api/../admin", "http://crm.lan:8080/api/%2e%2e/admin", "http://crm.lan/api"}},
	}
	for _, c := range cases {
		ds, err := ParseDestinations([]string{c.dest})
		if err != nil {
			t.Fatalf("%s: %v", c.dest, err)
		}
		for _, s := range c.allowed {
			if u, _ := url.Parse(s); !ds.Allows(u) {
				t.Errorf("%s should allow %s", c.dest, s)
			}
		}
		for _, s := range c.refused {
			if u, _ := url.Parse(s); ds.Allows(u) {
				t.Errorf("%s should refuse %s", c.dest, s)
			}
		}
	}
	for _, bad := range []string{"", "ftp://x.com", "https://user:pw@x.com", "https://x.com/?q=1", "x.com/path", "*.1.2.3.4", "https://"} {
		if _, err := ParseDestination(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

// TestBindRefusesOtherDestinations: a client bound to a credential's destinations sends nothing elsewhere, and a
// redirect from an allowed destination to another host is refused, not followed without the header.
func TestBindRefusesOtherDestinations(t *testing.T) {
	var evilHits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
	}))
	defer evil.Close()
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/go-elsewhere" {
			http.Redirect(w, r, evil.URL+"/collect", http.StatusTemporaryRedirect)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer good.Close()
	g := New(Options{Proxy: noProxy, Allow: MustAllowList("127.0.0.1")})
	ds, err := ParseDestinations([]string{good.URL})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	bound := Bind(g.Client(), func(context.Context) (string, Destinations, error) { calls++; return "CRM key", ds, nil })
	res, err := bound.Get(good.URL + "/deals")
	if err != nil {
		t.Fatalf("allowed destination: %v", err)
	}
	res.Body.Close()
	_, err = bound.Get(evil.URL + "/collect")
	e := wantCode(t, err, CodeDestinationRefused)
	if !strings.Contains(e.Message, "CRM key") || !strings.Contains(e.Message, good.URL) {
		t.Errorf("the message should name the credential and where it may go: %s", e.Message)
	}
	_, err = bound.Get(good.URL + "/go-elsewhere")
	wantCode(t, err, CodeDestinationRefused)
	if evilHits.Load() != 0 {
		t.Fatalf("the other server was reached %d times", evilHits.Load())
	}
	u, _ := url.Parse(evil.URL)
	if Refused(CheckDestination(t.Context(), bound, u)) == nil {
		t.Fatalf("CheckDestination must report the refusal without sending")
	}
	if err := CheckDestination(t.Context(), g.Client(), u); err != nil {
		t.Fatalf("an unbound client has no destinations to enforce: %v", err)
	}
	if err := Check(t.Context(), g.Client(), u); err != nil {
		t.Fatalf("the loopback address is allowed here: %v", err)
	}
	if err := Check(t.Context(), New(Options{Proxy: noProxy}).Client(), u); Refused(err) == nil {
		t.Fatalf("Check must apply the address rules of the guard behind the client: %v", err)
	}
	none := Bind(g.Client(), func(context.Context) (string, Destinations, error) { return "bare", nil, nil })
	_, err = none.Get(good.URL)
	e = wantCode(t, err, CodeDestinationRefused)
	if !strings.Contains(e.Message, "names no destinations") {
		t.Errorf("message: %s", e.Message)
	}
	failing := Bind(g.Client(), func(context.Context) (string, Destinations, error) { return "", nil, errors.New("vault down") })
	if _, err := failing.Get(good.URL); err == nil || !strings.Contains(err.Error(), "vault down") {
		t.Fatalf("a failure to read the destinations must stop the request: %v", err)
	}
}
