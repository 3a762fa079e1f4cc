package api

import (
	"encoding/json"
	"testing"

	"github.com/ferry-hq/ferry/server/auth"
)

// TestReviewMasking: a CRM review's values are masked by their field's name, and its decision, which names
// fields and sides, is left as it is.
func TestReviewMasking(t *testing.T) {
	a := &API{Masker: auth.NewMasker(nil)}
	request := json.RawMessage(`{"provider":"hubspot","object":"contact","recordId":"101","key":{"name":"email","value":"ana@example.com"},` +
		`"fields":[{"name":"phone","source":"+8613900000002","target":"+8613800000001"},{"name":"city","source":"Shanghai","target":"Beijing"},{"name":"amount","source":129.50,"target":120}]}`)
	decision := json.RawMessage(`{"fields":{"phone":"source","city":"target","amount":"source"}}`)
	req, dec := a.maskReview("crm.conflict", request, decision)
	var got struct {
		Key    map[string]any   `json:"key"`
		Fields []map[string]any `json:"fields"`
	}
	if err := json.Unmarshal(req, &got); err != nil {
		t.Fatal(err)
	}
	phone := got.Fields[0]
	if phone["source"] == "+8613900000002" || phone["target"] == "+8613800000001" || got.Key["value"] == "ana@example.com" {
		t.Fatalf("personal values shown: %s", req)
	}
	if got.Fields[1]["source"] != "Shanghai" || got.Fields[2]["source"] != 129.5 {
		t.Fatalf("other values changed: %s", req)
	}
	if string(dec) != string(decision) {
		t.Fatalf("decision masked: %s", dec)
	}

	match := json.RawMessage(`{"provider":"zoho","customer":{"Email":"ana@example.com"},` +
		`"candidates":[{"id":"1","label":"Ana","fields":{"Email":"ana@example.com","City":"Hangzhou"}}]}`)
	req, dec = a.maskReview("crm.match", match, json.RawMessage(`{"candidate":"1"}`))
	var m struct {
		Customer   map[string]any `json:"customer"`
		Candidates []struct {
			Fields map[string]any `json:"fields"`
		} `json:"candidates"`
	}
	_ = json.Unmarshal(req, &m)
	if m.Customer["Email"] == "ana@example.com" || m.Candidates[0].Fields["Email"] == "ana@example.com" || m.Candidates[0].Fields["City"] != "Hangzhou" {
		t.Fatalf("match review: %s", req)
	}
	if string(dec) != `{"candidate":"1"}` {
		t.Fatalf("match decision masked: %s", dec)
	}
}
