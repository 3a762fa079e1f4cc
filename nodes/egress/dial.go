package egress

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// allowsAddress reports whether a connection to host:port that is not an HTTP request (SMTP) may carry the
// credential: a destination admits its host (or pattern) on its port, whatever its scheme and path say, so a
// credential stored for "smtp.example.com:465" goes to that server and port only.
func (d Destination) allowsAddress(host, port string) bool {
	host = normalizeHost(strings.Trim(host, "[]"))
	if port != d.port {
		return false
	}
	if strings.HasPrefix(d.host, "*.") {
		return strings.HasSuffix(host, d.host[1:]) && len(host) > len(d.host)-1
	}
	return host == d.host
}

// AllowsAddress reports whether a connection to host:port that is not an HTTP request may carry the credential.
func (ds Destinations) AllowsAddress(host, port string) bool {
	for _, d := range ds {
		if d.allowsAddress(host, port) {
			return true
		}
	}
	return false
}

// Dial opens a connection for a protocol that is not HTTP (SMTP) through the same checks as the step's HTTP
// client: when client is bound to a credential (Bind), addr must be one of its destinations (host and port),
// else CodeDestinationRefused; and the connection is made by the guard behind client (the default guard when
// client has none), so internal addresses stay refused unless an admin allowed them. It is how a node that
// speaks another protocol leaves the process by the one guarded path.
func Dial(ctx context.Context, client *http.Client, network, addr string) (net.Conn, error) {
	g, err := guardFor(ctx, client, addr)
	if err != nil {
		return nil, err
	}
	return g.DialContext(ctx, network, addr)
}

// CheckAddress returns the refusal a connection to addr through client would meet (Dial), from the credential
// binding and from the address rules, without connecting: a test run shows the refusal a live run would meet. A
// host that does not resolve is not a refusal: the live run will say.
func CheckAddress(ctx context.Context, client *http.Client, addr string) error {
	g, err := guardFor(ctx, client, addr)
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	if _, err := g.Check(ctx, host); Refused(err) != nil {
		return err
	}
	return nil
}

// guardFor checks addr against the destinations client is bound to and returns the guard behind client.
func guardFor(ctx context.Context, client *http.Client, addr string) (*Guard, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("egress: %w", err)
	}
	var t http.RoundTripper
	if client != nil {
		t = client.Transport
	}
	if b, ok := t.(*boundTransport); ok {
		name, ds, err := b.destinations(ctx)
		if err != nil {
			return nil, err
		}
		if !ds.AllowsAddress(host, port) {
			return nil, refusedAddressDestination(name, addr, ds)
		}
		t = b.next
	}
	if gt, ok := t.(*guardTransport); ok {
		return gt.g, nil
	}
	return Default(), nil
}

func refusedAddressDestination(name, addr string, ds Destinations) *Error {
	if len(ds) == 0 {
		return &Error{Code: CodeDestinationRefused, Host: addr, Message: fmt.Sprintf("credential %s names no "+
			"destinations it may be sent to, so it is not sent to %s; an admin must list its allowed destinations", name, addr)}
	}
	return &Error{Code: CodeDestinationRefused, Host: addr, Message: fmt.Sprintf("credential %s may only be "+
		"sent to %v, not to %s; an admin can add the destination (host:port) to the credential", name, ds.Strings(), addr)}
}
