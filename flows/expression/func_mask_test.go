package expression

import "testing"

func TestMaskFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{src: `maskPhone("+8613812345678")`, want: "+86138****5678"},
		{src: `maskPhone("+86 138-1234-5678")`, want: "+86138****5678"},
		{src: `maskPhone("+1 415 555 2671")`, want: "+141****2671"}, // 10 digits: at least 4 stay hidden
		{src: `maskPhone("+852 6123 4567")`, want: "+852****4567"},  // 8 digits: only the end is kept
		{src: `maskPhone("+49 30 901820")`, want: "+49****1820"},
		{src: `maskPhone("13812345678")`, want: "138****5678"},
		{src: `maskPhone("138 1234 5678")`, want: "138****5678"},
		{src: `maskPhone(trigger.body)`, body: 13812345678.0, want: "138****5678"},
		{src: `maskPhone(phone(trigger.body))`, body: "0086 13812345678", want: "+86138****5678"},
		{src: `maskPhone("12345")`, want: "****5"},
		{src: `maskPhone("123")`, want: "***"},
		{src: `maskPhone("call me")`, want: "******e"},
		{src: `maskPhone("")`, want: ""},
		{src: `maskPhone(trigger.body)`, body: nil, want: ""},
		{src: `maskPhone(trigger.body)`, body: []any{}, err: "maskPhone: argument 1 must be text, got a list"},

		{src: `maskEmail("ada.lovelace@example.com")`, want: "a***e@example.com"},
		{src: `maskEmail("Ada.Lovelace@Example.COM")`, want: "A***e@Example.COM"},
		{src: `maskEmail("bo@example.com")`, want: "b***@example.com"},
		{src: `maskEmail("x@example.com")`, want: "***@example.com"},
		{src: `maskEmail("张三丰@例子.中国")`, want: "张***丰@例子.中国"},
		{src: `maskEmail("a@b@example.com")`, want: "a***b@example.com"}, // the domain follows the last @
		{src: `maskEmail("no-at-sign")`, want: "n********n"},
		{src: `maskEmail("@example.com")`, want: "@**********m"},
		{src: `maskEmail(trigger.body)`, body: nil, want: ""},

		{src: `maskIdCard("110101199003074477")`, want: "110101********4477"},
		{src: `maskIdCard("11010119900307447X")`, want: "110101********447X"},
		{src: `maskIdCard("110101900307447")`, want: "110101*****7447"}, // the older 15-digit form
		{src: `maskIdCard("E12345678")`, want: "*******78"},             // too short to keep 6+4
		// An ID sent as a JSON number has lost its last digits before the mask sees it.
		{src: `maskIdCard(trigger.body)`, body: 110101199003074477.0, want: "110101********4480"},

		{src: `maskBankCard("6222021234567890123")`, want: "6222 **** **** 0123"},
		{src: `maskBankCard("6222 0212 3456 7890")`, want: "6222 **** **** 7890"},
		{src: `maskBankCard("4111-1111-1111-1111")`, want: "4111 **** **** 1111"},
		{src: `maskBankCard("12345678")`, want: "****5678"},
		{src: `maskBankCard("n/a")`, want: "***"},
		{src: `maskBankCard(trigger.body)`, body: nil, want: ""},

		{src: `mask("Ada Lovelace", 1, 2)`, want: "A*********ce"},
		{src: `mask("secret", 0, 0)`, want: "******"},
		{src: `mask("秘密信息", 1, 1)`, want: "秘**息"},
		{src: `mask("abcd", 2, 2)`, want: "***d"}, // keeping 2+2 would show all of it
		{src: `mask("ab", 5, 5)`, want: "**"},
		{src: `mask("", 1, 1)`, want: ""},
		{src: `mask(trigger.body, 1, 1)`, body: nil, want: ""},
		{src: `mask("abc", -1, 1)`, err: "mask: argument 2 must not be negative, got -1"},
		{src: `mask("abc", 1, -1)`, err: "mask: argument 3 must not be negative, got -1"},
		{src: `mask("abc", trigger.body, 1)`, body: "x", err: `mask: argument 2 must be a whole number, got "x"`},
	})
}
