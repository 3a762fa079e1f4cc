package egress

import (
	"fmt"
	"net/netip"
	"strings"
)

// AllowList is what an admin lets outgoing connections reach although it is internal: the CRM on the LAN, a
// test double on the loopback address. Entries are addresses ("10.1.2.3"), ranges ("10.1.0.0/16") and host
// names ("crm.corp.example", or "*.corp.example" for its subdomains). An allowed name opens whatever it
// resolves to, except the link-local ranges of cloud metadata services, which only an entry naming the range
// itself opens.
type AllowList struct {
	prefixes []netip.Prefix
	names    []string // exact names, lower case
	suffixes []string // ".corp.example" for "*.corp.example"
	entries  []string
}

// ParseAllowList reads allow-list entries; an entry that is neither an address, a range nor a host name is an
// error that names it.
func ParseAllowList(entries []string) (AllowList, error) {
	var l AllowList
	for _, raw := range entries {
		e := strings.TrimSpace(raw)
		if e == "" {
			continue
		}
		switch {
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return AllowList{}, fmt.Errorf("%q is not an address range such as 10.0.0.0/8", e)
			}
			l.prefixes = append(l.prefixes, p.Masked())
		case isAddress(e):
			a, _ := netip.ParseAddr(strings.Trim(e, "[]"))
			l.prefixes = append(l.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		case strings.HasPrefix(e, "*."):
			name := normalizeHost(e[2:])
			if !validHostName(name) {
				return AllowList{}, fmt.Errorf("%q is not a host name pattern such as *.corp.example", e)
			}
			l.suffixes = append(l.suffixes, "."+name)
		default:
			name := normalizeHost(e)
			if !validHostName(name) {
				return AllowList{}, fmt.Errorf("%q is not an address, an address range or a host name", e)
			}
			l.names = append(l.names, name)
		}
		l.entries = append(l.entries, e)
	}
	return l, nil
}

// MustAllowList is ParseAllowList for fixed lists in code and tests; it panics on a bad entry.
func MustAllowList(entries ...string) AllowList {
	l, err := ParseAllowList(entries)
	if err != nil {
		panic("egress: " + err.Error())
	}
	return l
}

// Entries returns the list as it was given, for display.
func (l AllowList) Entries() []string { return append([]string(nil), l.entries...) }

// allowsName reports whether host was allowed by name.
func (l AllowList) allowsName(host string) bool {
	host = normalizeHost(host)
	for _, n := range l.names {
		if host == n {
			return true
		}
	}
	for _, s := range l.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// allowsAddr reports whether addr lies in an allowed range.
func (l AllowList) allowsAddr(addr netip.Addr) bool {
	return inAny(addr, l.prefixes)
}

func isAddress(s string) bool {
	_, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return err == nil
}

// validHostName accepts names of letters, digits, hyphens and underscores in dot-separated labels.
func validHostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			default:
				return false
			}
		}
	}
	return true
}
