package expression

import (
	"regexp"
	"testing"
)

func TestLookup(t *testing.T) {
	statuses := map[string]any{"TRADE_SUCCESS": "paid", "TRADE_CLOSED": "cancelled", "1": "one", "true": "yes"}
	env := func(v any) map[string]any { return map[string]any{"status": v, "table": statuses} }
	runEvalCases(t, []evalCase{
		{src: `lookup(trigger.body.status, trigger.body.table)`, body: env("TRADE_SUCCESS"), want: "paid"},
		{src: `lookup(trigger.body.status, trigger.body.table, "unknown")`, body: env("TRADE_CLOSED"), want: "cancelled"},
		{src: `lookup(trigger.body.status, trigger.body.table, "unknown")`, body: env("WAIT_BUYER_PAY"), want: "unknown"},
		{src: `lookup(trigger.body.status, trigger.body.table, nil)`, body: env("WAIT_BUYER_PAY"), want: nil},
		{src: `lookup(trigger.body.status, trigger.body.table)`, body: env(1.0), want: "one"}, // compared as text
		{src: `lookup(trigger.body.status, trigger.body.table)`, body: env(true), want: "yes"},
		{src: `lookup(trigger.body.status, trigger.body.table, "none")`, body: env(nil), want: "none"},
		{src: `lookup("b", {a: 1, b: 2})`, want: 2},
		{src: `lookup(trigger.body.status, trigger.body.table)`, body: map[string]any{"status": "x", "table": map[string]string{"x": "y"}}, want: "y"},
		{src: `lookup(trigger.body.status, trigger.body.table)`, body: map[string]any{"status": "x", "table": map[string]int{"x": 7}}, want: 7},
		// A missing entry without default is an error naming the value, for the error branch.
		{src: `lookup(trigger.body.status, trigger.body.table)`, body: env("WAIT_BUYER_PAY"),
			err: `lookup: no entry for "WAIT_BUYER_PAY" in the table (it has "1", "TRADE_CLOSED", "TRADE_SUCCESS", "true")`},
		{src: `lookup(trigger.body.status, trigger.body.table)`, body: env(nil), err: "lookup: no entry for null in the table"},
		{src: `lookup(trigger.body.status, trigger.body.table)`, body: env(2.5), err: "lookup: no entry for 2.5 in the table"},
		{src: `lookup("k", trigger.body)`, body: map[string]any{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10, "k2": 11, "l": 12},
			err: `(it has "a", "b", "c", "d", "e", "f", "g", "h", "i", "j" and 2 more)`},
		{src: `lookup("k", trigger.body)`, body: nil, err: "lookup: argument 2 must be an object, got null"},
		{src: `lookup("k", trigger.body)`, body: []any{"k"}, err: "lookup: argument 2 must be an object, got a list"},
		{src: `lookup(trigger.body, {})`, body: map[string]any{}, err: "lookup: argument 1 must be text, got an object"},
		{src: `lookup(nil, trigger.body, 1)`, body: "not a table", err: "lookup: argument 2 must be an object, got text"},
	})
}

