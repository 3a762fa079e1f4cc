package expression

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Regular expressions use Go's RE2 syntax, which runs in time linear in the input, so a pattern written by a
// flow author cannot stall a worker.

// regexps caches compiled patterns; the pattern is nearly always a literal, so each is compiled once.
var regexps = newBoundedCache[*regexp.Regexp](512)

// maxPatternBytes bounds pattern length; RE2 programs grow with the pattern.
const maxPatternBytes = 4 << 10

func compileRegexp(pattern string) (*regexp.Regexp, error) {
	if len(pattern) > maxPatternBytes {
		return nil, fmt.Errorf("pattern is %d bytes, the limit is %d", len(pattern), maxPatternBytes)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid pattern: %w", err)
	}
	return re, nil
}

func regexpArg(fn string, i int, v any) (*regexp.Regexp, error) {
	pattern, err := argString(fn, i, v)
	if err != nil {
		return nil, err
	}
	re, err := regexps.getOrMake(pattern, compileRegexp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return re, nil
}

func checkPattern(pattern string) error {
	_, err := compileRegexp(pattern)
	return err
}

// textAndPattern reads the (text, pattern) arguments every regex function starts with.
func textAndPattern(fn string, params []any, minArgs, maxArgs int) (string, *regexp.Regexp, error) {
	if err := arity(fn, params, minArgs, maxArgs); err != nil {
		return "", nil, err
	}
	s, err := argText(fn, 0, params[0])
	if err != nil {
		return "", nil, err
	}
	re, err := regexpArg(fn, 1, params[1])
	if err != nil {
		return "", nil, err
	}
	return s, re, nil
}

func toAnyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// pad implements padLeft and padRight; widths count characters (runes), not bytes, so Chinese text pads right.
// The fill repeats rune by rune; the result's size is known before it is built, and checked against b.
func pad(b *budget, fn string, left bool, params []any) (any, error) {
	if err := arity(fn, params, 2, 3); err != nil {
		return nil, err
	}
	s, err := argText(fn, 0, params[0])
	if err != nil {
		return nil, err
	}
	width, err := argInt(fn, 1, params[1])
	if err != nil {
		return nil, err
	}
	if width > maxPadWidth {
		return nil, errArg(fn, 1, "must be at most %d, got %d", maxPadWidth, width)
	}
	fill := " "
	if len(params) == 3 {
		if fill, err = argString(fn, 2, params[2]); err != nil {
			return nil, err
		}
		if fill == "" {
			return nil, errArg(fn, 2, "must not be empty")
		}
	}
	missing := width - utf8.RuneCountInString(s)
	if missing <= 0 {
		return s, nil
	}
	size := len(s)
	forFill(fill, missing, func(r rune) { size += utf8.RuneLen(r) })
	if err := b.take(int64(size)); err != nil {
		return nil, err
	}
	var sb strings.Builder
	sb.Grow(size)
	if !left {
		sb.WriteString(s)
	}
	forFill(fill, missing, func(r rune) { sb.WriteRune(r) })
	if left {
		sb.WriteString(s)
	}
	return sb.String(), nil
}

// forFill calls f with the first n runes of fill repeated; invalid UTF-8 reads as U+FFFD, as []rune(fill) does.
func forFill(fill string, n int, f func(rune)) {
	j := 0
	for i := 0; i < n; i++ {
		r, size := utf8.DecodeRuneInString(fill[j:])
		f(r)
		if j += size; j >= len(fill) {
			j = 0
		}
	}
}

// replacementFits checks, before regexReplace builds its result, that the result fits in what is left of b. A
// pattern that matches everywhere (an empty one) turns each character into a replacement, and $1 or ${name}
// expand to capture groups, which are parts of the match: each replacement is at most the replacement text
// plus the match once per $ in it.
func replacementFits(b *budget, s string, re *regexp.Regexp, repl string) error {
	if b == nil {
		return nil
	}
	if err := b.scan(len(s)); err != nil {
		return err
	}
	const perMatch = sliceHeaderBytes + 2*8 // the index pair of a match
	limit := int(min(b.left/perMatch, 1<<30))
	matches := re.FindAllStringIndex(s, limit+1)
	if len(matches) > limit {
		return b.exceeded()
	}
	dollars := int64(strings.Count(repl, "$"))
	size := int64(len(s))
	for _, m := range matches {
		matched := int64(m[1] - m[0])
		size += int64(len(repl)) + dollars*matched - matched
	}
	return b.fits(size)
}

// maxPadWidth keeps padLeft and padRight from building huge strings.
const maxPadWidth = 10000

// slugify lowercases s and joins its runs of letters and digits with single dashes.
func slugify(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	dash := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		dash = true
	}
	return b.String()
}

