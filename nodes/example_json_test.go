package nodes_test

import (
	"fmt"

	"github.com/ferry-hq/ferry/nodes"
)

// DecodeJSON keeps whole numbers as integers, so ids and minor-unit amounts survive exactly.
func ExampleDecodeJSON() {
	v, _ := nodes.DecodeJSON([]byte(`{"id": 9007199254740993, "amount": 149.99, "qty": 2.0}`))
	m := v.(map[string]any)
	fmt.Printf("%T %v, %T %v, %T %v\n", m["id"], m["id"], m["amount"], m["amount"], m["qty"], m["qty"])

	_, err := nodes.DecodeJSON([]byte("{\n  \"a\": 1,\n  \"b\": }"))
	fmt.Println(err)
	// Output:
	// int64 9007199254740993, float64 149.99, int64 2
	// invalid JSON at line 3, column 8: invalid character '}' looking for beginning of value
}
