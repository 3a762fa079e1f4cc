package loadtest

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
)

// The reference flow: webhook → map (order id, lower-cased e-mail, name, amount in integer minor units,
// currency, item count) → condition amount_cents > 10000 → tier high or standard → respond 200 with the mapped
// order. The echo variant POSTs the tagged order to an echo server before answering. Both are kept as flow
// documents so they can be read, imported and compared with other tools' versions of the same work as they are.
var (
	//go:embed flows/reference.json
	referenceDoc []byte
	//go:embed flows/reference-echo.json
	referenceEchoDoc []byte
)

// Parameter values of core.webhook's "respond" that the benchmark modes map to.
const (
	respondImmediately = "immediately"
	respondFromNode    = "respondNode"
)

// referenceFlow returns the reference flow document for mode, with the HTTP call to echoURL when it is set.
func referenceFlow(mode, echoURL string) ([]byte, error) {
	src := referenceDoc
	if echoURL != "" {
		src = referenceEchoDoc
	}
	var doc map[string]any
	if err := json.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("loadtest: reference flow: %w", err)
	}
	webhook := findNode(doc, "core.webhook")
	if webhook == nil {
		return nil, errors.New("loadtest: reference flow has no webhook")
	}
	params := webhook["params"].(map[string]any)
	if mode == ModeAsync {
		params["respond"] = respondImmediately
		delete(params, "timeout")
	} else {
		params["respond"] = respondFromNode
	}
	if echoURL != "" {
		echo := findNode(doc, "core.http")
		if echo == nil {
			return nil, errors.New("loadtest: reference flow has no HTTP step")
		}
		echo["params"].(map[string]any)["url"] = echoURL
	}
	doc["name"] = fmt.Sprintf("%s (%s)", doc["name"], mode)
	return json.Marshal(doc)
}

// findNode returns the first node of type typ in a parsed flow document.
func findNode(doc map[string]any, typ string) map[string]any {
	list, _ := doc["nodes"].([]any)
	for _, n := range list {
		if node, ok := n.(map[string]any); ok && node["type"] == typ {
			if _, ok := node["params"].(map[string]any); !ok {
				node["params"] = map[string]any{}
			}
			return node
		}
	}
	return nil
}

// webhookMode tells from a published flow document whether its webhook answers synchronously.
func webhookMode(raw []byte) (string, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", fmt.Errorf("read the published document: %w", err)
	}
	webhook := findNode(doc, "core.webhook")
	if webhook == nil {
		return "", errors.New("the published version has no webhook trigger")
	}
	if webhook["params"].(map[string]any)["respond"] == respondFromNode {
		return ModeSync, nil
	}
	return ModeAsync, nil
}
