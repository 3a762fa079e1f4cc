// Package egress is Ferry's one way out. Every connection that leaves the process (the HTTP node, connectors,
// OAuth2 token requests, connection tests, webhook verifications that call the provider back) is made through a
// Guard, which
//
//   - refuses loopback, private, link-local, metadata and other internal addresses unless an admin allowed
//     them, checking the address it actually connects to, after resolving the name, on every connection: a
//     name that resolves to an internal address (DNS rebinding) and a redirect to one are refused alike;
//   - binds a credential to the destinations it was stored for (Bind): a request that carries it, redirects
//     included, goes nowhere else.
//
// Both refusals are *Error values with a stable code, so a step fails for good with a message that says what to
// change, and the engine never retries a refusal.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// Stable codes of refused connections.
const (
	// CodeAddressRefused: the destination is (or resolves to) an internal address no admin allowed.
	CodeAddressRefused = "egress_address_refused"
	// CodeDestinationRefused: the request would carry a credential somewhere it was not stored for.
	CodeDestinationRefused = "credential_destination_refused"
)

// Error is a refused connection or request.
type Error struct {
	Code string
	// Host is what was refused: the host name (and the address it resolved to) or the URL's host.
	Host    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Resolver looks up the addresses of a host name; tests give the guard their own.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// Options configure a Guard.
type Options struct {
	// Allow is the admin's allow-list of internal addresses and names (the allowed-internal-hosts setting);
	// SetAllowList replaces it at runtime.
	Allow AllowList
	// Resolve looks host names up; nil means the system resolver.
	Resolve Resolver
	// Proxy gives the proxy for a request; nil means the HTTP_PROXY, HTTPS_PROXY and NO_PROXY environment
	// variables, read once. The proxy's own address is trusted (an admin configured it); the destination behind it
	// is checked here before the request is handed over.
	Proxy func(*url.URL) (*url.URL, error)
	// Timeout bounds a whole exchange of the clients the guard makes (Client); zero means 5 minutes. Nodes
	// bound their own requests with contexts.
	Timeout time.Duration
}

// Guard makes outgoing connections that respect the address rules. It is safe for concurrent use; one Guard
// (one connection pool) serves the whole process.
type Guard struct {
	allow     atomic.Pointer[AllowList]
	resolve   Resolver
	proxy     func(*url.URL) (*url.URL, error)
	dialer    *net.Dialer
	transport *http.Transport
	client    *http.Client
}

// guardTransport is the guard's transport as clients hold it, so Check can find the guard behind a client.
type guardTransport struct {
	*http.Transport
	g *Guard
}

// New returns a Guard.
func New(o Options) *Guard {
	g := &Guard{resolve: o.Resolve, proxy: o.Proxy,
		dialer: &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}}
	if g.resolve == nil {
		g.resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if g.proxy == nil {
		g.proxy = httpproxy.FromEnvironment().ProxyFunc()
	}
	allow := o.Allow
	g.allow.Store(&allow)
	g.transport = &http.Transport{
		Proxy:                 g.proxyFor,
		DialContext:           g.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	g.client = &http.Client{Transport: &guardTransport{Transport: g.transport, g: g}, Timeout: timeout}
	return g
}

// SetAllowList replaces the allow-list; connections opened afterwards follow it. Pooled connections to an
// address no longer allowed are closed.
func (g *Guard) SetAllowList(l AllowList) {
	g.allow.Store(&l)
	g.transport.CloseIdleConnections()
}

// AllowList returns the allow-list in force.
func (g *Guard) AllowList() AllowList { return *g.allow.Load() }

// Client returns the guard's shared HTTP client: every connection it opens, redirects included, follows the
// address rules.
func (g *Guard) Client() *http.Client { return g.client }

// Transport returns the guard's transport, for callers that build their own client around it (their own
// timeout or redirect policy) without giving up the address rules.
func (g *Guard) Transport() http.RoundTripper { return g.client.Transport }

// DialContext connects to addr ("host:port") after checking every address the host resolves to, and connects
// only to an address it checked, so the name cannot resolve differently between the check and the connection.
// Non-HTTP connections (SMTP, databases) use it directly.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("egress: %w", err)
	}
	if g.isProxy(addr) {
		return g.dialer.DialContext(ctx, network, addr)
	}
	addrs, err := g.Check(ctx, host)
	if err != nil {
		return nil, err
	}
	var last error
	for _, a := range addrs {
		conn, err := g.dialer.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, last
}

// Check resolves host and returns the addresses a connection may use, or an *Error when the host is a blocked
// name or every address it resolves to is internal and not allowed. A lookup failure is returned as it is.
func (g *Guard) Check(ctx context.Context, host string) ([]netip.Addr, error) {
	host = strings.Trim(host, "[]")
	allow := g.AllowList()
	byName := false
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a.Unmap()}
	} else {
		byName = allow.allowsName(host)
		if blockedName(host) && !byName {
			return nil, refusedAddress(host, "")
		}
		found, err := g.resolve(ctx, host)
		if err != nil {
			return nil, err
		}
		for _, a := range found {
			addrs = append(addrs, a.Unmap())
		}
		if len(addrs) == 0 {
			return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
		}
	}
	var ok []netip.Addr
	var refused netip.Addr
	for _, a := range addrs {
		if permitted(a, byName, allow) {
			ok = append(ok, a)
		} else if !refused.IsValid() {
			refused = a
		}
	}
	if len(ok) == 0 {
		return nil, refusedAddress(host, refused.String())
	}
	return ok, nil
}

