package api

import "testing"

// TestClientBehindProxies: the client is the last hop that is not a trusted proxy, ports and IPv4-mapped forms
// read as plain addresses; what the client wrote to the left of it is never believed.
func TestClientBehindProxies(t *testing.T) {
	set, err := parseProxies([]string{"10.0.0.0/8", "2001:db8:ffff::1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		hops []string
		want string
	}{
		{[]string{"198.51.100.7"}, "198.51.100.7"},
		{[]string{"6.6.6.6", " 198.51.100.7", "10.1.2.3"}, "198.51.100.7"},
		{[]string{"6.6.6.6", "198.51.100.7:51234", "10.1.2.3"}, "198.51.100.7"},
		{[]string{"[2001:db8::7]:443", "2001:db8:ffff::1"}, "2001:db8::7"},
		{[]string{"::ffff:198.51.100.7", "10.9.9.9"}, "198.51.100.7"},
		{[]string{"10.0.0.1", "10.0.0.2"}, "10.0.0.1"},
		{[]string{"198.51.100.7", "garbage", "10.1.2.3"}, "10.1.2.3"},
		{[]string{"garbage"}, ""},
		{nil, ""},
	} {
		if got := set.client(c.hops); got != c.want {
			t.Errorf("client(%q) = %q, want %q", c.hops, got, c.want)
		}
	}
	if _, err := ParseTrustedProxies([]string{"10.0.0.0/8", "proxy.internal"}); err == nil {
		t.Error("a host name was accepted as a trusted proxy")
	}
	if got, err := ParseTrustedProxies([]string{" 10.1.2.3/8 ", "", "::ffff:192.0.2.1"}); err != nil || len(got) != 2 || got[0] != "10.0.0.0/8" || got[1] != "192.0.2.1" {
		t.Errorf("ParseTrustedProxies = %q, %v", got, err)
	}
}
