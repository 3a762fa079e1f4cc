package feishu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// setBodyFields sets top-level fields of a request's JSON object body: what a credential adds to the body (an
// app's agentid), applied last as any credential is.
func setBodyFields(req *http.Request, fields map[string]any) error {
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
