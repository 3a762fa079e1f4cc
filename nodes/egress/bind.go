package egress

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// DestinationsFunc gives the destinations of the credential a request may carry. It is called for every
// request (and every redirect) a bound client sends, so it should remember what it resolved.
type DestinationsFunc func(ctx context.Context) (name string, ds Destinations, err error)

// Bind returns a client that sends requests, redirects included, only to the destinations of one credential:
// any other URL is refused with CodeDestinationRefused before a connection is opened. The engine gives every
// step that names a credential such a client, so whatever a flow's parameters say (a URL typed by an editor, a
// redirect answered by a server), the credential's secret reaches only the places an admin stored it for. The
// returned client shares client's transport and connection pool.
func Bind(client *http.Client, destinations DestinationsFunc) *http.Client {
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &boundTransport{next: next, destinations: destinations}
	return &c
}

type boundTransport struct {
	next         http.RoundTripper
	destinations DestinationsFunc
}

func (b *boundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := b.check(req.Context(), req.URL); err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper must close the body, even on error
		}
		return nil, err
	}
	return b.next.RoundTrip(req)
}

func (b *boundTransport) check(ctx context.Context, u *url.URL) error {
	name, ds, err := b.destinations(ctx)
	if err != nil {
		return err
	}
	if ds.Allows(u) {
		return nil
	}
	return refusedDestination(name, u, ds)
}

func refusedDestination(name string, u *url.URL, ds Destinations) *Error {
	target := u.Scheme + "://" + u.Host
	if len(ds) == 0 {
		return &Error{Code: CodeDestinationRefused, Host: u.Host, Message: fmt.Sprintf("credential %s names no "+
			"destinations it may be sent to, so it is not sent to %s; an admin must list its allowed destinations", name, target)}
	}
	return &Error{Code: CodeDestinationRefused, Host: u.Host, Message: fmt.Sprintf("credential %s may only be "+
		"sent to %v, not to %s%s; an admin can add the destination to the credential", name, ds.Strings(), target, u.EscapedPath())}
}

// CheckDestination returns the refusal a request to u through client would meet from the credential the
// client is bound to (nil when it is not bound, or u is allowed), without sending anything or looking u's host
// up, so a node can refuse before it renders a request that carries the secret.
func CheckDestination(ctx context.Context, client *http.Client, u *url.URL) error {
	if client == nil {
		return nil
	}
	if b, ok := client.Transport.(*boundTransport); ok {
		return b.check(ctx, u)
	}
	return nil
}

// Check returns the refusal a request to u through client would meet, from the credential binding and from the
// address rules of the guard behind client (which looks the host up), without sending anything: a dry run shows
// the refusal a live run would meet. A host that does not resolve is not a refusal: the live run will say.
func Check(ctx context.Context, client *http.Client, u *url.URL) error {
	if err := CheckDestination(ctx, client, u); err != nil {
		return err
	}
	if client == nil {
		return nil
	}
	t := client.Transport
	if b, ok := t.(*boundTransport); ok {
		t = b.next
	}
	if gt, ok := t.(*guardTransport); ok {
		if err := gt.g.CheckURL(ctx, u); Refused(err) != nil {
			return err
		}
	}
	return nil
}