// CheckURL checks the host of u as Check does, without keeping the addresses.
func (g *Guard) CheckURL(ctx context.Context, u *url.URL) error {
	_, err := g.Check(ctx, u.Hostname())
	return err
}

func permitted(a netip.Addr, byName bool, allow AllowList) bool {
	switch {
	case allow.allowsAddr(a):
		return true
	case !Internal(a):
		return true
	case byName:
		return !inAny(a, linkLocalPrefixes)
	}
	return false
}

func refusedAddress(host, addr string) *Error {
	what := host
	if addr != "" && addr != host {
		what = host + " (" + addr + ")"
	}
	return &Error{Code: CodeAddressRefused, Host: what, Message: fmt.Sprintf("connections to %s are refused: it is a "+
		"loopback, private, link-local or metadata address; an admin can allow internal hosts in the settings "+
		"(allowed-internal-hosts)", what)}
}

// proxyFor gives the proxy for a request and, when there is one, checks the destination itself first: the
// proxy would connect to whatever it is asked to.
func (g *Guard) proxyFor(req *http.Request) (*url.URL, error) {
	p, err := g.proxy(req.URL)
	if err != nil || p == nil {
		return p, err
	}
	if err := g.CheckURL(req.Context(), req.URL); err != nil {
		return nil, err
	}
	return p, nil
}

// isProxy reports whether addr is a proxy the environment configured, which is dialled without the checks.
func (g *Guard) isProxy(addr string) bool {
	for _, scheme := range []string{"https", "http"} {
		p, err := g.proxy(&url.URL{Scheme: scheme, Host: "egress-proxy-probe.invalid"})
		if err != nil || p == nil {
			continue
		}
		port := p.Port()
		if port == "" {
			port = defaultPort(p.Scheme)
		}
		if strings.EqualFold(net.JoinHostPort(p.Hostname(), port), addr) {
			return true
		}
	}
	return false
}

// Refused returns the *Error inside err, or nil: how callers tell a refused destination from a network failure.
func Refused(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

var (
	defaultOnce  sync.Once
	defaultGuard *Guard
)

// Default returns a process-wide guard with no internal host allowed, for callers given no client of their
// own (a node executed outside the engine): there is no way out that skips the address rules.
func Default() *Guard {
	defaultOnce.Do(func() { defaultGuard = New(Options{}) })
	return defaultGuard
}

// NoProxy is an Options.Proxy that sends every request directly, whatever the environment says.
func NoProxy(*url.URL) (*url.URL, error) { return nil, nil }
