package connector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// SetBodyFields sets top-level fields of a request's JSON object body. Providers that take part of the credential
// in the body (WeCom's agentid, DingTalk's agent_id, Feishu's signature) add it in Authorize with this, so it is
// applied last, as any credential is, and never shown in run data.
func SetBodyFields(req *http.Request, fields map[string]any) error {
	var raw []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if raw, err = io.ReadAll(req.Body); err != nil {
			return fmt.Errorf("read the body: %w", err)
		}
		req.Body.Close()
	}
	body := map[string]any{}
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			return fmt.Errorf("the body is not a JSON object: %w", err)
		}
	}
	for k, v := range fields {
		body[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return fmt.Errorf("encode the body: %w", err)
	}
	out := bytes.TrimRight(buf.Bytes(), "\n")
	req.Body = io.NopCloser(bytes.NewReader(out))
	req.ContentLength = int64(len(out))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out)), nil }
	req.Header.Set("Content-Type", "application/json")
	return nil
}
