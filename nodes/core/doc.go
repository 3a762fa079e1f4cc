// Package core holds the nodes every flow is built from: the triggers (manual, webhook, schedule), the data and
// logic steps (map, condition, switch, validate, set-vars, delay), the generic HTTP request and the answer to a
// synchronous webhook (respond). Each node registers itself from an init function, so importing the package,
// usually through nodes/all, is what makes the nodes available.
//
// The package also exports nodes.DecodeJSON, the JSON decoding every entry point shares (webhook bodies, HTTP
// responses, API payloads), so that numbers and limits are the same wherever data enters a run.
package core
