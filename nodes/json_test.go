package nodes

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeJSONValues(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`{"a": 1, "b": [2, 3.5], "c": {"d": null, "e": true, "f": "x"}}`,
			map[string]any{"a": int64(1), "b": []any{int64(2), 3.5}, "c": map[string]any{"d": nil, "e": true, "f": "x"}}},
		{`1.0`, int64(1)},
		{`1e3`, int64(1000)},
		{`-0.0`, int64(0)},
		{`149.99`, 149.99},
		{`9007199254740993`, int64(9007199254740993)},
		{`9223372036854775807`, int64(math.MaxInt64)},
		{`12345678901234567890`, 12345678901234567890.0},
		{`[[[[1]]]]`, []any{[]any{[]any{[]any{int64(1)}}}}},
		{" \n\"text\"\t ", "text"},
	}
	for _, tc := range tests {
		got, err := DecodeJSON([]byte(tc.in))
		if err != nil {
			t.Errorf("DecodeJSON(%s): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DecodeJSON(%s) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	deep := strings.Repeat("[", MaxJSONDepth+1) + strings.Repeat("]", MaxJSONDepth+1)
	tests := []struct {
		name      string
		in        string
		line, col int
		msg       string
	}{
		{"missing value", `{"a":}`, 1, 6, "invalid character '}'"},
		{"second line", "{\n  \"a\": 1,\n  \"b\": x\n}", 3, 8, "invalid character 'x'"},
		{"multibyte before error", "{\"名前\": ,}", 1, 8, "invalid character ','"},
		{"truncated", `{"a": 1`, 1, 8, "unexpected end"},
		{"empty", ``, 1, 1, "empty document"},
		{"only spaces", "  \n ", 2, 2, "empty document"},
		{"trailing data", `{"a":1} {"b":2}`, 1, 9, "after the JSON value"},
		{"too deep", deep, 1, MaxJSONDepth + 1, "deeper than 64"},
		{"out of range", `1e999`, 0, 0, "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeJSON([]byte(tc.in))
			var je *JSONError
			if !errors.As(err, &je) {
				t.Fatalf("error = %v, want *JSONError", err)
			}
			if je.Line != tc.line || je.Column != tc.col || !strings.Contains(je.Error(), tc.msg) {
				t.Fatalf("error = %q at %d:%d, want %q at %d:%d", je.Error(), je.Line, je.Column, tc.msg, tc.line, tc.col)
			}
		})
	}
}

func TestDecodeJSONDepthLimitIsInclusive(t *testing.T) {
	ok := strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth)
	if _, err := DecodeJSON([]byte(ok)); err != nil {
		t.Fatalf("%d levels: %v", MaxJSONDepth, err)
	}
	// Brackets inside strings are text, not nesting.
	inString := `{"s": "` + strings.Repeat("[{", 200) + `\"]"}`
	if _, err := DecodeJSON([]byte(inString)); err != nil {
		t.Fatalf("brackets in a string: %v", err)
	}
}
