package expression

import (
	"encoding/json"
	"testing"
)

const benchPayload = `{"order_id":"ord_8f3a2c91d4","amount":149.99,"currency":"EUR","customer":{"name":"Ada Lovelace","email":"Ada.Lovelace@Example.COM"},"items":[{},{}]}`

func benchEnv(b *testing.B) map[string]any {
	b.Helper()
	var body map[string]any
	if err := json.Unmarshal([]byte(benchPayload), &body); err != nil {
		b.Fatal(err)
	}
	return envWith(body)
}

func benchCompile(b *testing.B, src string, result Result) *Program {
	b.Helper()
	p, err := Compile(src, result)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkMapFiveFields evaluates a realistic five-field mapping of an order webhook; ns/field is the
// figure to hold under 2µs.
func BenchmarkMapFiveFields(b *testing.B) {
	env := benchEnv(b)
	progs := []*Program{
		benchCompile(b, `trigger.body.order_id`, ResultAny),
		benchCompile(b, `lower(trigger.body.customer.email)`, ResultAny),
		benchCompile(b, `trigger.body.customer.name`, ResultAny),
		benchCompile(b, `toMinor(trigger.body.amount, trigger.body.currency)`, ResultAny),
		benchCompile(b, `len(trigger.body.items)`, ResultAny),
	}
	want := []any{"ord_8f3a2c91d4", "ada.lovelace@example.com", "Ada Lovelace", int64(14999), 2}
	out := make([]any, len(progs))
	b.ReportAllocs()
	for b.Loop() {
		for i, p := range progs {
			v, err := p.Eval(env)
			if err != nil {
				b.Fatal(err)
			}
			out[i] = v
		}
	}
	for i := range want {
		if out[i] != want[i] {
			b.Fatalf("field %d = %#v, want %#v", i, out[i], want[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(progs)), "ns/field")
}

// BenchmarkCondition evaluates a typical condition node.
func BenchmarkCondition(b *testing.B) {
	env := benchEnv(b)
	p := benchCompile(b, `trigger.body.amount > 100 && trigger.body.currency in ["EUR", "USD"] && len(trigger.body.items) > 0`, ResultBool)
	b.ReportAllocs()
	for b.Loop() {
		ok, err := p.EvalBool(env)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkTemplate renders a notification message with four interpolations.
func BenchmarkTemplate(b *testing.B) {
	env := benchEnv(b)
	tpl, err := CompileTemplate(`Order {{ trigger.body.order_id }} from {{ trigger.body.customer.name }}: {{ fromMinor(toMinor(trigger.body.amount, trigger.body.currency), trigger.body.currency) }} {{ trigger.body.currency }}`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := tpl.EvalString(env)
		if err != nil || s != "Order ord_8f3a2c91d4 from Ada Lovelace: 149.99 EUR" {
			b.Fatal(s, err)
		}
	}
}

// BenchmarkCompileCached measures Compile for a source already in the cache, as when a flow is loaded.
func BenchmarkCompileCached(b *testing.B) {
	benchCompile(b, `lower(trigger.body.customer.email)`, ResultAny)
	b.ReportAllocs()
	for b.Loop() {
		benchCompile(b, `lower(trigger.body.customer.email)`, ResultAny)
	}
}

// BenchmarkFunctions measures single library functions called from an expression.
func BenchmarkFunctions(b *testing.B) {
	env := benchEnv(b)
	for _, src := range []string{
		`toMinor(trigger.body.amount, "EUR")`,
		`phone("138 1234 5678")`,
		`parseTime("2024-03-15 14:30:00", "", "Asia/Shanghai")`,
		`formatTime(parseTime("2024-03-15T06:30:00Z"), "YYYY-MM-DD HH:mm:ss", "Asia/Shanghai")`,
		`regexFind(trigger.body.order_id, "ord_([0-9a-f]+)")`,
		`hmacSha256("secret", trigger.body.order_id)`,
		`jsonGet(trigger.body, "customer.email")`,
		`maskEmail(trigger.body.customer.email)`,
	} {
		p := benchCompile(b, src, ResultAny)
		b.Run(src, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Eval(env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
