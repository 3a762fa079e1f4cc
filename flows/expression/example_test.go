package expression_test

import (
	"encoding/json"
	"fmt"

	"github.com/ferry-hq/ferry/flows/expression"
)

// A mapping step turns a shop's order webhook into a CRM record: each field is an expression compiled once
// when the flow is saved and evaluated for every run.
func Example() {
	var body map[string]any
	_ = json.Unmarshal([]byte(`{
		"order_id": "ord_8f3a2c91d4",
		"amount": 149.99,
		"currency": "eur",
		"paid_at": "2024-03-15 14:30:00",
		"customer": {"name": "Ada Lovelace", "email": "Ada.Lovelace@Example.COM", "phone": "138 1234 5678"}
	}`), &body)
	env := map[string]any{
		expression.VarTrigger: map[string]any{"body": body},
		expression.VarEnv:     "live",
	}

	mapping := []struct{ field, src string }{
		{"id", `trigger.body.order_id`},
		{"email", `lower(trigger.body.customer.email)`},
		{"phone", `phone(trigger.body.customer.phone)`},
		{"total", `money(trigger.body.amount, trigger.body.currency)`},
		{"paidAt", `parseTime(trigger.body.paid_at, "", "Asia/Shanghai")`},
		{"logLine", `maskPhone(phone(trigger.body.customer.phone)) + " paid " + formatMoney(toMinor(trigger.body.amount, trigger.body.currency), trigger.body.currency)`},
	}
	for _, m := range mapping {
		prog, err := expression.Compile(m.src, expression.ResultAny)
		if err != nil {
			fmt.Println(m.field, "does not compile:", err)
			continue
		}
		v, err := prog.Eval(env)
		if err != nil {
			fmt.Println(m.field, "failed:", err)
			continue
		}
		fmt.Printf("%s: %s\n", m.field, expression.Stringify(v))
	}

	// A typo is caught when the flow is saved, with its position.
	_, err := expression.Compile(`lower(trigerr.body.customer.email)`, expression.ResultAny)
	fmt.Println(err)

	// Output:
	// id: ord_8f3a2c91d4
	// email: ada.lovelace@example.com
	// phone: +8613812345678
	// total: {"amount":14999,"currency":"EUR"}
	// paidAt: 2024-03-15T14:30:00+08:00
	// logLine: +86138****5678 paid 149.99 EUR
	// unknown name trigerr at line 1, column 7
}

// Templates interpolate expressions into text parameters such as a notification message.
func ExampleCompileTemplate() {
	tpl, err := expression.CompileTemplate(`Order {{ trigger.body.id }}: {{ fromMinor(trigger.body.amount, "JPY") }} JPY`)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := tpl.EvalString(map[string]any{expression.VarTrigger: map[string]any{"body": map[string]any{"id": "A-7", "amount": 1000}}})
	fmt.Println(s, err)
	// Output: Order A-7: 1000 JPY <nil>
}
