package nodes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// MaxJSONDepth is how deeply objects and arrays may nest in JSON that enters a run. Real payment and shop payloads
// nest a handful of levels; the limit stops a hostile body from costing a worker deep recursion.
const MaxJSONDepth = 64

// JSONError is malformed or oversized JSON with the place where it went wrong, so the sender of a webhook or an
// API call is told where to look, not just that something failed.
type JSONError struct {
	// Line and Column are 1-based and count characters, not bytes; both are 0 when no position applies.
	Line   int
	Column int
	// Offset is the 0-based byte offset of the problem.
	Offset int64
	Err    error
}

// Error describes the problem with its position, in words a webhook sender can act on.
func (e *JSONError) Error() string {
	if e.Line == 0 {
		return "invalid JSON: " + e.Err.Error()
	}
	return fmt.Sprintf("invalid JSON at line %d, column %d: %v", e.Line, e.Column, e.Err)
}

// Unwrap gives the underlying decoder error.
func (e *JSONError) Unwrap() error { return e.Err }

var (
	errJSONEmpty    = errors.New("empty document")
	errJSONTrailing = errors.New("unexpected data after the JSON value")
	errJSONTooDeep  = fmt.Errorf("objects and arrays nest deeper than %d levels", MaxJSONDepth)
)

// DecodeJSON parses one JSON document into the values expressions work with: objects become map[string]any,
// arrays []any, and numbers int64 when their value is integral and fits (1, 1.0 and 1e3 alike) or float64
// otherwise (integers beyond the int64 range lose precision as float64, as they would in JavaScript). Keeping
// integral numbers as integers matters for ids and minor-unit amounts, which float64 would round above 2^53.
// Documents nested deeper than MaxJSONDepth, empty documents and trailing data are rejected with a *JSONError
// that carries the line and column.
func DecodeJSON(b []byte) (any, error) {
	if err := checkJSONDepth(b); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonDecodeError(b, err)
	}
	for off := dec.InputOffset(); off < int64(len(b)); off++ {
		switch b[off] {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return nil, jsonErrorAt(b, off, errJSONTrailing)
	}
	return normalizeJSON(v)
}

func jsonDecodeError(b []byte, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// The offset counts the bytes read up to and including the offending character.
		return jsonErrorAt(b, max(se.Offset-1, 0), errors.New(se.Error()))
	case errors.Is(err, io.EOF):
		return jsonErrorAt(b, int64(len(b)), errJSONEmpty)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return jsonErrorAt(b, int64(len(b)), errors.New("unexpected end of JSON input"))
	}
	return &JSONError{Err: err}
}

func jsonErrorAt(b []byte, off int64, err error) *JSONError {
	line, col := 1, 1
	for i := 0; i < int(off) && i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		i += size
	}
	return &JSONError{Line: line, Column: col, Offset: off, Err: err}
}

// checkJSONDepth scans the raw bytes before decoding, so that an over-deep document costs one linear pass and
// no allocation. Malformed documents are left for the decoder to describe.
func checkJSONDepth(b []byte) error {
	depth, inString, escaped := 0, false, false
	for i, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > MaxJSONDepth {
				return jsonErrorAt(b, int64(i), errJSONTooDeep)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// normalizeJSON replaces json.Number values in place.
func normalizeJSON(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch e.(type) {
			case map[string]any, []any, json.Number:
				n, err := normalizeJSON(e)
				if err != nil {
					return nil, err
				}
				x[k] = n
			}
		}
	case []any:
		for i, e := range x {
			n, err := normalizeJSON(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	case json.Number:
		return jsonNumber(string(x))
	}
	return v, nil
}

// 2^63 as a float64: integral floats in [-2^63, 2^63) convert to int64 exactly.
const twoTo63 = 9223372036854775808.0

func jsonNumber(s string) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, &JSONError{Err: fmt.Errorf("number %s is out of range", s)}
	}
	if f == math.Trunc(f) && f >= -twoTo63 && f < twoTo63 {
		return int64(f), nil
	}
	return f, nil
}
