package egress

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"
)

// Destination is a place a credential may be sent: a base URL ("https://api.hubspot.com",
// "http://crm.lan:8080/api"), a host ("api.example.com", "api.example.com:8443") or a host pattern
// ("*.myshopify.com"). A host or pattern means HTTPS on the given port (443 when none is given); plain HTTP must
// be asked for with an http:// URL. A URL with a path admits that path and what lies below it.
type Destination struct {
	scheme string
	host   string // lower case; "*.example.com" for a pattern
	port   string // always set: the scheme's default when none was given
	path   string // "" or a cleaned prefix without trailing slash ("/api")
	raw    string
}

// ParseDestination reads one destination; the error says what is wrong with it.
func ParseDestination(s string) (Destination, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return Destination{}, fmt.Errorf("a destination may not be empty")
	}
	d := Destination{raw: raw}
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return Destination{}, fmt.Errorf("%q is not a URL", raw)
		}
		if u.Scheme != "https" && u.Scheme != "http" {
			return Destination{}, fmt.Errorf("%q must start with https:// or http://", raw)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return Destination{}, fmt.Errorf("%q may hold a scheme, host, port and path only", raw)
		}
		d.scheme, d.host, d.port = u.Scheme, normalizeHost(u.Hostname()), u.Port()
		if p := strings.TrimRight(u.Path, "/"); p != "" {
			d.path = path.Clean("/" + p)
		}
	} else {
		if strings.ContainsAny(raw, "/?#@") {
			return Destination{}, fmt.Errorf("%q is neither a URL nor a host name", raw)
		}
		d.scheme = "https"
		host, port, err := net.SplitHostPort(raw)
		if err != nil {
			host, port = raw, ""
		}
		d.host, d.port = normalizeHost(strings.Trim(host, "[]")), port
	}
	name := strings.TrimPrefix(d.host, "*.")
	if d.host == "" || (!validHostName(name) && !isAddress(d.host)) || (d.host != name && isAddress(name)) {
		return Destination{}, fmt.Errorf("%q does not name a host", raw)
	}
	if d.port == "" {
		d.port = defaultPort(d.scheme)
	}
	return d, nil
}

func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

// String is the destination as it was given.
func (d Destination) String() string { return d.raw }

// allows reports whether a request to u may carry the credential.
func (d Destination) allows(u *url.URL) bool {
	if u == nil || u.Scheme != d.scheme {
		return false
	}
	port := u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	if port != d.port {
		return false
	}
	host := normalizeHost(u.Hostname())
	if strings.HasPrefix(d.host, "*.") {
		if !strings.HasSuffix(host, d.host[1:]) || len(host) <= len(d.host)-1 {
			return false
		}
	} else if host != d.host {
		return false
	}
	if d.path == "" {
		return true
	}
	// The path is compared as the server will read it: "/api/../admin" is "/admin", not under "/api".
	p := path.Clean("/" + u.Path)
	return p == d.path || strings.HasPrefix(p, d.path+"/")
}

// Destinations are every place one credential may be sent.
type Destinations []Destination

// ParseDestinations reads a list of destinations; the error names the first bad entry.
func ParseDestinations(list []string) (Destinations, error) {
	out := make(Destinations, 0, len(list))
	for _, s := range list {
		d, err := ParseDestination(s)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Allows reports whether a request to u may carry the credential.
func (ds Destinations) Allows(u *url.URL) bool {
	for _, d := range ds {
		if d.allows(u) {
			return true
		}
	}
	return false
}

// Strings returns the destinations as they were given.
func (ds Destinations) Strings() []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.raw
	}
	return out
}

// Origin returns the scheme, host and port of an http(s) URL ("https://api.stripe.com"), or "" when raw is not
// one: how a connector's credential type turns a base URL field into its default destination.
func Origin(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Origins returns the origins of the URLs that are http(s) URLs, without repeats.
func Origins(raws ...string) []string {
	var out []string
	for _, raw := range raws {
		if o := Origin(raw); o != "" && !contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// MustDestinations is ParseDestinations for fixed lists in code and tests; it panics on a bad entry.
func MustDestinations(list ...string) Destinations {
	ds, err := ParseDestinations(list)
	if err != nil {
		panic("egress: " + err.Error())
	}
	return ds
}