func init() {
	for _, name := range []string{"regexFind", "regexFindAll", "regexReplace", "regexGroups", "regexMatch"} {
		checkConstant(name, 1, checkPattern)
	}

	register(FunctionDoc{
		Name: "regexMatch", Category: CategoryText,
		Signature:   "regexMatch(text, pattern) bool",
		Description: "Reports whether the RE2 pattern matches anywhere in text; the same as the matches operator, for patterns held in a variable.",
		Example:     `regexMatch("ORD-2024-0042", "^ORD-\\d{4}-\\d+$")`,
		Output:      "true",
	}, func(params ...any) (any, error) {
		s, re, err := textAndPattern("regexMatch", params, 2, 2)
		if err != nil {
			return nil, err
		}
		return re.MatchString(s), nil
	}, new(func(string, string) bool))

	register(FunctionDoc{
		Name: "regexFind", Category: CategoryText,
		Signature:   "regexFind(text, pattern) string",
		Description: "Returns the first match of the RE2 pattern in text, or the first capture group's match when the pattern has groups, or \"\" when nothing matches.",
		Example:     `regexFind("Order #A-1042 shipped", "#([A-Z]-\\d+)")`,
		Output:      "A-1042",
	}, func(params ...any) (any, error) {
		s, re, err := textAndPattern("regexFind", params, 2, 2)
		if err != nil {
			return nil, err
		}
		m := re.FindStringSubmatch(s)
		switch {
		case m == nil:
			return "", nil
		case len(m) > 1:
			return m[1], nil
		}
		return m[0], nil
	}, new(func(string, string) string))

	registerBounded(FunctionDoc{
		Name: "regexFindAll", Category: CategoryText,
		Signature:   "regexFindAll(text, pattern[, n]) list",
		Description: "Returns every match of the RE2 pattern in text (at most n when given), each being the first capture group when the pattern has groups.",
		Example:     `regexFindAll("SKU-1, SKU-22, SKU-333", "SKU-(\\d+)")`,
		Output:      `["1","22","333"]`,
	}, func(b *budget, params ...any) (any, error) {
		s, re, err := textAndPattern("regexFindAll", params, 2, 3)
		if err != nil {
			return nil, err
		}
		n := -1
		if len(params) == 3 {
			if n, err = argInt("regexFindAll", 2, params[2]); err != nil {
				return nil, err
			}
		}
		// Text of a few bytes can match a pattern millions of times: find no more matches than the budget holds.
		if err := b.scan(len(s)); err != nil {
			return nil, err
		}
		limit := -1
		if b != nil {
			limit = int(min(b.left/(sliceHeaderBytes+elemBytes*int64(2+re.NumSubexp())), 1<<30))
			if n < 0 || n > limit {
				n = limit + 1
			}
		}
		matches := re.FindAllStringSubmatch(s, n)
		if limit >= 0 && len(matches) > limit {
			return nil, b.exceeded()
		}
		if err := b.take(sliceHeaderBytes + elemBytes*int64(len(matches))); err != nil {
			return nil, err
		}
		out := make([]any, len(matches))
		for i, m := range matches {
			if len(m) > 1 {
				out[i] = m[1]
			} else {
				out[i] = m[0]
			}
		}
		return out, nil
	},
		new(func(string, string, ...int) []any),
	)

	register(FunctionDoc{
		Name: "regexGroups", Category: CategoryText,
		Signature:   "regexGroups(text, pattern) list",
		Description: "Returns the capture groups of the first match of the RE2 pattern (without the whole match), or an empty list when nothing matches.",
		Example:     `regexGroups("2024-03-15", "(\\d+)-(\\d+)-(\\d+)")`,
		Output:      `["2024","03","15"]`,
	}, func(params ...any) (any, error) {
		s, re, err := textAndPattern("regexGroups", params, 2, 2)
		if err != nil {
			return nil, err
		}
		m := re.FindStringSubmatch(s)
		if m == nil {
			return []any{}, nil
		}
		return toAnyList(m[1:]), nil
	}, new(func(string, string) []any))

	registerBounded(FunctionDoc{
		Name: "regexReplace", Category: CategoryText,
		Signature:   "regexReplace(text, pattern, replacement) string",
		Description: "Replaces every match of the RE2 pattern in text; $1 or ${name} in the replacement insert capture groups.",
		Example:     `regexReplace("138-1234-5678", "\\D", "")`,
		Output:      "13812345678",
	}, func(b *budget, params ...any) (any, error) {
		s, re, err := textAndPattern("regexReplace", params, 3, 3)
		if err != nil {
			return nil, err
		}
		repl, err := argText("regexReplace", 2, params[2])
		if err != nil {
			return nil, err
		}
		if err := replacementFits(b, s, re, repl); err != nil {
			return nil, err
		}
		out := re.ReplaceAllString(s, repl)
		return out, b.grow(out)
	}, new(func(string, string, string) string))

	registerBounded(FunctionDoc{
		Name: "padLeft", Category: CategoryText,
		Signature:   "padLeft(value, width[, fill]) string",
		Description: "Pads text (or a number's text) on the left to width characters with fill, a space by default; longer text is returned unchanged.",
		Example:     `padLeft(42, 6, "0")`,
		Output:      "000042",
	}, func(b *budget, params ...any) (any, error) {
		return pad(b, "padLeft", true, params)
	},
		new(func(any, int, ...string) string),
	)

	registerBounded(FunctionDoc{
		Name: "padRight", Category: CategoryText,
		Signature:   "padRight(value, width[, fill]) string",
		Description: "Pads text (or a number's text) on the right to width characters with fill, a space by default; longer text is returned unchanged.",
		Example:     `padRight("ab", 5, ".")`,
		Output:      "ab...",
	}, func(b *budget, params ...any) (any, error) {
		return pad(b, "padRight", false, params)
	},
		new(func(any, int, ...string) string),
	)

	register(FunctionDoc{
		Name: "truncate", Category: CategoryText,
		Signature:   "truncate(text, n[, suffix]) string",
		Description: "Shortens text to at most n characters (not bytes, so Chinese text is never cut mid-character); when it was cut and a suffix is given, the result ends with the suffix and still fits in n.",
		Example:     `truncate("Ferry connects your shop", 12, "…")`,
		Output:      "Ferry conne…",
	}, func(params ...any) (any, error) {
		if err := arity("truncate", params, 2, 3); err != nil {
			return nil, err
		}
		s, err := argText("truncate", 0, params[0])
		if err != nil {
			return nil, err
		}
		n, err := argInt("truncate", 1, params[1])
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, errArg("truncate", 1, "must not be negative, got %d", n)
		}
		suffix := ""
		if len(params) == 3 {
			if suffix, err = argString("truncate", 2, params[2]); err != nil {
				return nil, err
			}
		}
		if utf8.RuneCountInString(s) <= n {
			return s, nil
		}
		keep := n - utf8.RuneCountInString(suffix)
		if keep <= 0 {
			return string([]rune(suffix)[:n]), nil
		}
		return string([]rune(s)[:keep]) + suffix, nil
	},
		new(func(string, int, ...string) string),
	)

	register(FunctionDoc{
		Name: "slug", Category: CategoryText,
		Signature:   "slug(text) string",
		Description: "Lowercases text and joins its runs of letters and digits with single dashes, dropping everything else; letters outside ASCII, such as Chinese, are kept.",
		Example:     `slug("  Summer Sale: 50% off! ")`,
		Output:      "summer-sale-50-off",
	}, func(params ...any) (any, error) {
		if err := arity("slug", params, 1, 1); err != nil {
			return nil, err
		}
		s, err := argText("slug", 0, params[0])
		if err != nil {
			return nil, err
		}
		return slugify(s), nil
	}, new(func(string) string))
}
