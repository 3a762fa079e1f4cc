package dingtalk

import (
	"encoding/json"
	"net/url"
	"os"
	"testing"
)

// TestSignVectors checks Sign against signatures made by the 加签 guide's own Python routine
// (testdata/sign_vectors.py), the first also published by an independent implementation (testdata/README.md).
func TestSignVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/sign_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Timestamp  int64  `json:"timestamp"`
		Secret     string `json:"secret"`
		Sign       string `json:"sign"`
		URLEncoded string `json:"urlEncoded"`
	}
	if err := json.Unmarshal(raw, &vectors); err != nil || len(vectors) < 4 {
		t.Fatalf("vectors: %v (%d)", err, len(vectors))
	}
	for _, v := range vectors {
		got := Sign(v.Timestamp, v.Secret)
		if got != v.Sign {
			t.Errorf("Sign(%d, %q) = %s, want %s", v.Timestamp, v.Secret, got, v.Sign)
		}
		if enc := url.QueryEscape(got); enc != v.URLEncoded {
			t.Errorf("URL-encoded %s, want %s", enc, v.URLEncoded)
		}
	}
}

func TestAccessToken(t *testing.T) {
	for in, want := range map[string]string{
		"abc123": "abc123",
		"https://oapi.dingtalk.com/robot/send?access_token=abc123":    "abc123",
		" https://oapi.dingtalk.com/robot/send?access_token=abc123\n": "abc123",
	} {
		if got, err := accessToken(in); err != nil || got != want {
			t.Errorf("accessToken(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "https://evil.example/robot/send?access_token=x", "http://oapi.dingtalk.com/robot/send?access_token=x",
		"https://oapi.dingtalk.com/robot/send", "a&b=c"} {
		if _, err := accessToken(bad); err == nil {
			t.Errorf("accessToken(%q) accepted", bad)
		}
	}
}
