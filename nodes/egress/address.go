package egress

import (
	"net/netip"
	"strings"
)

// internalPrefixes are the address ranges an outgoing connection may not reach unless an admin allowed them:
// everything that is not a public unicast address on the internet. A request whose answer is handed back to the
// caller (a webhook answered by core.http's output) would otherwise read the cloud metadata service, the
// database or an admin interface on the LAN (server-side request forgery).
var internalPrefixes = mustPrefixes(
	// IPv4
	"0.0.0.0/8",       // "this network"; 0.0.0.0 reaches the local host on Linux
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // carrier-grade NAT; Alibaba Cloud's metadata service is 100.100.100.200
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local; the metadata service of AWS, GCP, Azure and others is 169.254.169.254
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation
	"192.88.99.0/24",  // 6to4 relay anycast
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation
	"203.0.113.0/24",  // documentation
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast
	"::/128",          // unspecified
	"::1/128",         // loopback
	"::ffff:0:0/96",   // IPv4-mapped: checked again as IPv4 below, listed in case unmapping is skipped
	"64:ff9b::/96",    // NAT64: reaches any IPv4 address, the internal ones included, through a gateway
	"64:ff9b:1::/48",  // local-use NAT64
	"100::/64",        // discard
	"2001::/32",       // Teredo: tunnels to an embedded IPv4 address
	"2001:db8::/32",   // documentation
	"2002::/16",       // 6to4: embeds an IPv4 address
	"fc00::/7",        // unique local (private); AWS's IPv6 metadata service is fd00:ec2::254
	"fe80::/10",       // link-local
	"fec0::/10",       // site-local (deprecated, still routed on some networks)
	"ff00::/8",        // multicast
)

// linkLocalPrefixes hold the cloud metadata services. An allowed host name never opens them: only an
// allow-list entry that names the address range itself does.
var linkLocalPrefixes = mustPrefixes("169.254.0.0/16", "fe80::/10", "100.100.100.200/32", "fd00:ec2::254/128")

// blockedNames are host names of metadata services and of the local host that are refused whatever they
// resolve to, unless an admin allowed the name itself: on a cloud machine they answer with credentials.
var blockedNames = []string{
	"localhost",
	"metadata",
	"metadata.google.internal",
	"metadata.goog",
	"metadata.azure.internal",
	"instance-data",
	"instance-data.ec2.internal",
}

func mustPrefixes(list ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(list))
	for i, s := range list {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Internal reports whether addr is loopback, private, link-local, multicast, reserved or otherwise not a public
// unicast address, so connections to it are refused by default.
func Internal(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return true
	}
	for _, p := range internalPrefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func inAny(addr netip.Addr, prefixes []netip.Prefix) bool {
	addr = addr.Unmap()
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// blockedName reports whether host is a metadata service's or the local host's name.
func blockedName(host string) bool {
	host = normalizeHost(host)
	for _, n := range blockedNames {
		if host == n {
			return true
		}
	}
	return strings.HasSuffix(host, ".localhost")
}

// normalizeHost lower-cases a host name and drops the trailing dot of a fully qualified name, so
// "Metadata.Google.Internal." is the name it stands for.
func normalizeHost(host string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
}
