package shopify

import (
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// checkBody runs the provider's Check on a 200 JSON answer.
func checkBody(body string) error {
	v, err := nodes.DecodeJSON([]byte(body))
	if err != nil {
		return err
	}
	return provider.Check(&connector.Answer{Status: 200, Body: []byte(body), JSON: v})
}