func TestJSONGet(t *testing.T) {
	order := map[string]any{
		"customer": map[string]any{
			"name":      "Ada",
			"addresses": []any{map[string]any{"city": "Hangzhou"}, map[string]any{"city": "Shanghai"}},
			"note":      nil,
		},
		"items":    []any{map[string]any{"sku": "A"}, map[string]any{"sku": "B"}},
		"meta":     map[string]any{"order.id": "ord_1", "a]b": 1},
		"tags":     []string{"x", "y"},
		"empty":    "",
		"zero":     0.0,
		"nested":   map[string]map[string]int{"m": {"n": 5}},
		"weird []": true,
	}
	runEvalCases(t, []evalCase{
		{src: `jsonGet(trigger.body, "customer.addresses[0].city")`, body: order, want: "Hangzhou"},
		{src: `jsonGet(trigger.body, "$.customer.addresses[1].city")`, body: order, want: "Shanghai"},
		{src: `jsonGet(trigger.body, "customer.addresses[-1].city")`, body: order, want: "Shanghai"},
		{src: `jsonGet(trigger.body, "items.1.sku")`, body: order, want: "B"},
		{src: `jsonGet(trigger.body, "items[0]")`, body: order, want: map[string]any{"sku": "A"}},
		{src: `jsonGet(trigger.body, "meta[\"order.id\"]")`, body: order, want: "ord_1"},
		{src: `jsonGet(trigger.body, "meta[\"a]b\"]")`, body: order, want: 1},
		{src: `jsonGet(trigger.body, "tags[1]")`, body: order, want: "y"},
		{src: `jsonGet(trigger.body, "nested.m.n")`, body: order, want: 5},
		{src: `jsonGet(trigger.body, "empty", "d")`, body: order, want: ""}, // only missing and null use the default
		{src: `jsonGet(trigger.body, "zero", 1)`, body: order, want: 0.0},
		{src: `jsonGet(trigger.body, "")`, body: order, want: order},
		{src: `jsonGet(trigger.body, "$")`, body: []any{1.0}, want: []any{1.0}},
		{src: `jsonGet(trigger.body, "[1]")`, body: []any{"a", "b"}, want: "b"},
		// Missing steps and nulls give the default, or null.
		{src: `jsonGet(trigger.body, "customer.phone", "none")`, body: order, want: "none"},
		{src: `jsonGet(trigger.body, "customer.note", "none")`, body: order, want: "none"},
		{src: `jsonGet(trigger.body, "customer.addresses[5].city", "none")`, body: order, want: "none"},
		{src: `jsonGet(trigger.body, "customer.addresses[-3]", "none")`, body: order, want: "none"},
		{src: `jsonGet(trigger.body, "customer.name.first", "none")`, body: order, want: "none"},
		{src: `jsonGet(trigger.body, "customer[0]", "none")`, body: order, want: "none"},
		{src: `jsonGet(trigger.body, "items.x", "none")`, body: order, want: "none"},
		{src: `jsonGet(trigger.body, "customer.phone")`, body: order, want: nil},
		{src: `jsonGet(trigger.body, "a.b")`, body: nil, want: nil},
		// JSON text is decoded first.
		{src: `jsonGet(trigger.body, "customer.addresses[0].city")`, body: `{"customer": {"addresses": [{"city": "Hangzhou"}]}}`, want: "Hangzhou"},
		{src: `jsonGet(trigger.body, "[0]")`, body: `[42]`, want: 42.0},
		{src: `jsonGet(trigger.body, "a")`, body: `{"a": `, err: "jsonGet: argument 1 is not valid JSON"},
		// Bad paths from data are runtime errors; literal ones fail at compile time (see functions_test.go).
		{src: `jsonGet({}, trigger.body)`, body: "a..b", err: `jsonGet: path "a..b": empty key at offset 2`},
		{src: `jsonGet({}, trigger.body)`, body: "a.", err: `jsonGet: path "a.": ends with a dot`},
		{src: `jsonGet({}, trigger.body)`, body: "a[0", err: `jsonGet: path "a[0": missing ]`},
		{src: `jsonGet({}, trigger.body)`, body: "a[0]b", err: `jsonGet: path "a[0]b": missing . before offset 4`},
		{src: `jsonGet({}, trigger.body)`, body: `a["x]`, err: `bad quoted key`},
		{src: `jsonGet({}, trigger.body)`, body: 1.0, err: "jsonGet: argument 2 must be text, got a number"},
	})
}

func TestParsePath(t *testing.T) {
	steps, err := parsePath(`a.b[2]["c.d"][-1].e`)
	if err != nil {
		t.Fatal(err)
	}
	want := []pathStep{{key: "a"}, {key: "b"}, {index: 2, isIndex: true}, {key: "c.d"}, {index: -1, isIndex: true}, {key: "e"}}
	assertValue(t, steps, want)
}

func TestCoalesce(t *testing.T) {
	runEvalCases(t, []evalCase{
		{src: `coalesce(nil, "", "x")`, want: "x"},
		{src: `coalesce(trigger.body.a, trigger.body.b, "default")`, body: map[string]any{"b": "B"}, want: "B"},
		{src: `coalesce(trigger.body.a, [], {}, 0)`, body: map[string]any{}, want: 0}, // 0 is a value
		{src: `coalesce(false, true)`, want: false},
		{src: `coalesce(" ", "x")`, want: " "},
		{src: `coalesce(nil, "")`, want: nil},
		{src: `coalesce(trigger.body)`, body: []string{}, want: nil},
		{src: `coalesce(nil, trigger.body)`, body: map[string]int{"a": 1}, want: map[string]int{"a": 1}},
		{src: `coalesce(nil)`, want: nil},
	})
}

func TestUUID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	v7 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	p4, err := Compile(`uuid()`, ResultString)
	if err != nil {
		t.Fatal(err)
	}
	p7, err := Compile(`uuidV7()`, ResultString)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[any]bool{}
	prev := ""
	for i := 0; i < 100; i++ {
		a, _ := p4.Eval(nil)
		b, _ := p7.Eval(nil)
		if !v4.MatchString(a.(string)) || !v7.MatchString(b.(string)) {
			t.Fatalf("uuid() = %v, uuidV7() = %v", a, b)
		}
		if seen[a] || seen[b] {
			t.Fatal("a UUID repeated")
		}
		seen[a], seen[b] = true, true
		if b.(string) <= prev {
			t.Fatalf("uuidV7 %s does not sort after %s", b, prev)
		}
		prev = b.(string)
	}
}
