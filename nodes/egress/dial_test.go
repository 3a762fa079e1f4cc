package egress

import (
	"context"
	"net"
	"testing"
)

// TestDialFollowsGuardAndBinding: a non-HTTP connection (SMTP) meets the same refusals as a request: the loopback
// address unless allowed, and any host:port the client's credential was not stored for.
func TestDialFollowsGuardAndBinding(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	ctx := context.Background()

	strict := New(Options{Proxy: noProxy})
	_, err = Dial(ctx, strict.Client(), "tcp", addr)
	wantCode(t, err, CodeAddressRefused)
	wantCode(t, CheckAddress(ctx, strict.Client(), addr), CodeAddressRefused)

	open := New(Options{Proxy: noProxy, Allow: MustAllowList("127.0.0.0/8")})
	c, err := Dial(ctx, open.Client(), "tcp", addr)
	if err != nil {
		t.Fatalf("allowed loopback: %v", err)
	}
	_ = c.Close()

	bound := Bind(open.Client(), func(context.Context) (string, Destinations, error) {
		return "smtp", MustDestinations("127.0.0.1:" + port), nil
	})
	c, err = Dial(ctx, bound, "tcp", addr)
	if err != nil {
		t.Fatalf("bound to its own destination: %v", err)
	}
	_ = c.Close()
	if err := CheckAddress(ctx, bound, addr); err != nil {
		t.Fatalf("check of an allowed address: %v", err)
	}
	_, err = Dial(ctx, bound, "tcp", "127.0.0.1:1")
	wantCode(t, err, CodeDestinationRefused)
	wantCode(t, CheckAddress(ctx, bound, "127.0.0.1:1"), CodeDestinationRefused)

	pattern := MustDestinations("*.mail.example.com:465")
	if !pattern.AllowsAddress("smtp.mail.example.com", "465") || pattern.AllowsAddress("smtp.mail.example.com", "25") ||
		pattern.AllowsAddress("mail.example.com", "465") {
		t.Error("a host pattern admits its subdomains on its port only")
	}
}
