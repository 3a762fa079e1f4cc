// Package names holds the one rule every name people give things in Ferry must follow (flows, nodes,
// credentials, users, API tokens): it may not hide what it is. A NUL or another control character can cut a
// name short or break the lines of a log or an export; a bidirectional control character makes a name display as
// something else ("invoice\u202Efdp.exe" reads as "invoiceexe.pdf"). Such names are refused where they enter,
// with one stable code, rather than cleaned up later, so what is stored is what was shown to the person who
// typed it.
package names

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Code is the stable machine-readable code of a refused name, the same at every entry point.
const Code = "name_invalid"

// Error is a refused name: which character, and where.
type Error struct {
	// Rune is the refused character (utf8.RuneError for bytes that are not UTF-8).
	Rune rune
	// Offset is its byte offset in the name.
	Offset int
}

func (e *Error) Error() string {
	switch {
	case e.Rune == utf8.RuneError:
		return fmt.Sprintf("the name is not valid UTF-8 (byte %d)", e.Offset)
	case e.Rune == 0:
		return fmt.Sprintf("the name holds a NUL character (byte %d)", e.Offset)
	case bidiControl(e.Rune):
		return fmt.Sprintf("the name holds the bidirectional control character U+%04X (byte %d), which changes how the text around it is shown", e.Rune, e.Offset)
	}
	return fmt.Sprintf("the name holds the control character U+%04X (byte %d)", e.Rune, e.Offset)
}

// Code returns Code, so callers that map errors to answers can ask any error for its code.
func (e *Error) Code() string { return Code }

// Check returns an *Error when name holds a character that may not be in a name: bytes that are not UTF-8,
// control characters (NUL, tabs, line breaks, DEL and the C1 controls) and bidirectional formatting
// characters. Whether a name may be empty, and how long it may be, is for the caller to say.
func Check(name string) error {
	for i, r := range name {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(name[i:]); size <= 1 {
				return &Error{Rune: utf8.RuneError, Offset: i}
			}
		}
		if unicode.IsControl(r) || bidiControl(r) {
			return &Error{Rune: r, Offset: i}
		}
	}
	return nil
}

// bidiControl reports the characters that change the direction text is shown in (Unicode's Bidi_Control
// property): the Arabic letter mark, the left-to-right and right-to-left marks, embeddings, overrides and
// isolates.
func bidiControl(r rune) bool {
	return unicode.Is(unicode.Bidi_Control, r)
}
