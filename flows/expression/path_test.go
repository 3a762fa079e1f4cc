package expression

import "testing"

func TestPathLookup(t *testing.T) {
	data := map[string]any{
		"customer": map[string]any{"phone": "+8613800138000", "tags": []any{"vip", "cn"}},
		"meta":     map[string]any{"order.id": "A-1"},
		"none":     nil,
	}
	tests := []struct {
		path  string
		want  any
		found bool
	}{
		{"customer.phone", "+8613800138000", true},
		{"customer.tags[1]", "cn", true},
		{"customer.tags.0", "vip", true},
		{"customer.tags[-1]", "cn", true},
		{`meta["order.id"]`, "A-1", true},
		{"none", nil, true},
		{"none.x", nil, false},
		{"customer.email", nil, false},
		{"customer.tags[5]", nil, false},
		{"customer.phone.x", nil, false},
	}
	for _, tc := range tests {
		p, err := ParsePath(tc.path)
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", tc.path, err)
		}
		if p.String() != tc.path {
			t.Errorf("String = %q, want %q", p.String(), tc.path)
		}
		got, found := p.Lookup(data)
		if got != tc.want || found != tc.found {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tc.path, got, found, tc.want, tc.found)
		}
	}
	whole, _ := ParsePath("$")
	if v, ok := whole.Lookup("x"); !ok || v != "x" {
		t.Errorf("$ = %v, %v", v, ok)
	}
	for _, bad := range []string{"a..b", "a.", "items[x]", "a[0", `a["x]`} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) accepted", bad)
		}
	}
}
