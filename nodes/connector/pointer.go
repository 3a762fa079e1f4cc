package connector

import (
	"fmt"
	"strconv"
	"strings"
)

// Pointer is a JSON Pointer (RFC 6901), the way an operation says where a value sits in a request body or an
// answer: "/billing/email", "/data/orders/edges", "/items/0/id". The empty pointer is the whole document.
type Pointer []string

// ParsePointer reads a JSON Pointer; "" is the whole document.
func ParsePointer(s string) (Pointer, error) {
	if s == "" {
		return Pointer{}, nil
	}
	if !strings.HasPrefix(s, "/") {
		return nil, fmt.Errorf("JSON pointer %q must start with /", s)
	}
	parts := strings.Split(s[1:], "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

// MustPointer is ParsePointer for pointers written in code; it panics on a malformed one.
func MustPointer(s string) Pointer {
	p, err := ParsePointer(s)
	if err != nil {
		panic("connector: " + err.Error())
	}
	return p
}

// String writes the pointer back in RFC 6901 form.
func (p Pointer) String() string {
	if len(p) == 0 {
		return ""
	}
	var b strings.Builder
	for _, part := range p {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(part, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// Get returns the value at p in doc (decoded JSON: maps, slices, scalars) and whether it is there.
func (p Pointer) Get(doc any) (any, bool) {
	cur := doc
	for _, part := range p {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[part]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// Set puts value at p in doc, creating the objects on the way, and returns the document (a new object when doc
// is nil). Array indexes are not created: a request body is built from objects.
func (p Pointer) Set(doc map[string]any, value any) map[string]any {
	if doc == nil {
		doc = map[string]any{}
	}
	if len(p) == 0 {
		if m, ok := value.(map[string]any); ok {
			for k, v := range m {
				doc[k] = v
			}
		}
		return doc
	}
	cur := doc
	for _, part := range p[:len(p)-1] {
		next, ok := cur[part].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[part] = next
		}
		cur = next
	}
	cur[p[len(p)-1]] = value
	return doc
}
