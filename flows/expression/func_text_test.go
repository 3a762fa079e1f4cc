package expression

import (
	"fmt"
	"strings"
	"testing"
)

func TestRegexFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{src: `regexMatch(trigger.body, "^\\d{11}$")`, body: "13812345678", want: true},
		{src: `regexMatch(trigger.body, "^\\d{11}$")`, body: 13812345678.0, want: true}, // a number read as its digits
		{src: `regexMatch("abc", "^b")`, want: false},
		{src: `regexFind("Order #A-1042 shipped", "[A-Z]-\\d+")`, want: "A-1042"},
		{src: `regexFind("Order #A-1042 shipped", "#([A-Z])-(\\d+)")`, want: "A"},
		{src: `regexFind("no digits", "\\d+")`, want: ""},
		{src: `regexFind("订单号：DD20240315", "DD(\\d+)")`, want: "20240315"},
		{src: `regexFindAll("a1 b22 c333", "\\d+")`, want: []any{"1", "22", "333"}},
		{src: `regexFindAll("a1 b22 c333", "([a-z])\\d+")`, want: []any{"a", "b", "c"}},
		{src: `regexFindAll("a1 b22 c333", "\\d+", 2)`, want: []any{"1", "22"}},
		{src: `regexFindAll("none", "\\d+")`, want: []any{}},
		{src: `len(regexFindAll(trigger.body, "x"))`, body: "xxx", want: 3},
		{src: `regexGroups("2024-03-15", "(\\d+)-(\\d+)-(\\d+)")`, want: []any{"2024", "03", "15"}},
		{src: `regexGroups("2024-03-15", "(?P<year>\\d+)-(\\d+)?x?")`, want: []any{"2024", "03"}},
		{src: `regexGroups("nothing", "(\\d+)")`, want: []any{}},
		{src: `regexReplace("138-1234-5678", "\\D", "")`, want: "13812345678"},
		{src: `regexReplace("Lovelace, Ada", "(\\w+), (\\w+)", "$2 $1")`, want: "Ada Lovelace"},
		{src: `regexReplace("Lovelace, Ada", "(?P<last>\\w+), (?P<first>\\w+)", "${first}_${last}")`, want: "Ada_Lovelace"},
		{src: "regexFind(trigger.body, `(\\d+)`)", body: "id 42", want: "42"}, // raw strings need no double escaping
		// A pattern from data is compiled at run time and its errors are runtime errors.
		{src: `regexMatch("a", trigger.body)`, body: "(", err: "regexMatch: invalid pattern: error parsing regexp: missing closing )"},
		{src: `regexFind("a", trigger.body)`, body: 7.0, err: "regexFind: argument 2 must be text, got a number"},
		{src: `regexFind(trigger.body, "a")`, body: nil, err: "regexFind: argument 1 must be text, got null"},
		{src: `regexFind(trigger.body, "a")`, body: []any{"a"}, err: "regexFind: argument 1 must be text, got a list"},
		{src: `regexFind("a", trigger.body)`, body: strings.Repeat("a", maxPatternBytes+1), err: "regexFind: pattern is 4097 bytes, the limit is 4096"},
		{src: `regexFindAll("a", "a", trigger.body)`, body: 1.5, err: "regexFindAll: argument 3 must be a whole number, got 1.5"},
		{src: `regexReplace("a", "a", trigger.body)`, body: map[string]any{}, err: "regexReplace: argument 3 must be text, got an object"},
	})
}

func TestRegexCacheIsBounded(t *testing.T) {
	c := newBoundedCache[int](4)
	for i := 0; i < 100; i++ {
		c.put(fmt.Sprint(i), i)
	}
	if c.len() != 4 {
		t.Fatalf("cache holds %d entries, want 4", c.len())
	}
	if v, ok := c.get("99"); !ok || v != 99 {
		t.Fatal("the latest entry was not kept")
	}
	c.put("99", -1) // replacing an entry does not evict another
	if v, _ := c.get("99"); c.len() != 4 || v != -1 {
		t.Fatal("replacing an entry changed the cache size")
	}

	p, err := Compile(`regexMatch("x", trigger.body)`, ResultBool)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2000; i++ {
		if _, err := p.Eval(envWith(fmt.Sprintf("^x%d?", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := regexps.len(); n > 512 {
		t.Fatalf("regexp cache holds %d patterns, the bound is 512", n)
	}
	first, _ := regexpArg("t", 0, "^[a-z]+$")
	second, _ := regexpArg("t", 0, "^[a-z]+$")
	if first != second {
		t.Fatal("the same pattern was compiled twice")
	}
}

func TestPadAndTruncate(t *testing.T) {
	runEvalCases(t, []evalCase{
		{src: `padLeft(42, 6, "0")`, want: "000042"},
		{src: `padLeft(trigger.body, 8, "0")`, body: 1042.0, want: "00001042"},
		{src: `padLeft("abc", 5)`, want: "  abc"},
		{src: `padLeft("abcdef", 3, "0")`, want: "abcdef"},
		{src: `padLeft("订单", 4, "＊")`, want: "＊＊订单"},
		{src: `padLeft("7", 6, "ab")`, want: "ababa7"},
		{src: `padRight("ab", 5, ".")`, want: "ab..."},
		{src: `padRight("张三", 4)`, want: "张三  "},
		{src: `padLeft("a", 3, "")`, err: "padLeft: argument 3 must not be empty"},
		{src: `padLeft("a", 100000)`, err: "padLeft: argument 2 must be at most 10000, got 100000"},
		{src: `padLeft(trigger.body, 3)`, body: map[string]any{}, err: "padLeft: argument 1 must be text, got an object"},
		{src: `truncate("Ferry connects your shop", 12)`, want: "Ferry connec"},
		{src: `truncate("Ferry connects your shop", 12, "...")`, want: "Ferry con..."},
		{src: `truncate("short", 12, "...")`, want: "short"},
		{src: `truncate("exactly", 7, "…")`, want: "exactly"},
		{src: `truncate("支付宝交易成功通知", 5, "…")`, want: "支付宝交…"},
		{src: `truncate("支付宝交易成功通知", 4)`, want: "支付宝交"},
		{src: `truncate("abcdef", 2, "...")`, want: ".."},
		{src: `truncate("abc", 0)`, want: ""},
		{src: `truncate("abc", -1)`, err: "truncate: argument 2 must not be negative, got -1"},
		{src: `truncate("abc", trigger.body)`, body: "x", err: `truncate: argument 2 must be a whole number, got "x"`},
		{src: `truncate("abc", trigger.body)`, body: 2.0, want: "ab"},
		{src: `slug("  Summer Sale: 50% off! ")`, want: "summer-sale-50-off"},
		{src: `slug("Café — Crème Brûlée")`, want: "café-crème-brûlée"},
		{src: `slug("夏季 促销")`, want: "夏季-促销"},
		{src: `slug("---")`, want: ""},
	})
}
