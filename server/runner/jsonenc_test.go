package runner

import (
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"
)

// sameAsMarshal checks encodeJSON against encoding/json for v.
func sameAsMarshal(t *testing.T, v any) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	got, err := encodeJSON(v)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%#v: error %v, encoding/json says %v", v, err, wantErr)
	}
	if string(got) != string(want) {
		t.Fatalf("%#v:\n got %s\nwant %s", v, got, want)
	}
}

func TestEncodeJSONMatchesEncodingJSON(t *testing.T) {
	payload, err := os.ReadFile("../loadtest/payload.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(payload, &doc); err != nil {
		t.Fatal(err)
	}
	values := []any{
		doc, nil, true, false, "", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>",
		"tab\tnew\nline\rcr\bbs\fff\x00nul\x1fus", "bad utf8 \xff\xfe end", "line sep \u2028 para \u2029",
		"中文 支付宝 ¥88.00 😀", 0.0, math.Copysign(0, -1), 1.0, -1.5, 123.456, 1e20, 1e21, 1e-6, 1e-7, 5e-324,
		math.MaxFloat64, float32(3.14), float32(1e-7), 42, int64(-7), int32(9), uint64(math.MaxUint64),
		map[string]any{}, map[string]any(nil), []any{}, []any(nil), []any{1.5, "x", nil, map[string]any{"b": 1.0, "a": []any{}}},
		map[string]any{"z": 1.0, "a": "2", "é": true, "A": nil, "<k>": "&"},
		map[string]string{"b": "2", "a": "1"}, map[string]string(nil),
		json.Number("12.50"), time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC), []string{"a"}, struct{ X int }{3},
		math.Inf(1), math.NaN(), map[string]any{"bad": math.NaN()},
	}
	for _, v := range values {
		sameAsMarshal(t, v)
	}
}

func FuzzEncodeJSON(f *testing.F) {
	for _, seed := range []string{`{"a":1,"b":[true,null,"x"]}`, `"\u003c\u2028"`, `[1e21,1e-7,0.1]`, `{"中":"文"}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var v any
		if json.Unmarshal([]byte(doc), &v) != nil {
			sameAsMarshal(t, doc) // not JSON: encode the text itself as a string
			return
		}
		sameAsMarshal(t, v)
	})
}

func BenchmarkEncodeStepData(b *testing.B) {
	payload, _ := os.ReadFile("../loadtest/payload.json")
	var doc any
	_ = json.Unmarshal(payload, &doc)
	b.Run("encodeJSON", func(b *testing.B) {
		for b.Loop() {
			_, _ = encodeJSON(doc)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(doc)
		}
	})
}
