package nodes

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// secretHeaders are request headers never copied into a trigger's payload: they carry the caller's credentials.
var secretHeaders = map[string]bool{"authorization": true, "proxy-authorization": true, "cookie": true}

// PayloadHeaders is how webhook triggers put a request's headers into run data: lower-cased names, the first
// value of each, and credentials (Authorization, Proxy-Authorization, Cookie) replaced by "[redacted]", so a
// run never stores what a caller authenticated with.
func PayloadHeaders(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for name, values := range h {
		if len(values) == 0 {
			continue
		}
		key := strings.ToLower(name)
		if secretHeaders[key] {
			out[key] = "[redacted]"
			continue
		}
		out[key] = values[0]
	}
	return out
}

// FirstValues is a query string or form as run data: each name with its first value, which is what flows read.
func FirstValues(q map[string][]string) map[string]any {
	out := make(map[string]any, len(q))
	for k, v := range q {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// TruncateUTF8 cuts s to at most n bytes without splitting a character, for texts kept in errors and records
// of refused calls.
func TruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
