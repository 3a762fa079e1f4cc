package testenv

import (
	"net/http"
	"sync"

	"github.com/ferry-hq/ferry/nodes/egress"
)

var (
	localOnce  sync.Once
	localGuard *egress.Guard
)

// LocalGuard is an outbound guard that lets connections reach the loopback addresses, where tests run their
// stand-ins for providers; every other internal address stays refused, as in production.
func LocalGuard() *egress.Guard {
	localOnce.Do(func() {
		localGuard = egress.New(egress.Options{Allow: egress.MustAllowList("127.0.0.0/8", "::1"),
			Proxy: egress.NoProxy})
	})
	return localGuard
}

// LocalClient is LocalGuard's HTTP client, for steps and engines under test.
func LocalClient() *http.Client { return LocalGuard().Client() }
