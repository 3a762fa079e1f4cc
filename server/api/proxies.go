package api

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v3"
)

// proxySet is the reverse proxies Ferry trusts to say who their client is.
type proxySet struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies reads a list of trusted proxies: IP addresses (203.0.113.7, 2001:db8::1) and CIDR ranges
// (10.0.0.0/8, fd00::/8), blank entries ignored. It returns the entries in canonical form, as Fiber's
// TrustProxyConfig expects them.
func ParseTrustedProxies(entries []string) ([]string, error) {
	set, err := parseProxies(entries)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(set.prefixes))
	for i, p := range set.prefixes {
		if p.IsSingleIP() {
			out[i] = p.Addr().String()
		} else {
			out[i] = p.String()
		}
	}
	return out, nil
}

func parseProxies(entries []string) (*proxySet, error) {
	set := &proxySet{}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.Contains(e, "/") {
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is not a CIDR range such as 10.0.0.0/8", e)
			}
			set.prefixes = append(set.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an IP address or a CIDR range", e)
		}
		a = a.Unmap()
		set.prefixes = append(set.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return set, nil
}

// client reads X-Forwarded-For hops from the right: the first address that is not a trusted proxy is the
// client. When every hop is a trusted proxy the leftmost is; "" when the rightmost hop is not an address.
func (s *proxySet) client(hops []string) string {
	client := ""
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := hopAddr(hops[i])
		if !ok {
			break // a proxy we trust would not write this: stop before it
		}
		client = a.String()
		if !s.trusts(a) {
			break
		}
	}
	return client
}

// hopAddr reads one X-Forwarded-For entry: an address, or an address with a port as some proxies write it
// (203.0.113.7:51234, [2001:db8::1]:443).
func hopAddr(hop string) (netip.Addr, bool) {
	hop = strings.TrimSpace(hop)
	if a, err := netip.ParseAddr(hop); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(hop); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func (s *proxySet) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddress makes c.IP() the real client behind trusted proxies. Fiber, when the connection comes from a
// trusted proxy, takes the first address of X-Forwarded-For; but that one is whatever the client wrote there
// itself, since each proxy appends the address it saw. The client is the last address not of a trusted proxy,
// read from the right; this middleware leaves only that one in the header, so every c.IP() (sign-in throttling,
// the audit log, refused webhooks) sees it. A request that does not come from a trusted proxy keeps its header,
// which Fiber then ignores.
func clientAddress(proxies *proxySet) fiber.Handler {
	return func(c fiber.Ctx) error {
		if !c.IsProxyTrusted() {
			return c.Next()
		}
		// Several proxies may each add a header line rather than extend one; together they are one list.
		var hops []string
		for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
			hops = append(hops, strings.Split(string(v), ",")...)
		}
		client := proxies.client(hops)
		c.Request().Header.Del(fiber.HeaderXForwardedFor)
		if client != "" {
			c.Request().Header.Set(fiber.HeaderXForwardedFor, client)
		}
		return c.Next()
	}
}
